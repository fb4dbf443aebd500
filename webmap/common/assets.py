"""Pages load nothing from other hosts: people looking for help must not leak their address to
third parties, and the map must work offline.

The maps' scripts and styles are this app's own files, served in one bundle per map page
(:mod:`webmap.common.bundle`; the vendored libraries are listed in
``webmap/static/vendor/README.md``): folium's CDN links are never written
(:func:`webmap.common.mapview.new_map` empties them). :func:`assert_no_external_urls` checks the
code a page is made of, folium's output included, and refuses what would load from elsewhere;
only the tile server, a setting, is allowed.
"""

import re
from collections.abc import Collection
from urllib.parse import urlsplit


class ExternalAssetError(ValueError):
    """A page would load a resource from a host other than this app (and the tile server)."""


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


def _host(url: str) -> str | None:
    """The host ``url`` points at; None for a same-origin URL, ``url`` if unparsable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return (parts.hostname or parts.netloc) if parts.netloc else None


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
