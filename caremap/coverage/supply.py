"""What coverage counts as supply: the public point of each location of the published services,
with what a selection reads of each service (its service types, populations served, beds and
seasonal dates), in columns.

:meth:`Supply.of` takes it from services (read models); the stored build keeps it in the
``coverage_supply`` table (one row per published listing, :func:`store`), so that a build after
an edit reads these rows and decodes only the listings changed since (:func:`read`): every
write to the listings drops its services' rows (:func:`drop`), and a listing whose row is
missing or holds another public point is decoded again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import orjson
from sqlalchemy import Connection, delete, or_, select

from caremap.listing import Supplier, decode_supplier
from caremap.matching import merges
from caremap.model import CoverageSupply, PublicListing
from caremap.paging import ID_CHUNK, chunks
from caremap.queries import PublicSchedule, PublicService
from caremap.store.bulk import insert_rows
from caremap.timefilters import month_span

Season = tuple[dt.date | None, dt.date | None]  # valid from, valid to (either may be open)
Row = tuple  # a coverage_supply row: the columns of ROW_COLUMNS


@dataclass(frozen=True)
class Supply:
    """Services (those with a point) in the order given, and their points in each one's
    locations' order: per service its id, service types, populations and seasons (for those
    with seasonal dates), per point the position of its service, its id, point and beds."""

    service_ids: np.ndarray
    service_types: tuple[frozenset[str], ...]
    populations: tuple[frozenset[str], ...]
    seasons: dict[int, tuple[Season, ...]]
    service: np.ndarray
    ids: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    beds: np.ndarray

    @classmethod
    def of(cls, services: Sequence[PublicService | Supplier]) -> Supply:
        """The supply of these services (in their order)."""
        return cls.of_rows([row for service in services for row in rows_of(service)])

    @classmethod
    def of_rows(cls, rows: Sequence[Row]) -> Supply:
        """The supply of ``coverage_supply`` rows, its services' rows together and in their
        locations' order."""
        starts = [n for n, row in enumerate(rows) if n == 0 or row[1] != rows[n - 1][1]]
        firsts = [rows[n] for n in starts]
        seasons = {i: _seasons(row[8]) for i, row in enumerate(firsts) if row[8] != "[]"}
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(ROW_COLUMNS)
        return cls(
            np.array([row[1] for row in firsts], dtype=object),
            tuple(frozenset(row[6].split()) for row in firsts),
            tuple(frozenset(row[7].split()) for row in firsts),
            seasons,
            np.repeat(np.arange(len(starts)), np.diff([*starts, len(rows)])).astype(int),
            np.array(columns[0], dtype=object),
            np.array(columns[3], float),
            np.array(columns[4], float),
            np.array(columns[5], float),
        )

    def in_month(self, month: int, today: dt.date) -> np.ndarray:
        """Per service, whether it runs in the next occurrence of ``month`` (as
        :func:`caremap.search.available_in_month` judges it): every one without seasonal
        dates does."""
        first, last = month_span(month, today)
        mask = np.ones(len(self.service_ids), dtype=bool)
        for i, seasons in self.seasons.items():
            mask[i] = any(
                (start is None or start <= last) and (end is None or end >= first)
                for start, end in seasons
            )
        return mask


ROW_COLUMNS = (
    CoverageSupply.listing_id,
    CoverageSupply.service_id,
    CoverageSupply.service_name,
    CoverageSupply.latitude,
    CoverageSupply.longitude,
    CoverageSupply.beds,
    CoverageSupply.service_types,
    CoverageSupply.populations,
    CoverageSupply.seasons,
)


def rows_of(service: PublicService | Supplier) -> list[Row]:
    """The ``coverage_supply`` rows of a service: one per location, in their order."""
    terms = service.terms
    types = " ".join(sorted(terms.get("service_type", ())))
    populations = " ".join(sorted(terms.get("population", ())))
    seasons = orjson.dumps(
        [(s.valid_from, s.valid_to) for s in service.schedules if _seasonal(s)]
    ).decode()
    beds = bed_count(service)
    return [
        (
            f"{service.id}@{loc.id}",
            service.id,
            service.name,
            loc.latitude,
            loc.longitude,
            beds,
            types,
            populations,
            seasons,
        )
        for loc in service.locations
    ]


def bed_count(service: PublicService | Supplier) -> int:
    """The beds a service counts as supply: the maximum of each of its bed capacities."""
    return sum(c.maximum or 0 for c in service.capacities if c.unit == "beds")


def _seasonal(schedule: PublicSchedule) -> bool:
    return schedule.valid_from is not None or schedule.valid_to is not None


def _seasons(text: str) -> tuple[Season, ...]:
    return tuple((_date(start), _date(end)) for start, end in orjson.loads(text))


def _date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def store(connection: Connection, services: Iterable[PublicService | Supplier]) -> None:
    """Replace every stored row by those of ``services``."""
    connection.execute(delete(CoverageSupply))
    _insert(connection, [row for service in services for row in rows_of(service)])


def drop(connection: Connection, service_ids: Iterable[str] | None = None) -> None:
    """Forget the rows of these services and of the entries that took them in (of every one
    when None)."""
    if service_ids is None:
        connection.execute(delete(CoverageSupply))
        return
    merged_into = merges(connection)
    _delete(connection, {j for i in service_ids for j in (i, merged_into.get(i, i))})


def _delete(connection: Connection, service_ids: Iterable[str]) -> None:
    for chunk in chunks(sorted(set(service_ids)), ID_CHUNK):
        connection.execute(delete(CoverageSupply).where(CoverageSupply.service_id.in_(chunk)))


def read(connection: Connection) -> list[Row]:
    """Every published listing's row, by service name, service id and location order: the
    rows of listings without a current one (a missing row, or one holding another public
    point) made again from their records first, and rows without a listing dropped."""
    table, listing = CoverageSupply, PublicListing
    stale = set(  # not DISTINCT: the listings' point index alone then answers
        connection.scalars(
            select(listing.service_id)
            .outerjoin(table, table.listing_id == listing.id)
            .where(
                or_(
                    table.listing_id.is_(None),
                    table.latitude != listing.latitude,
                    table.longitude != listing.longitude,
                )
            )
        )
    )
    connection.execute(
        delete(table).where(table.listing_id.not_in(select(listing.id).scalar_subquery()))
    )
    if stale:
        _delete(connection, stale)
        _insert(connection, [row for s in _decoded(connection, stale) for row in rows_of(s)])
    rows = connection.execute(select(*ROW_COLUMNS).order_by(table.service_id, table.position))
    return sorted(rows, key=lambda row: (row[2], row[1]))  # by name as Python compares text


def _decoded(connection: Connection, service_ids: Iterable[str]) -> list[Supplier]:
    return [
        decode_supplier(record)
        for chunk in chunks(sorted(service_ids), ID_CHUNK)
        for record in connection.scalars(
            select(PublicListing.record).where(
                PublicListing.service_id.in_(chunk), PublicListing.position == 0
            )
        )
    ]


def _insert(connection: Connection, rows: list[Row]) -> None:
    names = [column.key for column in ROW_COLUMNS]
    positions: dict[str, int] = {}
    records = []
    for row in rows:
        position = positions[row[1]] = positions.get(row[1], -1) + 1
        records.append({**dict(zip(names, row, strict=True)), "position": position})
    insert_rows(connection, CoverageSupply, records)
