"""Public pages: the search page (the map of every service when nothing is asked), a
service's detail page, and a printable referral sheet of search results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urlsplit

import folium
import orjson
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from caremap import mapgrid
from caremap.links import Continuum, continuum
from caremap.listing import listings_extent
from caremap.paging import Page
from caremap.queries import (
    has_jurisdictions,
    jurisdiction_outlines,
    public_entry_of_merged,
    public_service,
    term_labels,
)
from caremap.reasons import N_, Reason
from caremap.search import Filters, Place, SearchResult, search
from webmap import get_store, page_language, url_with
from webmap.common.bundle import use_bundle
from webmap.common.delivery import revalidated
from webmap.common.filters import month_name
from webmap.common.mapview import (
    MAX_ZOOM,
    MapLayers,
    MapParts,
    MapSettings,
    build_location_map,
    build_service_map,
    map_points_answer,
    province_outlines,
    render_map,
)
from webmap.common.params import (
    PAGE_RADIUS_KM,
    RADIUS_CHOICES_KM,
    BadParameter,
    ParsedSearch,
    integer,
    lon_lat_box,
    parse_search,
)
from webmap.common.searching import (
    AreaLines,
    area_lines,
    clock,
    gazetteer,
    kept,
    vocabulary,
    vocabulary_codes,
)
from webmap.editing.edit import capacity_forms, editing

bp = Blueprint("main", __name__)


def _map_settings() -> MapSettings:
    from webmap import tiles_hosts

    config = current_app.config
    return MapSettings(
        config["TILES_URL"],
        config["TILES_ATTRIBUTION"],
        page_language(),
        tiles_hosts(config["TILES_URL"]),
    )


def _rendered(fmap: folium.Map, settings: MapSettings, bundle: str) -> MapParts:
    use_bundle(fmap, bundle)
    return render_map(fmap, settings.allowed_hosts)


@dataclass(frozen=True)
class SearchRun:
    """A search as the page and the referral sheet show it: the parameters, the places found
    and the help lines serving its area, or the parameter at fault."""

    parsed: ParsedSearch | None = None
    result: SearchResult | None = None
    area_lines: AreaLines | None = None
    error: BadParameter | None = None


def _run_search() -> SearchRun:
    try:
        parsed = _with_page_radius(parse_search(request.args, vocabulary_codes(), gazetteer))
        lines = area_lines(parsed)
    except BadParameter as error:
        return SearchRun(error=error)
    if not parsed.given:  # the map fetches its points for each view (map_points)
        return SearchRun(parsed, SearchResult([], 0), lines)
    return SearchRun(parsed, search(get_store(), parsed.query, clock()), lines)


def _with_page_radius(parsed: ParsedSearch) -> ParsedSearch:
    """A search from an origin without ``radius_km`` keeps to the radius its form shows."""
    if not parsed.query.has_origin or "radius_km" in request.args:
        return parsed
    return replace(parsed, query=replace(parsed.query, radius_km=PAGE_RADIUS_KM))


@bp.get("/")
def home() -> tuple[str, int] | str:
    """Search: one box (address, postal code, place, "lat, lon"), a radius, filters; results
    as a list and on the map, in step. With nothing asked, every service on the map."""
    run = _run_search()
    parsed, result, error = run.parsed, run.result, run.error
    lang = page_language()
    with get_store().session() as session:
        labels = term_labels(session, lang)
        outlined = has_jurisdictions(session, "province")
        extent = listings_extent(session.connection())
    places = result.places if result else []
    asked = parsed is not None and parsed.given
    # Browsing: no markers in the page; the view holds every listing, fetched per view
    # (lat, lon corners). Results: a marker per place.
    view = () if asked or extent is None else ((extent[1], extent[0]), (extent[3], extent[2]))
    marked = places
    layers = MapLayers(
        points=[
            (f"r{i}", [hit.service for hit in place.hits], place.lead.location)
            for i, place in enumerate(marked)
        ],
        origin=(parsed.query.latitude, parsed.query.longitude)
        if parsed and parsed.query.has_origin
        else None,
        radius_km=parsed.query.radius_km if parsed else None,
        cluster=not asked,
        distances_m={
            f"r{i}": place.lead.distance_m
            for i, place in enumerate(marked)
            if place.lead.distance_m is not None
        },
        points_url=None if asked else url_for("main.map_points", lang=lang),
        outlines_url=url_for("main.map_outlines", lang=lang) if outlined else None,
        view=view,
    )
    settings = _map_settings()
    fmap, map_data = build_service_map(
        layers,
        settings=settings,
        labels=labels,
        detail_url=lambda service_id: detail_link(service_id, asked),
    )
    parts = _rendered(fmap, settings, "search")
    page = render_template(
        "search.html",
        parsed=parsed,
        result=result,
        area_lines=run.area_lines,
        places=places,
        result_page=_result_page(parsed, result) if parsed and result else None,
        page_link=lambda number: url_with(page=str(number)),
        detail_link=detail_link,
        asked=asked,
        applied=applied_filters(parsed.query.filters, labels) if asked else [],
        error=error,
        labels=labels,
        vocabulary=vocabulary(),
        radius_choices=RADIUS_CHOICES_KM,
        page_radius_km=PAGE_RADIUS_KM,
        map=parts,
        map_data=map_data,
    )
    return (page, 400) if error else page


@bp.get("/map/points")
def map_points() -> Response:
    """The browse map's points in a view, as GeoJSON: ``bbox`` (min lon, min lat, max lon,
    max lat) and ``zoom`` (0 to the map's greatest), with the search's filters. Clusters at
    low zooms, markers (public points only, as the search shows them) at high ones."""
    box = lon_lat_box(request.args)
    if box is None:
        raise BadParameter("bbox", Reason(N_("give the view as min lon,min lat,max lon,max lat")))
    zoom = integer(request.args, "zoom", 0, MAX_ZOOM)
    if zoom is None:
        raise BadParameter(
            "zoom", Reason(N_("give the map's zoom, from 0 to %(max)s"), max=MAX_ZOOM)
        )
    filters = parse_search(request.args, vocabulary_codes(), gazetteer).query.filters
    grid = mapgrid.map_points(get_store(), box, zoom, filters, clock())
    with get_store().session() as session:
        labels = term_labels(session, page_language())
    answer = map_points_answer(grid, labels, lambda service_id: detail_link(service_id, False))
    return current_app.response_class(orjson.dumps(answer), mimetype="application/geo+json")


@bp.get("/map/outlines")
def map_outlines() -> Response:
    """The browse map's outlines of the provinces and territories, named in the page's
    language (GeoJSON features, lon/lat); built at most once a minute per language and
    process, as the vocabulary is read."""
    lang = page_language()

    def build() -> bytes:
        with get_store().session() as session:
            outlines = jurisdiction_outlines(session, "province")
        return orjson.dumps(province_outlines(outlines, lang))

    answer = kept(f"outlines {lang}", build)
    response = current_app.response_class(answer, mimetype="application/json")
    return revalidated(response)


def applied_filters(filters: Filters, labels: Mapping[str, str]) -> list[str]:
    """The filters a search applies, as a person reads them in the page language."""
    applied = [
        labels.get(code, code)
        for facet in (
            filters.service_types,
            filters.populations,
            filters.capabilities,
            filters.languages,
        )
        for code in sorted(facet, key=lambda code: labels.get(code, code))
    ]
    if filters.open_now:
        applied.append(_("Open now"))
    if filters.beds_available:
        applied.append(_("Bed available now"))
    if filters.month is not None:
        applied.append(_("Running in %(month)s", month=month_name(filters.month)))
    return applied


def detail_link(service_id: str, from_results: bool) -> str:
    """A service's detail page; from search results, with those results to go back to."""
    back = url_with() if from_results else None
    return url_for("main.service_detail", service_id=service_id, back=back)


def results_url(back: str | None) -> str | None:
    """The search page URL that ``back`` names, its query re-encoded; None when ``back`` is
    missing or names anything else (another site, another page, a script)."""
    home = url_for("main.home")
    if not back or not back.isprintable() or "\\" in back:
        return None
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or parts.path != home or parts.fragment:
        return None
    query = urlencode(parse_qsl(parts.query, keep_blank_values=True))
    return f"{home}?{query}" if query else home


def _result_page(parsed: ParsedSearch, result: SearchResult) -> Page[Place]:
    """The places as a page of every match, for the pager (past the last page, the previous
    page is the last one; when more match than were counted, a next page follows)."""
    query = parsed.query
    pages = max(1, -(-result.total // query.limit))
    number = min(query.offset // query.limit + 1, pages + 1)
    if result.more:
        pages = max(pages, number + 1)
    return Page(result.places, number, pages, result.total)


@bp.get("/print")
def print_results() -> tuple[str, int] | str:
    """A referral sheet: names, phones, hours and distances of the current search."""
    run = _run_search()
    if run.error:
        raise run.error
    parsed, result = run.parsed, run.result
    with get_store().session() as session:
        labels = term_labels(session, page_language())
    farther = result.beyond_radius and request.args.get("farther") == "1"
    return render_template(
        "print.html",
        parsed=parsed,
        result=result,
        area_lines=run.area_lines,
        labels=labels,
        places=result.places if parsed.given and (farther or not result.beyond_radius) else [],
        now=clock().now,
    )


ORIGIN_PARAMETERS = ("near", "lat", "lon")


def _origin() -> tuple[dict[str, str], ParsedSearch]:
    """Where the person starts, as search parameters and parsed: the page's own ``near`` (or
    ``lat`` and ``lon``; a 400 naming the parameter when they name no place), else those of the
    search it was opened from (``back``), else none."""
    own = {name: request.args[name] for name in ORIGIN_PARAMETERS if request.args.get(name)}
    if own:
        return own, _parsed(own)
    back = results_url(request.args.get("back"))
    query = dict(parse_qsl(urlsplit(back).query)) if back else {}
    searched = {name: query[name] for name in ORIGIN_PARAMETERS if query.get(name)}
    try:
        return searched, _parsed(searched)
    except BadParameter:
        return {}, _parsed({})


def _parsed(args: dict[str, str]) -> ParsedSearch:
    return parse_search(MultiDict(args), vocabulary_codes(), gazetteer)


def _continuum(service_id: str, parsed: ParsedSearch) -> Continuum:
    """The service's next steps, nearest the origin first."""
    query = parsed.query
    origin = None
    if query.latitude is not None and query.longitude is not None:
        origin = (query.latitude, query.longitude)
    with get_store().session() as session:
        return continuum(session, service_id, page_language(), origin)


@bp.get("/services/<service_id>")
def service_detail(service_id: str) -> ResponseReturnValue:
    """Everything a referral needs about one service, and its next steps; a service merged
    into another entry moves permanently to that entry's page."""
    with get_store().session() as session:
        service = public_service(session, service_id)
        entry = None if service else public_entry_of_merged(session, service_id)
        labels = term_labels(session, page_language())
    if entry is not None:
        return _moved_to(entry, "main.service_detail")
    if service is None:
        abort(404)
    origin_args, parsed = _origin()
    settings = _map_settings()
    fmap, map_data = build_location_map(service, settings=settings)
    return render_template(
        "service.html",
        service=service,
        back_url=results_url(request.args.get("back")),
        map=_rendered(fmap, settings, "service"),
        map_data=map_data,
        labels=labels,
        clock=clock(),
        capacity_forms=capacity_forms(service_id),
        editing=editing(service_id),
        steps=_continuum(service_id, parsed),
        origin_args=origin_args,
    )


def _moved_to(entry: str, endpoint: str) -> Response:
    """A permanent redirect to the ``endpoint`` page of the entry a service merged into, with
    the same query."""
    query = urlencode(list(request.args.items(multi=True)))
    moved = url_for(endpoint, service_id=entry)
    return redirect(f"{moved}?{query}" if query else moved, 301)


@bp.get("/services/<service_id>/print")
def print_service(service_id: str) -> Response | str:
    """A referral sheet of one service and its next steps, each at its location nearest the
    origin (``near``, or ``lat`` and ``lon``); the sheet of a service merged into another
    entry moves permanently to that entry's sheet."""
    with get_store().session() as session:
        service = public_service(session, service_id)
        entry = None if service else public_entry_of_merged(session, service_id)
        labels = term_labels(session, page_language())
    if entry is not None:
        return _moved_to(entry, "main.print_service")
    if service is None:
        abort(404)
    _, parsed = _origin()
    return render_template(
        "print_service.html",
        service=service,
        parsed=parsed,
        steps=_continuum(service_id, parsed),
        labels=labels,
        now=clock().now,
    )


@bp.get("/health")
def health() -> dict[str, str]:
    """For load balancers and docker-compose: the store answers and is at the newest schema."""
    if not get_store().is_current():
        abort(503, description="The database schema is not up to date; run 'caremap db upgrade'.")
    return {"status": "ok"}
