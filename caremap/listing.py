"""Published listings: one service at one location as the public may see it, stored ready to
serve (the ``public_listing`` table, written only by :mod:`caremap.publish`).

``feature`` is the GeoJSON Feature text of :func:`caremap.geojson.service_feature` without the
members a search adds; ``record`` is the public read model (the :class:`PublicService` and the
:class:`PublicLocation`) as JSON, decoded only when a page or a time filter needs it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import orjson
from sqlalchemy import ColumnElement, Connection, select

from caremap.model import PublicListing
from caremap.privacy import PublicAddress, PublicLocation
from caremap.queries import PublicCapacity, PublicPhone, PublicSchedule, PublicService

COLUMNS = (
    PublicListing.id,
    PublicListing.service_id,
    PublicListing.service_name,
    PublicListing.confidential,
    PublicListing.feature,
    PublicListing.capacities,
    PublicListing.record,
)
# What a search that shows only Features reads (no time filter, no page): the record is the
# largest column: about 15 % of the PostGIS search statement's server time.
FEATURE_COLUMNS = COLUMNS[:-1]


@dataclass(frozen=True)
class Listing:
    id: str  # "service_id@location_id", the Feature's id
    service_id: str
    service_name: str
    confidential: bool
    feature: str
    capacities: str
    record: str | None  # None when read with the FEATURE_COLUMNS only

    @cached_property
    def public(self) -> tuple[PublicService, PublicLocation]:
        if self.record is None:
            raise ValueError(f"listing {self.id} was read without its record")
        return decode_record(self.record)

    @cached_property
    def counted_capacities(self) -> tuple[PublicCapacity, ...]:
        """The capacities with an availability count and the time it was counted."""
        if self.capacities == "[]":
            return ()
        return tuple(_capacity(c) for c in orjson.loads(self.capacities))


def listing_of(row: Sequence, with_record: bool = True) -> Listing:
    """A listing from a row whose first columns are the :data:`COLUMNS` (the
    :data:`FEATURE_COLUMNS` without ``with_record``)."""
    if with_record:
        return Listing(*row[: len(COLUMNS)])
    feature_columns_and_no_record = (*row[: len(FEATURE_COLUMNS)], None)
    return Listing(*feature_columns_and_no_record)


def listings_by_name(
    connection: Connection, where: ColumnElement[bool] | None = None, limit: int | None = None
) -> list[Listing]:
    """Listings (those passing ``where``) by service name, then id, then location order."""
    query = select(*COLUMNS).order_by(
        PublicListing.service_name, PublicListing.service_id, PublicListing.position
    )
    if where is not None:
        query = query.where(where)
    return [listing_of(row) for row in connection.execute(query.limit(limit))]


def encode_record(service: PublicService, location: PublicLocation) -> str:
    return encode({"service": service, "location": location})


def encode_capacities(capacities: tuple[PublicCapacity, ...]) -> str:
    return encode([c for c in capacities if c.available is not None and c.updated is not None])


def encode(value: object) -> str:
    """Compact JSON text; read models' dataclasses as their fields, dates and times in ISO 8601
    (orjson: publishing encodes every listing, and the standard library's encoder was half of a
    first ETL load's publishing time)."""
    return orjson.dumps(value).decode()


def decode_record(text: str) -> tuple[PublicService, PublicLocation]:
    record = orjson.loads(text)
    return _service(record["service"]), _location(record["location"])


def _service(s: dict) -> PublicService:
    return PublicService(
        **{
            **s,
            "terms": {facet: tuple(codes) for facet, codes in s["terms"].items()},
            "phones": tuple(PublicPhone(**p) for p in s["phones"]),
            "schedules": tuple(_schedule(r) for r in s["schedules"]),
            "languages": tuple(s["languages"]),
            "capacities": tuple(_capacity(c) for c in s["capacities"]),
            "last_verified_at": _datetime(s["last_verified_at"]),
            "locations": tuple(_location(loc) for loc in s["locations"]),
        }
    )


def _location(loc: dict) -> PublicLocation:
    address = loc["address"]
    return PublicLocation(
        **{
            **loc,
            "address": PublicAddress(**address) if address else None,
            "accessibility": tuple(loc["accessibility"]),
        }
    )


def _schedule(r: dict) -> PublicSchedule:
    return PublicSchedule(
        r["byday"],
        _time(r["opens_at"]),
        _time(r["closes_at"]),
        _date(r["valid_from"]),
        _date(r["valid_to"]),
        r["description"],
    )


def _capacity(c: dict) -> PublicCapacity:
    return PublicCapacity(
        c["unit"], c["available"], c["maximum"], c["description"], _datetime(c["updated"])
    )


def _time(text: str | None) -> dt.time | None:
    return None if text is None else dt.time.fromisoformat(text)


def _date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _datetime(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)
