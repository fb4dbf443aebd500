"""The continuum of care: a service's usual next steps, the services it refers people to
(``refers_to``) or receives them from (``receives_from``), each with a reason in English and
French (:class:`caremap.model.ServiceLink`, a caremap extension to HSDS 3.0).

A link is seen from both ends: the next steps from a service are the services it refers to and
those that say they receive from it; it is often referred from the services it receives from
and those that say they refer to it. Linked services are shown by their public view
(:mod:`caremap.queries`): a confidential location only by its public point, and a linked
service's distance is measured to that point.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from caremap.geodesy import distance_m
from caremap.matching import merges
from caremap.model import Service, ServiceLink
from caremap.privacy import without_address
from caremap.queries import PublicLocation, PublicService, confidential_streets, public_services

REFERS_TO, RECEIVES_FROM = "refers_to", "receives_from"
LINK_TYPES = (REFERS_TO, RECEIVES_FROM)
LinkValue = dict[str, str | None]  # a link as an edit and the history hold it


def service_of_record(session: Session, source: str, source_id: str) -> str | None:
    """The id of the service loaded from ``source``'s record ``source_id``, or None."""
    return session.scalars(
        select(Service.id)
        .where(Service.source_name == source, Service.source_record_id == source_id)
        .order_by(Service.id)
        .limit(1)
    ).first()


def link_value(link: ServiceLink) -> LinkValue:
    return {
        "service_id": link.to_service_id,
        "link_type": link.link_type,
        "description": link.description,
        "description_fr": link.description_fr,
    }


def link_key(value: LinkValue) -> tuple[str, str]:
    return (value["service_id"] or "", value["link_type"] or "")


def read_links(session: Session, service_id: str) -> list[LinkValue]:
    """The links the service states itself (its ``from_service_id`` rows), in order."""
    rows = session.scalars(select(ServiceLink).where(ServiceLink.from_service_id == service_id))
    return sorted((link_value(row) for row in rows), key=link_key)


def write_links(
    session: Session,
    service_id: str,
    values: list[LinkValue],
    provenance: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Make the service's own links ``values``: a link kept as it is keeps its provenance,
    the others are removed, changed or added (with ``provenance``)."""
    wanted = {link_key(value): value for value in values}
    for row in session.scalars(
        select(ServiceLink).where(ServiceLink.from_service_id == service_id)
    ):
        value = wanted.pop(link_key(link_value(row)), None)
        if value is None:
            session.delete(row)
        elif value != link_value(row):
            row.description, row.description_fr = value["description"], value["description_fr"]
            row.updated_at = now
    session.flush()
    session.add_all(
        ServiceLink(
            id=str(uuid.uuid4()),
            from_service_id=service_id,
            to_service_id=value["service_id"],
            link_type=value["link_type"],
            description=value["description"],
            description_fr=value["description_fr"],
            updated_at=now,
            **provenance,
        )
        for value in wanted.values()
    )


def delete_links_of_source(session: Session, source: str) -> None:
    session.execute(delete(ServiceLink).where(ServiceLink.source_name == source))


@dataclass(frozen=True)
class LinkedService:
    """A service linked to the one shown: its public view, why (in the page's language), its
    location nearest the origin (its public point) and the distance to it."""

    service: PublicService
    reason: str | None
    location: PublicLocation | None
    distance_m: float | None


@dataclass(frozen=True)
class Continuum:
    next_steps: list[LinkedService]
    referred_from: list[LinkedService]


def continuum(
    session: Session, service_id: str, lang: str, origin: tuple[float, float] | None
) -> Continuum:
    """The next steps from a service and the services it is often referred from, nearest the
    ``origin`` (lat, lon) first when one is given, else by name. A link to a service merged
    into another entry leads to that entry."""
    rows = session.scalars(
        select(ServiceLink).where(
            or_(ServiceLink.from_service_id == service_id, ServiceLink.to_service_id == service_id)
        )
    ).all()
    merged_into = merges(session.connection())
    lines = _confidential_lines(session, rows)
    steps: dict[str, dict[str, str | None]] = {"next": {}, "from": {}}
    for row in rows:
        outgoing = row.from_service_id == service_id
        other = row.to_service_id if outgoing else row.from_service_id
        other = merged_into.get(other, other)
        if other == service_id:
            continue
        forward = (row.link_type == REFERS_TO) == outgoing
        reason = row.description_fr if lang == "fr" and row.description_fr else row.description
        reason = without_address(reason, lines[row.from_service_id] + lines[row.to_service_id])
        chosen = steps["next" if forward else "from"]
        chosen[other] = chosen.get(other) or reason
    found = {s.id: s for s in public_services(session, sorted({*steps["next"], *steps["from"]}))}

    def linked(reasons: dict[str, str | None]) -> list[LinkedService]:
        items = [_nearest(found[i], reason, origin) for i, reason in reasons.items() if i in found]
        far = float("inf")
        return sorted(
            items,
            key=lambda s: (
                s.distance_m if s.distance_m is not None else far,
                s.service.name,
                s.service.id,
            ),
        )

    return Continuum(linked(steps["next"]), linked(steps["from"]))


def _confidential_lines(
    session: Session, rows: Sequence[ServiceLink]
) -> dict[str, tuple[str, ...]]:
    """The confidential address lines each linked service concerns, by service id: a reason
    is published without them (:mod:`caremap.privacy`)."""
    ids = sorted({r.from_service_id for r in rows} | {r.to_service_id for r in rows})
    streets = confidential_streets(session.connection())
    found = session.execute(
        select(Service.id, Service.organization_id).where(Service.id.in_(ids))
    ).all()
    return {sid: streets.of_service(sid, organization_id) for sid, organization_id in found}


def _nearest(
    service: PublicService, reason: str | None, origin: tuple[float, float] | None
) -> LinkedService:
    """The service at its location nearest ``origin`` (public points only)."""
    if not service.locations:
        return LinkedService(service, reason, None, None)
    if origin is None:
        return LinkedService(service, reason, service.locations[0], None)
    lat, lon = origin
    measured = [
        (distance_m(lat1=lat, lon1=lon, lat2=loc.latitude, lon2=loc.longitude), loc)
        for loc in service.locations
    ]
    metres, location = min(measured, key=lambda pair: pair[0])
    return LinkedService(service, reason, location, metres)
