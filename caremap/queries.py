"""Read models for public outputs.

Every location passes through :func:`caremap.privacy.public_location`, and spatial answers
come from the store's public points, so nothing here can reveal a confidential address."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import Connection, Row, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from caremap.language import language_of
from caremap.matching import merges
from caremap.model import (
    Accessibility,
    Address,
    Attribute,
    Jurisdiction,
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
    TaxonomyTerm,
)
from caremap.normalise import display_phone, is_dialable
from caremap.paging import ID_CHUNK, chunks
from caremap.privacy import PublicLocation, public_location, public_name, without_address
from caremap.readonce import once


@dataclass(frozen=True)
class PublicPhone:
    number: str  # E.164 for tel: links, or a local number as printed (no link)
    display: str  # national format, for people
    extension: str | None
    description: str | None

    @property
    def dialable(self) -> bool:
        """Whether a ``tel:`` link can dial it (a local number without area code cannot)."""
        return is_dialable(self.number)


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # a schedule's ``byday`` codes
END_OF_DAY = dt.time(23, 59)  # hours closing then run to midnight
DEFAULT_TIMEZONE = "America/Toronto"  # the hours' of a location without a timezone


@dataclass(frozen=True)
class PublicSchedule:
    byday: str | None
    opens_at: dt.time | None
    closes_at: dt.time | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    description: str | None


def has_weekly_hours(schedules: tuple[PublicSchedule, ...]) -> bool:
    """Whether some weekly rule says when the service opens and closes."""
    return any(
        rule.byday and rule.opens_at is not None and rule.closes_at is not None
        for rule in schedules
    )


@dataclass(frozen=True)
class PublicCapacity:
    unit: str
    available: int | None
    maximum: int | None
    description: str | None
    updated: dt.datetime | None


@dataclass(frozen=True)
class PublicSource:
    """One source of a service's entry: its name, the record's id there exactly as the file
    gives it, the source's date and licence."""

    source: str
    source_id: str
    as_of: str | None
    licence: str | None


@dataclass(frozen=True)
class PublicService:
    """A service as anyone may see it, with its locations' public views."""

    id: str
    name: str
    organization: str
    description: str | None
    status: str
    application_process: str | None
    eligibility_description: str | None
    interpretation_services: str | None
    terms: dict[str, tuple[str, ...]]  # facet → vocabulary codes
    phones: tuple[PublicPhone, ...]
    schedules: tuple[PublicSchedule, ...]
    languages: tuple[str, ...]  # language codes
    capacities: tuple[PublicCapacity, ...]
    source_name: str
    source_title: str
    source_attribution: str | None
    source_as_of: str | None
    last_verified_at: dt.datetime | None
    locations: tuple[PublicLocation, ...]
    sources: tuple[PublicSource, ...] = ()  # every source of the entry, this one's first


def public_services(session: Session, ids: list[str] | None = None) -> list[PublicService]:
    """Public views of the services (all, or those with ``ids``), ordered by name. A service
    merged into another entry (:mod:`caremap.matching`) is not one; the entry that took it in
    lists its source too, and has the beds of the newer of the two."""
    merged_into = merges(session.connection())
    wanted = None if ids is None else [i for i in ids if i not in merged_into]
    services = [s for s in _unmerged_services(session, wanted) if s.id not in merged_into]
    taken_in: dict[str, list[str]] = defaultdict(list)
    for merged, kept in merged_into.items():
        taken_in[kept].append(merged)
    taken_in_here = sorted(m for s in services for m in taken_in.get(s.id, ()))
    others = {s.id: s for s in _unmerged_services(session, taken_in_here)} if taken_in_here else {}
    services = [
        _with_merged(s, [others[m] for m in taken_in[s.id] if m in others]) for s in services
    ]
    return sorted(services, key=lambda s: (s.name, s.id))


def _unmerged_services(session: Session, ids: list[str] | None) -> list[PublicService]:
    """Public views of the services each as its own entry."""
    records = read_service_records(session, ids, public=True)
    children = _ServiceChildren.of(records)
    sources = _sources(session.connection())
    return [
        _public_service(row, children, sources.get(row.source_name), records.streets)
        for row in records.services
    ]


