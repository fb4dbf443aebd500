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

from dataclasses import dataclass

from sqlalchemy import select

from caremap.listing import COLUMNS, Listing, LonLatBox, listing_of
from caremap.mapcells import (
    MARKER_ZOOM,
    Cell,
    cell_range,
    stored_cells,
)
from caremap.mapfilters import filtered_cells
from caremap.model import PublicListing
from caremap.search import Clock, Filters, listing_filter
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
    the members with filters; without, stored below :data:`MARKER_ZOOM`, a marker per listing
    from there on."""
    if listing_filter(filters) is not None or filters.by_time:
        with store.engine.connect() as connection:
            return filtered_cells(connection, box, zoom, filters, clock)
    if zoom >= MARKER_ZOOM:
        return _markers(store, box)
    with store.engine.connect() as connection:
        return stored_cells(connection, cell_range(box, zoom))


def _markers(store: Store, box: LonLatBox) -> list[Cell]:
    """A cell of one for each listing in ``box``, read over the ``ix_public_listing_point``
    index."""
    query = select(PublicListing.latitude, PublicListing.longitude, PublicListing.id).where(
        box.holds_listing()
    )
    with store.engine.connect() as connection:
        return [Cell(1, *row) for row in connection.execute(query)]


def _listings(store: Store, ids: list[str]) -> list[Listing]:
    if not ids:
        return []
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(*COLUMNS).where(PublicListing.id.in_(ids)).order_by(PublicListing.id)
        )
        return [listing_of(row) for row in rows]
