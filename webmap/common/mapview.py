"""The maps: folium draws the map itself from code alone; everything that comes from data
(names, labels, phone numbers, outlines, points) goes to the browser as data.

folium renders the output of every element as a Jinja template once more (``Popup`` and each
``MacroElement`` wrap what they rendered in ``Element(template=...)``), so any text handed to
folium is template source. The maps here give folium only code: the map, the tile layer, empty
layers, the search origin and the view. :class:`MapData` holds the rest; a page emits it with
``|tojson`` into ``<script id="map-data" type="application/json">`` and ``static/js/map-data.js``
draws it, putting every text into the page as text.

folium wants (lat, lon) for ``location=``; GeoJSON outlines are (lon, lat).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TypedDict

import folium
from flask_babel import gettext as _
from markupsafe import Markup

from caremap.geocoder import Precision
from caremap.geodesy import km_to_metres
from caremap.mapgrid import GridPoints
from caremap.privacy import PublicLocation
from caremap.queries import PublicService
from webmap.common.assets import assert_no_external_urls
from webmap.common.csp import script_nonce
from webmap.common.filters import distance, km

CANADA_CENTRE = (56.0, -96.0)  # (lat, lon)
MAX_ZOOM = 18
TILE_PX = 256
MERCATOR_MAX_LAT = 85.0511287798
PHONE_MAP_PX = (334, 368)
"""The inside of the home page's map on a 360 x 740 phone (``static/css/search.css``: the
screen's width less the margins, half its height)."""
PHONE_MEDIA = "(max-width: 599.98px)"
"""The screens laid out as phones (``static/css/caremap.css``)."""

ICONS: Mapping[str, dict[str, str]] = {
    kind: {"markerColor": colour, "iconColor": "white", "icon": icon, "prefix": "cm-icon"}
    for kind, colour, icon in (
        ("service", "blue", "house"),
        ("withheld", "purple", "lock"),
        ("site", "green", "plus"),
    )
}
"""Leaflet.awesome-markers options of each kind of marker; the glyphs (``cm-icon-house``, ...)
are drawn by ``static/css/caremap.css``, without an icon font."""
OUTLINE_STYLE = {"color": "#555", "weight": 1, "fill": False}
CIRCLE_STYLE = {"color": "#5a2d82", "weight": 2, "fill": True, "fill_opacity": 0.15}
"""A confidential location's community area (the accent colour of its withheld notice)."""
COMMUNITY_RADIUS_M = 3000.0
"""The radius of the area drawn around a confidential location's public (community) point."""
AREA_ZOOM = 12
"""The closest zoom of a detail map with a confidential location: its whole area shows."""

INLINE_SCRIPT = re.compile(r"<script>", re.IGNORECASE)
"""folium's inline scripts (in the header: ``L_NO_TOUCH``...); each gets the page's nonce."""
FOLIUM_VIEWPORT = re.compile(r"<meta\s+name=[\"']viewport[\"'][^>]*>", re.IGNORECASE)
"""folium's viewport tag, which forbids zooming; the page's own (base.html) is the one kept."""


class ProgrammeLink(TypedDict):
    name: str
    url: str


class MarkerPopup(TypedDict):
    """A place's popup: its first service's name linking to ``url``, types, first phone,
    withheld notice, and the other programmes of the organization at that address."""

    name: str
    url: str
    types: str
    phone_number: str | None  # E.164, for the tel: link (None: not dialable as printed)
    phone_display: str | None
    withheld: bool
    programmes: list[ProgrammeLink]


class MapPoint(TypedDict):
    """A marker at (latitude, longitude) with an icon of :data:`ICONS`; ``key`` names it for
    the page's list, ``label`` for assistive technology (name, and distance when searched)."""

    key: str
    latitude: float
    longitude: float
    icon: str
    tooltip: str
    label: str
    popup: MarkerPopup | None


class MapOutlines(TypedDict):
    """GeoJSON features (lon, lat), each with a Leaflet path ``style`` property, or the
    ``url`` they are fetched from (then ``features`` is empty); the tooltip has a row per
    (label, property), without a label cell when the label is None."""

    group: str
    features: list[dict]
    tooltip: list[tuple[str | None, str]]
    url: str | None


class OpeningView(TypedDict):
    """The browse map's first points request, when its view has ``zoom``: ``url``, which a
    page on a screen matching ``media`` preloads (see :func:`opening_view`)."""

    url: str
    zoom: int
    media: str