def _sources(connection: Connection) -> dict[str, Row]:
    """Each source's title, attribution and licence, by name (read once within
    :func:`caremap.readonce.reading_once`)."""
    query = select(Source.name, Source.title, Source.attribution, Source.licence)
    return once(connection, "sources", lambda: {row.name: row for row in connection.execute(query)})


def _with_merged(service: PublicService, merged: list[PublicService]) -> PublicService:
    """``service`` as the entry that took in the ``merged`` services: their sources listed,
    and the beds of the one whose source is newest. A confidential entry withholds the record
    ids of the merged services: such a record, in its own source, may give the address."""
    if not merged:
        return service
    newest = max([service, *merged], key=lambda s: s.source_as_of or "")
    confidential = any(location.confidential for location in service.locations)
    taken_in = tuple(
        replace(source, source_id="") if confidential else source
        for m in merged
        for source in m.sources
    )
    return replace(service, capacities=newest.capacities, sources=service.sources + taken_in)


@dataclass(frozen=True)
class ConfidentialStreets:
    """The address lines of confidential locations, by the services at them and by the
    organizations they concern (owning the location or providing a service at it): what the
    public text of those services and organizations must not reveal (:mod:`caremap.privacy`)."""

    by_service: dict[str, tuple[str, ...]]
    by_organization: dict[str, tuple[str, ...]]

    def of_service(self, service_id: str, organization_id: str) -> tuple[str, ...]:
        return self.by_service.get(service_id, ()) + self.of_organization(organization_id)

    def of_organization(self, organization_id: str) -> tuple[str, ...]:
        return self.by_organization.get(organization_id, ())

    def names(
        self, service_id: str, organization_id: str, name: str, organization: str
    ) -> tuple[str, str]:
        """The public (service name, organization name) of a service."""
        public_organization = public_name(organization, self.of_organization(organization_id))
        lines = self.of_service(service_id, organization_id)
        return public_name(name, lines, fallback=public_organization), public_organization


def confidential_streets(connection: Connection) -> ConfidentialStreets:
    """Every confidential location's address lines, by service and by organization (read once
    within :func:`caremap.readonce.reading_once`)."""
    return once(connection, "confidential_streets", lambda: _confidential_streets(connection))


