"""Load validated records into the store: idempotent, one transaction per source.

Records are keyed by (source, source record id); ids of the rows made from a record are
deterministic (UUID 5), and a record whose content hash is unchanged is not touched, so a re-run
with unchanged input writes nothing. A changed record's rows are replaced; a record that left
the source is removed. The published listings of what changed are rebuilt, and the stored
coverage indicators they can alter forgotten (all of them when the source's coverage claims
changed), in the same transaction (:func:`caremap.republish.services_changed`). Any failure
rolls the whole source back, leaving the previous state.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, delete, insert, select, update

from caremap import overlay, reasons
from caremap.coverage import stored
from caremap.coverage.claims import CoverageClaim, claimed_pairs, dump_claims
from caremap.helplines import area_fields
from caremap.model import (
    Accessibility,
    Address,
    Attribute,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceCapacity,
    Source,
    SourceRecord,
)
from caremap.normalise import fold
from caremap.paging import ID_CHUNK, chunks
from caremap.republish import services_changed
from caremap.store import Store
from caremap.store.bulk import insert_rows
from etl.records import ListingRecord

NAMESPACE = uuid.UUID("6f1d3c52-9a8e-4f0b-9a61-3c2b7d1e5a10")
_NAMESPACE_SHA1 = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)  # what uuid5 hashes first
INSERT_CHUNK = 2_000  # records whose rows are built and inserted at a time


@dataclass(frozen=True)
class SourceInfo:
    """A source's identity and the licence terms its records carry."""

    name: str
    title: str
    licence: str = ""
    attribution: str = ""
    url: str = ""
    coverage: tuple[CoverageClaim, ...] = ()  # what the source lists completely, by type
    # The existing organization every record belongs to (an organization's own upload); None:
    # organizations are made from the names in the records.
    organization_id: str | None = None

    def columns(self) -> dict[str, str]:
        """The ``source`` table's descriptive columns."""
        return {
            "title": self.title,
            "licence": self.licence,
            "attribution": self.attribution,
            "url": self.url,
            "coverage": dump_claims(self.coverage),
        }


@dataclass(frozen=True)
class LoadCounts:
    inserted: int
    updated: int
    unchanged: int
    removed: int
    # Editors' changes applied again over changed records (:mod:`caremap.overlay`), and the
    # edited fields the source had changed too ("service id: field").
    edits_kept: int = 0
    edits_over_source: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadedRow:
    """What is remembered of a loaded row: its raw hash and the warnings it raised."""

    raw_hash: str | None
    warnings: list[str]


def loaded_rows(store: Store, source: str) -> dict[str, LoadedRow]:
    """The rows of ``source`` as last loaded, by source record id."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(
                SourceRecord.source_record_id, SourceRecord.raw_hash, SourceRecord.warnings
            ).where(SourceRecord.source_name == source)
        )
        return {r.source_record_id: LoadedRow(r.raw_hash, _warnings(r.warnings)) for r in rows}


def _warnings_json(record: ListingRecord) -> str:
    """A record's warnings as stored, each able to say itself again (:mod:`caremap.reasons`)."""
    return json.dumps([reasons.encode(w) for w in record.warnings], ensure_ascii=False)


def _warnings(stored: str | None) -> list[str]:
    return [reasons.decode(w) for w in json.loads(stored or "[]")]


def record_id(source: str, key: str, kind: str) -> str:
    """The stable id (UUID 5) of the ``kind`` row made from ``key`` in ``source``: what
    ``str(uuid.uuid5(NAMESPACE, name))`` gives, without its UUID object (a first load makes
    about ten ids per row; ``uuid5`` took a twentieth of it)."""
    digest = _NAMESPACE_SHA1.copy()
    digest.update(f"{source}|{key}|{kind}".encode())
    hashed = bytearray(digest.digest()[:16])
    hashed[6] = hashed[6] & 0x0F | 0x50  # version 5
    hashed[8] = hashed[8] & 0x3F | 0x80  # RFC 4122 variant
    x = hashed.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


