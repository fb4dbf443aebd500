"""What the search page, the API and the editing pages share: the gazetteer (and the rest of
the geography), the vocabulary codes, the clock."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from caremap.gazetteer import Gazetteer, load_gazetteer
from caremap.helplines import (
    Helpline,
    OutsideCanada,
    Province,
    helplines_in,
    national_helplines,
    province_named,
    province_of,
)
from caremap.placement import Geography, load_geography
from caremap.queries import TermChoice, vocabulary_choices
from caremap.reasons import reason_of
from caremap.search import Clock
from webmap import get_store
from webmap.common.params import BadParameter, ParsedSearch


def gazetteer() -> Gazetteer:
    """The offline gazetteer (read once per process, on the first search that needs it)."""
    return load_gazetteer(current_app.config["DATA_DIR"])


def geography() -> Geography:
    """The gazetteer, boundaries and time zones an edited location is placed with (read once
    per process: at start by :func:`webmap.serving_app`, else on first use)."""
    return load_geography(Path(current_app.config["DATA_DIR"]))


VOCABULARY_TTL_S = 60.0


def vocabulary() -> dict[str, list[TermChoice]]:
    """The vocabulary by facet; read at most once a minute per process (it changes only when
    the ETL loads a new vocabulary)."""
    return _vocabulary()[0]


def vocabulary_codes() -> dict[str, list[str]]:
    """The codes of each facet, sorted (kept with the vocabulary: every search needs them)."""
    return _vocabulary()[1]


def _vocabulary() -> tuple[dict[str, list[TermChoice]], dict[str, list[str]]]:
    cached = current_app.extensions.get("caremap_vocabulary")
    if cached is None or time.monotonic() - cached[0] > VOCABULARY_TTL_S:
        with get_store().session() as session:
            choices = vocabulary_choices(session)
        codes = {facet: sorted(c.code for c in terms) for facet, terms in choices.items()}
        cached = (time.monotonic(), choices, codes)
        current_app.extensions["caremap_vocabulary"] = cached
    return cached[1], cached[2]


def clock() -> Clock:
    """Now (or the configured ``NOW``, for demonstrations and tests) and the age beyond which
    a bed count is too old to show (``BEDS_STALE_HOURS``)."""
    now = current_app.config.get("NOW") or dt.datetime.now(dt.UTC)
    return Clock(now, dt.timedelta(hours=float(current_app.config["BEDS_STALE_HOURS"])))


@dataclass(frozen=True)
class AreaLines:
    """The help lines a search shows: those of its origin's ``province`` or territory, then the
    national ones; without an origin (``province`` None), the national ones."""

    province: Province | None
    lines: list[Helpline]


def area_lines(parsed: ParsedSearch) -> AreaLines:
    """The lines serving the search's origin; an origin outside Canada is a bad parameter."""
    latitude, longitude = parsed.query.latitude, parsed.query.longitude
    with get_store().session() as session:
        if latitude is None or longitude is None:
            return AreaLines(None, national_helplines(session))
        boundaries = geography().boundaries
        try:
            pruid = province_of(latitude, longitude, boundaries)
        except OutsideCanada as error:
            raise BadParameter(
                "near" if parsed.located else "lat", reason_of(error), specific=True
            ) from error
        return AreaLines(province_named(pruid, boundaries), helplines_in(session, pruid))
