"""Spatial accessibility: how much care is within reach of each demand point.

Inputs are :class:`Points`: *demand* (areas with a ``population``, e.g. dissemination areas or
FSAs) and *supply* (sites with a ``capacity``, e.g. beds or staff). Each method returns one score
per demand point, in the demand order; a demand point with no site within the catchment scores 0.

Methods (``d_ij`` is the cost from demand point ``i`` to site ``j``, ``K`` the catchment, ``P_i``
the population, ``S_j`` the capacity; "within" means ``d_ij <= K``, **inclusive**):

- ``2sfca`` (two-step floating catchment area; Luo & Wang 2003)::

      R_j = S_j / sum(P_i for i within K of j)        (capacity per person around site j)
      A_i = sum(R_j for j within K of i)              (score: capacity per person within reach)

- ``e2sfca`` (enhanced 2SFCA; Luo & Qi 2009): the same with a distance-decay weight ``w(d_ij)``
  in both steps: ``R_j = S_j / sum(P_i w(d_ij))`` and ``A_i = sum(R_j w(d_ij))``. The decays
  (:func:`parse_decay`) are those of PySAL ``access.weights``:

  - ``step`` (the default): Luo & Qi's zones over thirds of the catchment, weight 1 up to
    ``K/3``, 0.68 up to ``2K/3``, 0.22 up to ``K`` (each bound inclusive). With ``K = 30`` this is
    exactly ``access``'s own default, ``step_fn({10: 1, 20: 0.68, 30: 0.22})``.
  - ``step:T1=W1,T2=W2,...``: weight ``Wk`` for the first threshold ``Tk >= d``, 0 beyond the
    last (``access.weights.step_fn``).
  - ``gaussian`` or ``gaussian:SIGMA``: ``w = exp(-d² / (2 SIGMA²))``, so ``w(0) = 1``, without
    the ``1/sqrt(2 pi SIGMA²)`` normalisation (``access.weights.gaussian``); SIGMA defaults to
    ``K/2`` (a site at the edge of the catchment then weighs exp(-2) = 0.135).

- ``fca`` (floating catchment ratio; ``access``'s ``fca_ratio``): the capacity within ``K`` of
  ``i`` over the population within ``K`` of ``i`` (``i`` included)::

      F_i = sum(S_j for j within K of i) / sum(P_k for demand points k within K of i)

- ``nearest``: the distance (cost) to the nearest site, whatever the catchment, and a score of
  1 if that site is within the catchment, else 0. Every site counts, whatever its capacity.

The definitions, and the raw (not normalised) scores, are those of PySAL ``access`` 1.1
(``Access.two_stage_fca``, ``enhanced_two_stage_fca``, ``fca_ratio`` with ``normalize=False``):
the tests check equality to 1e-9 on the same costs. Where ``access`` divides by zero we define a
value instead: a site with no (weighted) population within its catchment has ``R_j = 0`` (it has
nobody to serve; ``access`` gives inf or NaN to every point near it), a demand point with no site
within reach scores 0 (``access``: NaN), and an ``fca`` point with no population around it scores
0 (``access``: NaN or inf).

Costs. Without a cost matrix, ``d_ij`` is the **great-circle distance in km** on a sphere of
radius 6,371.0088 km (the IUGG mean Earth radius, :data:`caremap.geodesy.EARTH_RADIUS_KM`); it is
within 0.5 % of the WGS84 geodesic distance. Pairs are found with a k-d tree over unit-sphere
vectors and a chord radius equivalent to ``K``; pairs whose chord is within 1e-9 of that radius
are decided by the exact arc length (:func:`great_circle_km`), so a site exactly ``K`` km away
counts, consistently with :func:`great_circle_km`. Nothing dense is built: memory and time grow
with the number of pairs within the catchment (about 16 bytes a pair, 32 with a distance decay),
not with demand × sites; ``fca`` also enumerates the demand–demand pairs within the catchment,
so it is the slow one (57,000 demand points, 100 km: about 20 s, against 2 s for 2SFCA).

**Where straight lines mislead.** A straight line is not a trip. Fly-in communities in the North
(most of Nunavut, the fly-in First Nations of northern Ontario, Manitoba and Quebec, coastal
Labrador) may be 80 km from a shelter as the crow flies and a scheduled flight away in practice;
winter roads exist for a few weeks a year; ferries, fjords, mountain passes and the St. Lawrence
make short lines long trips (coastal British Columbia, Newfoundland, the Gaspé), while a highway
can make a long line a quick trip. For planning decisions use a travel-time matrix (``costs``):
from OSRM, pgRouting or r5py, with flights, ferries and winter roads added where the road network
lacks them. With a matrix the catchment is in the matrix's units (e.g. minutes) and a pair absent
from the matrix is unreachable.

``fca`` needs demand-to-demand costs too (the population around each demand point), so with a
cost matrix it takes ``demand_costs`` as well.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
from scipy.spatial import cKDTree

from caremap.geodesy import EARTH_RADIUS_KM, arc_from_chord, chord_from_arc, unit_vectors

METHODS = ("2sfca", "e2sfca", "fca", "nearest")
# Chords this close to the catchment's chord (relative, plus an absolute floor of 1e-12, i.e.
# 6 µm, for tiny catchments) are decided by the exact arc length.
_BAND = 1e-9
_BAND_FLOOR = 1e-12
# Demand points per k-d tree query. Blocks are spatially compact and run on a thread pool
# (scipy's cKDTree releases the GIL); small blocks keep each one's pairs in cache: on 57,000 x
# 5,000 points (28 million pairs) 1,024 took a third of the time of one query for everything.
DEFAULT_CHUNK = 1024


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True, eq=False)
class Points:
    """Points with an id, a latitude and longitude (WGS84 degrees) and a non-negative weight.

    ``weight`` is the population for demand points and the capacity for sites. Arrays are
    copied and checked: equal lengths, unique ids, latitude in [-90, 90], longitude in
    [-180, 180], finite non-negative weights.
    """

    ids: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    weight: np.ndarray

    def __post_init__(self) -> None:
        ids = np.array([str(value) for value in np.asarray(self.ids, dtype=object).ravel()],
                       dtype=object)  # fmt: skip
        arrays = {
            name: np.array(getattr(self, name), dtype=np.float64).ravel()
            for name in ("latitude", "longitude", "weight")
        }
        sizes = {len(ids), *(len(values) for values in arrays.values())}
        if len(sizes) != 1:
            raise ValueError("ids, latitude, longitude and weight must have the same length")
        for name, values in arrays.items():
            if not np.isfinite(values).all():
                raise ValueError(f"{name} has values that are not finite numbers")
        if np.abs(arrays["latitude"]).max(initial=0) > 90:
            raise ValueError("latitude outside -90 to 90")
        if np.abs(arrays["longitude"]).max(initial=0) > 180:
            raise ValueError("longitude outside -180 to 180")
        if (arrays["weight"] < 0).any():
            raise ValueError("weight has negative values")
        if len(set(ids.tolist())) != len(ids):
            raise ValueError("ids are not unique")
        object.__setattr__(self, "ids", ids)
        for name, values in arrays.items():
            values.flags.writeable = False
            object.__setattr__(self, name, values)

    def __len__(self) -> int:
        return len(self.ids)

    def vectors(self) -> np.ndarray:
        """(n, 3) unit-sphere vectors (:func:`caremap.geodesy.unit_vectors`)."""
        return unit_vectors(self.latitude, self.longitude)


@dataclass(frozen=True, eq=False)
class SparseCosts:
    """A sparse travel-cost matrix: ``cost[k]`` from ``origin[k]`` to ``dest[k]`` (positions).

    ``origin`` indexes the demand points; ``dest`` indexes the sites (or, for the
    demand-to-demand costs of ``fca``, the demand points again). A pair that is absent is
    unreachable. Costs are finite and non-negative, in any unit (the catchment is in the same
    unit); each (origin, dest) pair appears at most once.
    """

    origin: np.ndarray
    dest: np.ndarray
    cost: np.ndarray

    def __post_init__(self) -> None:
        origin = np.array(self.origin, dtype=np.intp).ravel()
        dest = np.array(self.dest, dtype=np.intp).ravel()
        cost = np.array(self.cost, dtype=np.float64).ravel()
        if not len(origin) == len(dest) == len(cost):
            raise ValueError("origin, dest and cost must have the same length")
        if not np.isfinite(cost).all() or (cost < 0).any():
            raise ValueError("costs must be finite and non-negative")
        if (origin < 0).any() or (dest < 0).any():
            raise ValueError("origin and dest are positions and cannot be negative")
        if len(origin):
            key = np.sort(origin.astype(np.int64) * (int(dest.max()) + 1) + dest)
            if (key[1:] == key[:-1]).any():
                raise ValueError("an (origin, dest) pair appears more than once")
        for name, values in (("origin", origin), ("dest", dest), ("cost", cost)):
            values.flags.writeable = False
            object.__setattr__(self, name, values)

    @classmethod
    def from_ids(
        cls,
        origins: Points,
        dests: Points,
        origin_ids: Sequence[str] | np.ndarray,
        dest_ids: Sequence[str] | np.ndarray,
        cost: Sequence[float] | np.ndarray,
    ) -> SparseCosts:
        """Costs keyed by ids of ``origins`` and ``dests``; an unknown id is a ``KeyError``."""
        origin = _positions(origins.ids, origin_ids, "origin")
        dest = _positions(dests.ids, dest_ids, "dest")
        return cls(origin, dest, np.asarray(cost, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.cost)

    def _check_shape(self, n_origins: int, n_dests: int) -> None:
        if len(self) and (self.origin.max() >= n_origins or self.dest.max() >= n_dests):
            raise ValueError("cost matrix positions are outside the demand or supply points")


def _positions(ids: np.ndarray, wanted: Sequence[str] | np.ndarray, what: str) -> np.ndarray:
    lookup = {value: position for position, value in enumerate(ids.tolist())}
    try:
        return np.fromiter((lookup[str(value)] for value in wanted), dtype=np.intp)
    except KeyError as error:
        raise KeyError(f"{what} id {error.args[0]!r} is not among the points") from None


# ----------------------------------------------------------------------------- decay


class Decay(Protocol):
    """A distance-decay weight: costs in, weights in [0, ∞) out (vectorised)."""

    def __call__(self, cost: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class StepDecay:
    """``access.weights.step_fn``: the weight of the first threshold >= cost; 0 beyond all."""

    thresholds: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.thresholds) != len(self.weights) or not self.thresholds:
            raise ValueError("a step decay needs as many weights as thresholds (at least one)")
        values = [*self.thresholds, *self.weights]
        if not all(math.isfinite(value) for value in values):
            raise ValueError("step thresholds and weights must be finite numbers")
        if any(weight < 0 for weight in self.weights):
            raise ValueError("step weights must not be negative")
        if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:], strict=False)):
            raise ValueError("step thresholds must increase")

    def __call__(self, cost: np.ndarray) -> np.ndarray:
        table = np.array([*self.weights, 0.0])
        return table[np.searchsorted(np.array(self.thresholds), cost, side="left")]

    def __str__(self) -> str:
        steps = ",".join(f"{t:g}={w:g}" for t, w in zip(self.thresholds, self.weights, strict=True))
        return f"step:{steps}"


@dataclass(frozen=True)
class GaussianDecay:
    """``access.weights.gaussian``: ``exp(-d² / (2 sigma²))``; 1 at d = 0, not normalised."""

    sigma: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError("the gaussian sigma must be a positive number")

    def __call__(self, cost: np.ndarray) -> np.ndarray:
        cost = np.asarray(cost, dtype=np.float64)
        weight: np.ndarray = np.exp(-cost * cost / (2 * self.sigma**2))  # access's, term by term
        return weight

    def __str__(self) -> str:
        return f"gaussian:{self.sigma:g}"


LUO_QI_WEIGHTS = (1.0, 0.68, 0.22)


def luo_qi_step(catchment: float) -> StepDecay:
    """Luo & Qi's (2009) E2SFCA zones over thirds of the catchment: 1, 0.68, 0.22.

    For a 30-minute catchment this is ``access``'s default ``step_fn({10: 1, 20: 0.68, 30: 0.22})``.
    """
    _check_catchment(catchment)
    return StepDecay((catchment / 3, 2 * catchment / 3, float(catchment)), LUO_QI_WEIGHTS)


DECAY_HELP = (
    "step (Luo & Qi: 1, 0.68, 0.22 over thirds of the catchment; the default), "
    "step:T1=W1,T2=W2,... (weight W for cost <= T, 0 beyond the last T), "
    "gaussian (exp(-d²/2σ²) with σ = catchment/2) or gaussian:SIGMA"
)


def parse_decay(spec: str, catchment: float) -> Decay:
    """A decay from its text form (see :data:`DECAY_HELP`); a ``ValueError`` names the problem."""
    name, _, argument = spec.strip().partition(":")
    name, argument = name.strip().lower(), argument.strip()
    if name == "step":
        if not argument:
            return luo_qi_step(catchment)
        steps: dict[float, float] = {}
        for part in argument.split(","):
            threshold, equals, weight = part.partition("=")
            try:
                if not equals:
                    raise ValueError
                key, value = float(threshold), float(weight)
            except ValueError:
                raise ValueError(
                    f"decay step {part.strip()!r} is not THRESHOLD=WEIGHT (e.g. step:10=1,20=0.68)"
                ) from None
            if key in steps:
                raise ValueError(f"decay step threshold {key:g} appears twice")
            steps[key] = value
        ordered = sorted(steps.items())
        return StepDecay(tuple(t for t, _ in ordered), tuple(w for _, w in ordered))
    if name == "gaussian":
        if not argument:
            _check_catchment(catchment)
            return GaussianDecay(catchment / 2)
        try:
            sigma = float(argument)
        except ValueError:
            raise ValueError(f"gaussian sigma {argument!r} is not a number") from None
        return GaussianDecay(sigma)
    raise ValueError(f"unknown decay {spec!r}; use {DECAY_HELP}")


# ----------------------------------------------------------------------------- distances


def great_circle_km(
    *,
    lat1: float | np.ndarray,
    lon1: float | np.ndarray,
    lat2: float | np.ndarray,
    lon2: float | np.ndarray,
) -> np.ndarray:
    """Great-circle km between (lat1, lon1) and (lat2, lon2) degrees, on the IUGG mean sphere.

    Broadcasts its arguments. This is the distance every method here uses (their catchment
    tests agree with it bit for bit): the chord between unit-sphere vectors, turned into arc
    length, ``2 R asin(chord / 2)``, accurate to well under a millimetre at any distance.
    """
    arrays = np.broadcast_arrays(
        *(np.asarray(value, dtype=np.float64) for value in (lat1, lon1, lat2, lon2))
    )
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(value).ravel() for value in arrays]
    km = _arc_km(unit_vectors(flat[0], flat[1]), unit_vectors(flat[2], flat[3]))
    return km.reshape(shape)


def _arc_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    difference = a - b
    x, y, z = difference[:, 0], difference[:, 1], difference[:, 2]
    chord = np.sqrt(x * x + y * y + z * z)
    return arc_from_chord(chord, radius=EARTH_RADIUS_KM)


def _check_catchment(catchment: float) -> None:
    try:
        good = math.isfinite(catchment) and catchment > 0
    except TypeError:
        good = False
    if not good:
        raise ValueError(f"the catchment must be a positive number, not {catchment!r}")


def _workers(workers: int | None) -> int:
    if workers is None:
        return max(1, min(os.cpu_count() or 1, 8))
    if workers < 1:
        raise ValueError("workers must be at least 1")
    return workers


# ----------------------------------------------------------------------------- pairs

T = TypeVar("T")


@dataclass
class _Chunk:
    """Pairs for one block of query points: ``rows[i[k]]`` is within reach of ``j[k]``."""

    rows: np.ndarray  # global positions of this block's query points
    i: np.ndarray  # local row (into ``rows``) of each pair
    j: np.ndarray  # target position of each pair
    cost: np.ndarray | None  # km, when asked for


def _spatial_blocks(vectors: np.ndarray, chunk: int) -> list[np.ndarray]:
    if len(vectors) == 0:
        return []
    order = cKDTree(vectors).indices  # leaf order: each block is spatially compact
    return [order[start : start + chunk] for start in range(0, len(order), chunk)]


def _straight_line_pairs(
    query: np.ndarray,
    target: np.ndarray,
    catchment_km: float,
    *,
    with_cost: bool,
    reduce: Callable[[_Chunk], T],
    workers: int,
    chunk: int,
) -> list[T]:
    """``reduce`` of each block's pairs (query point, target point) within ``catchment_km``."""
    if len(query) == 0 or len(target) == 0:
        return []
    tree = cKDTree(target)
    exact = chord_from_arc(catchment_km, radius=EARTH_RADIUS_KM)
    radius = exact * (1 + _BAND) + _BAND_FLOOR
    band = max(exact * (1 - _BAND) - _BAND_FLOOR, 0.0)

    def block(rows: np.ndarray) -> T:
        found = cKDTree(query[rows]).sparse_distance_matrix(tree, radius, output_type="ndarray")
        i = np.ascontiguousarray(found["i"])
        j = np.ascontiguousarray(found["j"])
        chord = found["v"]
        uncertain = np.flatnonzero(chord > band)
        arc = _arc_km(query[rows[i[uncertain]]], target[j[uncertain]])
        cost = None
        if with_cost:
            cost = arc_from_chord(chord, radius=EARTH_RADIUS_KM)
            cost[uncertain] = arc
        outside = uncertain[arc > catchment_km]
        if len(outside):
            keep = np.ones(len(i), dtype=bool)
            keep[outside] = False
            i, j = i[keep], j[keep]
            cost = cost[keep] if cost is not None else None
        return reduce(_Chunk(rows, i, j, cost))

    blocks = _spatial_blocks(query, chunk)
    if workers == 1 or len(blocks) == 1:
        return [block(rows) for rows in blocks]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(block, blocks))


