"""Moderators' pages: pending changes and stale listings."""
