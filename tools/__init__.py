"""Typed tools over the lending services, with a registry. No code yet: the lending-core issue builds it."""
