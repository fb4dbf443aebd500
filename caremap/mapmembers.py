"""The browse map's members: each published listing as the map counts and filters it.

``map_member`` holds a listing's public point, its cell at the finest stored zoom, its
timezone, and whether it has weekly hours and seasonal dates; ``map_term`` the taxonomy
terms and languages of its service (as the vocabulary filters read them) and ``map_hours``
its weekly hours (one row a weekday of each weekly rule), both with the member's cell and
point; ``map_season`` and ``map_beds`` hold what its public record says of its seasons and
availability counts. The hours, seasons and counts are rows SQL can test
(:mod:`caremap.mapfilters`). All of it is read from ``public_listing``: its public point and
its public record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, Select, delete, insert, literal, select

from caremap.listing import decode_timetable
from caremap.model import (
    Attribute,
    Language,
    MapBeds,
    MapHours,
    MapMember,
    MapSeason,
    MapTerm,
)
from caremap.queries import (
    DEFAULT_TIMEZONE,
    WEEKDAYS,
    PublicCapacity,
    PublicSchedule,
    has_weekly_hours,
)
from caremap.store.bulk import insert_rows

FINEST_ZOOM = 14  # the zoom of a member's cell (x, y): the grid's finest stored one
TABLES = (MapMember, MapTerm, MapHours, MapSeason, MapBeds)
# The codes the vocabulary filters test (caremap.search.listing_filter), by facet: the columns
# of a service's id and of its codes.
_CODES = {
    "term": (Attribute.link_id, Attribute.taxonomy_term_id),
    "language": (Language.service_id, Language.code),
}


def forget(connection: Connection, service_ids: list[str] | None) -> None:
    """The members of ``service_ids`` (every one when None) and their rows deleted."""
    for table in TABLES:
        query = delete(table)
        if service_ids is not None:
            query = query.where(table.service_id.in_(service_ids))
        connection.execute(query)


def store(connection: Connection, listings: Select) -> None:
    """The members of the listings ``listings`` selects (id, service_id, latitude, longitude,
    x, y, record), with their hours, seasons and availability counts."""
    rows: dict[type, list[dict]] = {table: [] for table in TABLES}
    for listing_id, service_id, latitude, longitude, x, y, record in connection.execute(listings):
        listed = decode_timetable(record)
        timezone = listed.timezone or DEFAULT_TIMEZONE
        ids = {"listing_id": listing_id, "service_id": service_id}
        rows[MapMember].append(
            {
                "id": listing_id,
                "service_id": service_id,
                "latitude": latitude,
                "longitude": longitude,
                "x": x,
                "y": y,
                "timezone": timezone,
                "weekly": has_weekly_hours(listed.schedules),
                "seasonal": any(_seasonal(rule) for rule in listed.schedules),
            }
        )
        days = _days(listed.schedules, timezone)
        place = {
            "x": x,
            "y": y,
            "latitude": latitude,
            "longitude": longitude,
            "alone": _alone(days),
        }
        rows[MapHours] += [{**ids, **place, **day} for day in days]
        rows[MapSeason] += [
            {**ids, "valid_from": rule.valid_from, "valid_to": rule.valid_to}
            for rule in listed.schedules
            if _seasonal(rule)
        ]
        rows[MapBeds] += [{**ids, **count} for count in _counts(listed.capacities)]
    for table, table_rows in rows.items():
        insert_rows(connection, table, table_rows)
    service_ids = sorted({row["service_id"] for row in rows[MapMember]})
    for facet, (service_id, code) in _CODES.items():
        terms = (
            select(
                MapMember.id,
                MapMember.service_id,
                literal(facet),
                code,
                MapMember.x,
                MapMember.y,
                MapMember.latitude,
                MapMember.longitude,
            )
            .join_from(MapMember, service_id.class_, service_id == MapMember.service_id)
            .where(MapMember.service_id.in_(service_ids), code.is_not(None))
            .distinct()
        )
        names = ["listing_id", "service_id", "facet", "code", "x", "y", "latitude", "longitude"]
        connection.execute(insert(MapTerm).from_select(names, terms))


def _seasonal(rule: PublicSchedule) -> bool:
    return rule.valid_from is not None or rule.valid_to is not None


def _days(schedules: Iterable[PublicSchedule], timezone: str) -> list[dict]:
    """The ``map_hours`` rows of the weekly rules: one for each day a rule names."""
    return [
        {
            "timezone": timezone,
            "weekday": WEEKDAYS.index(day),
            "opens_us": microseconds(rule.opens_at),
            "closes_us": microseconds(rule.closes_at),
            "valid_from": rule.valid_from,
            "valid_to": rule.valid_to,
        }
        for rule in schedules
        if rule.byday and rule.opens_at is not None and rule.closes_at is not None
        for day in sorted(set(rule.byday.split(",")) & set(WEEKDAYS))
    ]


def _alone(days: list[dict]) -> bool:
    """Whether at most one of the ``map_hours`` rows ``days`` can be open at any time: at most
    one a weekday, and none on the day after one running past midnight (dates aside)."""
    weekdays = [day["weekday"] for day in days]
    overnight = {day["weekday"] for day in days if day["opens_us"] > day["closes_us"]}
    return len(set(weekdays)) == len(weekdays) and not {
        (weekday + 1) % len(WEEKDAYS) for weekday in overnight
    } & set(weekdays)


def _counts(capacities: Iterable[PublicCapacity]) -> list[dict]:
    """The ``map_beds`` rows: the capacities with a count and the time it was counted."""
    return [
        {"available": c.available, "updated": c.updated}
        for c in capacities
        if c.available is not None and c.updated is not None
    ]


def microseconds(time: dt.time) -> int:
    """``time`` (its clock reading: any offset is not applied) in microseconds since
    midnight."""
    return ((time.hour * 60 + time.minute) * 60 + time.second) * 1_000_000 + time.microsecond
