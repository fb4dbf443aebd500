"""The floor under an API search over HTTP: the app as ``caremap serve`` runs it, plus one
route, :data:`FLOOR_PATH`, that answers the store's nearest ``limit`` listings (lat, lon) as
their Features with their distances and does nothing else: no filters, no counting, no
places, no help lines, no cache validators. ``python -m bench search`` serves it with
granian as ``caremap serve`` does and times it beside the search, so that the search's
ratio to the raw SQL can be read against what the server, Flask and the driver cost alone.
The route exists only in this benchmark's app, never in the served one."""

from __future__ import annotations

from flask import Flask, Response, request

from caremap.geojson import feature_collection_text, with_search_members
from caremap.listing import ListingRead
from webmap import get_store, serving_app

FLOOR_PATH = "/bench/nearest"


def floor_app() -> Flask:
    """:func:`webmap.serving_app` with the floor route added (before any request)."""
    app = serving_app()
    app.add_url_rule(FLOOR_PATH, "bench_nearest", _nearest)
    return app


def _nearest() -> Response:
    latitude, longitude = float(request.args["lat"]), float(request.args["lon"])
    limit = int(request.args["limit"])
    nearby = get_store().nearest_listings(
        latitude=latitude, longitude=longitude, limit=limit, read=ListingRead.FEATURE
    )
    features = [
        with_search_members(near.listing.feature, near.distance_m, (), near.listing.id)
        for near in nearby.found[:limit]
    ]
    return Response(feature_collection_text(features), mimetype="application/geo+json")
