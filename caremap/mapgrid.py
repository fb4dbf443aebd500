"""The browse map's points: published listings in a box, clustered on a grid in EPSG:3857.

Only ``public_listing`` and the members and cells stored from it (:mod:`caremap.mapcells`)
are read, so every point is a public point (a confidential location's is its community's, as
the search shows it). A view shows the grid cells its box touches, each whole: a cluster
stands at the mean of its members' public points, and says how many there are; a cell holding
one listing, or any listing at :data:`MARKER_ZOOM` and closer, gives a marker instead. A view
without filters reads the stored cells (one indexed range of ``map_cell``, whatever the number
of listings); a filtered view counts the members in one indexed range of cells
(:mod:`caremap.mapfilters`). From :data:`MARKER_ZOOM` on, where a view is a few streets, a
view without filters counts its listings live over the ``ix_public_listing_point`` index.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from caremap.listing import COLUMNS, Listing, LonLatBox, listing_of
from caremap.mapcells import (
    MARKER_ZOOM,
    Cell,
    cell_keys,
    cell_range,
    stored_cells,
)
from caremap.mapfilters import filtered_cells
from caremap.model import PublicListing
from caremap.search import Clock, Filters, listing_filter, passes_time_filters
from caremap.store import Store

MAX_MARKERS = 500
"""At most this many markers in one answer: a wider box is clustered on a coarser grid."""


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


def _cells(store: Store, box: LonLatBox, zoom: int, filters: Filters, clock: Clock) -> list[Cell]:
    """The grid cells touching ``box`` that hold listings passing ``filters``: counted from
    the members with filters; without, stored below :data:`MARKER_ZOOM`, counted live from
    there on."""
    if listing_filter(filters) is not None or filters.by_time:
        with store.engine.connect() as connection:
            return filtered_cells(connection, box, zoom, filters, clock)
    if zoom >= MARKER_ZOOM:
        return live_cells(store, box, zoom, filters, clock)
    with store.engine.connect() as connection:
        return stored_cells(connection, cell_range(box, zoom))


def live_cells(
    store: Store, box: LonLatBox, zoom: int, filters: Filters, clock: Clock
) -> list[Cell]:
    """The grid cells touching ``box`` (one per listing in it from :data:`MARKER_ZOOM`),
    counting the listings passing ``filters``: counted in the store, or, with time filters
    (which read each listing's schedules), over the listings passing them as they are read."""
    lat, lon = PublicListing.latitude, PublicListing.longitude
    cells = cell_range(box, zoom) if zoom < MARKER_ZOOM else None
    where = [(cells.box if cells else box).holds_listing()]
    if (vocabulary := listing_filter(filters)) is not None:
        where.append(vocabulary)
    keys: list[Any] = [PublicListing.id]  # columns or SQL expressions
    if cells is not None:
        x, y = cell_keys(lat, lon, zoom)
        where.append(cells.holds(x, y))
        keys = [x, y]
    if filters.by_time:
        return _cells_passing(store, where, keys, filters, clock)
    query = (
        select(func.count(), func.avg(lat), func.avg(lon), func.min(PublicListing.id))
        .where(*where)
        .group_by(*keys)
    )
    with store.engine.connect() as connection:
        return [Cell(*row) for row in connection.execute(query)]


def _cells_passing(
    store: Store,
    where: list[ColumnElement[bool]],
    keys: list[Any],
    filters: Filters,
    clock: Clock,
) -> list[Cell]:
    """The cells (grouped by ``keys``) of the listings meeting ``where`` that pass the time
    filters, read once."""
    point = (PublicListing.latitude, PublicListing.longitude)
    labelled = [key.label(f"key{number}") for number, key in enumerate(keys)]
    members: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    with store.engine.connect() as connection:
        for row in connection.execute(select(*COLUMNS, *point, *labelled).where(*where)):
            if passes_time_filters(*listing_of(row).public, filters, clock):
                members[tuple(row[len(COLUMNS) + len(point) :])].append(row)
    return [
        Cell(
            len(rows),
            sum(row.latitude for row in rows) / len(rows),
            sum(row.longitude for row in rows) / len(rows),
            min(row.id for row in rows),
        )
        for rows in members.values()
    ]


def _listings(store: Store, ids: list[str]) -> list[Listing]:
    if not ids:
        return []
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(*COLUMNS).where(PublicListing.id.in_(ids)).order_by(PublicListing.id)
        )
        return [listing_of(row) for row in rows]
