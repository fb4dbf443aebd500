"""Public pages: the map of all services and a service's detail page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, url_for
from flask_babel import get_locale

from caremap.queries import jurisdiction_outlines, public_service, public_services, term_labels
from webmap import get_store
from webmap.mapview import MapSettings, build_service_map, render_map

bp = Blueprint("main", __name__)


def _lang() -> str:
    return str(get_locale() or "en")


def _map_settings() -> MapSettings:
    from webmap import tiles_hosts

    config = current_app.config
    return MapSettings(
        config["TILES_URL"], config["TILES_ATTRIBUTION"], _lang(), tiles_hosts(config["TILES_URL"])
    )


@bp.get("/")
def home() -> str:
    """The map of every service, with a list below it for those who cannot use the map."""
    lang = _lang()
    with get_store().session() as session:
        services = public_services(session)
        outlines = jurisdiction_outlines(session, "province")
        labels = term_labels(session, lang)
    settings = _map_settings()
    fmap = build_service_map(
        services,
        outlines,
        settings=settings,
        labels=labels,
        detail_url=lambda service_id: url_for(
            "main.service_detail", service_id=service_id, lang=lang
        ),
    )
    parts = render_map(fmap, lambda path: url_for("static", filename=path), settings.allowed_hosts)
    return render_template("home.html", services=services, labels=labels, map=parts)


@bp.get("/services/<service_id>")
def service_detail(service_id: str) -> str:
    """Everything public about one service."""
    with get_store().session() as session:
        service = public_service(session, service_id)
        labels = term_labels(session, _lang())
    if service is None:
        abort(404)
    return render_template("service.html", service=service, labels=labels)


@bp.get("/health")
def health() -> dict[str, str]:
    """For load balancers and docker-compose: the store answers and is at the newest schema."""
    if not get_store().is_current():
        abort(503, description="The database schema is not up to date; run 'caremap db upgrade'.")
    return {"status": "ok"}