class MapData(TypedDict):
    """What a map shows from data. ``map``, ``points_group`` and ``outlines.group`` are the
    global names of the Leaflet objects folium made (the map, or an empty layer) to draw into."""

    map: str
    icons: Mapping[str, dict[str, str]]
    points_group: str
    points: list[MapPoint]
    points_url: str | None
    opening: OpeningView | None
    outlines: MapOutlines | None
    text: dict[str, str]


@dataclass(frozen=True)
class MapParts:
    """The rendered map, split so a page template can place each part."""

    header: Markup
    body: Markup
    script: Markup


@dataclass(frozen=True)
class MapSettings:
    tiles_url: str
    tiles_attribution: str
    lang: str
    allowed_hosts: Collection[str]


@dataclass(frozen=True)
class MapLayers:
    """What goes on a map: places keyed for the page's list (their services, the first one's
    location), an optional search origin (lat, lon) and radius, whether markers cluster
    (browsing) or not (results), the distance in metres from the origin of each key that has
    one, the URL the map fetches its clustered points from for each view (browsing:
    :func:`map_points_answer`), and the URL it fetches its outlines from (None: none fetched)."""

    points: list[tuple[str, list[PublicService], PublicLocation]]
    origin: tuple[float, float] | None = None
    radius_km: float | None = None
    cluster: bool = True
    distances_m: Mapping[str, float] = field(default_factory=dict)
    points_url: str | None = None
    outlines_url: str | None = None
    view: tuple[tuple[float, float], ...] = ()  # (lat, lon) the view shows besides the points
    # (browsing: the corners of the listings' extent)


def new_map(tiles_url: str, tiles_attribution: str, **options: object) -> folium.Map:
    """An empty map of Canada, with the configured tiles if any."""
    # folium drops max_zoom when tiles=None: set the Leaflet option itself.
    fmap = folium.Map(location=CANADA_CENTRE, zoom_start=4, maxZoom=MAX_ZOOM, tiles=None, **options)
    fmap.default_js, fmap.default_css = [], []  # the page's bundle has them (bundle.use_bundle)
    if tiles_url:
        folium.TileLayer(
            tiles_url, attr=tiles_attribution, max_zoom=MAX_ZOOM, name=_("Base map")
        ).add_to(fmap)
    return fmap


def build_service_map(
    layers: MapLayers,
    *,
    settings: MapSettings,
    labels: Mapping[str, str],
    detail_url: Callable[[str], str],
) -> tuple[folium.Map, MapData]:
    """The map, and the data it shows (markers keyed as in ``layers.points``; the outlines
    fetched from ``layers.outlines_url``, if any)."""
    fmap = new_map(settings.tiles_url, settings.tiles_attribution, control_scale=True)
    outline_group = None
    if layers.outlines_url:
        outline_group = folium.FeatureGroup(name=_("Provinces and territories")).add_to(fmap)
    parent = folium.FeatureGroup(name=_("Services")).add_to(fmap)
    bounds = _origin(fmap, layers) + list(layers.view)
    points = []
    for key, services, location in layers.points:
        bounds.append((location.latitude, location.longitude))  # folium: (lat, lon)
        label = _marker_label(services[0].name, layers.distances_m.get(key), location)
        points.append(service_point(key, services, location, label, labels, detail_url))
    folium.LayerControl(collapsed=True).add_to(fmap)
    max_zoom = 12 if layers.cluster else 14
    if bounds:
        fmap.fit_bounds(bounds, max_zoom=max_zoom)
    return fmap, MapData(
        map=fmap.get_name(),
        icons=ICONS,
        points_group=parent.get_name(),
        points=points,
        points_url=layers.points_url,
        opening=opening_view(layers.points_url, bounds, max_zoom)
        if layers.points_url and bounds
        else None,
        outlines=None
        if outline_group is None
        else MapOutlines(
            group=outline_group.get_name(),
            features=[],
            tooltip=[(None, "name")],
            url=layers.outlines_url,
        ),
        text=map_text(),
    )


