"""Organizations as administrators manage them: found by name a page at a time, each with the
accounts that edit it and its services, and new ones added by hand (source
:data:`ADMIN_SOURCE`: no ETL run touches them). Attaching and detaching editors is
:func:`caremap.accounts.attach_organizations` and :func:`~caremap.accounts.detach_organization`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caremap.model import AppUser, Organization, Service, Source, UserOrganization
from caremap.paging import Page, page_of

PER_PAGE = 50
ADMIN_SOURCE = "caremap-admin"
MAX_NAME = 300


class DuplicateName(ValueError):
    """An organization already has this name."""


@dataclass(frozen=True)
class OrganizationRow:
    id: str
    name: str
    services: int
    editors: list[str]  # e-mail addresses


@dataclass(frozen=True)
class ServiceRow:
    id: str
    name: str
    last_verified_at: dt.datetime | None


def search(
    session: Session, query: str = "", number: int = 1, per_page: int = PER_PAGE
) -> Page[OrganizationRow]:
    """Organizations whose name or id holds ``query`` (any case), by name."""
    services = (
        select(func.count())
        .where(Service.organization_id == Organization.id)
        .scalar_subquery()
        .label("services")
    )
    found = select(Organization.id, Organization.name, services)
    needle = query.strip().lower()
    if needle:
        found = found.where(
            func.lower(Organization.name).contains(needle, autoescape=True)
            | func.lower(Organization.id).contains(needle, autoescape=True)
        )
    rows = page_of(
        session, found.order_by(func.lower(Organization.name), Organization.id), number, per_page
    )
    editors: dict[str, list[str]] = defaultdict(list)
    for organization_id, email in session.execute(
        select(UserOrganization.organization_id, AppUser.email)
        .join(AppUser, AppUser.id == UserOrganization.user_id)
        .where(UserOrganization.organization_id.in_([row.id for row in rows.items]))
        .order_by(AppUser.email)
    ):
        editors[organization_id].append(email)
    return Page(
        [OrganizationRow(r.id, r.name, r.services, editors[r.id]) for r in rows.items],
        rows.number,
        rows.pages,
        rows.total,
    )


def editors_of(session: Session, organization_id: str) -> list[AppUser]:
    """The accounts that edit the organization, by e-mail address."""
    return list(
        session.scalars(
            select(AppUser)
            .join(UserOrganization, UserOrganization.user_id == AppUser.id)
            .where(UserOrganization.organization_id == organization_id)
            .order_by(AppUser.email)
        )
    )


def services_of(session: Session, organization_id: str) -> list[ServiceRow]:
    """The organization's services, by name."""
    rows = session.execute(
        select(Service.id, Service.name, Service.last_verified_at)
        .where(Service.organization_id == organization_id)
        .order_by(func.lower(Service.name), Service.id)
    )
    return [ServiceRow(*row) for row in rows]


def create_organization(
    session: Session,
    name: str,
    now: dt.datetime,
    description: str = "",
    email: str | None = None,
    website: str | None = None,
) -> Organization:
    """Add an organization by hand (flushed, not committed), with :data:`ADMIN_SOURCE` as its
    provenance; :class:`DuplicateName` when one has the name already (in any case)."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"an organization's name has 1 to {MAX_NAME} characters")
    taken = session.scalar(
        select(Organization.id).where(func.lower(Organization.name) == name.lower())
    )
    if taken is not None:
        raise DuplicateName(taken)
    if session.get(Source, ADMIN_SOURCE) is None:
        session.add(
            Source(name=ADMIN_SOURCE, title="Added by caremap administrators", loaded_at=now)
        )
    organization_id = str(uuid.uuid4())
    organization = Organization(
        id=organization_id,
        name=name,
        description=description.strip(),
        email=(email or "").strip() or None,
        website=(website or "").strip() or None,
        source_name=ADMIN_SOURCE,
        source_record_id=organization_id,
        source_as_of=now.date().isoformat(),
        imported_at=now,
    )
    session.add(organization)
    session.flush()
    return organization
