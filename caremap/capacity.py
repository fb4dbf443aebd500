"""Bed (or room) counts as an organization updates them: "how many are available now"."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from caremap import publish
from caremap.model import ServiceCapacity


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
    session: Session, service_id: str, capacity_id: str, available: int, now: dt.datetime
) -> ServiceCapacity | None:
    """Set how many are available now, stamp the time and republish the service's listings
    (flushed, not committed). None when
    the service has no such countable capacity; :class:`CapacityError` for an impossible
    count."""
    capacity = session.scalars(
        select(ServiceCapacity).where(
            ServiceCapacity.id == capacity_id,
            ServiceCapacity.service_id == service_id,
            ServiceCapacity.maximum.is_not(None),
        )
    ).first()
    if capacity is None:
        return None
    if not 0 <= available <= capacity.maximum:
        raise CapacityError(capacity.maximum)
    capacity.available = available
    capacity.updated = now
    session.flush()
    publish.refresh(session.connection(), [service_id])  # searches read the published listing
    return capacity