def build_location_map(
    service: PublicService, *, settings: MapSettings
) -> tuple[folium.Map, MapData]:
    """A small map of where ``service`` is, at public precision only: a marker at each
    ordinary location; around a confidential one's community point, a circle of
    :data:`COMMUNITY_RADIUS_M`, never a point. The page holds the public point and the radius
    only: Leaflet draws the circle, so no computed outline can echo other coordinates."""
    fmap = new_map(settings.tiles_url, settings.tiles_attribution, control_scale=True)
    group = folium.FeatureGroup(name=_("Services")).add_to(fmap)
    points, centres = [], []
    for location in service.locations:
        centre = (location.latitude, location.longitude)  # folium: (lat, lon)
        centres.append(centre)
        if location.confidential:
            folium.Circle(
                centre,
                radius=COMMUNITY_RADIUS_M,
                tooltip=_("Location withheld for safety — call the intake line."),
                **CIRCLE_STYLE,
            ).add_to(group)
        else:
            points.append(_location_point(service, location))
    if centres:
        withheld = any(location.confidential for location in service.locations)
        fmap.fit_bounds(centres, max_zoom=AREA_ZOOM if withheld else 15)
    return fmap, MapData(
        map=fmap.get_name(),
        icons=ICONS,
        points_group=group.get_name(),
        points=points,
        points_url=None,
        opening=None,
        outlines=None,
        text=map_text(),
    )


def _location_point(service: PublicService, location: PublicLocation) -> MapPoint:
    """An ordinary location's marker, named by the service (and the location's name)."""
    name = location.name or service.name
    return MapPoint(
        key=location.id,
        latitude=location.latitude,
        longitude=location.longitude,
        icon="service",
        tooltip=name,
        label=name,
        popup=None,
    )


def province_outlines(outlines: dict, lang: str) -> list[dict]:
    """The provinces' and territories' outlines, named in ``lang``, styled for the map."""
    name = "name_fr" if lang == "fr" else "name_en"
    return [
        outline_feature(feature, name=feature["properties"][name], style=OUTLINE_STYLE)
        for feature in outlines["features"]
    ]


def outline_feature(feature: dict, **properties: object) -> dict:
    """``feature``'s geometry with only ``properties``."""
    return {"type": "Feature", "geometry": feature["geometry"], "properties": properties}


def map_text() -> dict[str, str]:
    """The interface text of a map: its controls' names (Leaflet's are English) and the
    service popups'."""
    return {
        "zoom_in": _("Zoom in"),
        "zoom_out": _("Zoom out"),
        "layers": _("Layers"),
        "withheld": _("Location withheld for safety — call the intake line."),
        "details": _("Details"),
        "cluster": _("%(count)s services here: zoom in"),
        "programmes": _("Also at this address:"),
    }


def opening_view(points_url: str, bounds: list[tuple[float, float]], max_zoom: int) -> OpeningView:
    """The first points request of a browse map fitted to ``bounds`` on a phone.

    Its box is that of ``bounds`` (the listings' extent): it holds every listing the view
    does, so it touches the same grid cells and gets the same answer as the view's own box.
    Its zoom is the one Leaflet's ``fitBounds`` gives a map of :data:`PHONE_MAP_PX`: a phone
    preloads it, and ``static/js/map-data.js`` asks for it when its map has that zoom, for its
    own view otherwise (a phone much wider or narrower than 360 px may then have preloaded it
    in vain; a wider screen does not preload it)."""
    lats, lons = [lat for lat, _lon in bounds], [lon for _lat, lon in bounds]
    box = (min(lons), min(lats), max(lons), max(lats))
    zoom = fit_zoom(box, PHONE_MAP_PX, max_zoom)
    separator = "&" if "?" in points_url else "?"
    bbox = ",".join(f"{value:.5f}" for value in box)
    url = f"{points_url}{separator}bbox={bbox}&zoom={zoom}"
    return OpeningView(url=url, zoom=zoom, media=PHONE_MEDIA)


def fit_zoom(box: tuple[float, float, float, float], size: tuple[int, int], max_zoom: int) -> int:
    """The zoom at which Leaflet (1.9, zoomSnap 1) fits ``box`` (min lon, min lat, max lon,
    max lat) in a map of ``size`` CSS pixels: the greatest showing it whole, a zoom within
    1 % of the next counting as it, at most ``max_zoom``."""
    west, south, east, north = box
    width = (east - west) / 360 * TILE_PX
    height = (_mercator_y(north) - _mercator_y(south)) * TILE_PX
    scale = min(size[0] / width if width else math.inf, size[1] / height if height else math.inf)
    if math.isinf(scale):
        return max_zoom
    zoom = math.floor(math.floor(math.log2(scale) * 100 + 0.5) / 100)
    return max(0, min(max_zoom, zoom))


