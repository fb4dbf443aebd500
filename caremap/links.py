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
from caremap.model import Location, Service, ServiceAtLocation, ServiceLink
from caremap.paging import ID_CHUNK, chunks
from caremap.privacy import without_address
from caremap.queries import (
    ConfidentialStreets,
    PublicLocation,
    PublicService,
    confidential_streets,
    public_services,
)

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


@dataclass(frozen=True)
class PublishedLink:
    """A stored link as the public sees it (:func:`published_links`)."""

    id: str
    from_service_id: str
    to_service_id: str
    link_type: str
    description: str | None
    description_fr: str | None
    source_url: str | None

    def reason(self, lang: str) -> str | None:
        return self.description_fr if lang == "fr" and self.description_fr else self.description


def published_links(session: Session, rows: Sequence[Any]) -> list[PublishedLink]:
    """Stored links (``ServiceLink`` rows) as published. An end merged into another entry is
    that entry, and a link that then joins an entry to itself is left out. The reasons lose
    the address lines of a confidential location any service the link concerns is at, its
    stored ends' and its published ends'. A link with an end merged into a confidential entry
    gets an id derived from its published ends and no source page: its stored id and its page
    are the merged record's, which its own source may give at the address."""
    connection = session.connection()
    merged_into = merges(connection)
    stored = {end for row in rows for end in (row.from_service_id, row.to_service_id)}
    ends = stored | {merged_into[end] for end in stored if end in merged_into}
    lines = _confidential_lines(session, confidential_streets(connection), ends)
    confidential = _confidential_services(session, ends)
    published = []
    for row in rows:
        stored_ends = (row.from_service_id, row.to_service_id)
        source, target = (merged_into.get(end, end) for end in stored_ends)
        if source == target:
            continue
        concerned = tuple(line for end in {*stored_ends, source, target} for line in lines[end])
        hidden = any(
            kept != end and kept in confidential
            for end, kept in zip(stored_ends, (source, target), strict=True)
        )
        published.append(
            PublishedLink(
                id=_derived_link_id(source, target, row.link_type) if hidden else row.id,
                from_service_id=source,
                to_service_id=target,
                link_type=row.link_type,
                description=without_address(row.description, concerned),
                description_fr=without_address(row.description_fr, concerned),
                source_url=None if hidden else row.source_url,
            )
        )
    return published


LINK_NAMESPACE = uuid.UUID("0b6f5b8e-3f0e-5d0a-9c55-6a1f4f2d7c31")


def _derived_link_id(source: str, target: str, link_type: str) -> str:
    return str(uuid.uuid5(LINK_NAMESPACE, f"{source}|{target}|{link_type}"))


def continuum(
    session: Session, service_id: str, lang: str, origin: tuple[float, float] | None
) -> Continuum:
    """The next steps from a service and the services it is often referred from, nearest the
    ``origin`` (lat, lon) first when one is given, else by name. The links of a service merged
    into this entry are its own, and a link to a service merged into another entry leads to
    that entry."""
    merged_into = merges(session.connection())
    own = [service_id, *(merged for merged, kept in merged_into.items() if kept == service_id)]
    rows = session.scalars(
        select(ServiceLink).where(
            or_(ServiceLink.from_service_id.in_(own), ServiceLink.to_service_id.in_(own))
        )
    ).all()
    steps: dict[str, dict[str, str | None]] = {"next": {}, "from": {}}
    for link in published_links(session, rows):
        outgoing = link.from_service_id == service_id
        other = link.to_service_id if outgoing else link.from_service_id
        forward = (link.link_type == REFERS_TO) == outgoing
        chosen = steps["next" if forward else "from"]
        chosen[other] = chosen.get(other) or link.reason(lang)
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
    session: Session, streets: ConfidentialStreets, ids: set[str]
) -> dict[str, tuple[str, ...]]:
    """The confidential address lines each of the services ``ids`` concerns, by service id: a
    reason is published without them (:mod:`caremap.privacy`)."""
    lines = {
        sid: streets.of_service(sid, organization_id)
        for chunk in chunks(sorted(ids), ID_CHUNK)
        for sid, organization_id in session.execute(
            select(Service.id, Service.organization_id).where(Service.id.in_(chunk))
        )
    }
    return {sid: lines.get(sid, ()) for sid in ids}


def _confidential_services(session: Session, ids: set[str]) -> set[str]:
    """Those of the services ``ids`` at a confidential location."""
    return {
        service_id
        for chunk in chunks(sorted(ids), ID_CHUNK)
        for service_id in session.scalars(
            select(ServiceAtLocation.service_id)
            .join(Location, Location.id == ServiceAtLocation.location_id)
            .where(Location.confidential, ServiceAtLocation.service_id.in_(chunk))
        )
    }


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
