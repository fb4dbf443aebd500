"""Paged reads for the HSDS API: which services, service_at_locations and organizations are on
a page (ordered by name, then id), and HSDS's ``Page`` object around the page's contents."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session

from caremap.hsds import taxonomy_uuid, term_uuid
from caremap.hsds.tables import organization_row
from caremap.matching import merged_away
from caremap.model import (
    Attribute,
    Organization,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from caremap.privacy import public_name, without_address
from caremap.queries import confidential_streets


@dataclass(frozen=True)
class PageRequest:
    """Page ``number`` (from 1) of ``size`` items."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True)
class ServiceFilter:
    """HSDS's service filters; ids are HSDS ids (a vocabulary code is accepted as a term id)."""

    search: str | None = None
    organization_id: str | None = None
    taxonomy_term_id: str | None = None
    taxonomy_id: str | None = None
    modified_after: dt.datetime | None = None


def page_object(contents: list[Any], total: int, page: PageRequest) -> dict:
    """HSDS's ``Page``: counts, position, and ``contents``."""
    total_pages = math.ceil(total / page.size)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page.number,
        "size": len(contents),
        "first_page": page.number == 1,
        "last_page": page.number >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def service_page(
    session: Session, wanted: ServiceFilter, page: PageRequest
) -> tuple[list[str], int]:
    """Ids of the page's services, and how many services match."""
    name, description = _public_service_text(session)
    query = select(Service.id).where(*_conditions(session, wanted, name, description))
    ids = session.scalars(_paged(query.order_by(name, Service.id), page)).all()
    return list(ids), _count(session, query)


def service_at_location_page(
    session: Session, wanted: ServiceFilter, page: PageRequest
) -> tuple[list[tuple[str, str]], int]:
    """(service_at_location id, service id) of the page, by service name; how many match."""
    name, description = _public_service_text(session)
    query = (
        select(ServiceAtLocation.id, ServiceAtLocation.service_id)
        .join(Service, Service.id == ServiceAtLocation.service_id)
        .where(*_conditions(session, wanted, name, description))
    )
    ordered = query.order_by(name, ServiceAtLocation.id)
    rows = session.execute(_paged(ordered, page)).all()
    return [(row.id, row.service_id) for row in rows], _count(session, query)


def organization_page(
    session: Session, search: str | None, page: PageRequest
) -> tuple[list[str], int]:
    """Ids of the page's organizations, by name, and how many match."""
    name = _public_organization_name(session)
    query = select(Organization.id).where(_public_organization())
    if search:
        query = query.where(_contains(name, search))
    ids = session.scalars(_paged(query.order_by(name, Organization.id), page)).all()
    return list(ids), _count(session, query)


def services_of(session: Session, organization_ids: list[str]) -> list[str]:
    """Ids of the public entries these organizations provide."""
    query = select(Service.id).where(Service.organization_id.in_(organization_ids), _public_entry())
    return list(session.scalars(query))


def _public_entry() -> ColumnElement[bool]:
    """Whether a service is a public entry: not merged into another (:mod:`caremap.matching`)."""
    return Service.id.not_in(merged_away())


def _public_organization() -> ColumnElement[bool]:
    """Whether an organization is published: it provides a public entry, or no service merged
    into another entry."""
    return or_(
        Organization.id.in_(select(Service.organization_id).where(_public_entry())),
        Organization.id.not_in(select(Service.organization_id).where(~_public_entry())),
    )


def service_of_link(session: Session, link_id: str) -> list[str]:
    """The id of the service of a service_at_location (none if there is no such link)."""
    query = select(ServiceAtLocation.service_id).where(ServiceAtLocation.id == link_id)
    return list(session.scalars(query))


def organization_rows(session: Session, ids: list[str]) -> list[dict]:
    """The HSDS rows of these organizations (those published), in the order of ``ids``."""
    rows = session.execute(
        select(Organization.__table__).where(Organization.id.in_(ids), _public_organization())
    )
    streets = confidential_streets(session.connection())
    by_id = {row.id: organization_row(dict(row._mapping), streets) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def _public_service_text(session: Session) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """The services' name and description as published, as SQL: the stored ones, but given
    by value for the services whose text hides a confidential location's address (so that a
    search or the order never sees that address)."""
    streets = confidential_streets(session.connection())
    organizations = list(streets.by_organization)
    rows = session.execute(
        select(
            Service.id,
            Service.organization_id,
            Service.name,
            Organization.name.label("organization"),
            Service.description,
        )
        .join(Organization, Organization.id == Service.organization_id)
        .where(or_(Service.id.in_(list(streets.by_service)), Organization.id.in_(organizations)))
    ).all()
    names, descriptions = {}, {}
    for row in rows:
        name = streets.names(row.id, row.organization_id, row.name, row.organization)[0]
        description = without_address(
            row.description, streets.of_service(row.id, row.organization_id)
        )
        if name != row.name:
            names[row.id] = name
        if description != row.description:
            descriptions[row.id] = description
    return _by_id(Service.id, Service.name, names), _by_id(
        Service.id, Service.description, descriptions
    )


def _public_organization_name(session: Session) -> ColumnElement[str]:
    """The organizations' published names, as SQL (see :func:`_public_service_text`)."""
    streets = confidential_streets(session.connection())
    rows = session.execute(
        select(Organization.id, Organization.name).where(
            Organization.id.in_(list(streets.by_organization))
        )
    ).all()
    names = {}
    for row in rows:
        name = public_name(row.name, streets.of_organization(row.id))
        if name != row.name:
            names[row.id] = name
    return _by_id(Organization.id, Organization.name, names)


def _by_id(key: Any, column: Any, values: Mapping[str, str | None]) -> ColumnElement[str]:
    """``column``, but ``values[key]`` for the keys in ``values`` (the ones that differ)."""
    return case(values, value=key, else_=column) if values else column


def _conditions(
    session: Session,
    wanted: ServiceFilter,
    name: ColumnElement[str],
    description: ColumnElement[str],
) -> list[ColumnElement[bool]]:
    conditions = [_public_entry()]
    if wanted.search:
        conditions.append(
            or_(_contains(name, wanted.search), _contains(description, wanted.search))
        )
    if wanted.organization_id:
        conditions.append(Service.organization_id == wanted.organization_id)
    if wanted.taxonomy_term_id:
        codes = {term_uuid(code): code for code in session.scalars(select(TaxonomyTerm.code))}
        code = codes.get(wanted.taxonomy_term_id, wanted.taxonomy_term_id)
        conditions.append(
            Service.id.in_(select(Attribute.link_id).where(Attribute.taxonomy_term_id == code))
        )
    if wanted.taxonomy_id:
        taxonomies = {taxonomy_uuid(t): t for t in session.scalars(select(Taxonomy.id))}
        taxonomy = taxonomies.get(wanted.taxonomy_id, wanted.taxonomy_id)
        conditions.append(
            Service.id.in_(
                select(Attribute.link_id)
                .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
                .where(TaxonomyTerm.taxonomy_id == taxonomy)
            )
        )
    if wanted.modified_after:
        conditions.append(Service.imported_at >= wanted.modified_after)
    return conditions


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    return func.lower(column).contains(text.lower(), autoescape=True)


def _paged(query: Select, page: PageRequest) -> Select:
    return query.limit(page.size).offset(page.offset)


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
