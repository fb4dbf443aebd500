"""Serve folium's browser assets from this app instead of CDNs.

People looking for help must not leak their address to third-party hosts, and the map must
work offline. folium writes CDN links from the class attributes ``default_js``/``default_css``;
:func:`localise` overrides them per element instance (never per class, so nothing leaks
between maps or apps), :func:`rewrite_cdn_urls` fixes links hard-coded in templates (branca's
colormap loads d3 itself), and :func:`find_external_urls` checks the rendered page.

The files live in ``webmap/static/vendor/`` (see its README.md and fetch_assets.sh).
Typical use in a view::

    html = render_self_hosted(m, lambda p: url_for("static", filename=p), {tile_host})
"""

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

from branca.element import Element
from folium.elements import JSCSSMixin

StaticUrl = Callable[[str], str]
"""Turns a path under the static folder ("vendor/leaflet/leaflet.js") into a served URL."""

_JSDELIVR = "https://cdn.jsdelivr.net/npm/"
_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs/"

VENDORED: Mapping[str, str] = MappingProxyType(
    {
        f"{_JSDELIVR}leaflet@1.9.3/dist/leaflet.js": "vendor/leaflet/leaflet.js",
        f"{_JSDELIVR}leaflet@1.9.3/dist/leaflet.css": "vendor/leaflet/leaflet.css",
        "https://code.jquery.com/jquery-3.7.1.min.js": "vendor/jquery/jquery.min.js",
        f"{_JSDELIVR}bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": (
            "vendor/bootstrap/js/bootstrap.bundle.min.js"
        ),
        f"{_JSDELIVR}bootstrap@5.2.2/dist/css/bootstrap.min.css": (
            "vendor/bootstrap/css/bootstrap.min.css"
        ),
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": (
            "vendor/bootstrap3-glyphicons/css/bootstrap3-glyphicons.min.css"
        ),
        f"{_JSDELIVR}@fortawesome/fontawesome-free@6.2.0/css/all.min.css": (
            "vendor/fontawesome-free/css/all.min.css"
        ),
        f"{_CDNJS}Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
            "vendor/leaflet.awesome-markers/leaflet.awesome-markers.js"
        ),
        f"{_CDNJS}Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
            "vendor/leaflet.awesome-markers/leaflet.awesome-markers.css"
        ),
        "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
        "leaflet.awesome.rotate.min.css": "vendor/folium/leaflet.awesome.rotate.css",
        f"{_CDNJS}leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
            "vendor/leaflet.markercluster/leaflet.markercluster.js"
        ),
        f"{_CDNJS}leaflet.markercluster/1.1.0/MarkerCluster.css": (
            "vendor/leaflet.markercluster/MarkerCluster.css"
        ),
        f"{_CDNJS}leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
            "vendor/leaflet.markercluster/MarkerCluster.Default.css"
        ),
        f"{_CDNJS}d3/3.5.5/d3.min.js": "vendor/d3/d3.min.js",
    }
)
"""CDN URL that folium or branca writes -> vendored file, relative to the static folder."""


class ExternalAssetError(ValueError):
    """A page would load a resource from a host other than this app (and the tile server)."""


def local_urls(static_url: StaticUrl) -> dict[str, str]:
    """Map each known CDN URL to the URL this app serves its vendored copy at."""
    return {cdn: static_url(path) for cdn, path in VENDORED.items()}


def localise(element: Element, static_url: StaticUrl) -> None:
    """Point every asset link in ``element``'s figure at the vendored copies.

    Sets instance-level ``default_js``/``default_css`` on each folium element in the tree
    (the class-level lists stay untouched). Call it after the last element has been added.
    Raises ExternalAssetError for an external URL that has no vendored copy.
    """
    urls = local_urls(static_url)
    for child in _walk(element.get_root()):
        if isinstance(child, JSCSSMixin):
            child.default_js = [(name, _local(url, urls)) for name, url in child.default_js]
            child.default_css = [(name, _local(url, urls)) for name, url in child.default_css]


def rewrite_cdn_urls(html: str, mapping: Mapping[str, str]) -> str:
    """Replace each CDN URL (``mapping`` key) in rendered HTML by its local URL.

    For links that templates hard-code at render time, out of :func:`localise`'s reach:
    ``branca.colormap`` adds the d3 3.5.5 CDN script this way.
    """
    for cdn, local in mapping.items():
        html = html.replace(cdn, local)
    return html


