"""The HSDS 3.0 API (read only) at ``/hsds/``: services, service_at_locations, organizations,
taxonomies and taxonomy terms, paged as HSDS's ``Page`` (``page``, ``per_page``), and
caremap's extension ``service_links`` (a service's usual next steps).

Everything comes from :mod:`caremap.hsds.tables`, which passes every location through
:mod:`caremap.privacy`: a confidential location appears at its public point, with its city and
province only. Bad parameters are a 400 naming the parameter; unknown ids a 404.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, request, url_for
from werkzeug.wrappers import Response

from caremap.hsds import HSDS_VERSION
from caremap.hsds.objects import Nester, clean
from caremap.hsds.pages import (
    PageRequest,
    ServiceFilter,
    organization_page,
    organization_rows,
    page_object,
    service_at_location_page,
    service_of_link,
    service_page,
    services_of,
)
from caremap.hsds.tables import read_service_links, read_tables, read_taxonomies
from webmap import get_store
from webmap.common.cors import allow_any_origin_to_read
from webmap.common.delivery import revalidated
from webmap.common.params import BadParameter, boolean, date_time, integer, shown

bp = Blueprint("hsds", __name__, url_prefix="/hsds")
allow_any_origin_to_read(bp)
bp.after_request(revalidated)

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000
MAX_PAGE = 1_000_000  # so that an offset stays far within a database integer
OPENAPI = Path("standards") / "hsds-3.0" / "schema" / "openapi.json"


@bp.before_request
def check_format() -> None:
    """Only JSON is offered: ``format`` may be absent or ``json``."""
    chosen = request.args.get("format")
    if chosen is not None and chosen != "json":
        raise BadParameter("format", f"{shown(chosen)} is not offered; use format=json")


# --- parameters -----------------------------------------------------------------------------


def _page() -> PageRequest:
    args = request.args
    return PageRequest(
        integer(args, "page", 1, MAX_PAGE, default=1),
        integer(args, "per_page", 1, MAX_PER_PAGE, default=DEFAULT_PER_PAGE),
    )


def _boolean(name: str) -> bool:
    return boolean(request.args, name)


def _service_filter() -> ServiceFilter:
    args = request.args
    return ServiceFilter(
        search=args.get("search") or None,
        organization_id=args.get("organization_id") or None,
        taxonomy_term_id=args.get("taxonomy_term_id") or None,
        taxonomy_id=args.get("taxonomy_id") or None,
        modified_after=date_time(args, "modified_after"),
    )


# --- routes ---------------------------------------------------------------------------------


@bp.get("/")
def about() -> Response:
    return jsonify(
        {"version": HSDS_VERSION, "openapi_url": url_for("hsds.openapi", _external=True)}
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    """HSDS's own OpenAPI document, with this server and caremap's details filled in."""
    path = Path(current_app.config["DATA_DIR"]) / OPENAPI
    document = copy.deepcopy(json.loads(path.read_text(encoding="utf-8")))
    document["info"] = {
        "title": "caremap HSDS API",
        "version": HSDS_VERSION,
        "summary": "Care centres for victims of human trafficking and violence in Canada.",
        "license": {"name": "Per source: see each package's sources"},
    }
    document["servers"] = [{"url": url_for("hsds.about", _external=True).rstrip("/")}]
    _without_format(document)
    return jsonify(document)


def _without_format(document: dict) -> None:
    """Only JSON is served (:func:`check_format`): HSDS's ``format`` parameter, which offers
    ``ndjson``, is not advertised."""
    reference = {"$ref": "#/components/parameters/format"}
    del document["components"]["parameters"]["format"]
    for operations in document["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [p for p in operation["parameters"] if p != reference]


@bp.get("/services")
def services() -> Response:
    page, full = _page(), _boolean("full")
    with get_store().session() as session:
        ids, total = service_page(session, _service_filter(), page)
        nester = Nester(read_tables(session, ids), read_taxonomies(session))
    rows = nester.tables["service"]
    contents = [nester.service(s) if full else nester.service_list_item(s) for s in rows]
    return jsonify(page_object(contents, total, page))


@bp.get("/services/<service_id>")
def service(service_id: str) -> Response:
    with get_store().session() as session:
        nester = Nester(read_tables(session, [service_id]), read_taxonomies(session))
    if not nester.tables["service"]:
        abort(404)
    return jsonify(nester.service(nester.tables["service"][0]))


@bp.get("/service_at_locations")
def service_at_locations() -> Response:
    page, full = _page(), _boolean("full")
    with get_store().session() as session:
        pairs, total = service_at_location_page(session, _service_filter(), page)
        nester = Nester(
            read_tables(session, sorted({sid for _, sid in pairs})), read_taxonomies(session)
        )
    links = [nester.by_id["service_at_location"][link_id] for link_id, _ in pairs]
    contents = [
        nester.service_at_location(link) if full else nester.service_at_location_list_item(link)
        for link in links
    ]
    return jsonify(page_object(contents, total, page))


@bp.get("/service_at_locations/<service_at_location_id>")
def service_at_location(service_at_location_id: str) -> Response:
    with get_store().session() as session:
        ids = service_of_link(session, service_at_location_id)
        nester = Nester(read_tables(session, ids), read_taxonomies(session))
    link = nester.by_id["service_at_location"].get(service_at_location_id)
    if link is None:
        abort(404)
    return jsonify(nester.service_at_location(link))


@bp.get("/organizations")
def organizations() -> Response:
    page, full, full_service = _page(), _boolean("full"), _boolean("full_service")
    with get_store().session() as session:
        ids, total = organization_page(session, request.args.get("search") or None, page)
        nester = Nester(read_tables(session, services_of(session, ids)), read_taxonomies(session))
        rows = organization_rows(session, ids)
    contents = [
        nester.organization_full(row, full_service) if full or full_service else clean(row)
        for row in rows
    ]
    return jsonify(page_object(contents, total, page))


@bp.get("/organizations/<organization_id>")
def organization(organization_id: str) -> Response:
    full_service = _boolean("full_service")
    with get_store().session() as session:
        rows = organization_rows(session, [organization_id])
        services = services_of(session, [organization_id])
        nester = Nester(read_tables(session, services), read_taxonomies(session))
    if not rows:
        abort(404)
    return jsonify(nester.organization_full(rows[0], full_service))


@bp.get("/service_links")
def service_links() -> Response:
    """caremap's extension: every service's usual next steps (``service_links.csv`` of the
    data package), paged; ``service_id`` keeps the links from that service."""
    wanted = request.args.get("service_id")
    with get_store().session() as session:
        rows = read_service_links(session, None if wanted is None else [wanted])
    return _paged(rows)


def _taxonomy_rows(table: str) -> list[dict]:
    with get_store().session() as session:
        return read_taxonomies(session)[table]


def _search(rows: list[dict]) -> list[dict]:
    text = (request.args.get("search") or "").lower()
    fields = ("name", "description", "code")
    return [r for r in rows if not text or any(text in (r.get(f) or "").lower() for f in fields)]


def _paged(rows: list[dict]) -> Response:
    page = _page()
    contents = [clean(row) for row in rows[page.offset : page.offset + page.size]]
    return jsonify(page_object(contents, len(rows), page))


@bp.get("/taxonomies")
def taxonomies() -> Response:
    return _paged(_search(_taxonomy_rows("taxonomy")))


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy(taxonomy_id: str) -> Response:
    return _one(_taxonomy_rows("taxonomy"), taxonomy_id)


@bp.get("/taxonomy_terms")
def taxonomy_terms() -> Response:
    rows = _search(_taxonomy_rows("taxonomy_term"))
    args = request.args
    if args.get("taxonomy_id"):
        rows = [r for r in rows if r["taxonomy_id"] == args["taxonomy_id"]]
    if args.get("parent_id"):
        rows = [r for r in rows if r["parent_id"] == args["parent_id"]]
    if _boolean("top_only"):
        rows = [r for r in rows if r["parent_id"] is None]
    return _paged(rows)


@bp.get("/taxonomy_terms/<taxonomy_term_id>")
def taxonomy_term(taxonomy_term_id: str) -> Response:
    return _one(_taxonomy_rows("taxonomy_term"), taxonomy_term_id)


def _one(rows: list[dict], wanted: str) -> Response:
    found = next((row for row in rows if row["id"] == wanted), None)
    if found is None:
        abort(404)
    return jsonify(clean(found))
