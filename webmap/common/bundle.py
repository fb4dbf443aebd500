"""Each map page's scripts in one file and its styles in another: fewer round trips on a phone.

Over HTTP/1.1 a browser fetches six files from a host at once, and on a slow network each
round costs its latency before the page can draw. A map page's Leaflet, Leaflet.awesome-markers
and its own scripts go as one script, :data:`BUNDLES`, and its styles as one stylesheet,
:data:`STYLESHEETS` (shared by pages with the same styles). :func:`init_app` concatenates each
one's files once, at app start (each file whole, its
licence header included; only the source-map comments go, their maps are not served), rebases
a stylesheet's relative ``url()``s on its folder, and serves the result from memory at
``/bundle/<name>.<digest>.js`` (``.css``), immutable like the static files
(:mod:`webmap.common.delivery`). :func:`use_bundle` puts a page's bundle in place of folium's
asset lists.

A bundle's script runs before folium's map script (it holds Leaflet): the app's scripts in it
(``static/js/map-data.js``...) start their work once the document is parsed, through
``caremapReady`` (``static/js/ready.js``, first of them).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import folium
from flask import Blueprint, Flask, abort, current_app, request, url_for
from werkzeug.wrappers import Response

from webmap.common.delivery import DIGEST_LENGTH, IMMUTABLE_MAX_AGE_S, static_name

LEAFLET_SCRIPTS = (
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet.awesome-markers/leaflet.awesome-markers.js",
)
LEAFLET_STYLES = (
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet.awesome-markers/leaflet.awesome-markers.css",
)
MAP_SCRIPTS = ("js/ready.js", "js/map-data.js")
"""Every map page's own scripts: ``caremapReady`` (which starts the scripts after it once the
page is parsed), then the map's data drawn."""


@dataclass(frozen=True)
class Bundle:
    """Scripts under the static folder, in the order they run, and the name of the page's
    stylesheet in :data:`STYLESHEETS`."""

    scripts: tuple[str, ...]
    stylesheet: str


STYLESHEETS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"map": LEAFLET_STYLES, "search": (*LEAFLET_STYLES, "css/search.css")}
)
"""Stylesheets by name, each its files in cascade order: one name per distinct set of files,
so that pages with the same styles share one cached file."""

BUNDLES: Mapping[str, Bundle] = MappingProxyType(
    {
        "search": Bundle((*LEAFLET_SCRIPTS, *MAP_SCRIPTS, "js/search.js"), "search"),
        "service": Bundle((*LEAFLET_SCRIPTS, *MAP_SCRIPTS), "map"),
        "planner": Bundle((*LEAFLET_SCRIPTS, *MAP_SCRIPTS, "js/planner.js"), "search"),
    }
)
"""The bundle of each map page: the search page (home), a service's page, the planner."""

MIMETYPES = {"js": "text/javascript", "css": "text/css"}
_KEY = "caremap_bundles"  # app.extensions: built file name -> its content
_SOURCE_MAP = re.compile(r"^[ \t]*(?://|/\*)# sourceMappingURL=.*$", re.MULTILINE)
_CSS_URL = re.compile(r"""url\(\s*(?P<quote>["']?)(?P<url>[^"')\s]+)(?P=quote)\s*\)""")

bp = Blueprint("bundle", __name__)


def init_app(app: Flask) -> None:
    """Build every bundle from the static folder and serve them."""
    with app.app_context():
        scripts = {name: _scripts(bundle.scripts) for name, bundle in BUNDLES.items()}
        styles = {name: _styles(files) for name, files in STYLESHEETS.items()}
        app.extensions[_KEY] = {
            f"{name}.{_digest(body)}.{kind}": body
            for kind, bodies in (("js", scripts), ("css", styles))
            for name, body in bodies.items()
        }
    app.add_template_global(bundle_url)
    app.register_blueprint(bp)


def bundle_url(name: str, kind: str) -> str:
    """The URL of bundle ``name``'s ``kind`` ("js" or "css") file, under its digest (its
    stylesheet's, named in :data:`STYLESHEETS`)."""
    prefix = f"{name if kind == 'js' else BUNDLES[name].stylesheet}."
    for filename in current_app.extensions[_KEY]:
        if filename.startswith(prefix) and filename.endswith(f".{kind}"):
            return url_for("bundle.served", filename=filename)
    raise KeyError(f"no {kind} bundle named {name}")


def use_bundle(fmap: folium.Map, name: str) -> None:
    """Make ``fmap``'s page load bundle ``name`` instead of folium's separate files: its
    stylesheet in the head; its script is the page's to place (``bundle_url`` in templates),
    just before folium's map script at the end of the body, so that the page is parsed and
    drawn while the script is still on its way."""
    fmap.default_js = []
    fmap.default_css = [(f"caremap_{name}_css", bundle_url(name, "css"))]


@bp.get("/bundle/<filename>")
def served(filename: str) -> Response:
    """A bundle, cached for good (its name changes with its content)."""
    body = current_app.extensions[_KEY].get(filename)
    if body is None:
        abort(404)
    response = current_app.response_class(body, mimetype=MIMETYPES[filename.rpartition(".")[2]])
    response.cache_control.public = True
    response.cache_control.max_age = IMMUTABLE_MAX_AGE_S
    response.cache_control.immutable = True
    response.set_etag(filename)
    return response.make_conditional(request)


def _scripts(paths: tuple[str, ...]) -> bytes:
    """The scripts one after the other, each ended by a new line and a semicolon."""
    return "".join(f"/* {path} */\n{_text(path)}\n;\n" for path in paths).encode()


def _styles(paths: tuple[str, ...]) -> bytes:
    return "".join(f"/* {path} */\n{_rebased(_text(path), path)}\n" for path in paths).encode()


def _text(path: str) -> str:
    text = (Path(str(current_app.static_folder)) / path).read_text(encoding="utf-8")
    return _SOURCE_MAP.sub("", text)


def _rebased(css: str, path: str) -> str:
    """``css`` with each relative ``url()`` pointing at its file's served (hashed) URL."""
    folder = posixpath.dirname(path)

    def rebase(match: re.Match[str]) -> str:
        url = match["url"]
        if url.startswith(("data:", "#", "/")) or ":" in url.split("/")[0]:
            return match.group()
        local = posixpath.normpath(posixpath.join(folder, url))
        return f'url("{current_app.static_url_path}/{static_name(local)}")'

    return _CSS_URL.sub(rebase, css)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:DIGEST_LENGTH]
