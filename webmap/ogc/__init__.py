"""OGC API – Features (read only)."""
