"""Stored coverage indicators: ``caremap coverage build`` computes the standard selections of
every jurisdiction level once, so that the planner, its exports and the OGC layers read them
instead of computing them per request.

Standard selections, per level: every month (and "any month") × service type ("all" and each
type some service has) × population served ("all" and each population some service serves),
where at least one service matches the type and population; the share beyond each of
:data:`THRESHOLDS_KM`; the 2SFCA with services as supply and a :data:`CATCHMENT_KM` catchment.
Any other selection (a what-if, another catchment, E2SFCA, beds as supply, a type nobody offers)
is computed on request.

Every write to the listings deletes, in the same transaction, the stored rows it can alter
(:func:`forget`): per level, the jurisdictions holding one of the changed services' points (before
or after) or a demand point within :data:`REACH_KM` of one (the farthest threshold; the catchment
is shorter), for the service type and population pairs that select those services. So a stored
indicator is never older than the data, and :func:`build` then computes only the rows missing
(from the services within reach of their jurisdictions, read from the supply each build keeps:
:mod:`caremap.coverage.supply`). Month availability is judged on the build date, so stored rows
are used only on that date and a build on another day computes every row (run the build daily,
e.g. from cron, to keep the fast path).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from scipy.spatial import cKDTree
from sqlalchemy import Connection, Subquery, case, delete, func, select, tuple_
from sqlalchemy.orm import Session

from caremap.collector import fewer_collections
from caremap.coverage import supply
from caremap.coverage.indicators import (
    Evaluation,
    JurisdictionIndicators,
    LevelContext,
    Selection,
    is_desert,
    level_demand,
)
from caremap.coverage.supply import Supply
from caremap.geodesy import EARTH_RADIUS_KM, chord_from_arc, unit_vectors
from caremap.jurisdictions import Layer, load_boundaries
from caremap.listing import decode_service
from caremap.matching import merged_away, merges
from caremap.model import (
    Attribute,
    CoverageIndicator,
    Jurisdiction,
    PublicListing,
    Service,
    TaxonomyTerm,
)
from caremap.paging import ID_CHUNK, chunks
from caremap.queries import PublicService, public_services
from caremap.settings import load_settings
from caremap.store import Store
from caremap.store.bulk import insert_values

THRESHOLDS_KM = (10, 25, 50, 100, 250)
CATCHMENT_KM = 50.0
REACH_KM = max(*THRESHOLDS_KM, CATCHMENT_KM)  # how far a service's point alters indicators
ALL = ""  # service_type / population_served for "all"
ANY_MONTH = 0
MONTHS = range(ANY_MONTH, 13)
Key = tuple[str, str, int]  # service_type, population_served, month of a standard selection
# Beyond a polygon's bounding box, no point is assigned to it (the coastal tolerance of
# caremap.jurisdictions is searched within 0.2 degrees).
ASSIGN_MARGIN_DEG = 0.25


@dataclass(frozen=True)
class BuildReport:
    levels: int
    selections: int  # evaluated (of them, only the missing rows were written)
    rows: int  # written
    seconds: float
    incremental: bool = False

    def summary(self) -> str:
        how = "missing indicators" if self.incremental else "indicators"
        return (
            f"{self.rows:,} {how} for {self.selections:,} selections on {self.levels} "
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
    """Forget every stored indicator (a change that can alter all of them), and the stored
    supply."""
    connection.execute(delete(CoverageIndicator))
    supply.drop(connection)


def any_stored(connection: Connection) -> bool:
    """Whether any indicator is stored (else a change has nothing to forget)."""
    return connection.scalar(select(CoverageIndicator.level).limit(1)) is not None


@dataclass(frozen=True)
class Footprint:
    """What of a service the stored indicators read: its public points (lat, lon) and the
    service types and populations that select it."""

    points: tuple[tuple[float, float], ...]
    service_types: frozenset[str]
    populations: frozenset[str]


def footprints(connection: Connection, service_ids: Iterable[str]) -> list[Footprint]:
    """The footprints of the services (or of the entries that took them in) as published."""
    merged_into = merges(connection)
    ids = sorted({merged_into.get(i, i) for i in service_ids})
    found: dict[str, Footprint] = {}
    for chunk in chunks(ids, ID_CHUNK):
        rows = connection.execute(
            select(PublicListing.service_id, PublicListing.record).where(
                PublicListing.service_id.in_(chunk)
            )
        )
        for service_id, record in rows:
            if service_id not in found:
                found[service_id] = _footprint(decode_service(record))
    return list(found.values())


def _footprint(service: PublicService) -> Footprint:
    return Footprint(
        tuple((loc.latitude, loc.longitude) for loc in service.locations),
        frozenset(service.terms.get("service_type", ())),
        frozenset(service.terms.get("population", ())),
    )


def forget(connection: Connection, changed: list[Footprint], data_dir: Path | None = None) -> None:
    """Delete the stored rows a change of services can alter, given their footprints before
    and after it (module doc); ``data_dir`` (default: the settings') holds the boundaries."""
    points = [point for footprint in changed for point in footprint.points]
    if not points or not any_stored(connection):
        return
    pairs = sorted(
        {
            (service_type, population)
            for footprint in changed
            for service_type in (ALL, *footprint.service_types)
            for population in (ALL, *footprint.populations)
        }
    )
    data_dir = data_dir or load_settings().data_dir
    latitudes, longitudes = (np.array(values, float) for values in zip(*points, strict=True))
    table = CoverageIndicator
    for level in load_boundaries(data_dir).layers:
        codes = sorted(_reached(data_dir, level, latitudes, longitudes))
        for chunk in chunks(codes, ID_CHUNK):
            connection.execute(
                delete(table).where(
                    table.level == level,
                    table.code.in_(chunk),
                    tuple_(table.service_type, table.population_served).in_(pairs),
                )
            )


@functools.cache
def _demand(data_dir: Path, level: str) -> tuple[Layer, np.ndarray, np.ndarray]:
    """A level's layer, and its demand points: the code of the jurisdiction of each (''
    outside every one), and their unit vectors."""
    layer = load_boundaries(data_dir).layers[level]
    demand = level_demand(data_dir, level)
    codes = np.array([str(c) for c in layer.codes], dtype=object)
    where = np.where(demand.jurisdiction >= 0, codes[demand.jurisdiction], "")
    return layer, where, demand.points.vectors()


def _within_reach(targets: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Whether each of ``vectors`` is within :data:`REACH_KM` of one of ``targets`` (unit
    vectors both)."""
    if not len(targets) or not len(vectors):
        return np.zeros(len(vectors), dtype=bool)
    radius = chord_from_arc(REACH_KM, radius=EARTH_RADIUS_KM) * (1 + 1e-9)
    distance, _ = cKDTree(targets).query(vectors, distance_upper_bound=radius)
    return np.isfinite(distance)


def _reached(data_dir: Path, level: str, latitudes: np.ndarray, longitudes: np.ndarray) -> set[str]:
    """The jurisdictions of ``level`` holding one of the points or a demand point within
    :data:`REACH_KM` of one."""
    layer, where, vectors = _demand(data_dir, level)
    reached = set(where[_within_reach(unit_vectors(latitudes, longitudes), vectors)].tolist())
    reached |= {str(code) for code in layer.assign(latitudes, longitudes) if code is not None}
    return reached - {""}


def is_current(store: Store, today: dt.date) -> bool:
    """Whether every standard selection's indicators are stored, all built today."""
    with store.engine.connect() as connection:
        other_days = _other_days(connection, today)
        counts = _stored_counts(connection)
        offered = offered_pairs(connection)
        jurisdictions = dict(
            connection.execute(
                select(Jurisdiction.level, func.count()).group_by(Jurisdiction.level)
            ).all()
        )
    expected = {
        (level, *key): count for level, count in jurisdictions.items() for key in _keys(offered)
    }
    return not other_days and bool(counts) and counts == expected


Group = tuple[str, str, str, int]  # level and the Key of a standard selection


def _other_days(connection: Connection, today: dt.date) -> bool:
    """Whether the stored rows are of another day than ``today`` (they are all of one day: a
    build on another day replaces every one, so one row tells)."""
    return connection.scalar(select(CoverageIndicator.as_of).limit(1)) not in (None, today)


def _stored_counts(connection: Connection) -> dict[Group, int]:
    """How many rows of each level and selection are stored (of any day: the callers know
    whether all are today's, and the primary key's index answers this alone)."""
    table = CoverageIndicator
    group = (table.level, table.service_type, table.population_served, table.month)
    rows = connection.execute(select(*group, func.count()).group_by(*group))
    return {
        (level, service_type, population, month): n
        for level, service_type, population, month, n in rows
    }


@dataclass(frozen=True)
class _Shortfall:
    """What an incremental build finds stored: per level, the codes missing the row of each
    standard selection (of any day, as :func:`_stored_counts`), and whether rows of selections
    no longer standard remain."""

    missing: dict[str, dict[Key, set[str]]]
    others: bool


def _shortfall(connection: Connection, layers: dict[str, Layer], keys: list[Key]) -> _Shortfall:
    """The rows missing: one count per jurisdiction (in the primary key's order: no sort),
    then the keys stored for the jurisdictions short of rows (:func:`_stored_pairs`)."""
    table = CoverageIndicator
    pairs = sorted({(service_type, population) for service_type, population, _ in keys})
    standard = tuple_(table.service_type, table.population_served).in_(pairs)
    counted = connection.execute(
        select(table.level, table.code, func.count(), func.count(case((standard, 1)))).group_by(
            table.level, table.code
        )
    )
    stored: dict[tuple[str, str], int] = {}
    others = False
    for level, code, rows, standard_rows in counted:
        stored[(level, code)] = standard_rows
        others |= rows > standard_rows
    short = [
        (level, str(code))
        for level, layer in layers.items()
        for code in layer.codes
        if stored.get((level, str(code)), 0) < len(keys)
    ]
    stored_pairs = _stored_pairs(connection, short)
    missing: dict[str, dict[Key, set[str]]] = {}
    for level, code in short:
        have = stored_pairs.get((level, code), {})
        for service_type, population in pairs:
            months = have.get((service_type, population), set())
            for month in () if len(months) == len(MONTHS) else set(MONTHS) - months:
                key = (service_type, population, month)
                missing.setdefault(level, {}).setdefault(key, set()).add(code)
    return _Shortfall(missing, others)


def _stored_pairs(
    connection: Connection, jurisdictions: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[tuple[str, str], set[int]]]:
    """Per jurisdiction (level, code), the months stored of each (service type, population):
    a count of rows per pair (a level's codes at a time: the primary key's index is searched,
    not scanned), and their months only for the pairs short of some."""
    table = CoverageIndicator
    group = (table.level, table.code, table.service_type, table.population_served)
    stored: dict[tuple[str, str], dict[tuple[str, str], set[int]]] = {}
    partial: list[tuple[str, str, str, str]] = []
    for level in sorted({level for level, _ in jurisdictions}):
        codes = sorted(code for other, code in jurisdictions if other == level)
        for chunk in chunks(codes, ID_CHUNK):
            counted = connection.execute(
                select(*group, func.count())
                .where(table.level == level, table.code.in_(chunk))
                .group_by(*group)
            )
            for _, code, service_type, population, rows in counted:
                months = set(MONTHS) if rows == len(MONTHS) else set()
                stored.setdefault((level, code), {})[(service_type, population)] = months
                if rows < len(MONTHS):
                    partial.append((level, code, service_type, population))
    for some in chunks(partial, ID_CHUNK // 4):
        for level, code, service_type, population, month in connection.execute(
            select(*group, table.month).where(tuple_(*group).in_(some))
        ):
            stored[(level, code)][(service_type, population)].add(month)
    return stored


def offered_pairs(connection: Connection) -> set[tuple[str, str]]:
    """(service type, population) pairs of the standard selections: ("all", "all") and every
    pair some public service (one not merged into another entry) offers, "all" included."""
    types, populations = _codes("service_type"), _codes("population")
    both = select(types.c.code, populations.c.code).join(
        populations, populations.c.service_id == types.c.service_id
    )
    return (
        {(ALL, ALL)}
        | {(t, p) for t, p in connection.execute(both.distinct())}
        | {(t, ALL) for t in connection.scalars(select(types.c.code).distinct())}
        | {(ALL, p) for p in connection.scalars(select(populations.c.code).distinct())}
    )


def _codes(facet: str) -> Subquery:
    """The codes of ``facet`` of each service not merged into another entry."""
    return (
        select(Attribute.link_id.label("service_id"), TaxonomyTerm.code.label("code"))
        .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
        .join(Service, Service.id == Attribute.link_id)
        .where(TaxonomyTerm.facet == facet, Attribute.link_id.not_in(merged_away()))
        .subquery()
    )


def _keys(offered: set[tuple[str, str]]) -> list[Key]:
    return [(t, p, month) for (t, p), month in itertools.product(sorted(offered), MONTHS)]


def build(
    store: Store, data_dir: Path, today: dt.date, now: dt.datetime, *, incremental: bool = True
) -> BuildReport:
    """Bring the stored indicators up to date in one transaction: when ``incremental`` and
    those stored were built today, compute only the rows missing (forgotten by a change, or of
    a new standard selection) and drop those of selections no longer standard; otherwise
    replace every row (the garbage collector's passes rarer meanwhile: a third of the CPU of a
    build after one edit went to walking what the process holds). The rows are written in a
    large transaction (:meth:`caremap.store.Store.large_transaction`: a full build of the
    bundled data writes half a million, which SQLite's default page cache spilled to the WAL)."""
    with fewer_collections():
        return _build(store, data_dir, today, now, incremental=incremental)


def _build(
    store: Store, data_dir: Path, today: dt.date, now: dt.datetime, *, incremental: bool
) -> BuildReport:
    started = time.perf_counter()
    layers = load_boundaries(data_dir).layers
    with store.engine.connect() as connection:
        stale = not incremental or _other_days(connection, today)
        keys = _keys(offered_pairs(connection))
        incremental = not stale and any_stored(connection)
        shortfall = _shortfall(connection, layers, keys) if incremental else None
    services = _all_services(store) if shortfall is None else None
    near = _Near(store, data_dir) if shortfall is not None else None
    everything = Supply.of(services) if services is not None else None
    rows: list[tuple] = []
    selections = 0
    for level, layer in layers.items():
        missing = (
            shortfall.missing.get(level, {})
            if shortfall is not None
            else {key: {str(code) for code in layer.codes} for key in keys}
        )
        wanted = {key: missing[key] for key in keys if key in missing}
        if not wanted:
            continue
        points = everything if near is None else near.supply(level, set().union(*wanted.values()))
        context = LevelContext(store, data_dir, level, today, points)
        for key, missing_codes in wanted.items():
            within, positions = _missing(data_dir, level, frozenset(missing_codes))
            evaluation = context.evaluate(_selection(level, key), within if near else None)
            rows += _rows(evaluation, positions)
            selections += 1
    table = CoverageIndicator
    with store.engine.begin() as connection, store.large_transaction(connection):
        if shortfall is None:
            invalidate(connection)
            supply.store(connection, services or [])
        elif shortfall.others:
            pairs = sorted({(service_type, population) for service_type, population, _ in keys})
            connection.execute(
                delete(table).where(
                    tuple_(table.service_type, table.population_served).not_in(pairs)
                )
            )
        insert_values(connection, table, ROW_NAMES, rows, {"as_of": today, "computed_at": now})
    return BuildReport(
        len(layers), selections, len(rows), time.perf_counter() - started, incremental
    )


def _all_services(store: Store) -> list[PublicService]:
    with store.session() as session:
        return public_services(session)


class _Near:
    """The supply near jurisdictions, for an incremental build: the stored supply is brought up
    to date and read once (:func:`caremap.coverage.supply.read`)."""

    def __init__(self, store: Store, data_dir: Path) -> None:
        self.data_dir = data_dir
        with store.engine.begin() as connection:
            self.rows = supply.read(connection)
        self.service_ids = np.array([row[1] for row in self.rows], dtype=object)
        self.latitudes = np.array([row[3] for row in self.rows], float)
        self.longitudes = np.array([row[4] for row in self.rows], float)

    def supply(self, level: str, codes: set[str]) -> Supply:
        """That every indicator of these jurisdictions of ``level`` reads (and a little more):
        the services with a point near one of them (:func:`_in_boxes`) or within
        :data:`REACH_KM` of one of their demand points."""
        layer, where, vectors = _demand(self.data_dir, level)
        near = _in_boxes(layer, codes, self.latitudes, self.longitudes)
        near |= _within_reach(
            vectors[np.isin(where, sorted(codes))], unit_vectors(self.latitudes, self.longitudes)
        )
        kept = set(self.service_ids[near].tolist())
        return Supply.of_rows([row for row in self.rows if row[1] in kept])


def _in_boxes(
    layer: Layer, codes: set[str], latitudes: np.ndarray, longitudes: np.ndarray
) -> np.ndarray:
    """Whether each point lies within the bounding box (widened by
    :data:`ASSIGN_MARGIN_DEG`) of one of the jurisdictions ``codes`` of ``layer``: every
    point assigned to one of them does (the level's context assigns them)."""
    polygons = layer.tree.geometries[np.isin(layer.codes.astype(str), sorted(codes))]
    near = np.zeros(len(latitudes), dtype=bool)
    for min_lon, min_lat, max_lon, max_lat in shapely.bounds(polygons):
        near |= (
            (latitudes >= min_lat - ASSIGN_MARGIN_DEG)
            & (latitudes <= max_lat + ASSIGN_MARGIN_DEG)
            & (longitudes >= min_lon - ASSIGN_MARGIN_DEG)
            & (longitudes <= max_lon + ASSIGN_MARGIN_DEG)
        )
    return near


def _selection(level: str, key: Key) -> Selection:
    service_type, population, month = key
    return Selection(
        level=level,
        catchment_km=CATCHMENT_KM,
        service_types=frozenset({service_type} - {ALL}),
        populations=frozenset({population} - {ALL}),
        month=month or None,
    )


@functools.lru_cache(maxsize=64)
def _missing(data_dir: Path, level: str, codes: frozenset[str]) -> tuple[np.ndarray, list[int]]:
    """Which demand points of ``level`` lie in the jurisdictions ``codes``, and the positions
    of these in the layer."""
    layer, where, _ = _demand(data_dir, level)
    within = np.isin(where, sorted(codes))
    within.flags.writeable = False
    return within, [i for i, code in enumerate(layer.codes) if str(code) in codes]


# The columns of the rows :func:`_rows` gives; every row of a build has the same ``as_of`` and
# ``computed_at``.
ROW_NAMES = (
    "level",
    "code",
    "service_type",
    "population_served",
    "month",
    "status",
    "people",
    "services",
    "beds",
    "services_per_100k",
    "beds_per_10k",
    "access_score",
    *(f"share_beyond_{km}km" for km in THRESHOLDS_KM),
)


def _rows(evaluation: Evaluation, positions: list[int]) -> list[tuple]:
    """The rows (:data:`ROW_NAMES`) of the jurisdictions at ``positions`` in the layer (about
    500,000 in a full build of the bundled data: made from the evaluation's columns)."""
    selection = evaluation.selection
    columns = evaluation.columns(THRESHOLDS_KM, positions)
    return list(
        zip(
            itertools.repeat(evaluation.context.layer.config.level),
            columns.codes,
            itertools.repeat(next(iter(selection.service_types), ALL)),
            itertools.repeat(next(iter(selection.populations), ALL)),
            itertools.repeat(selection.month or ANY_MONTH),
            columns.statuses,
            columns.populations,
            columns.services,
            columns.beds,
            columns.services_per_100k,
            columns.beds_per_10k,
            columns.access_score,
            *columns.shares,
            strict=False,  # the repeated values are as many as the jurisdictions
        )
    )


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
