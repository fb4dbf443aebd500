"""Coverage indicators per jurisdiction: where services are missing, for whom, and when.

For one jurisdiction level (``data/jurisdictions.toml``) and one selection (service types,
populations served, month), each jurisdiction gets: the number of matching services and
their beds, services per 100,000 people and beds per 10,000, the share of its population
farther than ``threshold_km`` from the nearest matching service, a 2SFCA accessibility score,
its **data status** and a **desert** flag.

Demand (where people live):
- national levels (provinces, census divisions): the 1,641 FSA centroids with their 2016
  population, each counted in the jurisdiction that contains it; an FSA whose centroid lies
  where nobody lives (none of its postal codes within ``LIVED_IN_KM``: 24 vast rural FSAs,
  Nunavut's three among them) counts its people at its communities instead (:func:`fsa_demand`);
- city levels (layers with a fixed ``parent_code``, e.g. Toronto's neighbourhoods): one point
  per polygon, its representative point, carrying the polygon's population.

Supply: the public point of each matching service's location (confidential ones included:
counting them is the point of this page; they appear only in aggregates), weighted by 1 or by
beds. Distances are great-circle km on the IUGG sphere (see :mod:`caremap.coverage`).

Data status, from what each source declares it lists completely (``[[coverage]]`` in a
source's sidecar: jurisdictions and service types, :mod:`caremap.coverage.claims`), for each
selected service type (every type of the vocabulary when none is selected): ``covered`` when
the jurisdiction or an ancestor is declared for every selected type; ``no_data`` when it is
declared for none of them, nor a part of it, and it has no listed service; otherwise
``partial``. A ``no_data`` jurisdiction is never painted as a desert.

Desert rule: a **covered** jurisdiction where more than half the population lives farther
than ``threshold_km`` (great circle) from the nearest matching service.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from sqlalchemy import select

from caremap.coverage.accessibility import Points, enhanced_two_step_fca, two_step_fca
from caremap.coverage.claims import claimed_pairs
from caremap.coverage.supply import Supply
from caremap.geodesy import EARTH_RADIUS_KM, arc_from_chord, chord_from_arc, unit_vectors
from caremap.jurisdictions import Boundaries, Layer, load_boundaries
from caremap.listing import published_services
from caremap.model import Source
from caremap.store import Store
from caremap.vocabulary import load_vocabulary

FSA_FILE = "gazetteer/fsa_centroids_geonames_pop2016.csv"
POSTAL_CODES_FILE = "gazetteer/postal_codes_geonames_ca.csv.gz"
PLACES_FILE = "gazetteer/places_geonames_ca.csv"
# An FSA centroid with none of its own postal codes this close lies where nobody lives.
LIVED_IN_KM = 50.0
DESERT_SHARE = 0.5


ACCESS_METHODS = ("2sfca", "e2sfca")
SUPPLY_KINDS = ("services", "beds")


@dataclass(frozen=True)
class Selection:
    """Which services count, and the distances that matter."""

    level: str = "census_division"
    service_types: frozenset[str] = frozenset()
    populations: frozenset[str] = frozenset()
    month: int | None = None
    threshold_km: float = 25.0
    catchment_km: float = 50.0
    supply: str = "services"  # or "beds": what a site offers in the 2SFCA
    access_method: str = "2sfca"  # or "e2sfca": Luo & Qi's step decay over the catchment
    # What if: hypothetical sites of the selected kind, (lat, lon, beds), and services
    # switched off (by id). Nothing is saved.
    added_sites: tuple[tuple[float, float, int], ...] = ()
    switched_off: frozenset[str] = frozenset()


@dataclass
class JurisdictionIndicators:
    level: str
    code: str
    name_en: str
    name_fr: str
    population: int
    status: str  # covered | partial | no_data
    services: int = 0
    beds: int = 0
    services_per_100k: float | None = None
    beds_per_10k: float | None = None
    share_beyond: float | None = None  # of the population, farther than threshold_km
    access_score: float | None = None  # 2SFCA/E2SFCA, population-weighted mean of demand points
    desert: bool = False


@dataclass(frozen=True)
class Demand:
    """Demand points with the position (in the layer) of the jurisdiction each counts in."""

    points: Points
    jurisdiction: np.ndarray  # index into the layer's rows; -1 outside every polygon


@dataclass(frozen=True)
class Columns:
    """Indicators of some jurisdictions of a level, column by column (lists in one order, of
    Python values): as :class:`JurisdictionIndicators` has them, without names or deserts."""

    codes: list[str]
    populations: list[int]
    statuses: list[str]
    services: list[int]
    beds: list[int]
    services_per_100k: list[float | None]
    beds_per_10k: list[float | None]
    access_score: list[float | None]
    shares: list[list[float | None]]  # per threshold asked for


@dataclass(frozen=True)
class Evaluation:
    """One selection evaluated on one level: what every indicator is computed from."""

    context: LevelContext
    selection: Selection
    supply_index: np.ndarray  # jurisdiction (row position) of each supply point, -1 outside
    beds: np.ndarray  # beds of each supply point
    nearest_km: np.ndarray  # per demand point
    scores: np.ndarray  # accessibility per demand point
    key: tuple  # the same for the evaluations of one level with the same supply and scores

    def indicators(
        self, threshold_km: float | None = None, positions: Sequence[int] | None = None
    ) -> list[JurisdictionIndicators]:
        """Indicators of every jurisdiction (or of those at ``positions`` in the layer), the
        share beyond ``threshold_km`` (default: the selection's)."""
        threshold = self.selection.threshold_km if threshold_km is None else threshold_km
        return self.context.tabulate(self, threshold, positions)

    def columns(
        self, thresholds_km: Sequence[float], positions: Sequence[int] | None = None
    ) -> Columns:
        """The indicators of :meth:`indicators` in columns, the share beyond each of
        ``thresholds_km``."""
        return self.context.columns(self, thresholds_km, positions)

    def share_beyond(self, threshold_km: float) -> np.ndarray:
        """Per jurisdiction, the share of its demand farther than ``threshold_km`` (NaN without
        people)."""
        demand = self.context.demand
        far = demand.points.weight * (self.nearest_km > threshold_km)
        people = self.context.people
        share = np.full(len(people), np.nan)
        np.divide(self.context.per_jurisdiction(far), people, out=share, where=people > 0)
        return share


@dataclass(frozen=True)
class _Counted:
    """What the evaluations of a level with the same supply and scores share, per
    jurisdiction in the layer's order: whether it has services, and the columns of
    :class:`Columns` that depend on nothing else (object arrays hold Python floats and None)."""

    with_services: np.ndarray
    services: np.ndarray
    beds: np.ndarray
    services_per_100k: np.ndarray
    beds_per_10k: np.ndarray
    access_score: np.ndarray


def _or_none(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values`` as Python floats where ``known``, None elsewhere (an object array)."""
    kept = values.astype(object)
    kept[~known] = None
    return kept


class LevelContext:
    """One jurisdiction level prepared once (boundaries, demand, supply, declared coverage)
    so that many selections can be evaluated cheaply."""

    def __init__(
        self, store: Store, data_dir: Path, level: str, today: dt.date, supply: Supply | None = None
    ) -> None:
        """``supply``: the public services to count (every published one, read from the
        store, when None: a service without a location has no point to count)."""
        self.boundaries = load_boundaries(data_dir)
        self.layer = self.boundaries.layers[level]
        self.today = today
        self.rows = self.layer.frame.to_dict("records")
        self.position = {code: i for i, code in enumerate(self.layer.codes)}
        config = self.layer.config
        self.codes = np.array([str(row[config.code]) for row in self.rows], dtype=object)
        self.populations = np.array([int(row[config.population] or 0) for row in self.rows], int)
        self.names = [(str(row[config.name_en]), str(row[config.name_fr])) for row in self.rows]
        with store.session() as session:
            self.supply = (
                Supply.of(published_services(session.connection())) if supply is None else supply
            )
            claimed = {
                pair
                for stored in session.scalars(select(Source.coverage))
                for pair in claimed_pairs(stored)
            }
        self.service_types = frozenset(
            t.code for t in load_vocabulary(data_dir).terms("service_type")
        )
        self._declared_status = {
            service_type: declared_statuses(
                self.boundaries, level, frozenset(j for j, t in claimed if t == service_type)
            )
            for service_type in self.service_types
        }
        self.demand = level_demand(data_dir, level)
        self.people = self.per_jurisdiction(self.demand.points.weight)
        self._where = self._positions(self.supply.latitude, self.supply.longitude)
        self._masks: dict[tuple[str, object], np.ndarray] = {}  # per service, see _selected
        self._distances: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # see _measure
        self._counted: dict[tuple, _Counted] = {}  # per Evaluation.key, see _count
        self._shares: dict[tuple[tuple, float], np.ndarray] = {}  # see _share
        self._declared: dict[frozenset[str], tuple[np.ndarray, np.ndarray]] = {}  # see statuses

    def per_jurisdiction(self, values: np.ndarray) -> np.ndarray:
        """Sum of a per-demand-point quantity in each jurisdiction."""
        inside = self.demand.jurisdiction >= 0
        return np.bincount(
            self.demand.jurisdiction[inside], weights=values[inside], minlength=len(self.rows)
        )

    def _positions(self, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
        codes = self.layer.assign(latitudes, longitudes) if len(latitudes) else np.array([])
        return np.array([self.position.get(c, -1) for c in codes], dtype=int)

    def evaluate(self, selection: Selection, within: np.ndarray | None = None) -> Evaluation:
        """The selection's supply, nearest distances and accessibility scores; with ``within``
        (a mask of the demand points), exact only for those points (the others' distances are
        inf and their scores 0 or partial): only the demand within two catchments of them is
        evaluated, which is all their 2SFCA reads."""
        chosen = self._selected(selection)[self.supply.service]
        ids, lats, lons, where, beds = self._sites(chosen, selection.added_sites)
        key = (
            chosen.tobytes(),
            selection.added_sites,
            selection.supply,
            selection.access_method,
            selection.catchment_km,
            None if within is None else within.tobytes(),
        )
        if key not in self._distances:
            weight = beds if selection.supply == "beds" else np.ones(len(ids))
            self._distances[key] = self._measure(Points(ids, lats, lons, weight), selection, within)
        nearest, scores = self._distances[key]
        return Evaluation(self, selection, where, beds, nearest, scores, key)

    def _sites(
        self, chosen: np.ndarray, added: tuple[tuple[float, float, int], ...]
    ) -> tuple[np.ndarray, ...]:
        """Ids, latitudes, longitudes, jurisdiction positions and beds of the chosen supply
        points and of the added sites."""
        supply = self.supply
        lats, lons = [a[0] for a in added], [a[1] for a in added]
        positions = self._positions(np.array(lats, float), np.array(lons, float))
        return (
            np.concatenate([supply.ids[chosen], [f"what-if-{i}" for i in range(len(added))]]),
            np.concatenate([supply.latitude[chosen], lats]),
            np.concatenate([supply.longitude[chosen], lons]),
            np.concatenate([self._where[chosen], positions]).astype(int),
            np.concatenate([supply.beds[chosen], [a[2] for a in added]]).astype(float),
        )

    def _measure(
        self, supply: Points, selection: Selection, within: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest distances and accessibility scores per demand point (read-only: selections
        with the same supply share them)."""
        demand = self.demand.points
        nearest, scores = np.full(len(demand), np.inf), np.zeros(len(demand))
        around = (
            np.ones(len(demand), dtype=bool)
            if within is None
            else self._around(within, 2 * selection.catchment_km)
        )
        part = demand if within is None else _subset(demand, around)
        nearest[around] = _nearest_km(part, supply)
        scores[around] = _accessibility(part, supply, selection)
        nearest.flags.writeable = scores.flags.writeable = False
        return nearest, scores

    def _selected(self, selection: Selection) -> np.ndarray:
        """Per service of the supply, whether the selection counts it (the mask of each set
        of service types, of populations and of each month is worked out once)."""
        supply = self.supply
        mask: np.ndarray = self._mask("service_type", selection.service_types, supply.service_types)
        mask = mask & self._mask("population", selection.populations, supply.populations)
        if selection.month is not None:
            key = ("month", selection.month)
            if key not in self._masks:
                self._masks[key] = supply.in_month(selection.month, self.today)
            mask = mask & self._masks[key]
        if selection.switched_off:
            mask = mask & ~np.isin(supply.service_ids, sorted(selection.switched_off))
        return mask

    def _mask(
        self, facet: str, selected: frozenset[str], codes: tuple[frozenset[str], ...]
    ) -> np.ndarray:
        """Per service, whether a selection of codes of ``facet`` (none: every one) takes it
        in, given each one's ``codes``."""
        key = (facet, selected)
        if key not in self._masks:
            self._masks[key] = np.array(
                [not selected or bool(own & selected) for own in codes], dtype=bool
            )
        return self._masks[key]

    def _around(self, within: np.ndarray, km: float) -> np.ndarray:
        """The demand points ``within`` and those within ``km`` of one of them."""
        vectors = self.demand.points.vectors()
        radius = chord_from_arc(km, radius=EARTH_RADIUS_KM) * (1 + 1e-9)
        around = within.copy()
        if within.any():
            distance, _ = cKDTree(vectors[within]).query(vectors, distance_upper_bound=radius)
            around |= np.isfinite(distance)
        return around

    def statuses(self, with_services: np.ndarray, service_types: frozenset[str]) -> np.ndarray:
        """covered / partial / no_data per jurisdiction for the selected service types (every
        type when none is selected; see module doc), given whether each has listed services:
        covered only if covered for each type; no data only if no type is declared in any part
        of it and nothing is listed."""
        types = frozenset(service_types or self.service_types)
        if types not in self._declared:
            per_type = np.array(
                [self._declared_status[t] for t in sorted(types)], dtype=object
            ).reshape(len(types), len(self.rows))
            covered = (per_type == "covered").all(axis=0) & bool(types)
            self._declared[types] = covered, (per_type != "no_data").any(axis=0)
        covered, declared = self._declared[types]
        partial = np.where(with_services | declared, "partial", "no_data")
        return np.where(covered, "covered", partial)

    def columns(
        self,
        evaluation: Evaluation,
        thresholds_km: Sequence[float],
        positions: Sequence[int] | None,
    ) -> Columns:
        """The indicators of an evaluation in columns (:meth:`Evaluation.columns`)."""
        at = slice(None) if positions is None else np.asarray(positions, dtype=np.intp)
        counted = self._count(evaluation)
        statuses = self.statuses(counted.with_services, evaluation.selection.service_types)
        return Columns(
            self.codes[at].tolist(),
            self.populations[at].tolist(),
            statuses[at].tolist(),
            counted.services[at].tolist(),
            counted.beds[at].tolist(),
            counted.services_per_100k[at].tolist(),
            counted.beds_per_10k[at].tolist(),
            counted.access_score[at].tolist(),
            [self._share(evaluation, km)[at].tolist() for km in thresholds_km],
        )

    def _count(self, evaluation: Evaluation) -> _Counted:
        """Services, beds, rates and scores per jurisdiction, once per :attr:`Evaluation.key`."""
        if evaluation.key not in self._counted:
            inside = evaluation.supply_index >= 0
            where = evaluation.supply_index[inside]
            n = len(self.rows)
            services = np.bincount(where, minlength=n)
            beds = np.bincount(where, weights=evaluation.beds[inside], minlength=n).astype(int)
            populated = self.populations != 0
            peopled = self.people > 0
            score = self.per_jurisdiction(self.demand.points.weight * evaluation.scores)
            self._counted[evaluation.key] = _Counted(
                services > 0,
                services,
                beds,
                _or_none(_ratio(services, self.populations, populated) * 100_000, populated),
                _or_none(_ratio(beds, self.populations, populated) * 10_000, populated),
                _or_none(_ratio(score, self.people, peopled), peopled),
            )
        return self._counted[evaluation.key]

    def _share(self, evaluation: Evaluation, threshold_km: float) -> np.ndarray:
        """:meth:`Evaluation.share_beyond` as Python floats, None without people (once per
        :attr:`Evaluation.key` and threshold)."""
        key = (evaluation.key, threshold_km)
        if key not in self._shares:
            self._shares[key] = _or_none(evaluation.share_beyond(threshold_km), self.people > 0)
        return self._shares[key]

    def tabulate(
        self, evaluation: Evaluation, threshold_km: float, positions: Sequence[int] | None = None
    ) -> list[JurisdictionIndicators]:
        """One row per jurisdiction (or per one at ``positions``) from an evaluation, with the
        share beyond ``threshold_km``."""
        columns = self.columns(evaluation, [threshold_km], positions)
        level = self.layer.config.level
        return [
            JurisdictionIndicators(
                level=level,
                code=code,
                name_en=self.names[i][0],
                name_fr=self.names[i][1],
                population=population,
                status=status,
                services=services,
                beds=beds,
                services_per_100k=per_100k,
                beds_per_10k=per_10k,
                share_beyond=share,
                access_score=score,
                desert=is_desert(status, share),
            )
            for i, code, population, status, services, beds, per_100k, per_10k, score, share in zip(
                range(len(self.rows)) if positions is None else positions,
                columns.codes,
                columns.populations,
                columns.statuses,
                columns.services,
                columns.beds,
                columns.services_per_100k,
                columns.beds_per_10k,
                columns.access_score,
                columns.shares[0],
                strict=True,
            )
        ]


def _ratio(numerator: np.ndarray, denominator: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` where ``where`` (0 elsewhere)."""
    ratio: np.ndarray = np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=where)
    return ratio


def is_desert(status: str, share_beyond: float | None) -> bool:
    """The desert rule (module doc): covered, and more than half the people beyond reach."""
    return status == "covered" and share_beyond is not None and share_beyond > DESERT_SHARE


def compute_indicators(
    store: Store, data_dir: Path, selection: Selection, today: dt.date
) -> list[JurisdictionIndicators]:
    """Indicators for every jurisdiction of ``selection.level``."""
    return LevelContext(store, data_dir, selection.level, today).evaluate(selection).indicators()


def _subset(points: Points, mask: np.ndarray) -> Points:
    return Points(
        points.ids[mask], points.latitude[mask], points.longitude[mask], points.weight[mask]
    )


def _accessibility(demand: Points, supply: Points, selection: Selection) -> np.ndarray:
    if not len(supply):
        return np.zeros(len(demand))
    if selection.access_method == "e2sfca":
        return enhanced_two_step_fca(demand, supply, selection.catchment_km)
    return two_step_fca(demand, supply, selection.catchment_km)


@functools.lru_cache(maxsize=256)
def declared_statuses(
    boundaries: Boundaries, level: str, declared: frozenset[str]
) -> tuple[str, ...]:
    """covered / partial / no_data per jurisdiction of ``level`` (in the layer's order) from
    declarations alone, worked out once per process for each set of declarations."""
    layer = boundaries.layers[level]
    statuses = data_status(boundaries, layer, set(declared), set())
    return tuple(statuses[str(code)] for code in layer.codes)


@functools.cache
def level_demand(data_dir: Path, level: str) -> Demand:
    """The demand points of a level (:func:`demand_points`), worked out once per process
    from the bundled files; its arrays are read-only."""
    layer = load_boundaries(data_dir).layers[level]
    demand = demand_points(data_dir, layer, {code: i for i, code in enumerate(layer.codes)})
    demand.points.ids.flags.writeable = False  # Points locks its other arrays
    demand.jurisdiction.flags.writeable = False
    return demand


def demand_points(data_dir: Path, layer: Layer, position: dict[str, int]) -> Demand:
    """FSA centroids for national levels; polygon representative points for city levels."""
    if layer.config.parent_code is not None:
        inside = shapely.point_on_surface(layer.tree.geometries)  # x = lon, y = lat
        population = layer.frame[layer.config.population].fillna(0).to_numpy(float)
        return Demand(
            Points(layer.codes, shapely.get_y(inside), shapely.get_x(inside), population),
            np.arange(len(layer.codes)),
        )
    points = _national_demand(data_dir)
    codes = layer.assign(points.latitude, points.longitude)
    return Demand(points, np.array([position.get(c, -1) for c in codes], dtype=int))


@functools.cache
def _national_demand(data_dir: Path) -> Points:
    """The demand points of the national levels (:func:`fsa_demand`), read once per process
    (read-only, as :class:`Points` are)."""
    fsas = fsa_demand(data_dir)
    points = Points(
        fsas["point"].to_numpy(object),
        fsas["latitude"].to_numpy(float),
        fsas["longitude"].to_numpy(float),
        fsas["pop2016"].to_numpy(float),
    )
    points.ids.flags.writeable = False  # Points locks its other arrays
    return points


def fsa_demand(data_dir: Path) -> pd.DataFrame:
    """Where the people of each FSA live (``point``, a unique name, ``fsa``, ``latitude``,
    ``longitude``, ``pop2016``):
    its centroid, unless none of its own postal codes lies within :data:`LIVED_IN_KM` of it
    (a vast rural FSA's centroid, such as X0A's at 79.6° N on Ellesmere Island, far from
    Iqaluit): then its communities, the distinct places of its postal codes, sharing its
    population in proportion to theirs in the gazetteer (equally when none is known)."""
    fsas = pd.read_csv(data_dir / FSA_FILE, dtype={"fsa": str}).dropna(subset=["pop2016"])
    codes = pd.read_csv(data_dir / POSTAL_CODES_FILE, dtype=str)
    codes["fsa"] = codes["postal_code"].str[:3]
    codes = codes.merge(fsas[["fsa", "latitude", "longitude"]], on="fsa", suffixes=("", "_fsa"))
    codes[["latitude", "longitude"]] = codes[["latitude", "longitude"]].astype(float)
    km = _great_circle_km(codes, codes["latitude_fsa"], codes["longitude_fsa"])
    lived_in = set(codes.loc[km <= LIVED_IN_KM, "fsa"])
    empty = ~fsas["fsa"].isin(lived_in) & fsas["fsa"].isin(codes["fsa"])
    communities = _communities(data_dir, codes[codes["fsa"].isin(fsas.loc[empty, "fsa"])])
    communities = communities.merge(fsas[["fsa", "pop2016"]], on="fsa")
    communities["pop2016"] *= communities["share"]
    communities["point"] = communities["fsa"] + " " + communities["place_name"]
    fsas["point"] = fsas["fsa"]
    columns = ["point", "fsa", "latitude", "longitude", "pop2016"]
    return pd.concat([fsas.loc[~empty, columns], communities[columns]], ignore_index=True)


def _communities(data_dir: Path, codes: pd.DataFrame) -> pd.DataFrame:
    """The distinct places of these postal codes (``fsa``, ``place_name``, a point), each
    with its ``share`` of its FSA's people."""
    places = codes.groupby(["fsa", "province_abbr", "place_name"], as_index=False)[
        ["latitude", "longitude"]
    ].mean()
    gazetteer = pd.read_csv(data_dir / PLACES_FILE, usecols=["name", "province_abbr", "population"])
    gazetteer["place_name"] = gazetteer.pop("name")
    known = gazetteer.groupby(["province_abbr", "place_name"], as_index=False)[["population"]].max()
    places = places.merge(known, on=["province_abbr", "place_name"], how="left")
    places["population"] = places["population"].fillna(0).astype(float)
    totals = places.groupby("fsa")["population"].transform("sum")
    counts = places.groupby("fsa")["population"].transform("size")
    places["share"] = np.where(
        totals > 0, places["population"] / totals.where(totals > 0, 1), 1 / counts
    )
    return places


def _great_circle_km(
    points: pd.DataFrame, latitudes: pd.Series, longitudes: pd.Series
) -> np.ndarray:
    """Great-circle km from each row's (latitude, longitude) to the given points."""
    here = unit_vectors(points["latitude"].to_numpy(float), points["longitude"].to_numpy(float))
    there = unit_vectors(latitudes.to_numpy(float), longitudes.to_numpy(float))
    chord = np.linalg.norm(here - there, axis=1)
    return arc_from_chord(chord, radius=EARTH_RADIUS_KM)


def _nearest_km(demand: Points, supply: Points) -> np.ndarray:
    """Great-circle km from each demand point to the nearest supply point (inf without any)."""
    if not len(supply):
        return np.full(len(demand), np.inf)
    chord, _ = cKDTree(supply.vectors()).query(demand.vectors())
    return arc_from_chord(chord, radius=EARTH_RADIUS_KM)


def data_status(
    boundaries: Boundaries, layer: Layer, declared: set[str], with_services: set[str]
) -> dict[str, str]:
    """covered / partial / no_data for every jurisdiction of ``layer`` (see module doc)."""
    level = layer.config.level
    statuses = {}
    for row in layer.frame.to_dict("records"):
        code = str(row[layer.config.code])
        parent = row.get(layer.config.parent) if layer.config.parent else layer.config.parent_code
        if f"{level}:{code}" in declared or _ancestor_declared(boundaries, parent, declared):
            statuses[code] = "covered"
        elif _part_declared(boundaries, level, code, declared) or code in with_services:
            statuses[code] = "partial"
        else:
            statuses[code] = "no_data"
    return statuses


def _ancestor_declared(boundaries: Boundaries, parent: object, declared: set[str]) -> bool:
    if parent is None:
        return False
    return any(f"{level}:{parent}" in declared for level in boundaries.layers)


def _part_declared(boundaries: Boundaries, level: str, code: str, declared: set[str]) -> bool:
    """Whether a jurisdiction one level down, inside this one, is declared."""
    if not declared:
        return False
    for other in boundaries.layers.values():
        config = other.config
        if config.parent and config.level != level:
            children = other.frame.loc[other.frame[config.parent].astype(str) == code, config.code]
            if any(f"{config.level}:{child}" in declared for child in children.astype(str)):
                return True
    return False
