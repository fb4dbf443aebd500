"""The planner page: where services are missing, for whom, and when — a choropleth of one
indicator per jurisdiction, a table, and exports of the same view."""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TypeVar

import folium
import geopandas as gpd
import numpy as np
import orjson
import shapely
from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from pyproj import Transformer
from sqlalchemy import select
from sqlalchemy.orm import aliased

from caremap.coverage.claims import claimed_pairs
from caremap.coverage.classify import METHODS, Classes, classify
from caremap.coverage.completeness import ProvinceCompleteness, completeness
from caremap.coverage.continuum import STEPS, MissingStep, missing_steps
from caremap.coverage.indicators import (
    ACCESS_METHODS,
    SUPPLY_KINDS,
    JurisdictionIndicators,
    LevelContext,
    Selection,
    compute_indicators,
)
from caremap.coverage.stored import CATCHMENT_KM, THRESHOLDS_KM
from caremap.coverage.stored import read as read_stored
from caremap.coverage.supply import bed_count
from caremap.jurisdictions import level_labels, to_lambert
from caremap.model import Jurisdiction, Source
from caremap.queries import (
    PublicService,
    ServiceName,
    jurisdiction_extent,
    jurisdiction_outlines,
    jurisdiction_shapes,
    outline_collection,
    public_services,
    service_names,
)
from caremap.reasons import N_, Reason
from caremap.spreadsheet import SafeWriter
from webmap import get_store, page_language, tiles_hosts, url_with
from webmap.common.bundle import use_bundle
from webmap.common.delivery import revalidated
from webmap.common.mapview import (
    ICONS,
    MapData,
    MapOutlines,
    MapPoint,
    map_text,
    new_map,
    outline_feature,
    render_map,
)
from webmap.common.params import BadParameter, integer, number, shown, whole_number
from webmap.common.searching import clock, vocabulary_codes

bp = Blueprint("planner", __name__, url_prefix="/planner")
MAX_ADDED_BEDS = 10_000

# indicator → (label, higher is worse)
INDICATORS = {
    "services_per_100k": (_l("Services per 100,000 people"), False),
    "beds_per_10k": (_l("Beds per 10,000 people"), False),
    "share_beyond": (_l("Share of people farther than the distance"), True),
    "access_score": (_l("Accessibility (floating catchment)"), False),
    "services": (_l("Number of services"), False),
}
METHOD_LABELS = {
    "quantiles": _l("quantiles"),
    "fisher_jenks": _l("Fisher-Jenks natural breaks"),
    "equal_interval": _l("equal intervals"),
}
ACCESS_LABELS = {
    "2sfca": _l("2SFCA (equal weight within the catchment)"),
    "e2sfca": _l("E2SFCA (weights 1, 0.68, 0.22 over thirds of the catchment)"),
}
SUPPLY_LABELS = {"services": _l("number of services"), "beds": _l("number of beds")}
MAP_PIXELS = 2000
"""The area map's outlines are simplified to a tolerance of the level's extent (in EPSG:3347)
over this: half a pixel of a map about 1,000 pixels across showing the whole level."""
COORDINATE_DECIMALS = 5  # about a metre
FROM_LAMBERT = Transformer.from_crs("EPSG:3347", "EPSG:4326", always_xy=True)
NO_DATA_STYLE = {"fillColor": "#ffffff", "color": "#888", "dashArray": "4 4", "fillOpacity": 0.6}
PARTIAL_OUTLINE = {"color": "#222", "weight": 2, "dashArray": "6 4"}


@dataclass(frozen=True)
class PlannerView:
    selection: Selection
    indicator: str
    method: str
    k: int


def _choice(name: str, allowed: object, default: str) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        reason = Reason(
            N_("%(value)s is not one of %(allowed)s"),
            value=shown(value),
            allowed=", ".join(map(str, allowed)),
        )
        raise BadParameter(name, reason)
    return value


def _levels() -> dict[str, str]:
    """The jurisdiction levels of ``data/jurisdictions.toml``, labelled in the page's language."""
    return level_labels(current_app.config["DATA_DIR"], page_language())