def _mercator_y(latitude: float) -> float:
    """Spherical Mercator y of ``latitude`` on a world 1 wide, as Leaflet clamps it."""
    clamped = max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, latitude))
    return math.asinh(math.tan(math.radians(clamped))) / (2 * math.pi)


def _origin(fmap: folium.Map, layers: MapLayers) -> list[tuple[float, float]]:
    """Mark the search origin and its radius; the points the view must show."""
    if layers.origin is None:
        return []
    folium.CircleMarker(
        layers.origin,
        radius=7,
        color="#b00020",
        fill=True,
        fill_opacity=1,
        tooltip=_("Search origin"),
    ).add_to(fmap)
    if layers.radius_km is not None:
        folium.Circle(
            layers.origin,
            radius=km_to_metres(layers.radius_km),
            color="#b00020",
            weight=1,
            fill=False,
        ).add_to(fmap)
    return [layers.origin]


def _marker_label(name: str, distance_m: float | None, location: PublicLocation) -> str:
    """A marker's accessible name: the service's name, and its distance when known (as
    :func:`~webmap.common.filters.distance` says it for a listing placed at its community)."""
    if distance_m is None:
        return name
    if location.geocode_precision == Precision.PLACE:
        return _("%(name)s, %(distance)s", name=name, distance=distance(distance_m, location))
    return _("%(name)s, %(distance)s away", name=name, distance=km(distance_m))


def service_point(
    key: str,
    services: list[PublicService],
    location: PublicLocation,
    label: str,
    labels: Mapping[str, str],
    detail_url: Callable[[str], str],
) -> MapPoint:
    service, others = services[0], services[1:]
    phone = service.phones[0] if service.phones else None
    return MapPoint(
        key=key,
        latitude=location.latitude,
        longitude=location.longitude,
        icon="withheld" if location.confidential else "service",
        tooltip=service.name,
        label=label,
        popup=MarkerPopup(
            name=service.name,
            url=detail_url(service.id),
            types=", ".join(
                labels.get(code, code) for code in service.terms.get("service_type", ())
            ),
            phone_number=phone.number if phone and phone.dialable else None,
            phone_display=phone.display if phone else None,
            withheld=location.confidential,
            programmes=[ProgrammeLink(name=s.name, url=detail_url(s.id)) for s in others],
        ),
    )


def map_points_answer(
    grid: GridPoints, labels: Mapping[str, str], detail_url: Callable[[str], str]
) -> dict:
    """A view's points as GeoJSON (lon, lat): each cluster with its ``count``, each marker
    with its :class:`MapPoint` (keyed by its listing) as ``point``."""
    clusters = [
        _point_feature(cluster.longitude, cluster.latitude, {"count": cluster.count})
        for cluster in grid.clusters
    ]
    markers = []
    for listing in grid.markers:
        service, location = listing.public
        point = service_point(listing.id, [service], location, service.name, labels, detail_url)
        markers.append(_point_feature(location.longitude, location.latitude, {"point": point}))
    return {"type": "FeatureCollection", "features": clusters + markers}


def _point_feature(longitude: float, latitude: float, properties: dict) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        "properties": properties,
    }


def render_map(fmap: folium.Map, allowed_hosts: Collection[str]) -> MapParts:
    """Render, refusing (ExternalAssetError) to emit a load from any host but ``allowed_hosts``.
    The header leaves out folium's viewport tag: the page's own lets a person zoom.

    The check reads folium's output, which holds code only (its :class:`MapData` goes to the
    page separately): data can never fail it, and whatever code links to is caught.
    """
    root = fmap.get_root()
    root.render()
    parts = [part.render() for part in (root.header, root.html, root.script)]
    for part in parts:
        assert_no_external_urls(part, allowed_hosts)
    parts[0] = FOLIUM_VIEWPORT.sub("", parts[0])
    tag = f'<script nonce="{script_nonce()}">'
    parts[:2] = [INLINE_SCRIPT.sub(tag, part) for part in parts[:2]]
    header, body, script = (Markup(part) for part in parts)  # noqa: S704 - code only, checked
    return MapParts(header, body, script)
