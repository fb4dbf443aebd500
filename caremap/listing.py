"""Published listings: one service at one location as the public may see it, stored ready to
serve (the ``public_listing`` table, written only by :mod:`caremap.publish`).

``feature`` is the GeoJSON Feature text of :func:`caremap.geojson.service_feature` without the
members a search adds; ``record`` is the public read model (the :class:`PublicService` and the
:class:`PublicLocation`) as JSON, decoded only when a page or a time filter needs it."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, func, or_, select, true

from caremap.geocoder import Precision
from caremap.model import PublicListing
from caremap.privacy import PublicAddress, PublicLocation
from caremap.queries import (
    PublicCapacity,
    PublicPhone,
    PublicSchedule,
    PublicService,
    PublicSource,
)

# What ranking a listing and grouping it into places needs: read for every candidate.
KEY_COLUMNS = (
    PublicListing.id,
    PublicListing.service_id,
    PublicListing.service_name,
    PublicListing.confidential,
    PublicListing.place,
    PublicListing.latitude,
    PublicListing.longitude,
)
# What a search that shows only Features reads for its page (no time filter).
FEATURE_COLUMNS = (*KEY_COLUMNS, PublicListing.feature, PublicListing.capacities)
COLUMNS = (*FEATURE_COLUMNS, PublicListing.record)
# The precisions of a point that stands for an address (coarser ones stand for an area).
ADDRESS_PRECISIONS = frozenset(
    {Precision.SOURCE_COORDINATES, Precision.MANUAL, Precision.POSTAL_CODE}
)


class ListingRead(enum.Enum):
    """How much of each listing a read takes: its key, also its Feature and bed counts, or
    also its record."""

    KEY = "key"
    FEATURE = "feature"
    RECORD = "record"

    @property
    def columns(self) -> tuple[Any, ...]:
        return {"key": KEY_COLUMNS, "feature": FEATURE_COLUMNS, "record": COLUMNS}[self.value]

    @staticmethod
    def whole(with_record: bool) -> ListingRead:
        """The read of a listing's Feature, with its record or not."""
        return ListingRead.RECORD if with_record else ListingRead.FEATURE


@dataclass(frozen=True)
class ListingKey:
    """A listing as a search ranks it and groups it into places; (``latitude``,
    ``longitude``) is its public point. ``place``: see :func:`place_of`."""

    id: str  # "service_id@location_id", the Feature's id
    service_id: str
    service_name: str
    confidential: bool
    place: str | None
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Listing(ListingKey):
    feature: str
    capacities: str
    record: str | None  # None when read with the FEATURE_COLUMNS only

    @cached_property
    def public(self) -> tuple[PublicService, PublicLocation]:
        return decode_record(self._record())

    @cached_property
    def timetable(self) -> Timetable:
        """What the time filters read (from the record, decoded only that far)."""
        return decode_timetable(self._record())

    def _record(self) -> str:
        if self.record is None:
            raise ValueError(f"listing {self.id} was read without its record")
        return self.record

    @cached_property
    def counted_capacities(self) -> tuple[PublicCapacity, ...]:
        """The capacities with an availability count and the time it was counted."""
        if self.capacities == "[]":
            return ()
        return tuple(_capacity(c) for c in orjson.loads(self.capacities))


def place_of(service: PublicService, location: PublicLocation) -> str | None:
    """The organization (case and spacing folded) of a public listing placed at an address,
    which a search groups with the same organization's listings at that address; None for a
    confidential listing, one placed at an area (its community, postal district), or one
    without an organization."""
    if location.confidential or location.geocode_precision not in ADDRESS_PRECISIONS:
        return None
    return " ".join((service.organization or "").casefold().split()) or None


def key_of(row: Sequence) -> ListingKey:
    """A listing's key from a row whose first columns are the :data:`KEY_COLUMNS`."""
    return ListingKey(*row[: len(KEY_COLUMNS)])


