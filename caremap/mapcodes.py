"""The browse map's cells per code at the low zooms, for views filtered by one term or language.

Below :data:`CODE_ZOOMS`' end a view can hold most listings, too many to count on each
request; ``map_code_cell`` holds, for each code of ``map_term`` and each of those zooms, the
cells its listings fall in, as ``map_cell`` holds them for every listing. A cell is counted
from ``map_term`` (one index range), when it is built and again whenever a republished
listing with the code leaves or enters it.
"""

from __future__ import annotations

import functools

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    true,
)

from caremap.mapmembers import FINEST_ZOOM
from caremap.model import MapCodeCell, MapTerm

CODE_ZOOMS = range(10)
"""Zooms with stored cells per code; a view at a finer zoom holds few enough listings to count
from ``map_term``."""
Coded = tuple[str, str, int, int]  # facet, code, and the finest cell (x, y)
_KEY = ("facet", "code", "zoom", "x", "y")  # the columns of a stored cell's key
_COLUMNS = ["facet", "code", "zoom", "x", "y", "count", "latitude_sum", "longitude_sum", "only_id"]


def rebuild(connection: Connection) -> None:
    """Every code's cells counted afresh from ``map_term``."""
    connection.execute(delete(MapCodeCell))
    for zoom in CODE_ZOOMS:
        connection.execute(insert(MapCodeCell).from_select(_COLUMNS, _counted(zoom)))


def codes_of(connection: Connection, service_ids: list[str]) -> set[Coded]:
    """The codes and finest cells of the listings of ``service_ids`` in ``map_term``."""
    query = select(MapTerm.facet, MapTerm.code, MapTerm.x, MapTerm.y).where(
        MapTerm.service_id.in_(service_ids)
    )
    return {(facet, code, x, y) for facet, code, x, y in connection.execute(query)}


def recount(connection: Connection, coded: set[Coded]) -> None:
    """The cells of the codes and finest cells ``coded`` counted again from ``map_term``."""
    keys = sorted(
        {
            (facet, code, zoom, x >> (FINEST_ZOOM - zoom), y >> (FINEST_ZOOM - zoom))
            for facet, code, x, y in coded
            for zoom in CODE_ZOOMS
        }
    )
    if not keys:
        return
    connection.execute(_DELETE_CELL, [dict(zip(_KEY, key, strict=True)) for key in keys])
    for zoom in CODE_ZOOMS:
        scale = 2 ** (FINEST_ZOOM - zoom)
        cells = [
            {
                "facet": facet,
                "code": code,
                "x_low": x * scale,
                "x_high": (x + 1) * scale - 1,
                "y_low": y * scale,
                "y_high": (y + 1) * scale - 1,
            }
            for facet, code, key_zoom, x, y in keys
            if key_zoom == zoom
        ]
        if cells:
            connection.execute(_insert_cell(zoom), cells)


_DELETE_CELL = delete(MapCodeCell).where(
    *(getattr(MapCodeCell, name) == bindparam(name) for name in _KEY)
)
"""One stored cell deleted, by its key (executed for many keys at once)."""


@functools.cache
def _insert_cell(zoom: int) -> Insert:
    """One cell at ``zoom`` of one code (its key and finest cell ranges bound) counted from
    ``map_term`` and stored: built once per zoom, executed for many cells at once."""
    cell = and_(
        MapTerm.facet == bindparam("facet"),
        MapTerm.code == bindparam("code"),
        MapTerm.y.between(bindparam("y_low"), bindparam("y_high")),
        MapTerm.x.between(bindparam("x_low"), bindparam("x_high")),
    )
    return insert(MapCodeCell).from_select(_COLUMNS, _counted(zoom, cell))


def _counted(zoom: int, where: ColumnElement[bool] | None = None) -> Select:
    """The cells at ``zoom`` of the ``map_term`` rows meeting ``where``, counted per code."""
    x, y = (key.op(">>")(FINEST_ZOOM - zoom) for key in (MapTerm.x, MapTerm.y))
    count = func.count()
    return (
        select(
            MapTerm.facet,
            MapTerm.code,
            literal(zoom),
            x,
            y,
            count,
            func.sum(MapTerm.latitude),
            func.sum(MapTerm.longitude),
            case((count == 1, func.min(MapTerm.listing_id))),
        )
        .where(true() if where is None else where)
        .group_by(MapTerm.facet, MapTerm.code, x, y)
    )
