"""The reference for ``bench coverage``: PySAL ``access`` 2SFCA on the same CSVs, as one process.

Usage::

    python bench/coverage_access.py D.csv S.csv CATCHMENT_KM OUT.csv

It does what a user of ``access`` would do, and imports nothing from caremap: read the CSVs
with pandas; build the straight-line cost table (great-circle km by the haversine formula, on
the same 6,371.0088 km sphere) for the demand–site pairs within the catchment; then
``Access(...).two_stage_fca(max_cost=CATCHMENT_KM)``; write ``id, score`` with NaN (no site
within reach) as 0, as caremap does.

The pairs are found with a scipy k-d tree over unit-sphere vectors, with a radius 0.1 % larger
than the catchment, so that ``access`` itself cuts at ``max_cost``. ``access``'s own
``create_euclidean_distance`` would cross-join every pair in geopandas: at 57,000 × 5,000 points
that is 285 million rows, which does not fit in memory.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd
from access import Access
from scipy.spatial import cKDTree

EARTH_RADIUS_KM = 6_371.0088


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def straight_line_costs(demand: pd.DataFrame, supply: pd.DataFrame, catchment_km: float):
    """origin, dest, cost (km) for the pairs within about the catchment."""
    radius = 2 * np.sin(catchment_km * 1.001 / (2 * EARTH_RADIUS_KM))
    d_lat, d_lon = demand["latitude"].to_numpy(), demand["longitude"].to_numpy()
    s_lat, s_lon = supply["latitude"].to_numpy(), supply["longitude"].to_numpy()
    pairs = cKDTree(_unit(d_lat, d_lon)).sparse_distance_matrix(
        cKDTree(_unit(s_lat, s_lon)), radius, output_type="ndarray"
    )
    i, j = pairs["i"], pairs["j"]
    phi1, phi2 = np.radians(d_lat[i]), np.radians(s_lat[j])
    dphi, dlam = phi2 - phi1, np.radians(s_lon[j] - d_lon[i])
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    return pd.DataFrame(
        {"origin": demand["id"].to_numpy()[i], "dest": supply["id"].to_numpy()[j], "cost": km}
    )


def two_stage_fca(
    demand: pd.DataFrame, supply: pd.DataFrame, costs: pd.DataFrame, catchment_km: float
) -> pd.Series:
    """``access``'s 2SFCA score per demand id (NaN where no site is within reach)."""
    with warnings.catch_warnings():  # access calls set_index(inplace=True); pandas 3 warns
        warnings.filterwarnings("ignore", "The inplace keyword", Warning)
        model = Access(
            demand_df=demand[["id", "population"]],
            demand_index="id",
            demand_value="population",
            supply_df=supply[["id", "capacity"]],
            supply_index="id",
            supply_value="capacity",
            cost_df=costs,
            cost_origin="origin",
            cost_dest="dest",
            cost_name="cost",
        )
        result = model.two_stage_fca(name="2sfca", max_cost=catchment_km)
    return result["2sfca_capacity"]


def read(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"id": str})


def main(argv: list[str]) -> int:
    demand_path, supply_path, catchment, out_path = argv
    started = time.perf_counter()
    catchment_km = float(catchment)
    demand, supply = read(demand_path), read(supply_path)
    costs = straight_line_costs(demand, supply, catchment_km)
    scores = two_stage_fca(demand, supply, costs, catchment_km)
    scores = scores.reindex(demand["id"]).fillna(0.0)
    pd.DataFrame({"id": demand["id"], "score": scores.to_numpy()}).to_csv(out_path, index=False)
    print(
        f"access: {len(demand):,} demand points, {len(costs):,} pairs, "
        f"{time.perf_counter() - started:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