def _confidential_streets(connection: Connection) -> ConfidentialStreets:
    rows = connection.execute(
        select(
            Location.organization_id,
            Address.address_1,
            Address.address_2,
            ServiceAtLocation.service_id,
            Service.organization_id.label("provider_id"),
        )
        .join(Address, Address.location_id == Location.id)
        .outerjoin(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
        .outerjoin(Service, Service.id == ServiceAtLocation.service_id)
        .where(Location.confidential)
    )
    by_service: dict[str, set[str]] = defaultdict(set)
    by_organization: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        lines = {line for line in (row.address_1, row.address_2) if line}
        by_organization[row.organization_id] |= lines
        if row.service_id is not None:
            by_service[row.service_id] |= lines
            by_organization[row.provider_id] |= lines
    return ConfidentialStreets(
        {key: tuple(sorted(lines)) for key, lines in by_service.items()},
        {key: tuple(sorted(lines)) for key, lines in by_organization.items()},
    )


@dataclass(frozen=True)
class ServiceRecords:
    """The stored rows of some services and of everything they link to, as Core rows (no ORM
    instances): what every public read model is made of (:func:`public_services`,
    :func:`caremap.hsds.tables.read_tables`). The rows are as stored: a location, and any text
    published with one, goes through :mod:`caremap.privacy` before it is public."""

    services: list[Row]  # with their ``organization_name``, by name then id
    organizations: list[Row]  # of the services and of their locations, by id
    links: list[Row]  # service_at_location, by id
    locations: dict[str, Row]  # by id
    addresses: dict[str, Row]  # each location's first address (by id), by location id
    accessibility: list[Row]  # the locations' notes that have a description, by id
    phones: list[Row]  # phones, schedules and languages of the services or of their
    schedules: list[Row]  # locations, by id
    languages: list[Row]
    capacities: list[Row]  # by id
    service_areas: list[Row]  # by id
    attributes: list[Row]  # the services', with their term's ``facet`` and ``code``, in that order
    streets: ConfidentialStreets


def read_service_records(
    session: Session, ids: list[str] | None = None, public: bool = False
) -> ServiceRecords:
    """The records of the services (all, or those with ``ids``), read with plain SELECTs of
    ids (:func:`_read_in`) rather than ORM loading: this is the hot path of publishing and of
    HSDS. With ``public``, only the columns :func:`public_services` reads (no provenance,
    nothing private), and no organizations or service areas: what publishing leaves would be
    a third of its reading."""
    connection = session.connection()
    services = _read_in(connection, _services_select(public), Service.id, ids)
    services.sort(key=lambda row: (row.name, row.id))
    service_ids = [row.id for row in services]
    links = _rows_of(
        connection, ServiceAtLocation, ServiceAtLocation.service_id, service_ids, public
    )
    location_ids = sorted({link.location_id for link in links})
    locations = _rows_of(connection, Location, Location.id, location_ids, public)
    organization_ids = sorted({row.organization_id for row in [*services, *locations]})
    addresses: dict[str, Row] = {}
    for address in _rows_of(connection, Address, Address.location_id, location_ids, public):
        addresses.setdefault(address.location_id, address)
    notes = _rows_of(connection, Accessibility, Accessibility.location_id, location_ids, public)
    attributes = _read_in(connection, _attributes_select(public), Attribute.link_id, service_ids)
    capacities = _rows_of(
        connection, ServiceCapacity, ServiceCapacity.service_id, service_ids, public
    )
    return ServiceRecords(
        services=services,
        organizations=[]
        if public
        else _rows_of(connection, Organization, Organization.id, organization_ids),
        links=links,
        locations={row.id: row for row in locations},
        addresses=addresses,
        accessibility=[note for note in notes if note.description],
        phones=_children(connection, Phone, service_ids, location_ids, public),
        schedules=_children(connection, Schedule, service_ids, location_ids, public),
        languages=_children(connection, Language, service_ids, location_ids, public),
        capacities=capacities,
        service_areas=[]
        if public
        else _rows_of(connection, ServiceArea, ServiceArea.service_id, service_ids),
        attributes=sorted(attributes, key=lambda row: (row.link_id, row.facet, row.code)),
        streets=confidential_streets(connection),
    )


# The columns of each table that :func:`public_services` reads (``read_service_records``
# with ``public``); it reads nothing of the other tables.
_PUBLIC_COLUMNS: dict[Any, tuple[str, ...]] = {
    Service: (
        "id",
        "organization_id",
        "name",
        "description",
        "status",
        "application_process",
        "eligibility_description",
        "interpretation_services",
        "source_name",
        "source_record_id",
        "source_as_of",
        "last_verified_at",
    ),
    ServiceAtLocation: ("id", "service_id", "location_id"),
    Location: (
        "id",
        "organization_id",
        "name",
        "latitude",
        "longitude",
        "confidential",
        "geocode_precision",
        "pruid",
        "cduid",
        "timezone",
    ),
    Address: (
        "id",
        "location_id",
        "address_1",
        "address_2",
        "city",
        "state_province",
        "postal_code",
    ),
    Accessibility: ("id", "location_id", "description"),
    Phone: ("id", "service_id", "location_id", "number", "extension", "description"),
    Schedule: (
        "id",
        "service_id",
        "location_id",
        "byday",
        "opens_at",
        "closes_at",
        "valid_from",
        "valid_to",
        "description",
    ),
    Language: ("id", "service_id", "location_id", "code"),
    ServiceCapacity: ("id", "service_id", "unit", "available", "maximum", "description", "updated"),
    Attribute: ("link_id",),
}


def _columns(model: Any, public: bool) -> list[Any]:
    """The columns of ``model``'s table read: every one, or only those the public read
    model reads."""
    table = model.__table__
    if not public:
        return [table]
    return [table.c[name] for name in _PUBLIC_COLUMNS[model]]


@functools.cache
def _services_select(public: bool) -> Select:
    """The services' columns read, with their organization's name (built once, as every
    statement here: building one took a tenth of a service page's CPU)."""
    return select(*_columns(Service, public), Organization.name.label("organization_name")).join(
        Organization, Organization.id == Service.organization_id
    )


@functools.cache
def _attributes_select(public: bool) -> Select:
    """The attributes' columns read, with their term's facet and code."""
    return select(*_columns(Attribute, public), TaxonomyTerm.facet, TaxonomyTerm.code).join(
        TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id
    )


@functools.cache
def _table_select(model: Any, public: bool) -> Select:
    """``model``'s columns read (:func:`_columns`)."""
    return select(*_columns(model, public))


@functools.cache
def _listed(query: Select, column: Any, sqlite: bool) -> Select:
    """``query`` for the rows whose ``column`` is one of the ids bound as ``ids``: on SQLite
    a JSON array, else a list."""
    ids = select(_JSON_IDS.c.value) if sqlite else bindparam("ids", expanding=True)
    return query.where(column.in_(ids))


def _read_in(connection: Connection, query: Select, column: Any, ids: list[str] | None) -> list:
    """The rows of ``query`` whose ``column`` is one of ``ids`` (every row when None). SQLite
    gets the ids as one JSON array (``json_each``), a statement per query: binding an ``IN``
    list's every id one by one took a fifth of publishing's reading. No ids, no statement (the
    read model of a page's no next steps, the children of no locations)."""
    if ids is None:
        return list(connection.execute(query).all())
    if not ids:
        return []
    if connection.dialect.name == "sqlite":
        listed = _listed(query, column, sqlite=True)
        return list(connection.execute(listed, {"ids": _json(ids)}).all())
    listed = _listed(query, column, sqlite=False)
    rows: list[Row[Any]] = []
    for chunk in chunks(ids, ID_CHUNK):
        rows += connection.execute(listed, {"ids": chunk}).all()
    return rows


_JSON_IDS = func.json_each(bindparam("ids")).table_valued("value")
"""SQLite: the values of the JSON array bound as ``ids``."""
_JSON_LOCATION_IDS = func.json_each(bindparam("location_ids")).table_valued("value")
"""SQLite: the values of the JSON array bound as ``location_ids``."""


def _rows_of(
    connection: Connection, model: Any, column: Any, ids: list[str], public: bool = False
) -> list[Row]:
    """The rows of ``model``'s table (every column, or :func:`_columns` ``public``) whose
    ``column`` is one of ``ids``, by id."""
    rows = _read_in(connection, _table_select(model, public), column, ids)
    return sorted(rows, key=lambda row: row.id)


def _children(
    connection: Connection,
    model: Any,
    service_ids: list[str],
    location_ids: list[str],
    public: bool = False,
) -> list[Row]:
    """The rows of a child table that belong to one of the services or of the locations, by
    id: one statement (on PostgreSQL, when each list is one chunk of ids)."""
    if not (service_ids and location_ids):
        column = model.service_id if service_ids else model.location_id
        return _rows_of(connection, model, column, service_ids or location_ids, public)
    if connection.dialect.name == "sqlite":
        arrays = {"ids": _json(service_ids), "location_ids": _json(location_ids)}
        found = connection.execute(_either(model, public, sqlite=True), arrays).all()
    elif max(len(service_ids), len(location_ids)) <= ID_CHUNK:
        lists = {"ids": service_ids, "location_ids": location_ids}
        found = connection.execute(_either(model, public, sqlite=False), lists).all()
    else:
        query = _table_select(model, public)
        found = [
            row
            for column, ids in ((model.service_id, service_ids), (model.location_id, location_ids))
            for row in _read_in(connection, query, column, ids)
        ]
    return sorted({row.id: row for row in found}.values(), key=lambda row: row.id)


@functools.cache
def _either(model: Any, public: bool, sqlite: bool) -> Select:
    """A child table's rows of the services bound as ``ids`` or of the locations bound as
    ``location_ids`` (on SQLite JSON arrays, else lists)."""
    services: Any = select(_JSON_IDS.c.value) if sqlite else bindparam("ids", expanding=True)
    locations: Any = (
        select(_JSON_LOCATION_IDS.c.value) if sqlite else bindparam("location_ids", expanding=True)
    )
    either = or_(model.service_id.in_(services), model.location_id.in_(locations))
    return _table_select(model, public).where(either)


def _json(ids: list[str]) -> str:
    return orjson.dumps(ids).decode()


@dataclass
class _ServiceChildren:
    """The child rows of :class:`ServiceRecords` by service id (each location as the public
    may see it)."""

    phones: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    schedules: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    languages: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    capacities: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    locations: dict[str, list[PublicLocation]] = field(default_factory=lambda: defaultdict(list))
    terms: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    @classmethod
    def of(cls, records: ServiceRecords) -> _ServiceChildren:
        children = cls()
        for rows, group in (
            (records.phones, children.phones),
            (records.schedules, children.schedules),
            (records.languages, children.languages),
            (records.capacities, children.capacities),
        ):
            for row in rows:
                if row.service_id is not None:
                    group[row.service_id].append(row)
        for attribute in records.attributes:
            children.terms[attribute.link_id][attribute.facet].append(attribute.code)
        notes = defaultdict(list)
        for note in records.accessibility:
            notes[note.location_id].append(note.description)
        public = {
            location_id: public_location(
                row, records.addresses.get(location_id), notes[location_id]
            )
            for location_id, row in records.locations.items()
        }
        for link in records.links:
            children.locations[link.service_id].append(public[link.location_id])
        return children


def public_service(session: Session, service_id: str) -> PublicService | None:
    found = public_services(session, [service_id])
    return found[0] if found else None


def public_entry_of_merged(session: Session, service_id: str) -> str | None:
    """The id of the public entry a service was merged into (:mod:`caremap.matching`); None
    when it was not merged, or when that entry is at a confidential location: saying which
    entry a source's public record became would tie its street address to the safe house."""
    kept = merges(session.connection()).get(service_id)
    entry = None if kept is None else public_service(session, kept)
    if entry is None or any(location.confidential for location in entry.locations):
        return None
    return entry.id


def _public_service(
    service: Row, children: _ServiceChildren, source: Row | None, streets: ConfidentialStreets
) -> PublicService:
    """The public view of a ``service`` table row (joined with its organization's name); its
    text without the address of any confidential location it concerns."""
    sid = service.id
    lines = streets.of_service(sid, service.organization_id)
    name, organization = streets.names(
        sid, service.organization_id, service.name, service.organization_name
    )

    def text(value: str | None) -> str | None:
        return without_address(value, lines) if lines else value

    return PublicService(
        id=sid,
        name=name,
        organization=organization,
        description=text(service.description),
        status=service.status,
        application_process=text(service.application_process),
        eligibility_description=text(service.eligibility_description),
        interpretation_services=text(service.interpretation_services),
        terms={facet: tuple(codes) for facet, codes in children.terms.get(sid, {}).items()},
        phones=tuple(
            sorted(
                (
                    _public_phone(p.number, p.extension, text(p.description))
                    for p in children.phones.get(sid, ())
                ),
                key=_phone_priority,
            )
        ),
        schedules=tuple(
            PublicSchedule(
                s.byday, s.opens_at, s.closes_at, s.valid_from, s.valid_to, text(s.description)
            )
            for s in children.schedules.get(sid, ())
        ),
        languages=tuple(lang.code for lang in children.languages.get(sid, ()) if lang.code),
        capacities=tuple(
            PublicCapacity(c.unit, c.available, c.maximum, text(c.description), c.updated)
            for c in children.capacities.get(sid, ())
        ),
        source_name=service.source_name,
        source_title=source.title if source else service.source_name,
        source_attribution=source.attribution if source else None,
        source_as_of=service.source_as_of,
        last_verified_at=service.last_verified_at,
        locations=tuple(children.locations.get(sid, ())),
        sources=(
            PublicSource(
                service.source_name,
                service.source_record_id,
                service.source_as_of,
                source.licence if source else None,
            ),
        ),
    )


URGENT_PHONE_WORDS = ("crisis", "crise", "24", "urgence", "emergency", "intake", "accueil")


def _phone_priority(phone: PublicPhone) -> int:
    """Crisis and intake lines first, then the rest in source order (sorted is stable)."""
    description = (phone.description or "").lower()
    return 0 if any(word in description for word in URGENT_PHONE_WORDS) else 1


def _public_phone(number: str, extension: str | None, description: str | None) -> PublicPhone:
    return PublicPhone(number, display_phone(number), extension, description)


def jurisdiction_outlines(session: Session, level: str, code: str | None = None) -> dict:
    """A GeoJSON FeatureCollection (lon, lat order) of the jurisdictions' display outlines (of
    the level's jurisdiction ``code`` only, when given)."""
    return outline_collection(*jurisdiction_shapes(session, level, code))


def has_jurisdictions(session: Session, level: str) -> bool:
    """Whether the level has any jurisdiction (each has its display outline)."""
    first = select(Jurisdiction.code).where(Jurisdiction.level == level).limit(1)
    return session.scalar(first) is not None


def jurisdiction_shapes(
    session: Session, level: str, code: str | None = None
) -> tuple[list[dict], np.ndarray]:
    """The jurisdictions' properties (``code``, ``name_en``, ``name_fr``) and display
    outlines (lon, lat), by code (the level's jurisdiction ``code`` only, when given)."""
    query = select(
        Jurisdiction.code, Jurisdiction.name_en, Jurisdiction.name_fr, Jurisdiction.outline_wkb
    ).where(Jurisdiction.level == level)
    if code is not None:
        query = query.where(Jurisdiction.code == code)
    rows = session.execute(query.order_by(Jurisdiction.code)).all()
    properties = [{"code": r.code, "name_en": r.name_en, "name_fr": r.name_fr} for r in rows]
    return properties, shapely.from_wkb([row.outline_wkb for row in rows])


def outline_collection(properties: list[dict], shapes: np.ndarray) -> dict:
    """A GeoJSON FeatureCollection of ``shapes`` (lon, lat) with their ``properties``."""
    features = [
        {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(shape)}
        for props, shape in zip(properties, shapes, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def jurisdiction_extent(session: Session, level: str) -> tuple[float, float, float, float] | None:
    """The (min lon, min lat, max lon, max lat) of the level's display outlines; None when the
    level has none."""
    outlines = session.scalars(select(Jurisdiction.outline_wkb).where(Jurisdiction.level == level))
    shapes = shapely.from_wkb(list(outlines))
    if not len(shapes):
        return None
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in shapely.total_bounds(shapes))
    return min_lon, min_lat, max_lon, max_lat


def term_labels(session: Session, lang: str) -> dict[str, str]:
    """Vocabulary code → label in ``lang`` (a French tag, or English)."""
    column = TaxonomyTerm.name_fr if language_of(lang) == "fr" else TaxonomyTerm.name
    return dict(session.execute(select(TaxonomyTerm.code, column)).all())


@dataclass(frozen=True)
class TermChoice:
    code: str
    label_en: str
    label_fr: str

    def label(self, lang: str) -> str:
        return self.label_fr if language_of(lang) == "fr" else self.label_en


def vocabulary_choices(session: Session) -> dict[str, list[TermChoice]]:
    """The loaded vocabulary by facet, in label order, for forms and parameter checks."""
    rows = session.execute(
        select(
            TaxonomyTerm.facet, TaxonomyTerm.code, TaxonomyTerm.name, TaxonomyTerm.name_fr
        ).order_by(TaxonomyTerm.facet, TaxonomyTerm.name)
    ).all()
    choices: dict[str, list[TermChoice]] = defaultdict(list)
    for facet, code, label_en, label_fr in rows:
        choices[facet].append(TermChoice(code, label_en, label_fr))
    return dict(choices)


@dataclass(frozen=True)
class ServiceName:
    id: str
    name: str


def public_service_names(session: Session) -> list[ServiceName]:
    """The public entries' ids and names, by name: every service but those merged into
    another entry (:mod:`caremap.matching`)."""
    merged_into = merges(session.connection())
    return [s for s in service_names(session) if s.id not in merged_into]


def service_names(session: Session) -> list[ServiceName]:
    """Every service's id and public name, by that name."""
    rows = session.execute(
        select(Service.id, Service.organization_id, Service.name, Organization.name).join(
            Organization, Organization.id == Service.organization_id
        )
    ).all()
    streets = confidential_streets(session.connection())
    names = [ServiceName(row[0], streets.names(*row)[0]) for row in rows]
    return sorted(names, key=lambda s: (s.name, s.id))