def parse_view() -> PlannerView:
    codes = vocabulary_codes()
    service_type = request.args.get("service_type", "")
    population = request.args.get("population", "")
    for name, value, facet in (
        ("service_type", service_type, "service_type"),
        ("population", population, "population"),
    ):
        if value and value not in codes[facet]:
            raise BadParameter(name, Reason(N_("unknown code %(value)s"), value=shown(value)))
    distances = [str(t) for t in THRESHOLDS_KM]
    threshold = _choice("threshold_km", distances, "25")
    catchment = _choice("catchment_km", distances, str(int(CATCHMENT_KM)))
    k = _choice("k", [str(n) for n in range(3, 8)], "5")
    selection = Selection(
        added_sites=_added_sites(),
        switched_off=_switched_off(),
        level=_choice("level", _levels(), "census_division"),
        service_types=frozenset({service_type} if service_type else ()),
        populations=frozenset({population} if population else ()),
        month=integer(request.args, "month", 1, 12),
        threshold_km=float(threshold),
        catchment_km=float(catchment),
        supply=_choice("supply", SUPPLY_KINDS, "services"),
        access_method=_choice("access", ACCESS_METHODS, "2sfca"),
    )
    return PlannerView(
        selection,
        _choice("indicator", INDICATORS, "services_per_100k"),
        _choice("method", METHODS, "quantiles"),
        int(k),
    )


def _added_sites() -> tuple[tuple[float, float, int], ...]:
    """``add=lat,lon,beds`` (repeatable): hypothetical sites for the what-if."""
    sites = []
    for raw in request.args.getlist("add"):
        parts = [part.strip() for part in raw.split(",")]
        if len(parts) != 3:
            reason = Reason(N_("%(value)s is not latitude,longitude,beds"), value=shown(raw))
            raise BadParameter("add", reason)
        sites.append(
            (
                number("add", parts[0], -90, 90),
                number("add", parts[1], -180, 180),
                whole_number("add", parts[2], 0, MAX_ADDED_BEDS),
            )
        )
    return tuple(sites)


def _switched_off() -> frozenset[str]:
    """``off=<service id>`` (repeatable): services left out of the what-if."""
    chosen = frozenset(request.args.getlist("off"))
    unknown = sorted(chosen - {service.id for service in _service_names()}) if chosen else []
    if unknown:
        reason = Reason(N_("unknown service %(value)s"), value=shown(unknown[0]))
        raise BadParameter("off", reason)
    return chosen


@dataclass(frozen=True)
class Results:
    rows: list[JurisdictionIndicators]
    computed_at: dt.datetime | None  # when read from the stored indicators; None if just now


def _results(view: PlannerView) -> Results:
    """The stored indicators when the view is a standard one built today, else computed now."""
    today = clock().now.date()
    data_dir = current_app.config["DATA_DIR"]
    with get_store().session() as session:
        stored = read_stored(session, data_dir, view.selection, today)
    if stored is not None:
        return Results(_published(stored.results), stored.computed_at)
    rows = compute_indicators(get_store(), data_dir, view.selection, today)
    return Results(_published(rows), None)


RATIOS = ("services_per_100k", "beds_per_10k", "share_beyond", "access_score")


def _published(rows: list[JurisdictionIndicators]) -> list[JurisdictionIndicators]:
    """The rows as the page and the exports show them: named with their parent
    (:func:`_with_parent_names`); a jurisdiction without data has no ratios (empty, with its
    status saying why), not figures computed from nothing."""
    named = _with_parent_names(rows, rows[0].level) if rows else rows
    return [
        replace(row, **dict.fromkeys(RATIOS)) if row.status == "no_data" else row for row in named
    ]


Named = TypeVar("Named", JurisdictionIndicators, MissingStep)


def _with_parent_names(rows: list[Named], level: str) -> list[Named]:
    """The rows of ``level`` named with their parent where the level spans several
    ("Division No. 1 (Newfoundland and Labrador)")."""
    parents = _parent_names(level)
    return [
        replace(
            row,
            name_en=f"{row.name_en} ({parents[row.code][0]})",
            name_fr=f"{row.name_fr} ({parents[row.code][1]})",
        )
        if row.code in parents
        else row
        for row in rows
    ]


