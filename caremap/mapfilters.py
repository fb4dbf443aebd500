"""The browse map's filtered views, counted from the members (:mod:`caremap.mapmembers`).

A filtered view's cells are one indexed range of cells grouped by cell: of ``map_term`` (which
holds the members' cells and points) for the rarest of the codes filtered by, by the codes'
stored totals, each member probed by listing for the other facets' codes; of ``map_member``
without codes. The time filters are conditions on the member's stored hours, seasons and
availability counts: what :func:`caremap.search.passes_time_filters` says of its public record,
tested in SQL. From :data:`caremap.mapcells.MARKER_ZOOM` on, the members are those in the view's
box, each a cell of its own. A view filtered by one code alone reads that code's stored cells
(:mod:`caremap.mapcodes`) at a low zoom; by a month (and at most one code) where cells are
stored, the stored cells less the members out of season, which are few: seasonal ones; by open
now alone, the rows of ``map_hours`` open now (one index range per timezone and day, holding
the members' cells and points), each listing once. Only members are read, so every point is a
public point.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnCollection,
    ColumnElement,
    Connection,
    Select,
    Subquery,
    and_,
    false,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, aliased

from caremap.listing import LonLatBox
from caremap.mapcells import MARKER_ZOOM, Cell, CellRange, cell_range, coarser
from caremap.mapcodes import CODE_ZOOMS
from caremap.mapmembers import FINEST_ZOOM
from caremap.model import (
    MapCell,
    MapCodeCell,
    MapHours,
    MapMember,
    MapSeason,
    MapTerm,
)
from caremap.search import Clock, Filters
from caremap.timefilters import member_time_conditions, open_rows


def filtered_cells(
    connection: Connection, box: LonLatBox, zoom: int, filters: Filters, clock: Clock
) -> list[Cell]:
    """The grid cells touching ``box`` at ``zoom`` (one per member in it from
    :data:`MARKER_ZOOM`) holding members passing ``filters``, counting those: with one code
    and no time filter, from that code's stored cells or one range of ``map_term`` alone; with a
    month as the only time filter, where the cells (or with one code, its cells) are stored,
    from those less the members out of season; with codes of several facets, from the rarest's
    range of ``map_term``; with open now alone, from the open rows of ``map_hours``."""
    vocabulary = _vocabulary(filters)
    if filters == Filters(open_now=True):
        return _open_now(connection, box, zoom, clock.now)
    times = member_time_conditions(connection, filters, clock)
    single = len(vocabulary) == 1 and len(vocabulary[0][1]) == 1
    month_only = filters.month is not None and len(times) == 1
    stored = zoom in CODE_ZOOMS if vocabulary else zoom < MARKER_ZOOM
    if month_only and stored and (single or not vocabulary):
        only = (vocabulary[0][0], vocabulary[0][1][0]) if vocabulary else None
        return _in_season(connection, cell_range(box, zoom), only, times)
    if not times and single:
        [(facet, [code])] = vocabulary
        if zoom in CODE_ZOOMS:
            return _stored(connection, facet, code, cell_range(box, zoom))
        where = [MapTerm.facet == facet, MapTerm.code == code]
        return _grouped(connection, MapTerm, MapTerm.listing_id, box, zoom, where)
    if vocabulary:
        return _coded(connection, box, zoom, vocabulary, times)
    return _grouped(connection, MapMember, MapMember.id, box, zoom, times)


def _open_now(connection: Connection, box: LonLatBox, zoom: int, now: dt.datetime) -> list[Cell]:
    """The cells of the members open at ``now`` by their weekly hours, from the open rows of
    ``map_hours`` in the view alone (their index holds the members' cells and points); a
    listing with two rows open at once (overlapping rules, yesterday's running past
    midnight) counted once: the rows not ``alone`` read through ``DISTINCT``."""
    placed, _ = _placed(MapHours, MapHours.listing_id, box, zoom)
    columns = (MapHours.listing_id, MapHours.x, MapHours.y, MapHours.latitude, MapHours.longitude)
    days = open_rows(connection, now)

    def rows_open(alone: bool) -> Subquery:
        return union_all(
            select(*columns).where(false()),
            *(select(*columns).where(MapHours.alone == alone, day, *placed) for day in days),
        ).subquery()

    listings = union_all(select(rows_open(True)), select(rows_open(False)).distinct()).subquery()
    _, keys = _placed(listings.c, listings.c.listing_id, box, zoom)
    query = select(
        func.count(),
        func.avg(listings.c.latitude),
        func.avg(listings.c.longitude),
        func.min(listings.c.listing_id),
    ).group_by(*keys)
    return [Cell(*row) for row in connection.execute(query)]


def _coded(
    connection: Connection,
    box: LonLatBox,
    zoom: int,
    vocabulary: list[tuple[str, list[str]]],
    times: list[ColumnElement[bool]],
) -> list[Cell]:
    """The cells of the members with a code of each of ``vocabulary``'s facets, passing
    ``times``: one range of ``map_term`` for the facet with the fewest listings (by the
    stored cells), the other facets' codes probed by listing."""
    (facet, codes), *others = sorted(vocabulary, key=lambda group: _total(connection, *group))
    where = [MapTerm.facet == facet, MapTerm.code.in_(codes)]
    if len(codes) > 1:  # each listing once: the row of its first code of these
        where.append(~_has(MapTerm.listing_id, facet, codes, below=MapTerm.code))
    where += [_has(MapTerm.listing_id, *group) for group in others]
    if times:
        where += [MapMember.id == MapTerm.listing_id, *times]
    return _grouped(connection, MapTerm, MapTerm.listing_id, box, zoom, where)


def _has(
    listing_id: InstrumentedAttribute[str],
    facet: str,
    codes: list[str],
    below: InstrumentedAttribute[str] | None = None,
) -> ColumnElement[bool]:
    """A condition: the listing ``listing_id`` has one of ``codes`` of ``facet`` (one ordered
    before ``below`` when given), probed by ``ix_map_term_listing``."""
    term = aliased(MapTerm)
    where = [term.listing_id == listing_id, term.facet == facet, term.code.in_(codes)]
    if below is not None:
        where.append(term.code < below)
    return select(term.listing_id).where(*where).exists()


def _total(connection: Connection, facet: str, codes: list[str]) -> int:
    """How many listings have ``codes`` of ``facet`` (a listing once per code), from the
    codes' stored cells at zoom 0."""
    query = select(func.coalesce(func.sum(MapCodeCell.count), 0)).where(
        MapCodeCell.facet == facet, MapCodeCell.code.in_(codes), MapCodeCell.zoom == 0
    )
    return int(connection.execute(query).scalar_one())


def _in_season(
    connection: Connection,
    cells: CellRange,
    code: tuple[str, str] | None,
    in_month: list[ColumnElement[bool]],
) -> list[Cell]:
    """The cells of the members (with ``code``) passing ``in_month``, a month's condition:
    the stored cells (``map_cell``, or the code's) less the members failing it, seasonal ones
    (few, read from ``map_season``); a cell left with one member reads it."""
    seasonal = MapMember.id.in_(select(MapSeason.listing_id))
    out = {
        (x, y): counts
        for x, y, *counts in connection.execute(
            _member_cells(cells, code, [seasonal, ~and_(*in_month)])
        )
    }
    kept = []
    for x, y, count, latitude_sum, longitude_sum, only_id in connection.execute(
        _stored_query(cells, code)
    ):
        less, latitude_less, longitude_less = out.get((x, y), (0, 0.0, 0.0))
        left = count - less
        if left == 1 and less:
            one = CellRange(cells.zoom, [(x, x)], (y, y), cells.box)
            [(_, _, _, latitude, longitude, member)] = connection.execute(
                _member_cells(one, code, in_month, func.min(MapMember.id))
            )
            kept.append(Cell(1, latitude, longitude, member))
        elif left:
            latitude = (latitude_sum - latitude_less) / left
            kept.append(
                Cell(left, latitude, (longitude_sum - longitude_less) / left, only_id or "")
            )
    return kept


def _member_cells(
    cells: CellRange,
    code: tuple[str, str] | None,
    where: list[ColumnElement[bool]],
    *extra: ColumnElement[Any],
) -> Select:
    """The cells in ``cells`` of the members (with ``code``) meeting ``where``: x, y, count,
    and the sums of their points (and ``extra``)."""
    x, y = coarser(MapMember.x, cells.zoom), coarser(MapMember.y, cells.zoom)
    if code is not None:
        where = [*where, _has(MapMember.id, code[0], [code[1]])]
    return (
        select(
            x, y, func.count(), func.sum(MapMember.latitude), func.sum(MapMember.longitude), *extra
        )
        .where(cells.holds_finest(MapMember.x, MapMember.y), *where)
        .group_by(x, y)
    )


def _stored_query(cells: CellRange, code: tuple[str, str] | None) -> Select:
    """The stored cells in ``cells`` (``map_cell``, or the cells of ``code``): x, y, count,
    the sums of their points and the one listing's id."""
    table: type[MapCell] | type[MapCodeCell] = MapCell if code is None else MapCodeCell
    where = [table.zoom == cells.zoom, cells.holds(table.x, table.y)]
    if code is not None:
        where += [MapCodeCell.facet == code[0], MapCodeCell.code == code[1]]
    return select(
        table.x, table.y, table.count, table.latitude_sum, table.longitude_sum, table.only_id
    ).where(*where)


# a table of members' cells and points: what _placed reads x, y, latitude and longitude of
Placed = type[MapMember] | type[MapTerm] | type[MapHours] | ColumnCollection[str, Any]


def _grouped(
    connection: Connection,
    table: Placed,
    listing_id: InstrumentedAttribute[str],
    box: LonLatBox,
    zoom: int,
    where: list[ColumnElement[bool]],
) -> list[Cell]:
    """The cells of the rows of ``table`` meeting ``where`` in ``box`` at ``zoom``, counted."""
    placed, keys = _placed(table, listing_id, box, zoom)
    query = (
        select(
            func.count(), func.avg(table.latitude), func.avg(table.longitude), func.min(listing_id)
        )
        .where(*placed, *where)
        .group_by(*keys)
    )
    return [Cell(*row) for row in connection.execute(query)]


def _placed(
    table: Placed,
    listing_id: ColumnElement[str] | InstrumentedAttribute[str],
    box: LonLatBox,
    zoom: int,
) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """Conditions on the rows of ``table``: in the cells touching ``box`` at ``zoom`` (in the
    box from :data:`MARKER_ZOOM`, within a range of finest cells one wider each way, past
    rounding); and what to group them by: their cell (their listing from there)."""
    if zoom < MARKER_ZOOM:
        cells = cell_range(box, zoom)
        keys = [coarser(table.x, zoom), coarser(table.y, zoom)]
        return [cells.holds_finest(table.x, table.y)], keys
    cells = cell_range(box, FINEST_ZOOM)
    wider = CellRange(
        FINEST_ZOOM,
        [(west - 1, east + 1) for west, east in cells.xs],
        (cells.ys[0] - 1, cells.ys[1] + 1),
        cells.box,
    )
    in_box = [
        wider.holds_finest(table.x, table.y),
        box.holds(table.latitude, table.longitude),
    ]
    return in_box, [listing_id]


def _stored(connection: Connection, facet: str, code: str, cells: CellRange) -> list[Cell]:
    """The stored cells of ``code`` in ``cells``."""
    return [
        Cell(count, latitude_sum / count, longitude_sum / count, only_id or "")
        for _, _, count, latitude_sum, longitude_sum, only_id in connection.execute(
            _stored_query(cells, (facet, code))
        )
    ]


def _vocabulary(filters: Filters) -> list[tuple[str, list[str]]]:
    """The vocabulary filters as (facet, codes) of ``map_term``: a listing passes when it has
    one of the codes of each, as :func:`caremap.search.listing_filter` says."""
    facets = [("term", filters.service_types), ("term", filters.populations)]
    facets += [("term", frozenset({code})) for code in filters.capabilities]
    facets.append(("language", filters.languages))
    return [(facet, sorted(codes)) for facet, codes in facets if codes]