def _cost_pairs(costs: SparseCosts, n: int, m: int, catchment: float) -> list[_Chunk]:
    costs._check_shape(n, m)
    within = costs.cost <= catchment
    i = costs.origin[within]
    return [_Chunk(np.arange(n), i, costs.dest[within], costs.cost[within])]


def _catchment_pairs(
    demand: Points,
    supply: Points,
    catchment: float,
    costs: SparseCosts | None,
    *,
    with_cost: bool,
    workers: int | None,
    chunk: int,
) -> list[_Chunk]:
    _check_catchment(catchment)
    if costs is not None:
        return _cost_pairs(costs, len(demand), len(supply), catchment)
    return _straight_line_pairs(
        demand.vectors(),
        supply.vectors(),
        catchment,
        with_cost=with_cost,
        reduce=lambda chunk: chunk,
        workers=_workers(workers),
        chunk=chunk,
    )


# ----------------------------------------------------------------------------- methods


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """Scores in the demand order, and facts for a summary."""

    method: str
    score: np.ndarray
    in_reach: np.ndarray  # bool: at least one site within the catchment
    pairs: int  # demand–site pairs within the catchment (nearest: demand points in reach)
    nearest: np.ndarray | None = None  # nearest cost (km without a matrix); NaN if none


def _decay_weights(chunk: _Chunk, decay: Decay | None) -> np.ndarray | None:
    """The weight of each of the chunk's pairs (None without a decay: each weighs 1)."""
    if decay is None:
        return None
    if chunk.cost is None:
        raise ValueError("a distance decay needs the costs of the pairs")
    return np.asarray(decay(chunk.cost), np.float64)


