"""Read models for public outputs.

Every location passes through :func:`caremap.privacy.public_location`, and spatial answers
come from the store's public points, so nothing here can reveal a confidential address."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from caremap.model import (
    Attribute,
    Jurisdiction,
    Location,
    Service,
    ServiceAtLocation,
    Source,
    TaxonomyTerm,
)
from caremap.normalise import display_phone
from caremap.privacy import PublicLocation, public_location
from caremap.store import Store


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


@dataclass(frozen=True)
class NearbyService:
    service: PublicService
    location: PublicLocation
    distance_m: float


def _service_query():
    return select(Service).options(
        selectinload(Service.organization),
        selectinload(Service.phones),
        selectinload(Service.schedules),
        selectinload(Service.languages),
        selectinload(Service.capacities),
        selectinload(Service.service_at_locations)
        .selectinload(ServiceAtLocation.location)
        .options(selectinload(Location.addresses), selectinload(Location.accessibility)),
    )


def public_services(session: Session, ids: list[str] | None = None) -> list[PublicService]:
    """Public views of the services (all, or those with ``ids``), ordered by name."""
    query = _service_query().order_by(Service.name, Service.id)
    if ids is not None:
        query = query.where(Service.id.in_(ids))
    services = session.scalars(query).all()
    terms = _terms_by_service(session, [s.id for s in services])
    sources = {s.name: s for s in session.scalars(select(Source))}
    return [_public_service(s, terms.get(s.id, {}), sources.get(s.source_name)) for s in services]


def public_service(session: Session, service_id: str) -> PublicService | None:
    found = public_services(session, [service_id])
    return found[0] if found else None


def nearest_services(
    store: Store,
    session: Session,
    *,
    latitude: float,
    longitude: float,
    limit: int,
    radius_m: float | None = None,
) -> list[NearbyService]:
    """Services nearest-first from (lat, lon), measured to their locations' public points."""
    nearby = store.nearest(latitude=latitude, longitude=longitude, limit=limit, radius_m=radius_m)
    distance_by_location = {n.location_id: n.distance_m for n in nearby}
    links = session.execute(
        select(ServiceAtLocation.location_id, ServiceAtLocation.service_id).where(
            ServiceAtLocation.location_id.in_(list(distance_by_location))
        )
    ).all()
    services = {s.id: s for s in public_services(session, sorted({s for _, s in links}))}
    results = []
    for location_id, service_id in links:
        service = services[service_id]
        location = next(loc for loc in service.locations if loc.id == location_id)
        results.append(NearbyService(service, location, distance_by_location[location_id]))
    results.sort(key=lambda r: (r.distance_m, r.service.name, r.service.id))
    return results[:limit]


def _terms_by_service(session: Session, ids: list[str]) -> dict[str, dict[str, tuple[str, ...]]]:
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for chunk_start in range(0, len(ids), 500):
        rows = session.execute(
            select(Attribute.link_id, TaxonomyTerm.facet, TaxonomyTerm.code)
            .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
            .where(Attribute.link_id.in_(ids[chunk_start : chunk_start + 500]))
            .order_by(Attribute.link_id, TaxonomyTerm.facet, TaxonomyTerm.code)
        ).all()
        for link_id, facet, code in rows:
            grouped[link_id][facet].append(code)
    return {k: {f: tuple(c) for f, c in v.items()} for k, v in grouped.items()}


def _public_service(
    service: Service, terms: dict[str, tuple[str, ...]], source: Source | None
) -> PublicService:
    return PublicService(
        id=service.id,
        name=service.name,
        organization=service.organization.name,
        description=service.description,
        status=service.status,
        application_process=service.application_process,
        eligibility_description=service.eligibility_description,
        interpretation_services=service.interpretation_services,
        terms=terms,
        phones=tuple(
            sorted(
                (_public_phone(p.number, p.extension, p.description) for p in service.phones),
                key=_phone_priority,
            )
        ),
        schedules=tuple(
            PublicSchedule(
                s.byday, s.opens_at, s.closes_at, s.valid_from, s.valid_to, s.description
            )
            for s in service.schedules
        ),
        languages=tuple(lang.code for lang in service.languages if lang.code),
        capacities=tuple(
            PublicCapacity(c.unit, c.available, c.maximum, c.description, c.updated)
            for c in service.capacities
        ),
        source_name=service.source_name,
        source_title=source.title if source else service.source_name,
        source_attribution=source.attribution if source else None,
        source_as_of=service.source_as_of,
        last_verified_at=service.last_verified_at,
        locations=tuple(public_location(sal.location) for sal in service.service_at_locations),
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
    return {code: label for code, label in session.execute(select(TaxonomyTerm.code, column))}


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