@dataclass(frozen=True)
class _Plan:
    """What loading one chunk of a source's records would do."""

    new: list[ListingRecord]
    changed: list[ListingRecord]
    restamp: list[ListingRecord]
    unchanged: int
    hashes: dict[str, str]

    @property
    def writes(self) -> bool:
        return bool(self.new or self.changed or self.restamp)


def _plan(connection: Connection, source: str, records: list[ListingRecord]) -> _Plan:
    """Compare a chunk of records with what the store holds of them."""
    hashes = {r.source_record_id: r.content_hash() for r in records}
    previous = {
        row.source_record_id: row
        for row in connection.execute(
            select(
                SourceRecord.source_record_id, SourceRecord.content_hash, SourceRecord.raw_hash
            ).where(
                SourceRecord.source_name == source,
                SourceRecord.source_record_id.in_(list(hashes)),
            )
        )
    }
    new = [r for r in records if r.source_record_id not in previous]
    old = [r for r in records if r.source_record_id in previous]
    changed = [
        r for r in old if previous[r.source_record_id].content_hash != hashes[r.source_record_id]
    ]
    changed_ids = {r.source_record_id for r in changed}
    restamp = [
        r
        for r in old
        if r.source_record_id not in changed_ids
        and previous[r.source_record_id].raw_hash != r.raw_hash
    ]
    return _Plan(new, changed, restamp, len(old) - len(changed), hashes)


@dataclass
class _Tally:
    """A source's records planned so far: their counts, and the ids of those seen."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    seen: set[str] = field(default_factory=set)

    def add(self, plan: _Plan) -> None:
        self.inserted += len(plan.new)
        self.updated += len(plan.changed)
        self.unchanged += plan.unchanged
        self.seen.update(plan.hashes)

    def removed(self, connection: Connection, source: str, kept: Collection[str]) -> list[str]:
        """The source's stored record ids that are neither seen nor ``kept``."""
        stored = connection.scalars(
            select(SourceRecord.source_record_id).where(SourceRecord.source_name == source)
        )
        return sorted(key for key in stored if key not in self.seen and key not in kept)

    def counts(
        self, kept: Collection[str], removed: list[str], edits: overlay.Reapplied
    ) -> LoadCounts:
        return LoadCounts(
            self.inserted,
            self.updated,
            self.unchanged + len(kept),
            len(removed),
            edits.fields,
            tuple(edits.over_source_changes),
        )


def plan_source(
    store: Store,
    source: SourceInfo,
    records: Iterable[ListingRecord],
    kept: Collection[str] = frozenset(),
) -> LoadCounts:
    """What :func:`load_source` would do with these records now, without writing anything;
    ``records`` are taken by chunks, so that only one chunk is held."""
    tally = _Tally()
    with store.engine.connect() as connection:
        for chunk in chunks(records, INSERT_CHUNK):
            tally.add(_plan(connection, source.name, chunk))
        return tally.counts(kept, tally.removed(connection, source.name, kept), overlay.Reapplied())


def load_source(
    store: Store,
    source: SourceInfo,
    records: Iterable[ListingRecord],
    kept: Collection[str] = frozenset(),
    data_dir: Path | None = None,
) -> LoadCounts:
    """Bring the store in line with ``source``, whose complete current content is ``records``
    plus the already-loaded records ``kept`` (ids of rows skipped as unchanged; ``kept`` may
    grow while ``records`` are consumed and is read once they are); ``data_dir`` holds the
    boundaries the stored coverage indicators are forgotten by.

    ``records`` are taken and written by chunks, so that only one chunk is held; the store's
    transaction holds the rows written until the whole source is, then commits them."""
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as connection, store.large_transaction(connection):
        load = _Load(connection, source, now, data_dir)
        for chunk in chunks(records, INSERT_CHUNK):
            load.write(_plan(connection, source.name, chunk))
        return load.finish(kept)


