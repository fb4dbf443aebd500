"""Read models for public outputs.

Every location passes through :func:`caremap.privacy.public_location`, and spatial answers
come from the store's public points, so nothing here can reveal a confidential address."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import Connection, Row, select
from sqlalchemy.orm import Session

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
    ServiceAtLocation,
    ServiceCapacity,
    Source,
    TaxonomyTerm,
)
from caremap.normalise import display_phone
from caremap.privacy import (
    AddressRow,
    PublicLocation,
    public_location,
    public_name,
    without_address,
)


@dataclass(frozen=True)
class PublicPhone:
    number: str  # E.164, for tel: links
    display: str  # national format, for people
    extension: str | None
    description: str | None


@dataclass(frozen=True)
class PublicSchedule:
    byday: str | None
    opens_at: dt.time | None
    closes_at: dt.time | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    description: str | None


@dataclass(frozen=True)
class PublicCapacity:
    unit: str
    available: int | None
    maximum: int | None
    description: str | None
    updated: dt.datetime | None


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


def public_services(session: Session, ids: list[str] | None = None) -> list[PublicService]:
    """Public views of the services (all, or those with ``ids``), ordered by name.

    Read with plain SELECTs (one per child table, by chunks of ids) rather than ORM loading:
    this is the hot path of every search."""
    query = (
        select(Service.__table__, Organization.name.label("organization_name"))
        .join(Organization, Organization.id == Service.organization_id)
        .order_by(Service.name, Service.id)
    )
    connection = session.connection()  # Core rows: no ORM instances
    rows: list[Row[Any]] = []
    chunks: Sequence[list[str] | None] = [None] if ids is None else _id_chunks(ids)
    for chunk in chunks:
        selected = query if chunk is None else query.where(Service.id.in_(chunk))
        rows += connection.execute(selected).all()
    children = _ServiceChildren.read(session, [row.id for row in rows])
    sources = {s.name: s for s in session.scalars(select(Source))}
    streets = confidential_streets(connection)
    services = [
        _public_service(row, children, sources.get(row.source_name), streets) for row in rows
    ]
    return sorted(services, key=lambda s: (s.name, s.id))


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
    """Every confidential location's address lines, by service and by organization."""
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


def _id_chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


@dataclass
class _ServiceChildren:
    """Every child row of a set of services, grouped by service id (locations with their
    address and accessibility)."""

    phones: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    schedules: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    languages: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    capacities: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    locations: dict[str, list[PublicLocation]] = field(default_factory=lambda: defaultdict(list))
    terms: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    @classmethod
    def read(cls, session: Session, ids: list[str]) -> _ServiceChildren:
        children = cls()
        connection = session.connection()  # Core statements: no ORM work per row
        for chunk in _id_chunks(ids):
            children._read_chunk(connection, chunk)
        return children

    def _read_chunk(self, connection: Connection, ids: list[str]) -> None:
        for table, group in (
            (Phone, self.phones),
            (Schedule, self.schedules),
            (Language, self.languages),
            (ServiceCapacity, self.capacities),
        ):
            for row in connection.execute(
                select(table.__table__).where(table.service_id.in_(ids)).order_by(table.id)
            ):
                group[row.service_id].append(row)
        for link_id, facet, code in connection.execute(
            select(Attribute.link_id, TaxonomyTerm.facet, TaxonomyTerm.code)
            .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
            .where(Attribute.link_id.in_(ids))
            .order_by(Attribute.link_id, TaxonomyTerm.facet, TaxonomyTerm.code)
        ):
            self.terms[link_id][facet].append(code)
        self._read_locations(connection, ids)

    def _read_locations(self, connection: Connection, ids: list[str]) -> None:
        rows = connection.execute(
            select(ServiceAtLocation.service_id, Location.__table__)
            .join(Location, Location.id == ServiceAtLocation.location_id)
            .where(ServiceAtLocation.service_id.in_(ids))
            .order_by(ServiceAtLocation.id)
        ).all()
        location_ids = sorted({row.id for row in rows})
        addresses: dict[str, AddressRow] = {}
        for address in connection.execute(
            select(Address.__table__)
            .where(Address.location_id.in_(location_ids))
            .order_by(Address.id)
        ):
            addresses.setdefault(address.location_id, address)
        accessibility = defaultdict(list)
        for row in connection.execute(
            select(Accessibility.location_id, Accessibility.description)
            .where(Accessibility.location_id.in_(location_ids))
            .order_by(Accessibility.id)
        ):
            if row.description:
                accessibility[row.location_id].append(row.description)
        for row in rows:
            self.locations[row.service_id].append(
                public_location(row, addresses.get(row.id), accessibility[row.id])
            )


def public_service(session: Session, service_id: str) -> PublicService | None:
    found = public_services(session, [service_id])
    return found[0] if found else None


def _public_service(
    service: Row, children: _ServiceChildren, source: Source | None, streets: ConfidentialStreets
) -> PublicService:
    """The public view of a ``service`` table row (joined with its organization's name); its
    text without the address of any confidential location it concerns."""
    sid = service.id
    lines = streets.of_service(sid, service.organization_id)
    name, organization = streets.names(
        sid, service.organization_id, service.name, service.organization_name
    )

    def text(value: str | None) -> str | None:
        return without_address(value, lines)

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
    )


URGENT_PHONE_WORDS = ("crisis", "crise", "24", "urgence", "emergency", "intake", "accueil")


def _phone_priority(phone: PublicPhone) -> int:
    """Crisis and intake lines first, then the rest in source order (sorted is stable)."""
    description = (phone.description or "").lower()
    return 0 if any(word in description for word in URGENT_PHONE_WORDS) else 1


def _public_phone(number: str, extension: str | None, description: str | None) -> PublicPhone:
    return PublicPhone(number, display_phone(number), extension, description)


def jurisdiction_outlines(session: Session, level: str) -> dict:
    """A GeoJSON FeatureCollection (lon, lat order) of the jurisdictions' display outlines."""
    rows = session.scalars(
        select(Jurisdiction).where(Jurisdiction.level == level).order_by(Jurisdiction.code)
    ).all()
    features = [
        {
            "type": "Feature",
            "properties": {"code": j.code, "name_en": j.name_en, "name_fr": j.name_fr},
            "geometry": shapely.geometry.mapping(shapely.from_wkb(j.outline_wkb)),
        }
        for j in rows
    ]
    return {"type": "FeatureCollection", "features": features}


def term_labels(session: Session, lang: str) -> dict[str, str]:
    """Vocabulary code → label in ``lang`` ('fr' or English)."""
    column = TaxonomyTerm.name_fr if lang == "fr" else TaxonomyTerm.name
    return dict(session.execute(select(TaxonomyTerm.code, column)).all())


@dataclass(frozen=True)
class TermChoice:
    code: str
    label_en: str
    label_fr: str

    def label(self, lang: str) -> str:
        return self.label_fr if lang == "fr" else self.label_en


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
