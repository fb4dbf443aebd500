"""Reporting a problem with a listing: a short public form, no account."""