class _Load:
    """One source's load, in the transaction of ``connection``, chunk by chunk."""

    def __init__(
        self, connection: Connection, source: SourceInfo, now: dt.datetime, data_dir: Path | None
    ) -> None:
        self.connection, self.source, self.now = connection, source, now
        self.data_dir = data_dir
        self.source_is_current = _source_is_current(connection, source)
        self.claims_changed = _claims_changed(connection, source)
        self.started = False
        self.tally = _Tally()
        self.written: list[str] = []  # ids of the records inserted or replaced
        self.kept_edits = overlay.Reapplied()

    def _start(self) -> None:
        """Before the first write: the source's row."""
        if not self.started:
            _upsert_source(self.connection, self.source, self.now)
            self.started = True

    def write(self, plan: _Plan) -> None:
        """Write one chunk's new and changed records, and restamp its rewritten rows."""
        self.tally.add(plan)
        if not plan.writes:
            return
        self._start()
        connection, name = self.connection, self.source.name
        changed_ids = [r.source_record_id for r in plan.changed]
        _delete_records(connection, name, changed_ids)
        rows = functools.partial(_Rows, name, self.now, self.source.organization_id)
        _insert_records(connection, rows, plan.new + plan.changed, plan.hashes)
        edits = _keep_edits(connection, self.source, changed_ids, self.now)
        self.kept_edits.fields += edits.fields
        self.kept_edits.over_source_changes += edits.over_source_changes
        _restamp_records(connection, name, plan.restamp)
        self.written += [r.source_record_id for r in plan.new + plan.changed]

    def finish(self, kept: Collection[str]) -> LoadCounts:
        """Remove the records that left the source, then publish what changed."""
        removed = self.tally.removed(self.connection, self.source.name, kept)
        counts = self.tally.counts(kept, removed, self.kept_edits)
        if not (self.started or removed) and self.source_is_current:
            return counts
        self._start()
        _delete_records(self.connection, self.source.name, removed)
        _delete_orphan_organizations(self.connection, self.source.name)
        keys = self.written + removed
        services_changed(
            self.connection,
            _to_publish(self.connection, self.source, self.source_is_current, keys),
            data_dir=self.data_dir,
        )
        if self.claims_changed:
            stored.invalidate(self.connection)
        return counts


def _keep_edits(
    connection: Connection, source: SourceInfo, keys: list[str], now: dt.datetime
) -> overlay.Reapplied:
    """Editors' changes to records an open-data source changed, applied again; an
    organization's own upload is its latest word, so nothing is applied over it."""
    if source.organization_id is not None:
        return overlay.Reapplied()
    services = [record_id(source.name, k, "service") for k in keys]
    locations = [record_id(source.name, k, "location") for k in keys]
    return overlay.reapply(connection, services, locations, now)


def _to_publish(
    connection: Connection, source: SourceInfo, source_is_current: bool, keys: list[str]
) -> list[str]:
    """Ids of the services whose listings may have changed: every service of the source when
    its title or attribution did (listings show them), else those made from ``keys``."""
    if not source_is_current:
        return list(
            connection.execute(select(Service.id).where(Service.source_name == source.name))
            .scalars()
            .all()
        )
    return [record_id(source.name, key, "service") for key in keys]


def _restamp_records(connection: Connection, source: str, records: list[ListingRecord]) -> None:
    """Rows whose text changed but whose record did not: remember their new raw hash."""
    for record in records:
        connection.execute(
            update(SourceRecord)
            .where(
                SourceRecord.source_name == source,
                SourceRecord.source_record_id == record.source_record_id,
            )
            .values(raw_hash=record.raw_hash, warnings=_warnings_json(record), line=record.line)
        )


def _source_is_current(connection: Connection, source: SourceInfo) -> bool:
    wanted = source.columns()
    stored = connection.execute(
        select(*(getattr(Source, column) for column in wanted)).where(Source.name == source.name)
    ).first()
    return stored is not None and tuple(stored) == tuple(wanted.values())


def _claims_changed(connection: Connection, source: SourceInfo) -> bool:
    """Whether the source declares other coverage than stored (it alters every data status)."""
    before = connection.scalar(select(Source.coverage).where(Source.name == source.name))
    return claimed_pairs(before) != claimed_pairs(dump_claims(source.coverage))


def _upsert_source(connection: Connection, source: SourceInfo, now: dt.datetime) -> None:
    values = {**source.columns(), "loaded_at": now}
    exists = connection.execute(select(Source.name).where(Source.name == source.name)).first()
    if exists:
        connection.execute(update(Source).where(Source.name == source.name).values(**values))
    else:
        connection.execute(insert(Source).values(name=source.name, **values))