def _parent_names(level: str) -> dict[str, tuple[str, str]]:
    """The English and French names of each jurisdiction's parent, by code, for a level whose
    jurisdictions lie in more than one parent; empty otherwise."""
    parent = aliased(Jurisdiction)
    with get_store().session() as session:
        found = session.execute(
            select(Jurisdiction.code, parent.code, parent.name_en, parent.name_fr)
            .join(parent, parent.code == Jurisdiction.parent_code)
            .where(Jurisdiction.level == level, parent.level != level)
        ).all()
    if len({parent_code for _, parent_code, _, _ in found}) < 2:
        return {}
    return {code: (name_en, name_fr) for code, _, name_en, name_fr in found}


def _values(results: list[JurisdictionIndicators], indicator: str) -> np.ndarray:
    """The indicator of every covered or partial jurisdiction; NaN where there is no data."""
    return np.array(
        [
            np.nan
            if r.status == "no_data" or getattr(r, indicator) is None
            else float(getattr(r, indicator))
            for r in results
        ]
    )


def _classes(view: PlannerView, results: list[JurisdictionIndicators]) -> Classes:
    """The classes of the view's indicator over the jurisdictions with data."""
    worse_high = INDICATORS[view.indicator][1]
    return classify(_values(results, view.indicator), view.method, view.k, worse_high)


@bp.get("/")
def planner() -> str:
    view = parse_view()
    results = _results(view)
    classes = _classes(view, results.rows)
    with get_store().session() as session:
        extent = jurisdiction_extent(session, view.selection.level)
    areas_url = url_with("planner.areas", lang=page_language())
    fmap, map_data = choropleth_map(view, extent, [], areas_url)
    use_bundle(fmap, "planner")
    parts = render_map(fmap, tiles_hosts(current_app.config["TILES_URL"]))
    sort = request.args.get("sort", view.indicator)
    key = sort if sort in {*INDICATORS, "name", "population"} else view.indicator
    covered = any(row.status == "covered" for row in results.rows)
    rows = sorted(results.rows, key=lambda r: _sort_key(r, key), reverse=key != "name")
    return render_template(
        "planner.html",
        view=view,
        rows=rows,
        classes=classes,
        chart=_chart(view, results.rows, classes),
        computed_at=results.computed_at,
        map=parts,
        levels=_levels(),
        indicators=INDICATORS,
        methods=METHOD_LABELS,
        access_labels=ACCESS_LABELS,
        supply_labels=SUPPLY_LABELS,
        status_text=STATUS_TEXT,
        deserts=sum(r.desert for r in results.rows),
        no_data=sum(r.status == "no_data" for r in results.rows),
        map_data=map_data,
        switched_off=_switch_off_choices(view.selection.switched_off),
        completeness=_completeness(view),
        declared_types=[] if view.selection.service_types or covered else _declared_types(),
        **_options(),
    )


STEP_LABELS = {
    "shelter_to_sexual_assault_centre": _l("From a shelter to a sexual assault centre"),
    "shelter_to_legal_aid": _l("From a shelter to legal aid"),
    "shelter_to_victim_services": _l("From a shelter to victim services"),
}
STEP_DISTANCES_KM = ("50", "100", "200")


@bp.get("/continuum")
def continuum_steps() -> str:
    """Per jurisdiction, where a step of the continuum of care is missing
    (:mod:`caremap.coverage.continuum`), missing steps first."""
    level = _choice("level", _levels(), "census_division")
    step = _choice("step", STEPS, "shelter_to_sexual_assault_centre")
    km = float(_choice("km", STEP_DISTANCES_KM, "100"))
    context = LevelContext(get_store(), current_app.config["DATA_DIR"], level, clock().now.date())
    rows = _with_parent_names(missing_steps(context, STEPS[step], km), level)
    name = "name_fr" if page_language() == "fr" else "name_en"
    rows.sort(key=lambda r: (not r.missing, not r.have, getattr(r, name)))
    return render_template(
        "planner_continuum.html",
        rows=rows,
        level=level,
        step=step,
        km=int(km),
        levels=_levels(),
        steps=STEP_LABELS,
        distances=[(d, d) for d in STEP_DISTANCES_KM],
        status_text=STATUS_TEXT,
        missing=sum(r.missing for r in rows),
    )


