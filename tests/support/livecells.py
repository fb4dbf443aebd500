"""The browse map's cells counted live from ``public_listing``, the filters applied as the search
applies them (the vocabulary in SQL, the time filters in Python over each listing's record): what
the stored cells and members (caremap.mapcells, caremap.mapfilters) must give."""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, func, select

from caremap.listing import COLUMNS, LonLatBox, Timetable, decode_record, listing_of
from caremap.mapcells import MARKER_ZOOM, Cell, cell_keys, cell_range
from caremap.model import PublicListing
from caremap.search import Clock, Filters, listing_filter, passes_time_filters
from caremap.store import Store


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
            if passes_time_filters(_timetable(listing_of(row).record), filters, clock):
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


@functools.lru_cache(maxsize=4096)
def _timetable(record: str) -> Timetable:
    """What the time filters read of a listing's record, from the record decoded whole (once
    per record's text: a test counts the same listings at every zoom, box, filter and
    instant)."""
    service, location = decode_record(record)
    return Timetable(service.schedules, service.capacities, location.timezone)
