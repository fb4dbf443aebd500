"""OGC API – Features – Part 1: Core (read only) over the public data, for GIS clients
(QGIS, GDAL's ``OAPIF`` driver, ArcGIS).

Collections:
- ``services``: every public service at each of its locations (the features of
  :func:`caremap.geojson.service_feature`, id ``<service id>@<location id>``), at public points;
- ``indicators-<level>``: one per jurisdiction level of ``data/jurisdictions.toml``, the
  jurisdictions' display outlines with their default coverage indicators
  (:class:`caremap.coverage.indicators.Selection` for that level) as properties.

Everything comes from the public read models, so a confidential location appears only at its
public point. Coordinates are CRS84 (lon, lat). Only JSON is offered (``f=json``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict

import orjson
import shapely
from flask import Blueprint, abort, current_app, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from caremap.coverage.indicators import Selection, compute_indicators
from caremap.coverage.stored import read as read_stored
from caremap.geojson import location_of, service_feature, split_feature_id
from caremap.jurisdictions import read_layer_configs
from caremap.listing import LonLatBox, listings_extent, listings_page
from caremap.queries import jurisdiction_extent, jurisdiction_outlines, public_service
from webmap import get_store
from webmap.common.cors import allow_any_origin_to_read
from webmap.common.delivery import revalidated
from webmap.common.errors import ogc_exception
from webmap.common.params import BadParameter, integer, lon_lat_box, shown
from webmap.common.searching import clock

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
allow_any_origin_to_read(bp)
bp.after_request(revalidated)

JSON = "application/json"
GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
SERVICES = "services"
INDICATORS_PREFIX = "indicators-"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
INDICATORS_TTL_S = 60.0

TEXT = {
    "title": _l("caremap: care centres in Canada"),
    "description": _l(
        "Public listings of care services and coverage indicators, as OGC API - Features."
    ),
    "services": _l("Services"),
    "services_description": _l(
        "Every public service at each of its locations (confidential "
        "locations at their public point)."
    ),
    "indicators": _l("Coverage indicators: %(level)s"),
    "indicators_description": _l(
        "Jurisdiction outlines (simplified for display) with the "
        "default coverage indicators of level %(level)s."
    ),
}


@bp.errorhandler(BadParameter)
def bad_parameter(error: BadParameter) -> tuple[Response, int]:
    return jsonify(
        {
            "status": 400,
            "error": "bad_parameter",
            "parameter": error.name,
            "message": error.message,
            **ogc_exception("InvalidParameterValue", error.message),
        }
    ), 400


@bp.before_request
def check_format() -> None:
    """Only JSON is offered: ``f`` may be absent or ``json``."""
    f = request.args.get("f")
    if f is not None and f != "json":
        raise BadParameter("f", f"{shown(f)} is not offered; use f=json")


def _text(key: str, **values: str) -> str:
    """A title or description in the request's language (Flask-Babel)."""
    return str(TEXT[key]) % values if values else str(TEXT[key])


def _url(endpoint: str, **values: object) -> str:
    return url_for(f"ogc.{endpoint}", _external=True, **values)


def _link(href: str, rel: str, kind: str = JSON, title: str | None = None) -> dict:
    link = {"href": href, "rel": rel, "type": kind}
    if title:
        link["title"] = title
    return link


def _json(document: dict, kind: str = JSON) -> Response:
    response = current_app.json.response(document)
    response.mimetype = kind
    return response


@bp.get("/")
def landing() -> Response:
    return _json(
        {
            "title": _text("title"),
            "description": _text("description"),
            "links": [
                _link(_url("landing"), "self", title="This document"),
                _link(_url("conformance"), "conformance", title="Conformance classes"),
                _link(_url("collections"), "data", title="Collections"),
            ],
        }
    )


@bp.get("/conformance")
def conformance() -> Response:
    return _json({"conformsTo": CONFORMANCE})


# --- collections ----------------------------------------------------------------------------


def _levels() -> list[str]:
    return [c.level for c in read_layer_configs(current_app.config["DATA_DIR"])]


def _collection_ids() -> list[str]:
    return [SERVICES, *(f"{INDICATORS_PREFIX}{level}" for level in _levels())]


def _level_of(collection_id: str) -> str | None:  # noqa: RET503 - abort() raises
    """The jurisdiction level of an indicator collection (None for ``services``); 404 when
    there is no such collection."""
    if collection_id == SERVICES:
        return None
    level = collection_id.removeprefix(INDICATORS_PREFIX)
    if collection_id.startswith(INDICATORS_PREFIX) and level in _levels():
        return level
    abort(404)


def _collection(collection_id: str) -> dict:
    level = _level_of(collection_id)
    if level is None:
        title, description = _text("services"), _text("services_description")
        with get_store().session() as session:
            extent = listings_extent(session.connection())
    else:
        title = _text("indicators", level=level)
        description = _text("indicators_description", level=level)
        with get_store().session() as session:
            extent = jurisdiction_extent(session, level)
    collection = {
        "id": collection_id,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            _link(_url("collection", collection_id=collection_id), "self", title=title),
            _link(_url("items", collection_id=collection_id), "items", GEOJSON, title=title),
        ],
    }
    if extent is not None:
        collection["extent"] = {"spatial": {"bbox": [list(extent)], "crs": CRS84}}
    return collection