def _declared_types() -> list[str]:
    """The service types some source declares it lists completely somewhere, by code: the
    only ones the planner can call covered, or a desert, anywhere."""
    with get_store().session() as session:
        stored = session.scalars(select(Source.coverage)).all()
    return sorted({service_type for text in stored for _, service_type in claimed_pairs(text)})


def _completeness(view: PlannerView) -> list[ProvinceCompleteness] | None:
    """What the directory holds per province and territory beside the reference count, on the
    province level (the reference is per province)."""
    if view.selection.level != "province":
        return None
    return completeness(get_store(), current_app.config["DATA_DIR"])


CHART_BARS = 40


def _chart(
    view: PlannerView, results: list[JurisdictionIndicators], classes: Classes
) -> dict[str, object]:
    """The bar chart's data: the jurisdictions with data, worst first (at most
    :data:`CHART_BARS`), each bar in its class colour."""
    lang = page_language()
    worse_high = INDICATORS[view.indicator][1]
    bars = sorted(
        (
            (float(getattr(r, view.indicator)), r.name_fr if lang == "fr" else r.name_en, label)
            for r, label in zip(results, classes.labels, strict=True)
            if label >= 0
        ),
        key=lambda bar: bar[0],
        reverse=worse_high,
    )
    shown = bars[:CHART_BARS]
    return {
        "labels": [name for _, name, _ in shown],
        "values": [value for value, _, _ in shown],
        "colours": [classes.colours[label] for _, _, label in shown],
        "title": str(INDICATORS[view.indicator][0]),
        "locale": "fr-CA" if lang == "fr" else "en-CA",
        "shown": len(shown),
        "total": len(bars),
    }


def _service_names() -> list[ServiceName]:
    """Ids and names of every service, for the what-if's "switch off" list."""
    with get_store().session() as session:
        return service_names(session)


@dataclass(frozen=True)
class SwitchOffChoice:
    """A service of the what-if's "switch off" list: its public name, where it is, its beds
    and its source's date, which tell apart services of one name."""

    id: str
    name: str
    place: str
    beds: int
    as_of: str | None


@bp.get("/services.json")
def switch_off_services() -> Response:
    """The what-if's "switch off" list, which the page fetches: each service's id, name and
    what tells it apart (where it is, its beds, its source's date), in the page's language."""
    answer = [
        {"id": choice.id, "name": choice.name, "detail": _choice_detail(choice)}
        for choice in _switch_off_choices()
    ]
    response = current_app.response_class(orjson.dumps(answer), mimetype="application/json")
    return revalidated(response)


def _choice_detail(choice: SwitchOffChoice) -> str:
    """What tells a service of the "switch off" list apart, as its label shows it."""
    from webmap.common.filters import source_date

    parts = [choice.place] if choice.place else []
    if choice.beds:
        parts.append(gettext("%(num)d beds", num=choice.beds))
    if choice.as_of:
        parts.append(f"{gettext('Source date')} {source_date(choice.as_of)}")
    return "".join(f" · {part}" for part in parts).lstrip()


def _switch_off_choices(ids: frozenset[str] | None = None) -> list[SwitchOffChoice]:
    """Every service (or those of ``ids``), by name, as the "switch off" list shows it."""
    if ids is not None and not ids:
        return []
    with get_store().session() as session:
        services = public_services(session, None if ids is None else sorted(ids))
    return [
        SwitchOffChoice(s.id, s.name, _place(s), bed_count(s), s.source_as_of) for s in services
    ]


def _place(service: PublicService) -> str:
    """The public addresses of a service's locations (a confidential one's city and province
    only), each once."""
    addresses = [location.address for location in service.locations if location.address]
    places = dict.fromkeys(
        ", ".join(part for part in (a.street, a.city, a.province) if part) for a in addresses
    )
    return "; ".join(place for place in places if place)