def _two_step(
    demand: Points,
    supply: Points,
    chunks: list[_Chunk],
    decay: Decay | None,
) -> tuple[np.ndarray, np.ndarray]:
    population, capacity = demand.weight, supply.weight
    weights = [_decay_weights(c, decay) for c in chunks]
    demand_around = np.zeros(len(supply))  # sum_i P_i w_ij for each site j
    for c, w in zip(chunks, weights, strict=True):
        p = population[c.rows][c.i]
        demand_around += np.bincount(c.j, weights=p if w is None else p * w, minlength=len(supply))
    ratio = np.divide(
        capacity, demand_around, out=np.zeros(len(supply)), where=demand_around > 0
    )  # R_j; 0 for a site with nobody (weighted) around it
    score = np.zeros(len(demand))
    reached = np.zeros(len(demand), dtype=np.intp)
    for c, w in zip(chunks, weights, strict=True):
        r = ratio[c.j]
        score[c.rows] += np.bincount(c.i, weights=r if w is None else r * w, minlength=len(c.rows))
        reached[c.rows] += np.bincount(c.i, minlength=len(c.rows))
    return score, reached > 0


def two_step_fca(
    demand: Points,
    supply: Points,
    catchment: float,
    *,
    costs: SparseCosts | None = None,
    decay: Decay | None = None,
    workers: int | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """2SFCA scores (E2SFCA with a ``decay``): capacity per person within reach, per demand point.

    ``catchment`` is in km (great-circle) without ``costs``, else in the costs' units.
    """
    return _run("2sfca" if decay is None else "e2sfca", demand, supply, catchment,
                costs=costs, decay=decay, workers=workers, chunk=chunk).score  # fmt: skip


def enhanced_two_step_fca(
    demand: Points,
    supply: Points,
    catchment: float,
    *,
    costs: SparseCosts | None = None,
    decay: Decay | None = None,
    workers: int | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """E2SFCA scores; the decay defaults to :func:`luo_qi_step` over the catchment."""
    return _run("e2sfca", demand, supply, catchment,
                costs=costs, decay=decay, workers=workers, chunk=chunk).score  # fmt: skip


def floating_catchment_ratio(
    demand: Points,
    supply: Points,
    catchment: float,
    *,
    costs: SparseCosts | None = None,
    demand_costs: SparseCosts | None = None,
    workers: int | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """Capacity within the catchment of each demand point over the population within it."""
    return _run("fca", demand, supply, catchment, costs=costs, demand_costs=demand_costs,
                workers=workers, chunk=chunk).score  # fmt: skip


def nearest_site(
    demand: Points,
    supply: Points,
    catchment: float,
    *,
    costs: SparseCosts | None = None,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(score, nearest): 1 where the nearest site is within the catchment, else 0; and the cost
    to the nearest site (km without ``costs``; NaN where no site is reachable at all)."""
    result = _run("nearest", demand, supply, catchment, costs=costs, workers=workers)
    assert result.nearest is not None  # noqa: S101 - the "nearest" method always sets it
    return result.score, result.nearest


def compute_coverage(
    method: str,
    demand: Points,
    supply: Points,
    catchment: float,
    *,
    costs: SparseCosts | None = None,
    demand_costs: SparseCosts | None = None,
    decay: Decay | None = None,
    workers: int | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> CoverageResult:
    """Any of :data:`METHODS` by name, with the facts the command line reports."""
    return _run(method, demand, supply, catchment, costs=costs, demand_costs=demand_costs,
                decay=decay, workers=workers, chunk=chunk)  # fmt: skip


def _run(
    method: str,
    demand: Points,
    supply: Points,
    catchment: float,
    *,
    costs: SparseCosts | None = None,
    demand_costs: SparseCosts | None = None,
    decay: Decay | None = None,
    workers: int | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> CoverageResult:
    _check_catchment(catchment)
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if decay is not None and method not in ("2sfca", "e2sfca"):
        raise ValueError(f"a distance decay applies to e2sfca, not to {method}")
    if method == "nearest":
        return _nearest(demand, supply, catchment, costs, workers)
    if method == "e2sfca" and decay is None:
        decay = luo_qi_step(catchment)
    chunks = _catchment_pairs(
        demand, supply, catchment, costs,
        with_cost=decay is not None, workers=workers, chunk=chunk,
    )  # fmt: skip
    pairs = sum(len(c.i) for c in chunks)
    if method == "fca":
        score, in_reach = _fca(demand, supply, catchment, chunks, costs, demand_costs,
                               workers, chunk)  # fmt: skip
    else:
        score, in_reach = _two_step(demand, supply, chunks, decay)
        method = "2sfca" if decay is None else "e2sfca"
    return CoverageResult(method, score, in_reach, pairs)


def _fca(
    demand: Points,
    supply: Points,
    catchment: float,
    chunks: list[_Chunk],
    costs: SparseCosts | None,
    demand_costs: SparseCosts | None,
    workers: int | None,
    chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    n = len(demand)
    capacity_around = np.zeros(n)
    reached = np.zeros(n, dtype=np.intp)
    for c in chunks:
        capacity_around[c.rows] += np.bincount(
            c.i, weights=supply.weight[c.j], minlength=len(c.rows)
        )
        reached[c.rows] += np.bincount(c.i, minlength=len(c.rows))
    population = demand.weight
    people_around = np.zeros(n)
    if costs is not None:
        if demand_costs is None:
            raise ValueError(
                "fca with a cost matrix also needs demand_costs (demand-to-demand costs)"
            )
        for c in _cost_pairs(demand_costs, n, n, catchment):
            people_around[c.rows] += np.bincount(c.i, weights=population[c.j], minlength=n)
    else:
        if demand_costs is not None:
            raise ValueError("demand_costs goes with costs; without them distances are km")
        vectors = demand.vectors()

        def around(c: _Chunk) -> tuple[np.ndarray, np.ndarray]:
            return c.rows, np.bincount(c.i, weights=population[c.j], minlength=len(c.rows))

        for rows, sums in _straight_line_pairs(
            vectors, vectors, catchment,
            with_cost=False, reduce=around, workers=_workers(workers), chunk=chunk,
        ):  # fmt: skip
            people_around[rows] += sums
    score = np.divide(capacity_around, people_around, out=np.zeros(n), where=people_around > 0)
    return score, reached > 0


def _nearest(
    demand: Points,
    supply: Points,
    catchment: float,
    costs: SparseCosts | None,
    workers: int | None,
) -> CoverageResult:
    n = len(demand)
    nearest = np.full(n, np.nan)
    if costs is not None:
        costs._check_shape(n, len(supply))
        best = np.full(n, np.inf)
        np.minimum.at(best, costs.origin, costs.cost)
        nearest[np.isfinite(best)] = best[np.isfinite(best)]
    elif n and len(supply):
        vectors, sites = demand.vectors(), supply.vectors()
        _, j = cKDTree(sites).query(vectors, k=1, workers=_workers(workers))
        nearest = _arc_km(vectors, sites[j])  # the same arc as every catchment test
    in_reach = np.zeros(n, dtype=bool)
    np.less_equal(nearest, catchment, out=in_reach, where=~np.isnan(nearest))
    return CoverageResult("nearest", in_reach.astype(np.float64), in_reach,
                          int(in_reach.sum()), nearest)  # fmt: skip
