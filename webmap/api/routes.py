"""The JSON API: GeoJSON search results, one service, and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response

from caremap.geojson import (
    feature_collection_text,
    location_of,
    service_feature,
    split_feature_id,
    with_search_members,
)
from caremap.helplines import Province
from caremap.queries import public_entry_of_merged, public_service
from caremap.search import SearchResult, fresh_capacities, search
from webmap import get_store
from webmap.api.openapi import openapi_document
from webmap.common.cors import allow_any_origin_to_read
from webmap.common.delivery import revalidated
from webmap.common.params import parse_search
from webmap.common.searching import area_lines, clock, gazetteer, vocabulary_codes

bp = Blueprint("api", __name__, url_prefix="/api/v1")
allow_any_origin_to_read(bp)
bp.after_request(revalidated)
GEOJSON = "application/geo+json"  # RFC 7946, as the OpenAPI document says


@bp.get("/services")
def services() -> Response:
    """Services fitting the parameters, nearest first, as a GeoJSON FeatureCollection."""
    parsed = parse_search(request.args, vocabulary_codes(), gazetteer)
    helplines = area_lines(parsed)
    result = search(get_store(), parsed.query, clock(), read_model=False)
    features = [
        with_search_members(hit.listing.feature, hit.distance_m, hit.fresh_capacities, place.id)
        for place in result.places
        for hit in place.hits
    ]
    members = {
        "beyond_radius": result.beyond_radius,
        "total": result.total,
        "more": result.more,
        "unknown": result.unknown,
        "more_unknown": result.more_unknown,
        "helplines": [line.as_json() for line in helplines.lines],
        "jurisdiction": _jurisdiction(helplines.province, result),
    }
    if parsed.located is not None:
        members["origin"] = {
            "latitude": parsed.located.latitude,
            "longitude": parsed.located.longitude,
            "matched": str(parsed.located.label),
        }
    return Response(feature_collection_text(features, **members), mimetype=GEOJSON)


def _jurisdiction(province: Province | None, result: SearchResult) -> dict[str, object] | None:
    """The origin's province or territory and what the search found near it: ``nearby``, the
    number of matches within the radius (0 when the results are the nearest farther away)."""
    if province is None:
        return None
    return {
        "pruid": province.pruid,
        "name_en": province.name_en,
        "name_fr": province.name_fr,
        "nearby": 0 if result.beyond_radius else result.total,
    }


@bp.get("/services/<feature_id>")
def service(feature_id: str) -> Response:
    """One service at one location, as a GeoJSON Feature shaped like an item of the search:
    ``<service id>@<location id>`` (a search result's ``id``), or a bare service id for its
    first location. A service merged into another entry moves permanently to that entry."""
    service_id, location_id = split_feature_id(feature_id)
    with get_store().session() as session:
        found = public_service(session, service_id)
        entry = None if found else public_entry_of_merged(session, service_id)
    if entry is not None:
        return redirect(url_for("api.service", feature_id=entry), 301)
    if found is None or not found.locations:
        abort(404)
    location = found.locations[0] if location_id is None else location_of(found, location_id)
    if location is None:
        abort(404)
    fresh = fresh_capacities(found.capacities, clock())
    response = jsonify(service_feature(found, location, None, fresh))
    response.mimetype = GEOJSON
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(vocabulary_codes()))
