"""The browse map's points: published listings in a box, clustered on a grid in EPSG:3857.

Only ``public_listing`` is read, so every point is a public point (a confidential location's
is its community's, as the search shows it). A cluster stands at the mean of its members'
public points, and says how many there are; a grid cell holding one listing, or any cell at
:data:`MARKER_ZOOM` and closer, gives markers instead. The store counts the cells (grouping
by cell over the ``ix_public_listing_point`` index), so a view costs one indexed scan of its
box, whatever the number of listings outside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from caremap.listing import COLUMNS, Listing, LonLatBox, listing_of
from caremap.model import PublicListing
from caremap.search import Clock, Filters, listing_filter, passes_time_filters
from caremap.store import Store

CELL_PIXELS = 64
"""The side of a grid cell, in screen pixels at the zoom asked for."""
MARKER_ZOOM = 15
"""From this zoom on, every listing is a marker (a cluster there would split no more)."""
MAX_MARKERS = 500
"""At most this many markers in one answer: a wider box is clustered on a coarser grid."""
TILE_PIXELS = 256
MERCATOR_RADIUS_M = 6_378_137.0  # EPSG:3857's sphere
HALF_WORLD_M = math.pi * MERCATOR_RADIUS_M


@dataclass(frozen=True)
class Cluster:
    """``count`` listings around (latitude, longitude), the mean of their public points."""

    latitude: float
    longitude: float
    count: int


@dataclass(frozen=True)
class GridPoints:
    clusters: list[Cluster]
    markers: list[Listing]  # with their records, for the popups


def map_points(
    store: Store, box: LonLatBox, zoom: int, filters: Filters, clock: Clock
) -> GridPoints:
    """The listings passing ``filters`` in ``box``, clustered for ``zoom``; at most
    :data:`MAX_MARKERS` markers (a coarser grid when more)."""
    while True:
        cells = _cells(store, box, zoom, filters, clock)
        single = [cell.first_id for cell in cells if cell.count == 1]
        if len(single) <= MAX_MARKERS or zoom == 0:
            break
        zoom = min(zoom, MARKER_ZOOM) - 1
    clusters = [
        Cluster(cell.latitude, cell.longitude, cell.count) for cell in cells if cell.count > 1
    ]
    return GridPoints(clusters, _listings(store, single))


def cell_metres(zoom: int) -> float:
    """The side of a grid cell at ``zoom``, in EPSG:3857 metres."""
    return 2 * HALF_WORLD_M / (TILE_PIXELS * 2.0**zoom) * CELL_PIXELS


@dataclass(frozen=True)
class _Cell:
    count: int
    latitude: float  # the mean of its listings' public points
    longitude: float
    first_id: str  # the one listing's id when count is 1


def _cells(store: Store, box: LonLatBox, zoom: int, filters: Filters, clock: Clock) -> list[_Cell]:
    """The grid cells holding listings (one per listing from :data:`MARKER_ZOOM`), counted in
    the store (SQLite's math functions, or PostgreSQL's); with time filters, only over the
    listings passing them."""
    where = [box.holds_listing()]
    if (vocabulary := listing_filter(filters)) is not None:
        where.append(vocabulary)
    if filters.by_time:
        where.append(PublicListing.id.in_(_passing_ids(store, where, filters, clock)))
    lat, lon = PublicListing.latitude, PublicListing.longitude
    keys: list[Any]  # columns or SQL expressions
    if zoom >= MARKER_ZOOM:
        keys = [PublicListing.id]
    else:
        size = cell_metres(zoom)
        x = func.radians(lon) * MERCATOR_RADIUS_M
        y = func.ln(func.tan(func.pi() / 4 + func.radians(lat) / 2)) * MERCATOR_RADIUS_M
        keys = [func.floor(x / size), func.floor(y / size)]
    query = (
        select(func.count(), func.avg(lat), func.avg(lon), func.min(PublicListing.id))
        .where(*where)
        .group_by(*keys)
    )
    with store.engine.connect() as connection:
        return [_Cell(*row) for row in connection.execute(query)]


def _passing_ids(
    store: Store, where: list[ColumnElement[bool]], filters: Filters, clock: Clock
) -> list[str]:
    """The ids of the listings meeting ``where`` that pass the time filters."""
    with store.engine.connect() as connection:
        rows = connection.execute(select(*COLUMNS).where(*where))
        return [
            row.id for row in rows if passes_time_filters(*listing_of(row).public, filters, clock)
        ]


def _listings(store: Store, ids: list[str]) -> list[Listing]:
    if not ids:
        return []
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(*COLUMNS).where(PublicListing.id.in_(ids)).order_by(PublicListing.id)
        )
        return [listing_of(row) for row in rows]
