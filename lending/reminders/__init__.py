"""Notifications the platform sends on a schedule or on a broker's request (issue 19)."""
