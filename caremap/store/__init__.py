"""Storage behind one small interface: PostGIS in production, an embedded SQLite file by default.

``open_store(url)`` picks the implementation from the URL's dialect. Both keep the same tables
(:mod:`caremap.model`) and answer the same spatial questions on **public points only**.
"""

from caremap.store.base import (
    NearbyListing,
    NearbyLocation,
    NearestFirst,
    Store,
    StoreError,
    open_store,
)

__all__ = ["NearbyListing", "NearbyLocation", "NearestFirst", "Store", "StoreError", "open_store"]
