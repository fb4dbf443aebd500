"""What the search page, the API and the editing pages share: the gazetteer (and the rest of
the geography), the vocabulary codes, the clock."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy.orm import Session

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


# Data the ETL (or an editor) changes and every search or map reads is read at most this often
# per process: the vocabulary, the help lines of each province or territory, the map's outlines.
KEPT_TTL_S = 60.0
T = TypeVar("T")


def vocabulary() -> dict[str, list[TermChoice]]:
    """The vocabulary by facet; read at most once a minute per process (it changes only when
    the ETL loads a new vocabulary)."""
    return _vocabulary()[0]


def vocabulary_codes() -> dict[str, list[str]]:
    """The codes of each facet, sorted (kept with the vocabulary: every search needs them)."""
    return _vocabulary()[1]


def _vocabulary() -> tuple[dict[str, list[TermChoice]], dict[str, list[str]]]:
    def read() -> tuple[dict[str, list[TermChoice]], dict[str, list[str]]]:
        with get_store().session() as session:
            choices = vocabulary_choices(session)
        return choices, {facet: sorted(c.code for c in terms) for facet, terms in choices.items()}

    return kept("vocabulary", read)


def kept(key: str, read: Callable[[], T]) -> T:
    """What ``read`` returns, read again once it is :data:`KEPT_TTL_S` old (per app)."""
    entries: dict[str, tuple[float, Any]] = current_app.extensions.setdefault("caremap_kept", {})
    found = entries.get(key)
    if found is None or time.monotonic() - found[0] > KEPT_TTL_S:
        found = entries[key] = (time.monotonic(), read())
    return found[1]


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
    """The lines serving the search's origin (read at most once a minute per province or
    territory and process); an origin outside Canada is a bad parameter."""
    latitude, longitude = parsed.query.latitude, parsed.query.longitude
    if latitude is None or longitude is None:
        return AreaLines(None, kept("lines", _read_lines(national_helplines)))
    boundaries = geography().boundaries
    try:
        pruid = province_of(latitude, longitude, boundaries)
    except OutsideCanada as error:
        raise BadParameter(
            "near" if parsed.located else "lat", reason_of(error), specific=True
        ) from error
    lines = kept(f"lines {pruid}", _read_lines(lambda session: helplines_in(session, pruid)))
    return AreaLines(province_named(pruid, boundaries), lines)


def _read_lines(lines_of: Callable[[Session], list[Helpline]]) -> Callable[[], list[Helpline]]:
    def read() -> list[Helpline]:
        with get_store().session() as session:
            return lines_of(session)

    return read
