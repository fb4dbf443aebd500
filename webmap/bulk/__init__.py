"""Bulk import of an organization's whole listing."""
