"""Administrators' pages: accounts and organizations."""