def _delete_records(connection: Connection, source: str, keys: list[str]) -> None:
    """Delete what was made from these records; child rows go by ON DELETE CASCADE."""
    for chunk in chunks(keys, ID_CHUNK):
        services = [record_id(source, key, "service") for key in chunk]
        locations = [record_id(source, key, "location") for key in chunk]
        connection.execute(delete(Attribute).where(Attribute.link_id.in_(services)))
        connection.execute(delete(Service).where(Service.id.in_(services)))
        connection.execute(delete(Location).where(Location.id.in_(locations)))
        connection.execute(
            delete(SourceRecord).where(
                SourceRecord.source_name == source, SourceRecord.source_record_id.in_(chunk)
            )
        )


def _insert_records(
    connection: Connection,
    rows: Callable[[], _Rows],
    records: list[ListingRecord],
    hashes: dict[str, str],
) -> None:
    """Insert the rows made from ``records``, :data:`INSERT_CHUNK` records at a time (so that
    only one chunk's rows are held), each chunk in fresh ``rows()``."""
    for batch in chunks(records, INSERT_CHUNK):
        chunk = rows()
        for record in batch:
            chunk.add(record, hashes[record.source_record_id])
        existing = set(
            connection.execute(
                select(Organization.id).where(Organization.id.in_(list(chunk.organizations)))
            ).scalars()
        )
        chunk.organizations = {k: v for k, v in chunk.organizations.items() if k not in existing}
        for table, values in chunk.by_table():
            insert_rows(connection, table, values)


def _delete_orphan_organizations(connection: Connection, source: str) -> None:
    connection.execute(
        delete(Organization).where(
            Organization.source_name == source,
            Organization.id.not_in(select(Service.organization_id)),
            Organization.id.not_in(select(Location.organization_id)),
        )
    )


