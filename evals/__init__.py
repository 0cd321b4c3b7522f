"""Scenario datasets and the eval runner. Not built yet."""
