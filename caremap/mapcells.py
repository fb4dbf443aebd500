"""The browse map's grid in EPSG:3857, and its cells stored for the views without filters.

A cell is a square of :data:`CELL_PIXELS` screen pixels at its zoom; the store numbers it
(:func:`cell_keys`), so a listing's cell is the same whoever asks. For every zoom below
:data:`MARKER_ZOOM`, ``map_cell`` holds the cells with published listings: how many, the sums
of their public points, and the listing's id in a cell of one. ``map_member`` holds the
points those cells count, with what the filtered views test (:mod:`caremap.mapmembers`), so
republishing services (:func:`maintained`, around :func:`caremap.publish.refresh`) moves only
their listings' old and new cells, even when the listings left with their service before.
Every point is read from ``public_listing``: a public point (a confidential location's is its
community's).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    union,
)
from sqlalchemy.sql.elements import SQLCoreOperations

from caremap import mapcodes, mapmembers
from caremap.listing import LonLatBox
from caremap.mapmembers import FINEST_ZOOM
from caremap.model import MapCell, MapMember, PublicListing
from caremap.paging import chunks
from caremap.store.bulk import insert_rows

CELL_PIXELS = 64
"""The side of a grid cell, in screen pixels at the zoom asked for."""
MARKER_ZOOM = FINEST_ZOOM + 1
"""From this zoom on, every listing is a marker (a cluster there would split no more)."""
STORED_ZOOMS = range(MARKER_ZOOM)
TILE_PIXELS = 256
MERCATOR_RADIUS_M = 6_378_137.0  # EPSG:3857's sphere
HALF_WORLD_M = math.pi * MERCATOR_RADIUS_M
LATITUDE_LIMIT = 89.9999  # a box's edges are taken no nearer the poles
CHUNK = 500
EDGE_DEGREES = 1e-7  # a cell's box is this much wider, past rounding


class Refresh(Protocol):
    def __call__(self, connection: Connection, service_ids: Iterable[str] | None = None) -> None:
        """Republish the services ``service_ids`` (every one when None)."""


Key = tuple[int, int, int]  # zoom, x, y


@dataclass(frozen=True)
class Cell:
    count: int
    latitude: float  # the mean of its listings' public points
    longitude: float
    first_id: str  # the one listing's id when count is 1


@dataclass(frozen=True)
class CellRange:
    """The cells of one zoom a view box touches: columns ``xs`` (two spans across the
    antimeridian), rows ``ys``, and a lon/lat box holding them all."""

    zoom: int
    xs: list[tuple[int, int]]
    ys: tuple[int, int]
    box: LonLatBox

    def holds(self, x: SQLCoreOperations[int], y: SQLCoreOperations[int]) -> ColumnElement[bool]:
        """An SQL condition: the cell (x, y) is in the range."""
        return and_(y.between(*self.ys), or_(*(x.between(*span) for span in self.xs)))

    def holds_finest(
        self, x: SQLCoreOperations[int], y: SQLCoreOperations[int]
    ) -> ColumnElement[bool]:
        """An SQL condition: the cell whose column and row at :data:`FINEST_ZOOM` are (x, y)
        is in a cell of the range (a range of those columns and rows: indexed)."""
        scale = 2 ** (FINEST_ZOOM - self.zoom)

        def finest(span: tuple[int, int]) -> tuple[int, int]:
            return span[0] * scale, (span[1] + 1) * scale - 1

        return and_(
            y.between(*finest(self.ys)), or_(*(x.between(*finest(span)) for span in self.xs))
        )


def cell_metres(zoom: int) -> float:
    """The side of a grid cell at ``zoom``, in EPSG:3857 metres."""
    return 2 * HALF_WORLD_M / (TILE_PIXELS * 2.0**zoom) * CELL_PIXELS


def cell_keys(
    latitude: Any, longitude: Any, zoom: int
) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """SQL expressions: the column and row, at ``zoom``, of the cell holding (lat, lon)
    (SQLite's math functions, or PostgreSQL's)."""
    size = cell_metres(zoom)
    x = func.radians(longitude) * MERCATOR_RADIUS_M
    y = func.ln(func.tan(func.pi() / 4 + func.radians(latitude) / 2)) * MERCATOR_RADIUS_M
    return cast(func.floor(x / size), Integer), cast(func.floor(y / size), Integer)


def coarser(key: SQLCoreOperations[int], zoom: int) -> ColumnElement[int]:
    """SQL: the column (or row) at ``zoom`` of the cell whose column (or row) at
    :data:`FINEST_ZOOM` is ``key``. A cell's side doubles from one zoom to the one before, by
    an exact power of two, so this is the :func:`cell_keys` of the point at ``zoom``."""
    return key.op(">>")(FINEST_ZOOM - zoom)


def cell_range(box: LonLatBox, zoom: int) -> CellRange:
    """The cells of ``zoom`` that ``box`` touches."""
    size = cell_metres(zoom)

    def column(lon: float) -> int:
        return math.floor(math.radians(lon) * MERCATOR_RADIUS_M / size)

    def row(lat: float) -> int:
        lat = max(-LATITUDE_LIMIT, min(LATITUDE_LIMIT, lat))
        y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * MERCATOR_RADIUS_M
        return math.floor(y / size)

    west, east = column(box.min_lon), column(box.max_lon)
    if box.min_lon <= box.max_lon:
        xs = [(west, east)]
    else:
        xs = [(west, column(180.0)), (column(-180.0), east)]
    ys = (row(box.min_lat), row(box.max_lat))
    return CellRange(zoom, xs, ys, _edges(zoom, (west, east), ys))


def _edges(zoom: int, xs: tuple[int, int], ys: tuple[int, int]) -> LonLatBox:
    """The lon/lat box holding the cells from column xs[0] to xs[1] (eastwards) and rows
    ys[0] to ys[1], a little wider."""
    size = cell_metres(zoom)

    def lon_of(x: int) -> float:
        return math.degrees(x * size / MERCATOR_RADIUS_M)

    def lat_of(y: int) -> float:
        return math.degrees(2 * math.atan(math.exp(y * size / MERCATOR_RADIUS_M)) - math.pi / 2)

    return LonLatBox(
        lon_of(xs[0]) - EDGE_DEGREES,
        lat_of(ys[0]) - EDGE_DEGREES,
        lon_of(xs[1] + 1) + EDGE_DEGREES,
        lat_of(ys[1] + 1) + EDGE_DEGREES,
    )


def stored_cells(connection: Connection, cells: CellRange) -> list[Cell]:
    """The stored cells in ``cells``, every listing counted."""
    query = select(
        MapCell.count, MapCell.latitude_sum, MapCell.longitude_sum, MapCell.only_id
    ).where(MapCell.zoom == cells.zoom, cells.holds(MapCell.x, MapCell.y))
    return [
        Cell(count, latitude_sum / count, longitude_sum / count, only_id or "")
        for count, latitude_sum, longitude_sum, only_id in connection.execute(query)
    ]


def maintained(refresh: Refresh) -> Refresh:
    """``refresh`` (which republishes services: all when None), then the stored cells made
    to count the listings as they now are: those of the services republished, and those
    that left with their service or location before (ON DELETE CASCADE) unnamed. With no
    members before (a first load), every cell is counted afresh: cheaper than one by one."""

    @functools.wraps(refresh)
    def refresh_and_count(connection: Connection, service_ids: Iterable[str] | None = None) -> None:
        ids = None if service_ids is None else sorted(set(service_ids))
        counted = connection.scalar(select(MapMember.id).limit(1)) is not None
        refresh(connection, ids)
        if ids is None or not counted:
            rebuild(connection)
            return
        recount(connection, ids)
        recount(connection, _strays(connection))

    return refresh_and_count


def rebuild(connection: Connection) -> None:
    """The members and stored cells counted afresh from every published listing."""
    connection.execute(delete(MapCell))
    mapmembers.forget(connection, None)
    service_ids = sorted(set(connection.scalars(select(PublicListing.service_id))))
    for chunk in chunks(service_ids, CHUNK):
        mapmembers.store(connection, _listings(chunk))
    mapcodes.rebuild(connection)
    for zoom in STORED_ZOOMS:
        x, y = coarser(MapMember.x, zoom), coarser(MapMember.y, zoom)
        keyed = select(
            MapMember.id, MapMember.latitude, MapMember.longitude, x.label("x"), y.label("y")
        ).subquery()
        count = func.count()
        cells = select(
            literal(zoom),
            keyed.c.x,
            keyed.c.y,
            count,
            func.sum(keyed.c.latitude),
            func.sum(keyed.c.longitude),
            case((count == 1, func.min(keyed.c.id))),
        ).group_by(keyed.c.x, keyed.c.y)
        names = ["zoom", "x", "y", "count", "latitude_sum", "longitude_sum", "only_id"]
        connection.execute(insert(MapCell).from_select(names, cells))


@dataclass(frozen=True)
class _Stored:
    """A stored cell's counts."""

    count: int
    latitude_sum: float
    longitude_sum: float
    only_id: str | None


