"""Public services as GeoJSON (RFC 7946: coordinates are [lon, lat], WGS84).

Built only from public read models, so a confidential location appears at its public point
with its public address."""

from __future__ import annotations

import datetime as dt

import orjson

from caremap.privacy import PublicLocation
from caremap.queries import PublicCapacity, PublicSchedule, PublicService

ADDRESS_DISTANCE_STEP_M = 0.1
# How a stored Feature's text (compact JSON, quotes inside values escaped) says the listing is
# placed at its community.
_COMMUNITY_LEVEL = '"geocode_precision":"place"'
_CONFIDENTIAL = '"confidential":true'


def service_feature(
    service: PublicService,
    location: PublicLocation,
    distance_m: float | None = None,
    fresh_capacities: tuple[PublicCapacity, ...] | None = None,
) -> dict:
    """One service at one location. ``distance_m`` is given when a search had an origin."""
    properties = {
        "id": service.id,
        "name": service.name,
        "organization": service.organization,
        "service_types": list(service.terms.get("service_type", ())),
        "populations": list(service.terms.get("population", ())),
        "capabilities": list(service.terms.get("capability", ())),
        "languages": list(service.languages),
        "description": service.description,
        "eligibility": service.eligibility_description,
        "intake": service.application_process,
        "phones": [
            {
                "number": p.number,
                "display": p.display,
                "extension": p.extension,
                "description": p.description,
            }
            for p in service.phones
        ],
        "schedules": [_schedule(s) for s in service.schedules],
        "capacities": [_capacity(c) for c in service.capacities],
        "location_id": location.id,
        "confidential": location.confidential,
        "address": dict(vars(location.address)) if location.address else None,
        "geocode_precision": location.geocode_precision,
        "source": service.source_title,
        "source_as_of": service.source_as_of,
        "sources": [
            {"source": s.source, "source_id": s.source_id, "as_of": s.as_of, "licence": s.licence}
            for s in service.sources
        ],
        "last_verified_at": _text(service.last_verified_at),
    }
    if fresh_capacities is not None:
        properties["beds_available_now"] = [_capacity(c) for c in fresh_capacities]
    if distance_m is not None:
        properties |= distance_members(
            distance_m, location.confidential, location.geocode_precision == "place"
        )
    return {
        "type": "Feature",
        "id": f"{service.id}@{location.id}",
        "geometry": {"type": "Point", "coordinates": [location.longitude, location.latitude]},
        "properties": properties,
    }


def split_feature_id(feature_id: str) -> tuple[str, str | None]:
    """The service id and location id of a Feature id ``<service id>@<location id>`` (None
    for the location of a bare service id)."""
    service_id, separator, location_id = feature_id.rpartition("@")
    return (service_id, location_id) if separator else (feature_id, None)


def location_of(service: PublicService, location_id: str) -> PublicLocation | None:
    """``service``'s location ``location_id`` (None when it has no such location)."""
    return next((loc for loc in service.locations if str(loc.id) == location_id), None)


def feature_collection(features: list[dict], **members: object) -> dict:
    return {"type": "FeatureCollection", "features": features, **members}


def with_search_members(
    feature: str,
    distance_m: float | None,
    fresh_capacities: tuple[PublicCapacity, ...],
    place: str | None = None,
) -> str:
    """A stored Feature's text (``service_feature`` without the search's members, compact,
    ``properties`` last) with those members added, as :func:`service_feature` would, and the
    id of the ``place`` (its first Feature's id) the search shows it in."""
    members: dict[str, object] = {"beds_available_now": [_capacity(c) for c in fresh_capacities]}
    if place is not None:
        members["place"] = place
    if distance_m is not None:
        members |= distance_members(
            distance_m, _CONFIDENTIAL in feature, _COMMUNITY_LEVEL in feature
        )
    return f"{feature[:-2]},{_compact(members)[1:]}}}"


def distance_members(
    distance_m: float, confidential: bool, community_level: bool
) -> dict[str, float]:
    """A search hit's ``distance_m`` as the page says it, with ``distance_precision_m``, the
    step it is given to: 0.1 m to an address; 1,000 m to a confidential location's public point
    (already rounded up by the search); for a listing placed at its community, the nearest
    5,000 m, 0 when the origin is in that community."""
    # Imported here: caremap.search imports the store, which publishes with this module.
    from caremap.search import (
        CONFIDENTIAL_DISTANCE_STEP_M,
        PLACE_DISTANCE_STEP_M,
        community_distance,
    )

    if community_level:
        rounded = community_distance(distance_m) or 0.0
        return {"distance_m": rounded, "distance_precision_m": PLACE_DISTANCE_STEP_M}
    step = CONFIDENTIAL_DISTANCE_STEP_M if confidential else ADDRESS_DISTANCE_STEP_M
    return {"distance_m": round(distance_m, 1), "distance_precision_m": step}


def feature_collection_text(features: list[str], **members: object) -> str:
    """:func:`feature_collection` of Feature texts, as JSON text."""
    rest = f",{_compact(members)[1:-1]}" if members else ""
    return f'{{"type":"FeatureCollection","features":[{",".join(features)}]{rest}}}'


def _compact(value: object) -> str:
    """Compact JSON text (orjson: it runs for every Feature of every search)."""
    return orjson.dumps(value).decode()


def _schedule(schedule: PublicSchedule) -> dict:
    return {key: _text(value) for key, value in vars(schedule).items()}


def _capacity(capacity: PublicCapacity) -> dict:
    return {key: _text(value) for key, value in vars(capacity).items()}


def _text(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date | dt.time) else value
