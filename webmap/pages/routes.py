"""About, Privacy, Accessibility, and Data and sources: plain pages, linked from every page's
navigation bar (templates/base.html)."""

from __future__ import annotations

import functools
from pathlib import Path

from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)
SOURCES_FILE = "SOURCES.md"


@functools.cache
def _sources_text(data_dir: Path) -> str:
    """The data folder's SOURCES.md as read: the attributions the data's licences require."""
    return (data_dir / SOURCES_FILE).read_text(encoding="utf-8")


@bp.get("/about")
def about() -> str:
    return render_template("pages/about.html")


@bp.get("/privacy")
def privacy() -> str:
    return render_template("pages/privacy.html")


@bp.get("/accessibility")
def accessibility() -> str:
    return render_template("pages/accessibility.html")


@bp.get("/sources")
def sources() -> str:
    """The data sources and their attributions, shown as text (never as markup or template)."""
    return render_template(
        "pages/sources.html", sources_text=_sources_text(Path(current_app.config["DATA_DIR"]))
    )