def find_resource_urls(text: str) -> list[str]:
    """URLs that HTML, CSS or folium's inline JS in ``text`` makes the browser fetch.

    Covers src/href/data/poster/srcset of loading tags (``<script>``, ``<link>``, ``<img>``,
    ...; not ``<a>``, a link is no load), CSS ``url()``/``@import``, and the JS calls folium
    and Leaflet load from (``L.tileLayer(...)``, ``iconUrl: ...``, ``$.ajax(...)``, ...),
    also inside JS strings (popups, attribution). ``data:`` URIs and ``#fragment``
    references are skipped. Not a general HTML sanitiser.
    """
    text = _unescape_js(text)
    found = [url for tag in _LOADING_TAG.finditer(text) for url in _tag_urls(tag.group())]
    found += (m.group("url") for pattern in _LOADS for m in pattern.finditer(text))
    return [url for url in found if not url.startswith(("data:", "#"))]


def find_external_urls(text: str, allowed_hosts: Collection[str] = ()) -> list[str]:
    """The resource URLs in ``text`` that point at a host not in ``allowed_hosts``."""
    same_or_allowed = {None, *(host.lower() for host in allowed_hosts)}
    return [url for url in find_resource_urls(text) if _host(url) not in same_or_allowed]


def assert_no_external_urls(text: str, allowed_hosts: Collection[str] = ()) -> None:
    """Raise ExternalAssetError naming every external resource URL in ``text``.

    ``text`` is markup the app's code generates, never data: a name such as
    ``url(https://...)`` reads as a load here, so data must reach the page separately (as
    :mod:`webmap.common.mapview` does)."""
    external = find_external_urls(text, allowed_hosts)
    if external:
        raise ExternalAssetError(f"page would load from other hosts: {sorted(set(external))}")


def render_self_hosted(
    element: Element, static_url: StaticUrl, allowed_hosts: Collection[str] = ()
) -> str:
    """Render ``element``'s whole figure as an HTML page that loads nothing from other hosts.

    ``allowed_hosts`` is for the tile server (empty when there are no tiles).
    Raises ExternalAssetError rather than return a page that would leak.
    """
    localise(element, static_url)
    html = rewrite_cdn_urls(element.get_root().render(), local_urls(static_url))
    assert_no_external_urls(html, allowed_hosts)
    return html


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _walk(child)


def _host(url: str) -> str | None:
    """The host ``url`` points at; None for a same-origin URL, ``url`` if unparsable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return (parts.hostname or parts.netloc) if parts.netloc else None


def _local(url: str, urls: Mapping[str, str]) -> str:
    if url in urls:
        return urls[url]
    if _host(url):
        raise ExternalAssetError(
            f"no vendored copy of {url}: add it to webmap/static/vendor/fetch_assets.sh "
            "and to VENDORED in webmap/common/assets.py"
        )
    return url


_JS_ESCAPES = {r"\u003c": "<", r"\u003e": ">", r"\u0026": "&", r"\"": '"', r"\'": "'", r"\/": "/"}

_LOADING_TAG = re.compile(
    r"<(?:script|link|img|image|iframe|frame|embed|object|source|track|audio|video|input|base)"
    r"\b[^>]*>",
    re.IGNORECASE,
)
_TAG_ATTR = re.compile(
    r"\s(?P<name>src|(?:xlink:)?href|data|poster|srcset)\s*=\s*"
    r"""(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s>]+))""",
    re.IGNORECASE,
)
_STRING = r"""\s*["'`](?P<url>[^"'`]+)["'`]"""
_LOADS = (
    re.compile(r"""url\(\s*["']?(?P<url>[^"')\s]+)""", re.IGNORECASE),
    re.compile(r"""@import\s+(?:url\()?["']?(?P<url>[^"')\s;]+)""", re.IGNORECASE),
    re.compile(
        r"(?:\bL\.(?:tileLayer(?:\.wms)?|imageOverlay|videoOverlay)|\$\.(?:ajax|getJSON|get)"
        r"|\bfetch|\bimportScripts|\bimport)\s*\(" + _STRING
    ),
    re.compile(r"""\b(?:icon|iconRetina|shadow|shadowRetina)Url["']?\s*:""" + _STRING),
    re.compile(r"\bimagePath\s*=" + _STRING),
)


def _unescape_js(text: str) -> str:
    for escaped, plain in _JS_ESCAPES.items():
        text = text.replace(escaped, plain)
    return text


def _tag_urls(tag: str) -> list[str]:
    urls = []
    for attr in _TAG_ATTR.finditer(tag):
        value = attr.group("dq") or attr.group("sq") or attr.group("bare") or ""
        if attr.group("name").lower() == "srcset":
            urls += [part.split()[0] for part in value.split(",") if part.strip()]
        else:
            urls.append(value.strip())
    return urls
