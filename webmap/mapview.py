"""The services map: folium, self-hosted assets, escaped popups, public points only.

folium wants (lat, lon) for ``location=``; GeoJSON outlines are (lon, lat).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import folium
from flask_babel import gettext as _
from folium.plugins import MarkerCluster
from markupsafe import Markup, escape

from caremap.privacy import PublicLocation
from caremap.queries import PublicService
from webmap.assets import StaticUrl, assert_no_external_urls, local_urls, localise, rewrite_cdn_urls

CANADA_CENTRE = (56.0, -96.0)  # (lat, lon)
MAX_ZOOM = 18


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
    """What goes on a map: service locations keyed for the page's list, an optional search
    origin (lat, lon) and radius, and whether markers cluster (browsing) or not (results)."""

    points: list[tuple[str, PublicService, PublicLocation]]
    origin: tuple[float, float] | None = None
    radius_km: float | None = None
    cluster: bool = True


def build_service_map(
    layers: MapLayers,
    outlines: dict,
    *,
    settings: MapSettings,
    labels: Mapping[str, str],
    detail_url: Callable[[str], str],
) -> tuple[folium.Map, dict[str, str]]:
    """The map, and the JavaScript name of each point's marker by its key."""
    # folium drops max_zoom when tiles=None; MarkerCluster needs it, so set the Leaflet option.
    fmap = folium.Map(
        location=CANADA_CENTRE, zoom_start=4, maxZoom=MAX_ZOOM, tiles=None, control_scale=True
    )
    if settings.tiles_url:
        folium.TileLayer(
            settings.tiles_url,
            attr=settings.tiles_attribution,
            max_zoom=MAX_ZOOM,
            name=_("Base map"),
        ).add_to(fmap)
    if outlines["features"]:
        name_key = "name_fr" if settings.lang == "fr" else "name_en"
        folium.GeoJson(
            outlines,
            name=_("Provinces and territories"),
            style_function=lambda _feature: {"color": "#555", "weight": 1, "fill": False},
            tooltip=folium.GeoJsonTooltip(fields=[name_key], labels=False),
        ).add_to(fmap)
    parent = (
        MarkerCluster(name=_("Services"))
        if layers.cluster
        else folium.FeatureGroup(name=_("Services"))
    )
    parent.add_to(fmap)
    bounds, names = _origin(fmap, layers), {}
    for key, service, location in layers.points:
        point = (location.latitude, location.longitude)  # folium: (lat, lon)
        bounds.append(point)
        marker = _marker(service, location.confidential, point, labels, detail_url)
        marker.add_to(parent)
        names[key] = marker.get_name()
    folium.LayerControl(collapsed=True).add_to(fmap)
    if bounds:
        fmap.fit_bounds(bounds, max_zoom=12 if layers.cluster else 14)
    return fmap, names


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
            layers.origin, radius=layers.radius_km * 1000, color="#b00020", weight=1, fill=False
        ).add_to(fmap)
    return [layers.origin]


def _marker(
    service: PublicService,
    confidential: bool,
    point: tuple[float, float],
    labels: Mapping[str, str],
    detail_url: Callable[[str], str],
) -> folium.Marker:
    icon = (
        folium.Icon(color="purple", icon="lock", prefix="fa")
        if confidential
        else folium.Icon(color="blue", icon="house", prefix="fa")
    )
    return folium.Marker(
        point,
        icon=icon,
        tooltip=folium.Tooltip(template_literal_safe(escape(service.name))),
        popup=folium.Popup(
            template_literal_safe(popup_html(service, confidential, labels, detail_url)),
            max_width=320,
        ),
    )


def template_literal_safe(html: Markup) -> str:
    """folium puts popup and tooltip HTML inside JavaScript template literals (`…`), where a
    backtick, ``${`` or a backslash from a name would break out or throw: turn them into HTML
    character references, which render the same."""
    return str(html).replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def popup_html(
    service: PublicService,
    confidential: bool,
    labels: Mapping[str, str],
    detail_url: Callable[[str], str],
) -> Markup:
    """Popup content; every value from outside is escaped."""
    types = ", ".join(labels.get(code, code) for code in service.terms.get("service_type", ()))
    parts = [
        Markup('<div class="popup"><a class="popup-name" href="{}">{}</a>').format(
            detail_url(service.id), service.name
        )
    ]
    if types:
        parts.append(Markup('<div class="popup-types">{}</div>').format(types))
    if service.phones:
        phone = service.phones[0]
        parts.append(
            Markup('<div><a href="tel:{}">{}</a></div>').format(phone.number, phone.display)
        )
    if confidential:
        parts.append(
            Markup('<div class="withheld">{}</div>').format(
                _("Location withheld for safety — call the intake line.")
            )
        )
    parts.append(
        Markup('<div><a href="{}">{}</a></div></div>').format(detail_url(service.id), _("Details"))
    )
    return Markup("").join(parts)


def render_map(fmap: folium.Map, static_url: StaticUrl, allowed_hosts: Collection[str]) -> MapParts:
    """Render with self-hosted assets; refuses (ExternalAssetError) to emit any other host."""
    localise(fmap, static_url)
    root = fmap.get_root()
    root.render()
    urls = local_urls(static_url)
    parts = [
        rewrite_cdn_urls(part.render(), urls) for part in (root.header, root.html, root.script)
    ]
    for part in parts:
        assert_no_external_urls(part, allowed_hosts)
    header, body, script = (Markup(part) for part in parts)
    return MapParts(header, body, script)