@dataclass
class _Change:
    """What republishing did to one cell."""

    count: int = 0
    latitude_sum: float = 0.0
    longitude_sum: float = 0.0
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


def recount(connection: Connection, service_ids: list[str]) -> None:
    """The stored cells made to count the listings of ``service_ids`` as they now are: only
    the cells their old and new points fall in change."""
    changes: dict[Key, _Change] = {}
    coded: set[mapcodes.Coded] = set()
    for chunk in chunks(service_ids, CHUNK):
        before = _points(connection, MapMember, chunk)
        after = _points(connection, PublicListing, chunk)
        for sign, gone, staying in ((-1, before, after), (1, after, before)):
            for listing_id, (point, keys) in gone.items():
                if staying.get(listing_id, (None,))[0] == point:
                    continue
                for key in keys:
                    change = changes.setdefault(key, _Change())
                    change.count += sign
                    change.latitude_sum += sign * point[0]
                    change.longitude_sum += sign * point[1]
                    (change.added if sign > 0 else change.removed).add(listing_id)
        coded |= mapcodes.codes_of(connection, chunk)
        mapmembers.forget(connection, chunk)
        mapmembers.store(connection, _listings(chunk))
        coded |= mapcodes.codes_of(connection, chunk)
    for keys in chunks(sorted(changes), CHUNK):
        _apply(connection, {key: changes[key] for key in keys})
    mapcodes.recount(connection, coded)


