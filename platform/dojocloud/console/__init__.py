"""Operator console: Django admin registrations and the fleet overview (staff only)."""
