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


def build_service_map(
    services: list[PublicService],
    outlines: dict,
    *,
    settings: MapSettings,
    labels: Mapping[str, str],
    detail_url: Callable[[str], str],
) -> folium.Map:
    """A map with province/territory outlines and one clustered marker per service location."""
    # folium drops max_zoom when tiles=None; MarkerCluster needs it, so set the Leaflet option.
    fmap = folium.Map(
        location=CANADA_CENTRE,
        zoom_start=4,
        maxZoom=MAX_ZOOM,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
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
    cluster = MarkerCluster(name=_("Services")).add_to(fmap)
    bounds = []
    for service in services:
        for location in service.locations:
            point = (location.latitude, location.longitude)  # folium: (lat, lon)
            bounds.append(point)
            _marker(service, location.confidential, point, labels, detail_url).add_to(cluster)
    folium.LayerControl(collapsed=True).add_to(fmap)
    if bounds:
        fmap.fit_bounds(bounds, max_zoom=12)
    return fmap


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