def _listings(service_ids: list[str]) -> Select:
    """What :func:`caremap.mapmembers.store` reads of the listings of ``service_ids``."""
    lat, lon = PublicListing.latitude, PublicListing.longitude
    return select(
        PublicListing.id,
        PublicListing.service_id,
        lat,
        lon,
        *cell_keys(lat, lon, FINEST_ZOOM),
        PublicListing.record,
    ).where(PublicListing.service_id.in_(service_ids))


def _strays(connection: Connection) -> list[str]:
    """The services whose listings and counted points disagree, found only when their
    numbers do (two counts)."""
    members = connection.scalar(select(func.count()).select_from(MapMember))
    listings = connection.scalar(select(func.count()).select_from(PublicListing))
    if members == listings:
        return []
    gone = select(MapMember.service_id).where(~exists().where(PublicListing.id == MapMember.id))
    new = select(PublicListing.service_id).where(~exists().where(MapMember.id == PublicListing.id))
    return sorted(set(connection.scalars(union(gone, new))))


def _points(
    connection: Connection, table: type[MapMember] | type[PublicListing], service_ids: list[str]
) -> dict[str, tuple[tuple[float, float], list[Key]]]:
    """The listings of ``service_ids`` in ``table``: each one's point and cell at every
    stored zoom."""
    query = _points_query(table)
    return {
        listing_id: (
            (latitude, longitude),
            [(zoom, xy[2 * zoom], xy[2 * zoom + 1]) for zoom in STORED_ZOOMS],
        )
        for listing_id, latitude, longitude, *xy in connection.execute(
            query, {"service_ids": service_ids}
        )
    }


@functools.cache
def _points_query(table: type[MapMember] | type[PublicListing]) -> Select:
    """The points and cells of the listings in ``table`` of the services bound as
    ``service_ids``. Built once: building (and keying) its thirty cell expressions for each
    chunk took longer than running it."""
    keys = [
        key for zoom in STORED_ZOOMS for key in cell_keys(table.latitude, table.longitude, zoom)
    ]
    return select(table.id, table.latitude, table.longitude, *keys).where(
        table.service_id.in_(bindparam("service_ids", expanding=True))
    )


def _apply(connection: Connection, changes: dict[Key, _Change]) -> None:
    """The cells ``changes`` names, written anew with them."""
    cell = tuple_(MapCell.zoom, MapCell.x, MapCell.y)
    # Within their key range first: SQLite scans the whole table for a row value IN a list.
    low, high = tuple_(*min(changes)), tuple_(*max(changes))
    where = and_(cell >= low, cell <= high, cell.in_(list(changes)))
    stored = {
        (cell.zoom, cell.x, cell.y): _Stored(*cell[3:])
        for cell in connection.execute(select(MapCell.__table__).where(where))
    }
    rows = []
    for key, change in changes.items():
        old = stored.get(key)
        count = change.count + (old.count if old else 0)
        if count == 0:
            continue
        rows.append(
            {
                "zoom": key[0],
                "x": key[1],
                "y": key[2],
                "count": count,
                "latitude_sum": change.latitude_sum + (old.latitude_sum if old else 0.0),
                "longitude_sum": change.longitude_sum + (old.longitude_sum if old else 0.0),
                "only_id": _only_id(connection, key, old, change) if count == 1 else None,
            }
        )
    connection.execute(delete(MapCell).where(where))
    insert_rows(connection, MapCell, rows)


def _only_id(connection: Connection, key: Key, old: _Stored | None, change: _Change) -> str:
    """The id of the one listing the cell ``key`` now counts (``old``: its stored row)."""
    known = {old.only_id} if old is not None and old.only_id is not None else set()
    left = (known | change.added) - change.removed
    return left.pop() if len(left) == 1 else _only_member(connection, key)


def _only_member(connection: Connection, key: Key) -> str:
    """The id of the one listing counted in the cell ``key``."""
    zoom, x, y = key
    box = _edges(zoom, (x, x), (y, y))
    member_x, member_y = cell_keys(MapMember.latitude, MapMember.longitude, zoom)
    query = select(func.min(MapMember.id)).where(
        MapMember.latitude.between(box.min_lat, box.max_lat),
        MapMember.longitude.between(box.min_lon, box.max_lon),
        member_x == x,
        member_y == y,
    )
    return str(connection.execute(query).scalar_one())
