"""Stored coverage indicators: ``caremap coverage build`` computes the standard selections of
every jurisdiction level once, so that the planner, its exports and the OGC layers read them
instead of computing them per request.

Standard selections, per level: every month (and "any month") × service type ("all" and each
type some service has) × population served ("all" and each population some service serves),
where at least one service matches the type and population; the share beyond each of
:data:`THRESHOLDS_KM`; the 2SFCA with services as supply and a :data:`CATCHMENT_KM` catchment.
Any other selection (a what-if, another catchment, E2SFCA, beds as supply, a type nobody offers)
is computed on request.

Every write to the listings deletes the stored rows in the same transaction
(:func:`invalidate`), so a stored indicator is never older than the data; month availability is
judged on the build date, so stored rows are used only on that date (run the build daily, e.g.
from cron, to keep the fast path).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from caremap.coverage.indicators import (
    Evaluation,
    JurisdictionIndicators,
    LevelContext,
    Selection,
    is_desert,
)
from caremap.jurisdictions import load_boundaries
from caremap.model import CoverageIndicator
from caremap.paging import chunks
from caremap.store import Store

THRESHOLDS_KM = (10, 25, 50, 100, 250)
CATCHMENT_KM = 50.0
ALL = ""  # service_type / population_served for "all"
ANY_MONTH = 0


@dataclass(frozen=True)
class BuildReport:
    levels: int
    selections: int
    rows: int
    seconds: float

    def summary(self) -> str:
        return (
            f"{self.rows:,} indicators for {self.selections:,} selections on {self.levels} "
            f"levels in {self.seconds:.1f} s"
        )


def is_stored(selection: Selection) -> bool:
    """Whether a selection is one of the standard ones a build stores."""
    return (
        not selection.added_sites
        and not selection.switched_off
        and selection.supply == "services"
        and selection.access_method == "2sfca"
        and selection.catchment_km == CATCHMENT_KM
        and selection.threshold_km in THRESHOLDS_KM
        and len(selection.service_types) <= 1
        and len(selection.populations) <= 1
    )


def invalidate(connection: Connection) -> None:
    """Forget every stored indicator (call inside any transaction that changes listings)."""
    connection.execute(delete(CoverageIndicator))


def is_current(store: Store, today: dt.date) -> bool:
    """Whether indicators were built today and no listing changed since."""
    with store.session() as session:
        built = session.scalar(
            select(CoverageIndicator.level).where(CoverageIndicator.as_of == today).limit(1)
        )
    return built is not None


def build(store: Store, data_dir: Path, today: dt.date, now: dt.datetime) -> BuildReport:
    """Recompute and replace every stored indicator in one transaction."""
    started = time.perf_counter()
    rows: list[dict] = []
    selections = 0
    levels = list(load_boundaries(data_dir).layers)
    for level in levels:
        context = LevelContext(store, data_dir, level, today)
        for selection in standard_selections(context):
            evaluation = context.evaluate(selection)
            rows += _rows(evaluation, today, now)
            selections += 1
    with store.engine.begin() as connection:
        invalidate(connection)
        for chunk in chunks(rows, 5_000):
            connection.execute(insert(CoverageIndicator), chunk)
    return BuildReport(len(levels), selections, len(rows), time.perf_counter() - started)


def standard_selections(context: LevelContext) -> list[Selection]:
    """The level's standard selections (module doc)."""
    offered = {
        (service_type, population)
        for service in context.services
        for service_type in (ALL, *service.terms.get("service_type", ()))
        for population in (ALL, *service.terms.get("population", ()))
    } | {(ALL, ALL)}
    base = Selection(level=context.layer.config.level, catchment_km=CATCHMENT_KM)
    return [
        replace(
            base,
            service_types=frozenset({service_type} - {ALL}),
            populations=frozenset({population} - {ALL}),
            month=month or None,
        )
        for (service_type, population), month in itertools.product(
            sorted(offered), range(ANY_MONTH, 13)
        )
    ]


def _rows(evaluation: Evaluation, today: dt.date, now: dt.datetime) -> list[dict]:
    selection = evaluation.selection
    shares = {km: evaluation.share_beyond(km) for km in THRESHOLDS_KM}
    key = {
        "service_type": next(iter(selection.service_types), ALL),
        "population_served": next(iter(selection.populations), ALL),
        "month": selection.month or ANY_MONTH,
        "as_of": today,
        "computed_at": now,
    }
    return [
        {
            **key,
            "level": r.level,
            "code": r.code,
            "status": r.status,
            "people": r.population,
            "services": r.services,
            "beds": r.beds,
            "services_per_100k": r.services_per_100k,
            "beds_per_10k": r.beds_per_10k,
            "access_score": r.access_score,
            **{f"share_beyond_{km}km": _share(shares[km][i], r) for km in THRESHOLDS_KM},
        }
        for i, r in enumerate(evaluation.indicators())
    ]


def _share(value: float, result: JurisdictionIndicators) -> float | None:
    return None if result.share_beyond is None or np.isnan(value) else float(value)


@dataclass(frozen=True)
class StoredIndicators:
    results: list[JurisdictionIndicators]
    computed_at: dt.datetime


def read(
    session: Session, data_dir: Path, selection: Selection, today: dt.date
) -> StoredIndicators | None:
    """The stored indicators of a standard selection built today, in the layer's order; None
    when the selection is not stored or the build is missing or from another day."""
    if not is_stored(selection):
        return None
    table = CoverageIndicator
    rows = session.scalars(
        select(table).where(
            table.level == selection.level,
            table.service_type == next(iter(selection.service_types), ALL),
            table.population_served == next(iter(selection.populations), ALL),
            table.month == (selection.month or ANY_MONTH),
            table.as_of == today,
        )
    ).all()
    layer = load_boundaries(data_dir).layers[selection.level]
    if len(rows) != len(layer.codes):
        return None
    by_code = {row.code: row for row in rows}
    names = layer.frame[[layer.config.name_en, layer.config.name_fr]].to_numpy()
    results = [
        _result(by_code[str(code)], str(en), str(fr), selection.threshold_km)
        for code, (en, fr) in zip(layer.codes, names, strict=True)
    ]
    return StoredIndicators(results, min(row.computed_at for row in rows))


def _result(
    row: CoverageIndicator, name_en: str, name_fr: str, km: float
) -> JurisdictionIndicators:
    share = getattr(row, f"share_beyond_{int(km)}km")
    return JurisdictionIndicators(
        level=row.level,
        code=row.code,
        name_en=name_en,
        name_fr=name_fr,
        population=row.people,
        status=row.status,
        services=row.services,
        beds=row.beds,
        services_per_100k=row.services_per_100k,
        beds_per_10k=row.beds_per_10k,
        share_beyond=share,
        access_score=row.access_score,
        desert=is_desert(row.status, share),
    )
