"""The OpenAPI 3 document of the JSON API, built from the same parameter definitions that
parse requests (webmap.common.params), so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Mapping

from webmap.common.params import parameters

ERROR = {
    "type": "object",
    "required": ["status", "error", "message"],
    "properties": {
        "status": {"type": "integer"},
        "error": {"type": "string"},
        "parameter": {"type": "string", "description": "The parameter at fault (400 only)."},
        "message": {"type": "string", "description": "What is wrong, in words for a person."},
    },
}
FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"const": "Feature"},
        "id": {
            "type": "string",
            "description": "`<service id>@<location id>`: the service at one of its "
            "locations (GET /api/v1/services/{feature_id} answers it).",
        },
        "geometry": {
            "type": "object",
            "description": "The location's public point, [longitude, latitude] (WGS84). For a "
            "confidential location: the centre of its community, never the "
            "address.",
            "properties": {
                "type": {"const": "Point"},
                "coordinates": {
                    "type": "array",
                    "items": {"type": "number"},
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        },
        "properties": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "name": {"type": "string"},
                "organization": {"type": "string"},
                "service_types": {"type": "array", "items": {"type": "string"}},
                "populations": {"type": "array", "items": {"type": "string"}},
                "capabilities": {"type": "array", "items": {"type": "string"}},
                "languages": {"type": "array", "items": {"type": "string"}},
                "description": {"type": ["string", "null"]},
                "eligibility": {
                    "type": ["string", "null"],
                    "description": "Who the service is for.",
                },
                "intake": {
                    "type": ["string", "null"],
                    "description": "How to reach the service or be referred to it.",
                },
                "location_id": {"type": "string"},
                "confidential": {"type": "boolean"},
                "sources": {
                    "type": "array",
                    "description": "Every source of the entry, its own first: one service "
                    "listed by several sources is one entry.",
                    "items": {
                        "type": "object",
                        "required": ["source", "source_id", "as_of", "licence"],
                        "properties": {
                            "source": {"type": "string"},
                            "source_id": {
                                "type": "string",
                                "description": "The record's id in that source, as the "
                                "file gives it; empty for a record merged into a confidential "
                                "entry (that record, in its own source, may give the address).",
                            },
                            "as_of": {"type": ["string", "null"]},
                            "licence": {"type": ["string", "null"]},
                        },
                    },
                },
                "distance_m": {
                    "type": "number",
                    "description": "Geodesic metres from the origin to the public point, to "
                    "`distance_precision_m`: rounded up to a whole km for a confidential "
                    "location; for a listing placed at its community (`geocode_precision` "
                    "`place`), to the nearest 5 km, 0 when the origin is in that community.",
                },
                "distance_precision_m": {
                    "type": "number",
                    "description": "The step `distance_m` is given to: 0.1 for an address, "
                    "1000 for a confidential location, 5000 for a listing placed at its "
                    "community.",
                },
                "place": {
                    "type": "string",
                    "description": "In search results: the `id` of the first Feature of the "
                    "place this one is shown in. Features sharing it are programmes of one "
                    "organization at one address, one result (`limit` and `total` count "
                    "places). A confidential location is always a place of its own.",
                },
            },
        },
    },
}


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(codes: Mapping[str, list[str]]) -> dict:
    query_parameters = [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "description": p.description,
            "schema": p.schema,
            **({"style": "form", "explode": True} if p.repeatable else {}),
        }
        for p in parameters(codes)
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "caremap API",
            "version": "1.0",
            "description": "Care centres for victims of trafficking and violence across "
            "Canada. Confidential locations appear only at a "
            "community-level public point.",
        },
        "paths": {
            "/api/v1/services": {
                "get": {
                    "summary": "Services fitting a person's needs, nearest first",
                    "operationId": "searchServices",
                    "parameters": query_parameters,
                    "responses": {
                        "200": {
                            "description": "A GeoJSON FeatureCollection",
                            "content": {
                                "application/geo+json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["type", "features"],
                                        "properties": {
                                            "type": {"const": "FeatureCollection"},
                                            "features": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Feature"},
                                            },
                                            "beyond_radius": {"type": "boolean"},
                                            "total": {
                                                "type": "integer",
                                                "description": "The matching places "
                                                "counted, on all pages: nearest first, every "
                                                "one up to the page's offset plus 100 (or "
                                                "plus `limit`, if larger); by name, those "
                                                "of the first 10,000 listings.",
                                            },
                                            "more": {
                                                "type": "boolean",
                                                "description": "More places match than "
                                                "`total` counts.",
                                            },
                                            "unknown": {
                                                "type": "integer",
                                                "description": "Places left out only "
                                                "because their hours or bed counts are not "
                                                "known; include_unknown adds them.",
                                            },
                                            "more_unknown": {
                                                "type": "boolean",
                                                "description": "`unknown` counts those "
                                                "among the nearest places counted; more "
                                                "may be left out farther away.",
                                            },
                                            "helplines": {
                                                "type": "array",
                                                "items": {"type": "object"},
                                                "description": "Crisis and help lines (no "
                                                "place, not ranked by distance): those of the "
                                                "origin's province or territory, then the "
                                                "national ones; without an origin, the "
                                                "national ones. A phone's `number` is E.164, or "
                                                "a short number as dialled (`211`, `988`, "
                                                "`3101818`); `display` is as written here.",
                                            },
                                            "jurisdiction": {
                                                "type": ["object", "null"],
                                                "description": "The origin's province or "
                                                "territory (`pruid`, `name_en`, `name_fr`) and "
                                                "`nearby`: the matches within the radius (0 "
                                                "when `beyond_radius`: the features are then "
                                                "the nearest farther away). Null without an "
                                                "origin.",
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "400": _error_response("A parameter is invalid; `parameter` names it."),
                    },
                }
            },
            "/api/v1/services/{feature_id}": {
                "get": {
                    "summary": "One service at one location, shaped like a search result",
                    "operationId": "getService",
                    "parameters": [
                        {
                            "name": "feature_id",
                            "in": "path",
                            "required": True,
                            "description": "A search result's `id` (`<service id>@<location "
                            "id>`), or a service id alone for its first location.",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "A GeoJSON Feature (without `distance_m`)",
                            "content": {
                                "application/geo+json": {
                                    "schema": {"$ref": "#/components/schemas/Feature"}
                                }
                            },
                        },
                        "404": _error_response("No such service, or not at that location."),
                    },
                }
            },
        },
        "components": {"schemas": {"Feature": FEATURE, "Error": ERROR}},
    }
