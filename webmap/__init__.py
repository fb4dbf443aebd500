"""The Flask web app: a thin adapter over the caremap core. Build it with :func:`create_app`.

One package per feature, each with its blueprint's routes (``routes.py``) and its forms:

- ``search/``: the public search page, a service's page, the referral sheet
- ``api/``: the JSON API and its OpenAPI document; ``ogc/``: OGC API – Features;
  ``hsds/``: the HSDS 3.0 API
- ``planner/``: where services are missing
- ``accounts/``: signing in (``auth``: :func:`~webmap.accounts.auth.requires`), one's own
  account, password resets
- ``admin/``: accounts and organizations; ``moderation/``: pending changes, reported
  problems, stale listings; ``reports/``: reporting a problem with a listing
- ``editing/``: the dashboard, service, organization and location forms, how changes read;
  ``bulk/``: bulk import
- ``common/``: what several share: search parameters, errors, Jinja filters, vendored assets,
  the maps, the gazetteer, vocabulary and clock

``server.py`` runs the app in production; templates, static files and translations are the
app's, here.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from flask import Flask, request
from flask_babel import Babel
from werkzeug.middleware.proxy_fix import ProxyFix

from caremap.language import LANGUAGES, Language, language_of
from caremap.readonce import reading_once
from caremap.settings import load_settings, secret_key
from caremap.store import Store, open_store
from webmap.common.csp import script_nonce, script_sources

HSTS_MAX_AGE_S = 31_536_000
SCRIPT_SOURCES = "{script-src}"  # in the cached policy: the response's own script sources


def serving_app() -> Flask:
    """The app for a serving process (``caremap serve`` runs it in each granian worker):
    built once, then everything it holds is frozen out of the cyclic garbage collector's
    reach (``gc.freeze``), so the collections that requests trigger stay short instead of
    walking the vocabulary, gazetteer and boundaries each time (p95 latency). The geography is
    read here, before the server's threads exist, so that concurrent first requests share one
    copy instead of each reading its own."""
    from webmap.common.searching import geography

    app = create_app()
    with app.app_context():
        geography()
    gc.collect()
    gc.freeze()
    return app


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: the settings (``CAREMAP_*`` variables, :mod:`caremap.settings`)
    as config keys of the same names, then ``test_config``."""
    from webmap.accounts import auth
    from webmap.common import bundle, delivery, params

    app = Flask(__name__)
    settings = load_settings()
    app.config.from_mapping(
        **auth.CONFIG_DEFAULTS,
        **settings.flask_config(),
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES="translations",
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or secret_key(settings)
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["DISPLAY_TIMEZONE"]
    app.wsgi_app = _reading_once_in_reads(app.wsgi_app)  # type: ignore[method-assign]
    _trust_proxies(app, int(app.config["PROXY_HOPS"]))
    app.extensions["caremap_store"] = open_store(app.config["DATABASE_URL"])
    app.url_map.converters["int"] = params.RowIdConverter
    app.before_request(params.refuse_unstorable)
    Babel(app, locale_selector=select_locale)
    app.after_request(_security_headers)
    delivery.init_app(app)
    bundle.init_app(app)
    app.context_processor(_template_globals)

    from webmap.accounts import account, password_reset
    from webmap.admin import organizations as admin_organizations
    from webmap.admin import routes as admin
    from webmap.api import routes as api
    from webmap.bulk import routes as bulk
    from webmap.common import errors, filters
    from webmap.editing import dashboard, edit, record_edit
    from webmap.hsds import routes as hsds
    from webmap.moderation import routes as moderation
    from webmap.ogc import routes as ogc
    from webmap.pages import routes as pages
    from webmap.planner import routes as planner
    from webmap.reports import routes as reports
    from webmap.search import routes as search

    auth.init_app(app)
    account.init_app(app)
    password_reset.init_app(app)
    app.register_blueprint(search.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(planner.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(ogc.bp)
    app.register_blueprint(hsds.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_organizations.bp)
    app.register_blueprint(edit.bp)
    app.register_blueprint(record_edit.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(bulk.bp)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(reports.bp)
    errors.register(app)
    filters.register(app)
    return app


def _reading_once_in_reads(wsgi_app: WSGIApplication) -> WSGIApplication:
    """``wsgi_app`` with each GET or HEAD request (which writes no listing, merge or source) in
    :func:`caremap.readonce.reading_once`: a page reads the merges, the confidential address
    lines and the sources once, however many read models it builds."""

    @functools.wraps(wsgi_app)
    def reading_once_in_reads(
        environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return wsgi_app(environ, start_response)
        with reading_once():
            return wsgi_app(environ, start_response)

    return reading_once_in_reads


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies, the client's address, the scheme and the host they
    forward are the request's (``X-Forwarded-For``, ``-Proto``, ``-Host``: sign-in limits count
    the client, HTTPS is seen); with none, those headers are ignored and cannot be spoofed."""
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def get_store() -> Store:
    """The app's store (one engine per process)."""
    from flask import current_app

    return current_app.extensions["caremap_store"]


def select_locale() -> str:
    """``?lang=`` first, then the ``lang`` cookie, then the browser's preference."""
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def page_language() -> Language:
    """The language of the page being answered (see :func:`select_locale`)."""
    from flask_babel import get_locale

    return language_of(str(get_locale() or "en"))


def _template_globals() -> dict[str, Any]:
    return {
        "current_lang": page_language(),
        "languages": LANGUAGES,
        "url_with": url_with,
        "script_nonce": script_nonce,
    }


def url_with(endpoint: str | None = None, **changes: str | None) -> str:
    """This page's URL (or ``endpoint``'s) with its query kept — repeated parameters too —
    and ``changes`` applied (None removes a parameter). A parameter named like one of the
    endpoint's path arguments fills it; any other name, even one ``url_for`` reserves
    (``_anchor``, ``endpoint``), stays a query parameter."""
    from flask import current_app, url_for

    target = endpoint or request.endpoint or "main.home"
    args = request.args.to_dict(flat=False)
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = [value]
    path_names = {
        name for rule in current_app.url_map.iter_rules(target) for name in rule.arguments
    }
    filled = {**(request.view_args or {}), **{n: args.pop(n)[0] for n in path_names & set(args)}}
    path = url_for(target, **{name: filled[name] for name in path_names & set(filled)})
    query = urlencode(args, doseq=True)
    return f"{path}?{query}" if query else path


def _security_headers(response):  # noqa: ANN001
    """No referrer, no framing, HTTPS only once reached over HTTPS, and a content policy that
    forbids loading anything from other hosts except map tiles from the configured tile
    server. The language cookie is kept like the session cookie."""
    from flask import current_app

    config = current_app.config
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = _content_policy(
        config.get("TILES_URL", "")
    ).replace(SCRIPT_SOURCES, script_sources())
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_S}"
    if request.args.get("lang") in LANGUAGES:
        response.set_cookie(
            "lang",
            request.args["lang"],
            max_age=31_536_000,
            secure=config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    return response


@functools.cache
def _content_policy(tiles_url: str) -> str:
    """The Content-Security-Policy for a tile URL template (built once per template)."""
    img_src = " ".join(filter(None, ["'self'", "data:", _origin(tiles_url)]))
    return (
        f"default-src 'self'; script-src {SCRIPT_SOURCES}; style-src 'self' 'unsafe-inline'; "
        f"img-src {img_src}; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )


def _origin(url_template: str) -> str | None:
    """``https://tile.example.org`` from a tile URL template (``{s}`` subdomains become ``*``);
    None when there is none."""
    if not url_template:
        return None
    parts = urlsplit(url_template.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None


def tiles_hosts(url_template: str) -> set[str]:
    """The host names a tile URL template points at (none without tiles)."""
    host = urlsplit(url_template).hostname if url_template else None
    return {host} if host else set()
