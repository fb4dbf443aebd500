"""Coverage methods: hand-checked cases, equality with PySAL ``access``, and the edge cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from access import Access, weights

from caremap.coverage import (
    EARTH_RADIUS_KM,
    GaussianDecay,
    Points,
    SparseCosts,
    StepDecay,
    compute_coverage,
    enhanced_two_step_fca,
    floating_catchment_ratio,
    great_circle_km,
    luo_qi_step,
    nearest_site,
    parse_decay,
    two_step_fca,
)
from tests.conftest import DATA_DIR

# access 1.1.10 calls set_index(inplace=True), which pandas 3 deprecates (ignored where the
# model is built); its fca_ratio compares demand ids with *site* ids, so it always warns
# "some tracts may be unaccounted for" (ignored in that one test).

KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180  # 111.195 km along the equator


@pytest.fixture
def line():
    """Three demand points and two sites on the equator (longitudes in degrees)::

    A(0)   X(0.5)   B(1)        Y(2)   C(2.5)
    A–X, B–X, C–Y: 0.5° = 55.6 km; B–Y: 1° = 111.2 km; A–Y, C–X: 2° = 222.4 km; B–C 1.5°.
    """
    demand = Points(["A", "B", "C"], [0, 0, 0], [0, 1, 2.5], [1000, 2000, 500])
    supply = Points(["X", "Y"], [0, 0], [0.5, 2], [30, 10])
    return demand, supply


def test_two_step_fca_by_hand(line):
    demand, supply = line
    # Catchment 150 km: X reaches A and B (55.6 km each); Y reaches B (111.2) and C (55.6).
    # Step 1: R_X = 30 / (1000 + 2000) = 0.01;  R_Y = 10 / (2000 + 500) = 0.004.
    # Step 2: A sees X: 0.01;  B sees X and Y: 0.01 + 0.004 = 0.014;  C sees Y: 0.004.
    scores = two_step_fca(demand, supply, 150)
    np.testing.assert_allclose(scores, [0.01, 0.014, 0.004], rtol=1e-15)


def test_enhanced_two_step_fca_by_hand(line):
    demand, supply = line
    decay = parse_decay("step:60=1,150=0.5", 150)  # weight 1 up to 60 km, 0.5 up to 150 km
    # Weights: A–X 55.6 km → 1, B–X 55.6 → 1, B–Y 111.2 → 0.5, C–Y 55.6 → 1.
    # R_X = 30 / (1000·1 + 2000·1) = 0.01;  R_Y = 10 / (2000·0.5 + 500·1) = 10/1500.
    # A = 0.01·1;  B = 0.01·1 + (10/1500)·0.5 = 0.01 + 1/300;  C = (10/1500)·1.
    scores = two_step_fca(demand, supply, 150, decay=decay)
    np.testing.assert_allclose(scores, [0.01, 0.01 + 1 / 300, 10 / 1500], rtol=1e-15)
    assert np.array_equal(scores, enhanced_two_step_fca(demand, supply, 150, decay=decay))


def test_floating_catchment_ratio_and_nearest_by_hand(line):
    demand, supply = line
    # Capacity within 150 km / population within 150 km (the point itself included):
    # A: X=30 / (A + B = 3000);  B: X+Y=40 / (A + B = 3000; C is 166.8 km away);
    # C: Y=10 / (C = 500; B is 166.8 km away).
    scores = floating_catchment_ratio(demand, supply, 150)
    np.testing.assert_allclose(scores, [30 / 3000, 40 / 3000, 10 / 500], rtol=1e-15)
    # Every nearest site is 0.5° = 55.6 km away: out of a 50 km catchment, within a 60 km one.
    score, nearest = nearest_site(demand, supply, 50)
    assert score.tolist() == [0, 0, 0]
    np.testing.assert_allclose(nearest, 0.5 * KM_PER_DEGREE, rtol=1e-12)
    assert nearest_site(demand, supply, 60)[0].tolist() == [1, 1, 1]


def test_great_circle_km():
    assert great_circle_km(lat1=0, lon1=0, lat2=0, lon2=1) == pytest.approx(KM_PER_DEGREE)
    assert great_circle_km(lat1=0, lon1=0, lat2=0, lon2=180) == pytest.approx(
        math.pi * EARTH_RADIUS_KM
    )
    assert great_circle_km(lat1=45, lon1=-75, lat2=45, lon2=-75) == 0
    # Toronto to Montreal: about 504 km on the sphere (503.9 km geodesic on WGS84).
    toronto_montreal = great_circle_km(lat1=43.6532, lon1=-79.3832, lat2=45.5019, lon2=-73.5674)
    assert toronto_montreal == pytest.approx(504, abs=2)
    many = great_circle_km(lat1=[0, 0], lon1=0, lat2=0, lon2=np.array([1, 2]))
    np.testing.assert_allclose(many, [KM_PER_DEGREE, 2 * KM_PER_DEGREE])


# ----------------------------------------------------------------------------- vs access

CATCHMENT_KM = 100.0


@pytest.fixture(scope="module")
def gazetteer_sample():
    """300 FSAs as demand (2016 population; missing counts as 0), 60 other FSA centroids as
    sites (random capacities), and the full demand × site matrix of great-circle km."""
    fsas = pd.read_csv(
        DATA_DIR / "gazetteer/fsa_centroids_geonames_pop2016.csv",
        dtype={"fsa": str},
        keep_default_na=False,
    )
    fsas["population"] = pd.to_numeric(fsas["pop2016"], errors="coerce").fillna(0)
    rng = np.random.default_rng(20260311)
    picks = rng.permutation(len(fsas))
    demand_rows, site_rows = fsas.iloc[picks[:300]], fsas.iloc[picks[300:360]]
    demand = Points(
        demand_rows["fsa"].to_numpy(),
        demand_rows["latitude"],
        demand_rows["longitude"],
        demand_rows["population"],
    )
    supply = Points(
        ("site-" + site_rows["fsa"]).to_numpy(),
        site_rows["latitude"],
        site_rows["longitude"],
        rng.integers(1, 60, len(site_rows)),
    )
    i, j = (a.ravel() for a in np.indices((len(demand), len(supply))))
    km = great_circle_km(
        lat1=demand.latitude[i], lon1=demand.longitude[i],
        lat2=supply.latitude[j], lon2=supply.longitude[j],
    )  # fmt: skip
    return demand, supply, SparseCosts(i, j, km)


def _cross_costs(a: Points, b: Points) -> pd.DataFrame:
    i, j = (x.ravel() for x in np.indices((len(a), len(b))))
    km = great_circle_km(lat1=a.latitude[i], lon1=a.longitude[i],
                         lat2=b.latitude[j], lon2=b.longitude[j])  # fmt: skip
    return pd.DataFrame({"origin": a.ids[i], "dest": b.ids[j], "cost": km})


@pytest.fixture(scope="module")
def access_model(gazetteer_sample):
    """``access.Access`` on the same points and straight-line km (all pairs: it applies the
    catchment itself, with ``max_cost``)."""
    demand, supply, _ = gazetteer_sample
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The inplace keyword in DataFrame.set_index", Warning)
        return Access(
            demand_df=pd.DataFrame({"id": demand.ids, "pop": demand.weight}),
            demand_index="id",
            demand_value="pop",
            supply_df=pd.DataFrame({"id": supply.ids, "beds": supply.weight}),
            supply_index="id",
            supply_value="beds",
            cost_df=_cross_costs(demand, supply),
            cost_origin="origin",
            cost_dest="dest",
            cost_name="cost",
            neighbor_cost_df=_cross_costs(demand, demand),
            neighbor_cost_origin="origin",
            neighbor_cost_dest="dest",
            neighbor_cost_name="cost",
        )


def _access_scores(model: Access, column: str, ids: np.ndarray) -> np.ndarray:
    values = model.access_df[column].reindex(ids).to_numpy(dtype=float)
    # access leaves a point with no site in reach NaN; we score it 0. No inf here: every site
    # has people within its catchment in this sample.
    assert not np.isinf(values).any()
    return np.nan_to_num(values, nan=0.0)


def _assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=0)
    assert (theirs > 0).sum() > 100 and (theirs == 0).sum() > 0  # a meaningful sample


ACCESS_CASES = {
    # name: (our call, access method and its keyword arguments)
    "2sfca": (
        lambda d, s, **kw: two_step_fca(d, s, CATCHMENT_KM, **kw),
        lambda model, name: model.two_stage_fca(name=name, max_cost=CATCHMENT_KM),
    ),
    "e2sfca-luo-qi": (
        lambda d, s, **kw: enhanced_two_step_fca(d, s, CATCHMENT_KM, **kw),
        lambda model, name: model.enhanced_two_stage_fca(
            name=name,
            max_cost=CATCHMENT_KM,
            weight_fn=weights.step_fn({100 / 3: 1, 200 / 3: 0.68, 100: 0.22}),
        ),
    ),
    "e2sfca-access-default": (  # access's default step function, {10: 1, 20: 0.68, 30: 0.22}
        lambda d, s, **kw: two_step_fca(
            d, s, CATCHMENT_KM, decay=parse_decay("step:10=1,20=0.68,30=0.22", CATCHMENT_KM), **kw
        ),
        lambda model, name: model.enhanced_two_stage_fca(name=name, max_cost=CATCHMENT_KM),
    ),
    "e2sfca-gaussian": (
        lambda d, s, **kw: two_step_fca(
            d, s, CATCHMENT_KM, decay=parse_decay("gaussian", CATCHMENT_KM), **kw
        ),
        lambda model, name: model.enhanced_two_stage_fca(
            name=name, max_cost=CATCHMENT_KM, weight_fn=weights.gaussian(50)
        ),
    ),
}


@pytest.mark.parametrize("case", ACCESS_CASES)
@pytest.mark.parametrize("costs", ["straight-line", "cost-matrix"])
def test_two_step_methods_match_access(case, costs, gazetteer_sample, access_model):
    demand, supply, matrix = gazetteer_sample
    ours, theirs = ACCESS_CASES[case]
    name = f"{case}-{costs}"  # a new column each time (access warns when overwriting one)
    theirs(access_model, name)
    expected = _access_scores(access_model, f"{name}_beds", demand.ids)
    kwargs = {"costs": matrix} if costs == "cost-matrix" else {}
    _assert_same(ours(demand, supply, **kwargs), expected)


@pytest.mark.filterwarnings("ignore:some tracts may be unaccounted for:UserWarning")
def test_floating_catchment_ratio_matches_access(gazetteer_sample, access_model):
    demand, supply, matrix = gazetteer_sample
    access_model.fca_ratio(name="fca", max_cost=CATCHMENT_KM)
    expected = _access_scores(access_model, "fca_beds", demand.ids)
    _assert_same(floating_catchment_ratio(demand, supply, CATCHMENT_KM), expected)
    i, k = (x.ravel() for x in np.indices((len(demand), len(demand))))
    around = great_circle_km(lat1=demand.latitude[i], lon1=demand.longitude[i],
                             lat2=demand.latitude[k], lon2=demand.longitude[k])  # fmt: skip
    with_matrices = floating_catchment_ratio(
        demand, supply, CATCHMENT_KM, costs=matrix, demand_costs=SparseCosts(i, k, around)
    )
    _assert_same(with_matrices, expected)


def test_decays_match_access_weight_functions():
    costs = np.array([0, 5, 10, 10.000001, 19.99, 20, 25, 30, 30.5, 100])
    step = weights.step_fn({10: 1, 20: 0.68, 30: 0.22})
    assert parse_decay("step", 30)(costs).tolist() == [step(c) for c in costs]
    assert luo_qi_step(30) == StepDecay((10, 20, 30), (1, 0.68, 0.22))
    gaussian = weights.gaussian(12.5)
    np.testing.assert_allclose(GaussianDecay(12.5)(costs), [gaussian(c) for c in costs], rtol=1e-15)
    assert parse_decay("gaussian", 30) == GaussianDecay(15)
    assert parse_decay(" Gaussian : 7 ", 30) == GaussianDecay(7)
    assert parse_decay("step:20=0.5,10=1", 30) == StepDecay((10, 20), (1, 0.5))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("linear", "unknown decay"),
        ("step:10", "not THRESHOLD=WEIGHT"),
        ("step:10=1,10=2", "appears twice"),
        ("step:10=-1", "must not be negative"),
        ("gaussian:0", "positive"),
        ("gaussian:wide", "not a number"),
    ],
)
def test_bad_decay_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_decay(spec, 30)


# ----------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("method", ["2sfca", "e2sfca", "fca", "nearest"])
def test_a_site_exactly_at_the_catchment_counts(method):
    demand = Points(["home"], [60.7212], [-135.0568], [100])  # Whitehorse
    supply = Points(["site"], [61.2181], [-149.9003], [5])  # Anchorage, about 800 km
    exact = float(great_circle_km(lat1=60.7212, lon1=-135.0568, lat2=61.2181, lon2=-149.9003))
    at = compute_coverage(method, demand, supply, exact)
    assert at.in_reach.tolist() == [True] and at.score[0] > 0
    just_short = compute_coverage(method, demand, supply, math.nextafter(exact, 0))
    assert just_short.in_reach.tolist() == [False] and just_short.score[0] == 0


@pytest.mark.parametrize("km", [1e-6, 1e-3, 1.0, 5_000.0])
def test_the_catchment_is_inclusive_at_every_scale(km):
    demand = Points(["home"], [45.0], [-75.0], [1])
    lat = 45.0 + km / KM_PER_DEGREE  # due north, about km away
    supply = Points(["site"], [lat], [-75.0], [1])
    exact = float(great_circle_km(lat1=45.0, lon1=-75.0, lat2=lat, lon2=-75.0))
    assert compute_coverage("2sfca", demand, supply, exact).pairs == 1
    assert compute_coverage("2sfca", demand, supply, math.nextafter(exact, 0)).pairs == 0


def test_many_pairs_on_the_catchment_boundary():
    # 400 random sites; the catchment is set to one site's exact distance at a time, so that
    # site sits on the boundary: the pair count must equal the count by great_circle_km.
    rng = np.random.default_rng(3)
    lats, lons = rng.uniform(44, 46, 400), rng.uniform(-76, -74, 400)
    supply = Points([f"s{k}" for k in range(400)], lats, lons, np.ones(400))
    centre = (45.0, -75.0)
    km = great_circle_km(lat1=centre[0], lon1=centre[1], lat2=lats, lon2=lons)
    for k in range(0, 400, 40):
        demand = Points(["c"], [centre[0]], [centre[1]], [1])
        inside = int((km <= km[k]).sum())
        result = compute_coverage("2sfca", demand, supply, float(km[k]))
        assert result.pairs == inside


def test_cost_matrix_catchment_is_inclusive_and_absent_pairs_are_unreachable(line):
    demand, supply = line
    # Minutes: A–X 30, B–X 45 (exactly the catchment), B–Y 46 (beyond), C: no pair at all.
    costs = SparseCosts.from_ids(demand, supply, ["A", "B", "B"], ["X", "X", "Y"], [30, 45, 46])
    # R_X = 30 / (1000 + 2000) = 0.01; Y has nobody within 45 minutes: R_Y = 0.
    scores = two_step_fca(demand, supply, 45, costs=costs)
    assert scores.tolist() == [0.01, 0.01, 0.0]
    result = compute_coverage("nearest", demand, supply, 45, costs=costs)
    assert result.score.tolist() == [1, 1, 0]
    assert result.nearest[:2].tolist() == [30, 45] and math.isnan(result.nearest[2])
    assert compute_coverage("2sfca", demand, supply, 45, costs=costs).pairs == 2
    with pytest.raises(KeyError, match="'Z'"):
        SparseCosts.from_ids(demand, supply, ["A"], ["Z"], [1])
    with pytest.raises(ValueError, match="more than once"):
        SparseCosts([0, 0], [1, 1], [1, 2])


def test_zero_population_and_unreachable_points():
    demand = Points(
        ["empty", "beside-empty", "far"],
        [50.0, 50.0, 80.0],
        [-100.0, -100.5, -100.0],
        [0, 0, 1000],
    )
    supply = Points(["site"], [50.0], [-100.2], [10])
    # The site's catchment holds only people-less points: nobody to serve, so R = 0, not inf;
    # "far" (3,300 km north) has no site in reach. Every score is a finite 0.
    for method in ("2sfca", "e2sfca", "fca"):
        result = compute_coverage(method, demand, supply, 50)
        assert result.score.tolist() == [0, 0, 0], method
        assert result.in_reach.tolist() == [True, True, False]
    # With people at "beside-empty", "empty" (population 0) still has a score: the capacity
    # per person around the site it can reach.
    peopled = Points(demand.ids, demand.latitude, demand.longitude, [0, 400, 1000])
    assert two_step_fca(peopled, supply, 50).tolist() == [10 / 400, 10 / 400, 0]
    # No sites at all.
    nobody = Points([], [], [], [])
    assert two_step_fca(demand, nobody, 50).tolist() == [0, 0, 0]
    score, nearest = nearest_site(demand, nobody, 50)
    assert score.tolist() == [0, 0, 0] and np.isnan(nearest).all()


def test_chunks_and_threads_do_not_change_scores(gazetteer_sample):
    demand, supply, _ = gazetteer_sample
    for method in ("2sfca", "e2sfca", "fca"):
        one = compute_coverage(method, demand, supply, CATCHMENT_KM, workers=1, chunk=100_000)
        many = compute_coverage(method, demand, supply, CATCHMENT_KM, workers=3, chunk=7)
        np.testing.assert_allclose(many.score, one.score, rtol=1e-12, atol=0)
        assert many.pairs == one.pairs


def test_points_are_checked():
    with pytest.raises(ValueError, match="same length"):
        Points(["a"], [1, 2], [1], [1])
    with pytest.raises(ValueError, match="latitude"):
        Points(["a"], [91], [1], [1])
    with pytest.raises(ValueError, match="longitude"):
        Points(["a"], [1], [-181], [1])
    with pytest.raises(ValueError, match="negative"):
        Points(["a"], [1], [1], [-1])
    with pytest.raises(ValueError, match="unique"):
        Points(["a", "a"], [1, 1], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="finite"):
        Points(["a"], [1], [1], [np.nan])
    demand, supply = Points(["a"], [1], [1], [1]), Points(["b"], [1], [1], [1])
    for catchment in (0, -5, math.inf, math.nan):
        with pytest.raises(ValueError, match="positive"):
            two_step_fca(demand, supply, catchment)
    with pytest.raises(ValueError, match="decay applies to e2sfca"):
        compute_coverage("fca", demand, supply, 10, decay=GaussianDecay(1))