def _options() -> dict[str, list[tuple[str, str]]]:
    """The choices of the planner's selectors, labelled in the page's language."""
    from webmap.common.filters import month_name
    from webmap.common.searching import vocabulary

    lang = page_language()
    terms = vocabulary()
    anything = [("", str(_l("all")))]
    return {
        "indicators_options": [(k, str(v[0])) for k, v in INDICATORS.items()],
        "type_options": anything + [(t.code, t.label(lang)) for t in terms["service_type"]],
        "population_options": anything + [(t.code, t.label(lang)) for t in terms["population"]],
        "month_options": [("", str(_l("any month")))]
        + [(str(m), month_name(m)) for m in range(1, 13)],
        "threshold_options": [(str(t), f"{t} km") for t in THRESHOLDS_KM],
        "access_options": [(k, str(v)) for k, v in ACCESS_LABELS.items()],
        "supply_options": [(k, str(v)) for k, v in SUPPLY_LABELS.items()],
        "k_options": [(str(n), str(n)) for n in range(3, 8)],
    }


def _sort_key(row: JurisdictionIndicators, key: str) -> tuple:
    if key == "name":
        return (row.name_en,)
    value = row.population if key == "population" else getattr(row, key)
    return (row.status != "no_data", -1 if value is None else value)


@bp.get("/areas.geojson")
def areas() -> Response:
    """The planner map's jurisdictions for the view of the same parameters as the page, as a
    GeoJSON FeatureCollection (lon, lat): each outline simplified for the level, with its
    name, value, data status and class style (aggregate indicators only)."""
    view = parse_view()
    results = _results(view).rows
    classes = _classes(view, results)
    with get_store().session() as session:
        outlines = simplified_outlines(*jurisdiction_shapes(session, view.selection.level))
    features = area_features(view, outlines, results, classes)
    answer = {"type": "FeatureCollection", "features": features}
    response = current_app.response_class(orjson.dumps(answer), mimetype="application/geo+json")
    return revalidated(response)


def simplified_outlines(properties: list[dict], shapes: np.ndarray) -> dict:
    """The outlines ``shapes`` (lon, lat) with their ``properties``, as a GeoJSON
    FeatureCollection, simplified (keeping each valid) to a tolerance in metres of EPSG:3347,
    :data:`MAP_PIXELS` to the extent of them all, their coordinates rounded."""
    if not len(shapes):
        return outline_collection(properties, shapes)
    lambert = to_lambert(shapes)
    min_x, min_y, max_x, max_y = shapely.total_bounds(lambert)
    tolerance_m = max(max_x - min_x, max_y - min_y) / MAP_PIXELS
    simple = shapely.transform(
        shapely.simplify(lambert, tolerance_m, preserve_topology=True), _lon_lat
    )
    return outline_collection(properties, simple)


def _lon_lat(xy: np.ndarray) -> np.ndarray:
    """EPSG:3347 metres to EPSG:4326 (lon, lat), rounded to :data:`COORDINATE_DECIMALS`."""
    return np.round(np.column_stack(FROM_LAMBERT.transform(*xy.T)), COORDINATE_DECIMALS)


def area_features(
    view: PlannerView, outlines: dict, results: list[JurisdictionIndicators], classes: Classes
) -> list[dict]:
    """Each jurisdiction of ``outlines`` in its class colour with its name, value and data
    status."""
    by_code = {r.code: (r, label) for r, label in zip(results, classes.labels, strict=True)}
    lang = page_language()
    features = []
    for feature in outlines["features"]:
        result, label = by_code[feature["properties"]["code"]]
        value = getattr(result, view.indicator)
        features.append(
            outline_feature(
                feature,
                name=result.name_fr if lang == "fr" else result.name_en,
                value="—" if value is None or result.status == "no_data" else f"{value:,.4g}",
                status=str(STATUS_TEXT[result.status]),
                style=_style(result, classes.colours[label] if label >= 0 else None),
            )
        )
    return features


