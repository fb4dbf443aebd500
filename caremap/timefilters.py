"""The time filters in SQL: conditions on a published listing's map member (its stored weekly
hours, seasons and bed counts, :mod:`caremap.mapmembers`) that say what
:func:`caremap.search.passes_time_filters` says of its public record. The browse map counts its
filtered views with them (:mod:`caremap.mapfilters`); a search reads with them only the listings
that may pass, then checks each record."""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, and_, false, func, or_, select, union_all

from caremap.mapmembers import microseconds
from caremap.model import MapBeds, MapHours, MapMember, MapSeason
from caremap.queries import END_OF_DAY

if TYPE_CHECKING:
    from caremap.search import Clock, Filters


def member_time_conditions(
    connection: Connection, filters: Filters, clock: Clock
) -> list[ColumnElement[bool]]:
    """Conditions on ``map_member``: the listing passes the time filters."""
    unknown = filters.include_unknown
    conditions = []
    if filters.open_now:
        now_open = union_all(
            select(MapHours.listing_id).where(false()),
            *(select(MapHours.listing_id).where(day) for day in open_rows(connection, clock.now)),
        )
        conditions.append(_or_unknown(MapMember.id.in_(now_open), ~MapMember.weekly, unknown))
    if filters.month is not None:
        first, last = month_span(filters.month, clock.now.date())
        overlapping = select(MapSeason.listing_id).where(
            or_(MapSeason.valid_from.is_(None), MapSeason.valid_from <= last),
            or_(MapSeason.valid_to.is_(None), MapSeason.valid_to >= first),
        )
        conditions.append(or_(~MapMember.seasonal, MapMember.id.in_(overlapping)))
    if filters.beds_available:
        fresh = select(MapBeds.listing_id).where(MapBeds.updated >= clock.now - clock.stale_after)
        with_beds = MapMember.id.in_(fresh.where(MapBeds.available > 0))
        conditions.append(_or_unknown(with_beds, ~MapMember.id.in_(fresh), unknown))
    return conditions


def _or_unknown(
    known: ColumnElement[bool], not_known: ColumnElement[bool], include_unknown: bool
) -> ColumnElement[bool]:
    return or_(known, not_known) if include_unknown else known


def open_rows(connection: Connection, now: dt.datetime) -> list[ColumnElement[bool]]:
    """Conditions on ``map_hours``, one index range a timezone each: the row is open at
    ``now``. Timezones whose clocks read alike share their conditions."""
    by_clock: dict[dt.datetime, list[str]] = {}
    for zone in _zones(connection):
        by_clock.setdefault(now.astimezone(_zone(zone)).replace(tzinfo=None), []).append(zone)
    return [day for local, zones in by_clock.items() for day in _open_in(zones, local)]


@functools.cache
def _zone(name: str) -> ZoneInfo:
    """The timezone ``name``, read once (``ZoneInfo`` keeps only the last few it read)."""
    return ZoneInfo(name)


def _zones(connection: Connection) -> list[str]:
    """The timezones of ``map_hours``, one seek of its day index each (a loose index scan:
    ``SELECT DISTINCT`` reads the whole index)."""
    first = select(func.min(MapHours.timezone).label("zone")).cte("zones", recursive=True)
    following = select(func.min(MapHours.timezone)).where(MapHours.timezone > first.c.zone)
    zones = first.union_all(select(following.scalar_subquery()).where(first.c.zone.is_not(None)))
    return list(connection.scalars(select(zones.c.zone).where(zones.c.zone.is_not(None))))


def _open_in(zones: list[str], local: dt.datetime) -> list[ColumnElement[bool]]:
    """Conditions on ``map_hours``, one index range a zone each: the row is of one of
    ``zones``, whose clocks read ``local``, and open then by its hours of today, or by
    yesterday's running past midnight, as :func:`caremap.search.is_open` says."""
    today, at = local.date(), microseconds(local.time())
    yesterday = today - dt.timedelta(days=1)
    opens, closes = MapHours.opens_us, MapHours.closes_us
    same_day = opens <= closes
    return [
        and_(
            MapHours.timezone.in_(zones),
            MapHours.weekday == today.weekday(),
            opens <= at,
            _valid_on(today),
            or_(~same_day, closes > at, closes == microseconds(END_OF_DAY)),
        ),
        and_(
            MapHours.timezone.in_(zones),
            MapHours.weekday == yesterday.weekday(),
            _valid_on(yesterday),
            ~same_day,
            closes > at,
        ),
    ]


def _valid_on(day: dt.date) -> ColumnElement[bool]:
    return and_(
        or_(MapHours.valid_from.is_(None), MapHours.valid_from <= day),
        or_(MapHours.valid_to.is_(None), MapHours.valid_to >= day),
    )


def month_span(month: int, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last days of the next occurrence of ``month`` (this year's if it is not
    over, else next year's)."""
    year = today.year if month >= today.month else today.year + 1
    first = dt.date(year, month, 1)
    return first, dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
