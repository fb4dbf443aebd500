"""The browse map's points: published listings in a box, clustered on a grid in EPSG:3857.

Only ``public_listing`` is read, so every point is a public point (a confidential location's
is its community's, as the search shows it). A cluster stands at the mean of its members'
public points, and says how many there are; a grid cell holding one listing, or any cell at
:data:`MARKER_ZOOM` and closer, gives markers instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

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
MAX_LATITUDE = 85.0511287798


@dataclass(frozen=True)
class Cluster:
    """``count`` listings around (latitude, longitude), the mean of their public points."""

    latitude: float
    longitude: float
    count: int


@dataclass(frozen=True)
class PlacedListing:
    """A listing id at its public point (lat, lon)."""

    id: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class GridPoints:
    clusters: list[Cluster]
    markers: list[Listing]  # with their records, for the popups


def map_points(
    store: Store, box: LonLatBox, zoom: int, filters: Filters, clock: Clock
) -> GridPoints:
    """The listings passing ``filters`` in ``box``, clustered for ``zoom``."""
    placed = _placed(store, box, filters, clock)
    groups = _grid_groups(placed, zoom)
    while sum(len(group) == 1 for group in groups) > MAX_MARKERS:
        zoom = min(zoom, MARKER_ZOOM) - 1
        groups = _grid_groups(placed, zoom)
    clusters = [_cluster([placed[i] for i in group]) for group in groups if len(group) > 1]
    single = [placed[i].id for group in groups if len(group) == 1 for i in group]
    return GridPoints(clusters, _listings(store, single))


def cell_metres(zoom: int) -> float:
    """The side of a grid cell at ``zoom``, in EPSG:3857 metres."""
    return 2 * HALF_WORLD_M / (TILE_PIXELS * 2.0**zoom) * CELL_PIXELS


def _placed(store: Store, box: LonLatBox, filters: Filters, clock: Clock) -> list[PlacedListing]:
    where = [box.holds_listing()]
    if (vocabulary := listing_filter(filters)) is not None:
        where.append(vocabulary)
    point = (PublicListing.latitude, PublicListing.longitude)
    with store.engine.connect() as connection:
        if not filters.by_time:
            rows = connection.execute(select(PublicListing.id, *point).where(*where))
            return [PlacedListing(*row) for row in rows]
        rows = connection.execute(select(*COLUMNS, *point).where(*where))
        return [
            PlacedListing(row.id, row.latitude, row.longitude)
            for row in rows
            if passes_time_filters(*listing_of(row).public, filters, clock)
        ]


def _grid_groups(placed: list[PlacedListing], zoom: int) -> list[list[int]]:
    """Indexes of ``placed`` by grid cell (one group per listing from :data:`MARKER_ZOOM`)."""
    if zoom >= MARKER_ZOOM or not placed:
        return [[i] for i in range(len(placed))]
    lat = np.radians(np.clip([p.latitude for p in placed], -MAX_LATITUDE, MAX_LATITUDE))
    lon = np.radians([p.longitude for p in placed])
    x = lon * MERCATOR_RADIUS_M
    y = np.log(np.tan(np.pi / 4 + lat / 2)) * MERCATOR_RADIUS_M
    size = cell_metres(zoom)
    cells = np.stack([np.floor(x / size), np.floor(y / size)], axis=1)
    _, cell_of, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    order = np.argsort(cell_of.ravel(), kind="stable")
    return [group.tolist() for group in np.split(order, np.cumsum(counts)[:-1])]


def _cluster(members: list[PlacedListing]) -> Cluster:
    latitude = sum(p.latitude for p in members) / len(members)
    longitude = sum(p.longitude for p in members) / len(members)
    return Cluster(latitude, longitude, len(members))


def _listings(store: Store, ids: list[str]) -> list[Listing]:
    if not ids:
        return []
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(*COLUMNS).where(PublicListing.id.in_(ids)).order_by(PublicListing.id)
        )
        return [listing_of(row) for row in rows]
