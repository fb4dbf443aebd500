"""Bed (or room) counts as an organization updates them: "how many are available now".

They are time-critical, so they publish at once (no moderation), and go into the history."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from caremap import history
from caremap.accounts import Principal
from caremap.model import ServiceCapacity
from caremap.republish import services_changed


class CapacityError(ValueError):
    """More available than the maximum, or fewer than none."""

    def __init__(self, maximum: int) -> None:
        super().__init__(f"available must be between 0 and {maximum}")
        self.maximum = maximum


def countable_capacities(session: Session, service_id: str) -> list[ServiceCapacity]:
    """The service's capacities with a known maximum: the ones whose availability is counted."""
    return list(
        session.scalars(
            select(ServiceCapacity)
            .where(ServiceCapacity.service_id == service_id, ServiceCapacity.maximum.is_not(None))
            .order_by(ServiceCapacity.id)
        )
    )


def set_available(
    session: Session,
    service_id: str,
    capacity_id: str,
    available: int,
    now: dt.datetime,
    by: Principal | None,
) -> ServiceCapacity | None:
    """Set how many are available now, stamp the time, log it in the history as ``by``'s and
    republish the service's listings (flushed, not committed). None when the service has no
    such countable capacity; :class:`CapacityError` for an impossible count."""
    capacity = session.scalars(
        select(ServiceCapacity).where(
            ServiceCapacity.id == capacity_id,
            ServiceCapacity.service_id == service_id,
            ServiceCapacity.maximum.is_not(None),
        )
    ).first()
    if capacity is None:
        return None
    previous = _swap(session, capacity, available, now)
    history.record(
        session,
        resource_type="service_capacity",
        resource_id=capacity.id,
        service_id=service_id,
        field_name="available",
        previous=previous,
        replacement=available,
        action="capacity",
        by=by,
        now=now,
    )
    # searches read the published listing; no coverage indicator reads the count
    services_changed(session.connection(), [service_id], coverage=False)
    return capacity


def _swap(
    session: Session, capacity: ServiceCapacity, available: int, now: dt.datetime
) -> int | None:
    """Set the count where it still holds the one last read, and return that one: of two
    updates at once, on either store, the second writes after the first (row or SQLite write
    lock) and logs the first's count as the one it replaced."""
    while True:
        previous = capacity.available
        _check(capacity, available)
        result = session.execute(
            update(ServiceCapacity)
            .where(
                ServiceCapacity.id == capacity.id,
                ServiceCapacity.available.is_not_distinct_from(previous),
            )
            .values(available=available, updated=now)
            .execution_options(synchronize_session=False)
        )
        session.refresh(capacity)
        if cast("CursorResult[Any]", result).rowcount:
            return previous


def _check(capacity: ServiceCapacity, available: int) -> None:
    if capacity.maximum is None or not 0 <= available <= capacity.maximum:
        raise CapacityError(capacity.maximum or 0)


def assign(capacity: ServiceCapacity, available: int, now: dt.datetime) -> None:
    """Set the count and stamp the time; :class:`CapacityError` for an impossible count."""
    _check(capacity, available)
    capacity.available = available
    capacity.updated = now