@bp.get("/collections")
def collections() -> Response:
    return _json(
        {
            "links": [_link(_url("collections"), "self")],
            "collections": [_collection(c) for c in _collection_ids()],
        }
    )


@bp.get("/collections/<collection_id>")
def collection(collection_id: str) -> Response:
    return _json(_collection(collection_id))


# --- items ----------------------------------------------------------------------------------


def _service_features(bbox: LonLatBox | None, offset: int, limit: int) -> tuple[list[dict], int]:
    """A page of the services at their locations (public points in ``bbox``), and how many
    there are in all."""
    with get_store().session() as session:
        page = listings_page(session.connection(), bbox, offset, limit)
    return [orjson.loads(listing.feature) for listing in page.listings], page.matched


def _indicator_features(level: str, code: str | None = None) -> list[dict]:
    """The outlines of ``level`` (or just ``code``'s) with their default indicators."""
    with get_store().session() as session:
        outlines = jurisdiction_outlines(session, level, code)["features"]
    if not outlines:
        return []
    by_code = _indicators(level)
    return [
        {
            "type": "Feature",
            "id": f["properties"]["code"],
            "geometry": f["geometry"],
            "properties": by_code[f["properties"]["code"]],
        }
        for f in outlines
        if f["properties"]["code"] in by_code
    ]


def _indicators(level: str) -> dict[str, dict]:
    """Default indicators of ``level`` by code: the stored ones when built today, else computed
    at most once a minute per process and level (paging clients ask for many pages)."""
    today = clock().now.date()
    with get_store().session() as session:
        stored = read_stored(session, current_app.config["DATA_DIR"], Selection(level=level), today)
    if stored is not None:
        return {r.code: asdict(r) for r in stored.results}
    cache = current_app.extensions.setdefault("caremap_ogc_indicators", {})
    cached = cache.get((level, today))
    if cached is None or time.monotonic() - cached[0] > INDICATORS_TTL_S:
        results = compute_indicators(
            get_store(), current_app.config["DATA_DIR"], Selection(level=level), today
        )
        cached = (time.monotonic(), {r.code: asdict(r) for r in results})
        cache[(level, today)] = cached
    return cached[1]


def _features(
    collection_id: str, bbox: LonLatBox | None, offset: int, limit: int
) -> tuple[list[dict], int]:
    """A page of the collection's features (those in ``bbox``), and how many there are."""
    level = _level_of(collection_id)
    if level is None:
        return _service_features(bbox, offset, limit)
    features = _indicator_features(level)
    if bbox is not None:
        inside = _inside(bbox)
        features = [f for f in features if inside(f)]
    return features[offset : offset + limit], len(features)


def _bbox() -> LonLatBox | None:
    """``bbox`` (see :func:`~webmap.common.params.lon_lat_box`) in CRS84 only."""
    crs = request.args.get("bbox-crs")
    if crs is not None and crs != CRS84:
        raise BadParameter("bbox-crs", f"only {CRS84} is supported")
    return lon_lat_box(request.args)


def _inside(bbox: LonLatBox) -> Callable[[dict], bool]:
    """Whether a feature's geometry meets ``bbox``."""
    minx, miny, maxx, maxy = bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat
    if minx <= maxx:
        area = shapely.box(minx, miny, maxx, maxy)
    else:
        area = shapely.union(
            shapely.box(minx, miny, 180, maxy), shapely.box(-180, miny, maxx, maxy)
        )
    shapely.prepare(area)

    def inside(feature: dict) -> bool:
        geometry = feature["geometry"]
        return geometry is not None and area.intersects(shapely.geometry.shape(geometry))

    return inside


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str) -> Response:
    limit = integer(request.args, "limit", 1, MAX_LIMIT, default=DEFAULT_LIMIT)
    offset = integer(request.args, "offset", 0, default=0)
    page, matched = _features(collection_id, _bbox(), offset, limit)
    kept = {k: v for k, v in request.args.items() if k not in ("limit", "offset")}

    def page_url(start: int) -> str:
        return _url("items", collection_id=collection_id, limit=limit, offset=start, **kept)

    links = [
        _link(page_url(offset), "self", GEOJSON),
        _link(_url("collection", collection_id=collection_id), "collection"),
    ]
    if offset + limit < matched:
        links.append(_link(page_url(offset + limit), "next", GEOJSON, "Next page"))
    if offset > 0:
        links.append(_link(page_url(max(offset - limit, 0)), "prev", GEOJSON, "Previous page"))
    return _json(
        {
            "type": "FeatureCollection",
            "features": page,
            "numberMatched": matched,
            "numberReturned": len(page),
            "links": links,
        },
        GEOJSON,
    )


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str) -> Response:
    level = _level_of(collection_id)
    if level is None:
        feature = _service_feature(feature_id)
    else:
        found = _indicator_features(level, feature_id)
        feature = found[0] if found else None
    if feature is None:
        abort(404)
    feature["links"] = [
        _link(_url("item", collection_id=collection_id, feature_id=feature_id), "self", GEOJSON),
        _link(_url("collection", collection_id=collection_id), "collection"),
    ]
    return _json(feature, GEOJSON)


def _service_feature(feature_id: str) -> dict | None:
    service_id, location_id = split_feature_id(feature_id)
    if location_id is None:
        return None
    with get_store().session() as session:
        service = public_service(session, service_id)
    location = None if service is None else location_of(service, location_id)
    return None if service is None or location is None else service_feature(service, location)
