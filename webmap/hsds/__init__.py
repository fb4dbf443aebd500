"""The HSDS 3.0 API (read only)."""