class _Rows:
    """Table rows built from records, in insertion (foreign key) order."""

    def __init__(self, source: str, now: dt.datetime, organization_id: str | None) -> None:
        self.source, self.now, self.organization_id = source, now, organization_id
        self.organizations: dict[str, dict] = {}
        self.tables: dict[type, list[dict]] = {
            t: []
            for t in (
                Service,
                ServiceArea,
                Location,
                ServiceAtLocation,
                Address,
                Phone,
                Schedule,
                Language,
                Accessibility,
                ServiceCapacity,
                Attribute,
                SourceRecord,
            )
        }

    def by_table(self) -> list[tuple[type, list[dict]]]:
        return [(Organization, list(self.organizations.values())), *self.tables.items()]

    def _provenance(self, record: ListingRecord, suffix: str = "") -> dict:
        return {
            "source_name": self.source,
            "source_record_id": record.source_record_id + suffix,
            "source_as_of": record.as_of or None,
            "imported_at": self.now,
        }

    def add(self, record: ListingRecord, content_hash: str) -> None:
        key = record.source_record_id
        organization_id = self.organization_id or record_id(
            self.source, fold(record.organization_name), "organization"
        )
        service_id = record_id(self.source, key, "service")
        location_id = record_id(self.source, key, "location")
        self.organizations.setdefault(
            organization_id,
            {
                "id": organization_id,
                "name": record.organization_name,
                "description": "",
                **self._provenance(record),
            },
        )
        self._add_service(record, service_id, organization_id)
        if record.service_areas:
            self._add_service_areas(record, service_id)
        else:
            self._add_location(record, location_id, organization_id)
            self.tables[ServiceAtLocation].append(
                {
                    "id": record_id(self.source, key, "service_at_location"),
                    "service_id": service_id,
                    "location_id": location_id,
                    **self._provenance(record),
                }
            )
        self._add_children(record, service_id, location_id)
        self.tables[SourceRecord].append(
            {
                "source_name": self.source,
                "source_record_id": key,
                "content_hash": content_hash,
                "raw_hash": record.raw_hash,
                "warnings": _warnings_json(record),
                "line": record.line,
                "loaded_at": self.now,
            }
        )

    def _add_service(self, record: ListingRecord, service_id: str, organization_id: str) -> None:
        self.tables[Service].append(
            {
                "id": service_id,
                "organization_id": organization_id,
                "name": record.service_name,
                "alternate_name": record.alternate_name or None,
                "description": record.description or None,
                "url": record.url or None,
                "email": record.email or None,
                "status": "active",
                "interpretation_services": record.language_note or None,
                "application_process": record.application_process or None,
                "eligibility_description": record.eligibility_description or None,
                **self._provenance(record),
            }
        )

    def _add_service_areas(self, record: ListingRecord, service_id: str) -> None:
        for area in record.service_areas:
            self.tables[ServiceArea].append(
                {
                    "id": record_id(self.source, record.source_record_id, f"area:{area}"),
                    "service_id": service_id,
                    **area_fields(area),
                    **self._provenance(record, f"#area:{area}"),
                }
            )

    def _add_location(self, record: ListingRecord, location_id: str, organization_id: str) -> None:
        self.tables[Location].append(
            {
                "id": location_id,
                "organization_id": organization_id,
                "name": record.location_name,
                "location_type": "physical",
                "confidential": record.confidential,
                "latitude": record.public_latitude,
                "longitude": record.public_longitude,
                "public_point_rule": record.public_point_rule,
                "private_latitude": record.latitude,
                "private_longitude": record.longitude,
                "geocode_precision": record.geocode_precision,
                "geocode_matched": record.geocode_matched,
                "pruid": record.pruid,
                "cduid": record.cduid,
                "timezone": record.timezone or None,
                **self._provenance(record),
            }
        )
        self.tables[Address].append(
            {
                "id": record_id(self.source, record.source_record_id, "address"),
                "location_id": location_id,
                "address_1": record.street_address,
                "city": record.city,
                "state_province": record.province,
                "postal_code": record.postal_code,
                "country": "CA",
                "address_type": "physical",
                **self._provenance(record),
            }
        )

    def _add_children(self, record: ListingRecord, service_id: str, location_id: str) -> None:
        key, t = record.source_record_id, self.tables
        for i, phone in enumerate(record.phones):
            t[Phone].append(
                {
                    "id": record_id(self.source, key, f"phone{i}"),
                    "service_id": service_id,
                    "number": phone.number,
                    "extension": phone.extension or None,
                    "type": "voice",
                    "description": phone.description or None,
                    **self._provenance(record, f"#phone{i}"),
                }
            )
        for i, s in enumerate(record.schedules):
            t[Schedule].append(
                {
                    "id": record_id(self.source, key, f"schedule{i}"),
                    "service_id": service_id,
                    "freq": "WEEKLY" if s.byday else None,
                    "byday": s.byday,
                    "opens_at": s.opens_at,
                    "closes_at": s.closes_at,
                    "valid_from": s.valid_from,
                    "valid_to": s.valid_to,
                    "description": s.description,
                    **self._provenance(record, f"#schedule{i}"),
                }
            )
        for i, language in enumerate(record.languages):
            t[Language].append(
                {
                    "id": record_id(self.source, key, f"language{i}"),
                    "service_id": service_id,
                    "code": language.code,
                    "name": language.name,
                    **self._provenance(record, f"#language{i}"),
                }
            )
        # Accessibility describes a location: a service without one has none.
        for i, text in enumerate(() if record.service_areas else record.accessibility):
            t[Accessibility].append(
                {
                    "id": record_id(self.source, key, f"accessibility{i}"),
                    "location_id": location_id,
                    "description": text,
                    **self._provenance(record, f"#accessibility{i}"),
                }
            )
        for i, c in enumerate(record.capacities):
            t[ServiceCapacity].append(
                {
                    "id": record_id(self.source, key, f"capacity{i}"),
                    "service_id": service_id,
                    "unit": c.unit,
                    "maximum": c.maximum,
                    "available": c.available,
                    "description": c.description or None,
                    "updated": c.updated,
                    **self._provenance(record, f"#capacity{i}"),
                }
            )
        for code in record.term_codes:
            t[Attribute].append(
                {
                    "id": record_id(self.source, key, f"term:{code}"),
                    "link_id": service_id,
                    "link_type": "service",
                    "link_entity": "service",
                    "taxonomy_term_id": code,
                    "source_name": self.source,
                }
            )