def choropleth_map(
    view: PlannerView,
    extent: tuple[float, float, float, float] | None,
    features: list[dict],
    areas_url: str | None = None,
) -> tuple[folium.Map, MapData]:
    """The map (from code alone), fitted to ``extent`` (the jurisdictions' lon/lat bounds),
    and what it shows: the jurisdictions' ``features`` (:func:`area_features`) or the
    ``areas_url`` they are fetched from (:func:`areas`), and the hypothetical sites."""
    config = current_app.config
    fmap = new_map(config["TILES_URL"], config["TILES_ATTRIBUTION"])
    if extent is not None:
        minx, miny, maxx, maxy = extent
        fmap.fit_bounds([(miny, minx), (maxy, maxx)])  # folium: (lat, lon)
    tooltip = [("", "name"), (str(INDICATORS[view.indicator][0]), "value"), ("", "status")]
    return fmap, MapData(
        map=fmap.get_name(),
        icons=ICONS,
        points_group=fmap.get_name(),
        points=[
            MapPoint(
                key=f"site{number}",
                latitude=latitude,
                longitude=longitude,
                icon="site",
                tooltip=f"{_l('Hypothetical site')} ({beds})",
                popup=None,
            )
            for number, (latitude, longitude, beds) in enumerate(view.selection.added_sites)
        ],
        points_url=None,
        opening=None,
        outlines=MapOutlines(
            group=fmap.get_name(),
            features=features,
            tooltip=tooltip,
            url=areas_url,
        ),
        text=map_text(),
    )


STATUS_TEXT = {
    "covered": _l("data: complete"),
    "partial": _l("data: partial"),
    "no_data": _l("no data contributed"),
}


def _style(result: JurisdictionIndicators, fill: str | None) -> dict:
    """The Leaflet path style of a jurisdiction: its class colour, deserts outlined in black,
    partial ones outlined in dashes, no-data ones white with a grey dashed outline."""
    if result.status == "no_data":
        return {**NO_DATA_STYLE, "weight": 1}
    style = {"fillColor": fill or "#ffffff", "color": "#555", "weight": 1, "fillOpacity": 0.8}
    if result.status == "partial":
        style.update(PARTIAL_OUTLINE)
    if result.desert:
        style.update(color="#000000", weight=3)
    return style


EXPORT_TYPES = {
    "csv": "text/csv",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}


@bp.get("/export.<kind>")
def export(kind: str) -> Response:
    """The current view as CSV, GeoJSON or GeoPackage (EPSG:4326; outlines simplified for
    display, as on the map)."""
    if kind not in EXPORT_TYPES:
        abort(404)
    view = parse_view()
    results = _results(view).rows
    name = f"caremap-{view.selection.level}-{view.indicator}-{clock().now.date().isoformat()}"
    writers = {
        "csv": _csv,
        "geojson": lambda v, r, _n: json.dumps(_collection(v, r)).encode(),
        "gpkg": _geopackage,
    }
    return Response(
        writers[kind](view, results, name),
        mimetype=EXPORT_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'},
    )


def _csv(_view: PlannerView, results: list[JurisdictionIndicators], _name: str) -> bytes:
    buffer = io.StringIO()
    columns = list(asdict(results[0])) if results else []
    writer = SafeWriter(buffer)
    writer.writerow(columns)
    writer.writerows(asdict(r).values() for r in results)
    return buffer.getvalue().encode()


def _collection(view: PlannerView, results: list[JurisdictionIndicators]) -> dict:
    """The jurisdictions' outlines (lon, lat) with their indicators as properties."""
    with get_store().session() as session:
        outlines = jurisdiction_outlines(session, view.selection.level)
    by_code = {r.code: asdict(r) for r in results}
    for feature in outlines["features"]:
        feature["properties"] = by_code[feature["properties"]["code"]]
    return outlines


def _geopackage(view: PlannerView, results: list[JurisdictionIndicators], name: str) -> bytes:
    frame = gpd.GeoDataFrame.from_features(_collection(view, results)["features"], crs="EPSG:4326")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.gpkg"
        frame.to_file(path, driver="GPKG", layer="indicators")
        return path.read_bytes()