def listing_of(row: Sequence, with_record: bool = True) -> Listing:
    """A listing from a row whose first columns are the :data:`COLUMNS` (the
    :data:`FEATURE_COLUMNS` without ``with_record``)."""
    if with_record:
        return Listing(*row[: len(COLUMNS)])
    feature_columns_and_no_record = (*row[: len(FEATURE_COLUMNS)], None)
    return Listing(*feature_columns_and_no_record)


def read_of(row: Sequence, read: ListingRead) -> ListingKey:
    """What ``read`` reads of a listing, from a row whose first columns are its columns."""
    if read is ListingRead.KEY:
        return key_of(row)
    return listing_of(row, with_record=read is ListingRead.RECORD)


@dataclass(frozen=True)
class WholeRead:
    """Which candidates of a nearest-first read (0-based, nearest first on the sphere, from
    ``start`` up to ``stop``) are read with ``read`` rather than as keys: those a search's page
    is likely to show, read in the statement that ranks them."""

    start: int
    stop: int
    read: ListingRead


def key_or_whole(row: Sequence, whole: ListingRead) -> ListingKey:
    """A listing's key, or what ``whole`` reads of it when the row has its Feature: from a
    row whose first columns are ``whole``'s, those after the key NULL for a key."""
    if row[len(KEY_COLUMNS)] is None:
        return key_of(row)
    return read_of(row, whole)


def listings_with_ids(
    connection: Connection, ids: Sequence[str], with_record: bool
) -> dict[str, Listing]:
    """The listings with these ids, by id (with or without their records)."""
    statement = _with_ids(with_record)
    return {
        listing.id: listing
        for listing in (
            listing_of(row, with_record)
            for row in connection.execute(statement, {"ids": list(ids)})
        )
    }


@functools.cache
def _with_ids(with_record: bool) -> Select:
    columns = ListingRead.whole(with_record).columns
    return select(*columns).where(PublicListing.id.in_(bindparam("ids", expanding=True)))


def by_name(connection: Connection) -> tuple[ColumnElement[Any], ...]:
    """The order listings are listed in by name: service name, then service id, by code point
    (as Python compares text: SQLite's way, PostgreSQL's under "C"), then location order; the
    order of the index ``ix_public_listing_by_name`` (migration 0023)."""
    postgresql = connection.dialect.name == "postgresql"
    texts = (PublicListing.service_name.expression, PublicListing.service_id.expression)
    name, service_id = (text.collate("C") if postgresql else text for text in texts)
    return name, service_id, PublicListing.position.expression


def listings_by_name(
    connection: Connection,
    where: ColumnElement[bool] | None = None,
    limit: int | None = None,
    read: ListingRead = ListingRead.RECORD,
) -> list[ListingKey]:
    """What ``read`` reads of the listings (those passing ``where``) in :func:`by_name`
    order."""
    query = select(*read.columns).order_by(*by_name(connection))
    if where is not None:
        query = query.where(where)
    return [read_of(row, read) for row in connection.execute(query.limit(limit))]


@dataclass(frozen=True)
class LonLatBox:
    """A box in CRS84 degrees, in OGC's ``bbox`` order (min lon, min lat, max lon, max lat);
    a ``min_lon`` greater than ``max_lon`` crosses the antimeridian. Its edges are inside."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def holds_listing(self) -> ColumnElement[bool]:
        """An SQL condition: the listing's public point is in the box."""
        return self.holds(PublicListing.latitude, PublicListing.longitude)

    def holds(
        self, lat: ColumnElement[float] | Any, lon: ColumnElement[float] | Any
    ) -> ColumnElement[bool]:
        """An SQL condition: the point (``lat``, ``lon``: columns) is in the box."""
        across: ColumnElement[bool]
        if self.min_lon <= self.max_lon:
            across = lon.between(self.min_lon, self.max_lon)
        else:
            across = or_(lon >= self.min_lon, lon <= self.max_lon)
        return and_(lat.between(self.min_lat, self.max_lat), across)


