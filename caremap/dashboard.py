"""What an editor's dashboard shows: the organizations the person may edit (every one for a
moderator or an admin), a page at a time, each with its services: when each was last verified
and whether that is too long ago (:func:`caremap.changes.stale_services`' rule), its changes
awaiting a moderator, the latest one a moderator rejected, and the bed counts to keep current.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

from caremap import accounts
from caremap.accounts import Principal
from caremap.changes import PENDING, REJECTED, months_before
from caremap.model import ChangeSet, Organization, Service, ServiceCapacity
from caremap.paging import Page, page_of

PER_PAGE = 20


@dataclass(frozen=True)
class Rejection:
    when: dt.datetime
    comment: str


def verification(last_verified_at: dt.datetime | None, cutoff: dt.datetime) -> str:
    """A listing's one verification state: ``never`` verified, ``stale`` (last verified
    before ``cutoff``) or ``recent``."""
    if last_verified_at is None:
        return "never"
    return "stale" if last_verified_at < cutoff else "recent"


@dataclass(frozen=True)
class ServiceLine:
    id: str
    name: str
    last_verified_at: dt.datetime | None
    verification: str  # never, stale or recent: see verification()
    pending: int  # change sets awaiting a moderator
    rejection: Rejection | None  # the latest rejected change set
    capacities: list[ServiceCapacity] = field(default_factory=list)  # the countable ones


@dataclass(frozen=True)
class OrganizationLine:
    id: str
    name: str
    services: list[ServiceLine]


@dataclass(frozen=True)
class Filters:
    """What the person narrowed the list to."""

    query: str = ""  # part of an organization's or a service's name
    stale_only: bool = False


def listings(
    session: Session,
    principal: Principal,
    now: dt.datetime,
    stale_months: int,
    filters: Filters = Filters(),
    number: int = 1,
    per_page: int = PER_PAGE,
) -> Page[OrganizationLine]:
    """Page ``number`` of the organizations ``principal`` may edit that match ``filters``,
    by name, with their matching services."""
    cutoff = months_before(now, stale_months)
    wanted = _service_filter(filters, cutoff)
    organizations = select(Organization.id, Organization.name)
    if not accounts.can_moderate(principal):
        organizations = organizations.where(Organization.id.in_(sorted(principal.organization_ids)))
    if filters.query or filters.stale_only:
        organizations = organizations.where(
            exists().where(Service.organization_id == Organization.id, wanted)
        )
    rows = page_of(
        session,
        organizations.order_by(func.lower(Organization.name), Organization.id),
        number,
        per_page,
    )
    services = _services(session, [row.id for row in rows.items], wanted, cutoff)
    return Page(
        [OrganizationLine(row.id, row.name, services[row.id]) for row in rows.items],
        rows.number,
        rows.pages,
        rows.total,
    )


def _service_filter(filters: Filters, cutoff: dt.datetime) -> ColumnElement[bool]:
    """Services (joined to nothing, correlated to their organization) matching ``filters``."""
    conditions: list[ColumnElement[bool]] = [true()]
    if filters.query:
        needle = filters.query.strip().lower()
        organization_name = (
            select(func.lower(Organization.name))
            .where(Organization.id == Service.organization_id)
            .scalar_subquery()
        )
        conditions.append(
            or_(
                func.lower(Service.name).contains(needle, autoescape=True),
                organization_name.contains(needle, autoescape=True),
            )
        )
    if filters.stale_only:
        conditions.append(_stale(cutoff))
    return and_(*conditions)


def _stale(cutoff: dt.datetime) -> ColumnElement[bool]:
    return or_(Service.last_verified_at.is_(None), Service.last_verified_at < cutoff)


def _services(
    session: Session, organization_ids: list[str], wanted: ColumnElement[bool], cutoff: dt.datetime
) -> dict[str, list[ServiceLine]]:
    """The matching services of these organizations, by organization, by name."""
    rows = session.execute(
        select(Service.id, Service.organization_id, Service.name, Service.last_verified_at)
        .where(Service.organization_id.in_(organization_ids), wanted)
        .order_by(func.lower(Service.name), Service.id)
    ).all()
    ids = [row.id for row in rows]
    pending = dict(
        session.execute(
            select(ChangeSet.service_id, func.count())
            .where(ChangeSet.service_id.in_(ids), ChangeSet.status == PENDING)
            .group_by(ChangeSet.service_id)
        ).all()
    )
    rejections: dict[str, Rejection] = {}
    for service_id, when, comment in session.execute(
        select(ChangeSet.service_id, ChangeSet.decided_at, ChangeSet.comment)
        .where(
            ChangeSet.service_id.in_(ids),
            ChangeSet.status == REJECTED,
            ChangeSet.decided_at.is_not(None),
        )
        .order_by(ChangeSet.decided_at.desc(), ChangeSet.id.desc())
    ):
        if service_id is not None and when is not None:  # always, as selected
            rejections.setdefault(service_id, Rejection(when, comment))
    capacities: dict[str, list[ServiceCapacity]] = defaultdict(list)
    for capacity in session.scalars(
        select(ServiceCapacity)
        .where(ServiceCapacity.service_id.in_(ids), ServiceCapacity.maximum.is_not(None))
        .order_by(ServiceCapacity.id)
    ):
        capacities[capacity.service_id].append(capacity)
    by_organization: dict[str, list[ServiceLine]] = defaultdict(list)
    for row in rows:
        by_organization[row.organization_id].append(
            ServiceLine(
                id=row.id,
                name=row.name,
                last_verified_at=row.last_verified_at,
                verification=verification(row.last_verified_at, cutoff),
                pending=pending.get(row.id, 0),
                rejection=rejections.get(row.id),
                capacities=capacities[row.id],
            )
        )
    return by_organization
