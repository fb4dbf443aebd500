"""Editors' pages: the dashboard, editing services, organizations and locations, and how
changes read."""
