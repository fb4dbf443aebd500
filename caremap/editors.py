"""Organizations as administrators manage them: found by name a page at a time, each with the
accounts that edit it and its services. Attaching and detaching editors is
:func:`caremap.accounts.attach_organizations` and :func:`~caremap.accounts.detach_organization`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caremap.model import AppUser, Organization, Service, UserOrganization
from caremap.paging import Page, page_of

PER_PAGE = 50


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