@dataclass(frozen=True)
class ListingPage:
    listings: list[Listing]  # read without their records
    matched: int  # every listing in the box, on this page or not


def listings_page(
    connection: Connection, bbox: LonLatBox | None, offset: int, limit: int
) -> ListingPage:
    """The listings whose public point is in ``bbox`` (every one when None): at most ``limit``
    of them from the 0-based ``offset``, in :func:`by_name` order, that is in the order of the
    services of :func:`caremap.queries.public_services` and each one's locations."""
    where = true() if bbox is None else bbox.holds_listing()
    matched = connection.execute(
        select(func.count()).select_from(PublicListing).where(where)
    ).scalar_one()
    if offset >= matched:  # also keeps a huge offset out of SQL's integers
        return ListingPage([], matched)
    order = by_name(connection)
    # The page's ids first, sorted by their keys alone: no Feature text goes through the sort.
    ids = select(PublicListing.id).where(where).order_by(*order).offset(offset).limit(limit)
    page = ids.subquery()
    query = select(*FEATURE_COLUMNS).join(page, page.c.id == PublicListing.id).order_by(*order)
    rows = connection.execute(query)
    return ListingPage([listing_of(row, with_record=False) for row in rows], matched)


def listings_extent(connection: Connection) -> tuple[float, float, float, float] | None:
    """The box of every listing's public point, in CRS84 (min lon, min lat, max lon, max lat);
    None when there is no listing."""
    lon, lat = PublicListing.longitude, PublicListing.latitude
    extent = connection.execute(
        select(func.min(lon), func.min(lat), func.max(lon), func.max(lat))
    ).one()
    if any(value is None for value in extent):
        return None
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in extent)
    return min_lon, min_lat, max_lon, max_lat


def published_services(connection: Connection) -> list[PublicService]:
    """Every published service (those with a location) as its listings hold it, ordered by
    name: :func:`caremap.queries.public_services` without the services that have no location,
    from one column of the first listing of each."""
    records = connection.scalars(select(PublicListing.record).where(PublicListing.position == 0))
    return sorted((decode_service(record) for record in records), key=lambda s: (s.name, s.id))


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


def decode_service(text: str) -> PublicService:
    """The service of a listing's record (its listed location left undecoded)."""
    return _service(orjson.loads(text)["service"])


@dataclass(frozen=True)
class Supplier:
    """What coverage reads of a published service (a :class:`PublicService` has it too)."""

    id: str
    name: str
    terms: dict[str, tuple[str, ...]]  # facet → vocabulary codes
    schedules: tuple[PublicSchedule, ...]
    capacities: tuple[PublicCapacity, ...]
    locations: tuple[PublicLocation, ...]


def decode_supplier(text: str) -> Supplier:
    """What coverage reads of the service of a listing's record (a third of the CPU of
    decoding it whole)."""
    s = orjson.loads(text)["service"]
    return Supplier(
        s["id"],
        s["name"],
        {facet: tuple(codes) for facet, codes in s["terms"].items()},
        tuple(_schedule(r) for r in s["schedules"]),
        tuple(_capacity(c) for c in s["capacities"]),
        tuple(_location(loc) for loc in s["locations"]),
    )


@dataclass(frozen=True)
class Timetable:
    """What the browse map's members read of a listing's record (:mod:`caremap.mapmembers`)."""

    schedules: tuple[PublicSchedule, ...]
    capacities: tuple[PublicCapacity, ...]
    timezone: str | None  # the listed location's


def decode_timetable(text: str) -> Timetable:
    """The schedules and capacities of the service of a listing's record and its location's
    timezone, in about half the time of decoding the record whole."""
    record = orjson.loads(text)
    service = record["service"]
    return Timetable(
        tuple(_schedule(r) for r in service["schedules"]),
        tuple(_capacity(c) for c in service["capacities"]),
        record["location"]["timezone"],
    )


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
            "sources": tuple(PublicSource(**source) for source in s["sources"]),
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
