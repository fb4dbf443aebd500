"""SYNTHETIC listing rows for benchmarks: fictitious services at real postal-code points.

Nothing here describes a real service. Every row is labelled as synthetic in its name
("SYNTHETIC service 00042"), its organisation, its ``source_id`` ("SYN-00042") and its
``source_dataset`` ("SYNTHETIC benchmark data — not real services"); phone numbers are in the
fictitious 555-01xx range.

Locations: an FSA is drawn with probability proportional to its 2016 population
(``data/gazetteer/fsa_centroids_geonames_pop2016.csv``), then a postal code uniformly among that
FSA's full codes (``data/gazetteer/postal_codes_geonames_ca.csv.gz``). Half of the rows carry
coordinates (the postal point moved by less than 100 m); the other half carry none, so the ETL
geocodes them from the postal code. Province and city come from the postal code's gazetteer row.

The file is written with a ``.source.toml`` sidecar (title and "licence" say it is synthetic) and
the ETL is pointed at an overlay of ``data/`` that adds a vocabulary mapping for the synthetic
source (a copy of the ``service_listings_shared`` mapping), so category and population values
map to codes exactly as they do for the real listings.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261129
DEFAULT_ROWS = 10_000
SOURCE_NAME = "synthetic_listings"
SOURCE_DATASET = "SYNTHETIC benchmark data — not real services"
REFERENCE_MAPPING = "service_listings_shared"
MAX_NOISE_M = 90.0  # coordinates are moved by less than this (brief: < 100 m)
METRES_PER_DEGREE_LAT = 111_320.0

# The header of data/listings/service_listings_shared.csv, in its order.
COLUMNS = [
    "source_id", "name", "organization", "service_category", "population_served",
    "program_type", "street_address", "city", "province", "postal_code", "latitude",
    "longitude", "coord_source", "address_confidential", "capacity", "as_of", "source_dataset",
    "facility", "phone", "hours", "languages", "accessibility", "occupancy_population",
    "programs_on_site", "beds_yr_rnd_all", "beds_yr_rnd_women", "beds_yr_rnd_youth", "beds_temp",
]  # fmt: skip
SERVICE_CATEGORIES = ["emergency_shelter", "drop_in", "youth_services"]
CATEGORY_WEIGHTS = [0.75, 0.18, 0.07]
# The population_served values the service_listings_shared mapping knows ('' = not given).
POPULATIONS = ["", "Single Men", "Single Women", "Youth", "Family", "Mixed Adult"]
POPULATION_WEIGHTS = [0.6, 0.1, 0.1, 0.08, 0.07, 0.05]
PROGRAM_TYPES = ["bed-based", "Single", "room-based", "", "Family"]
PROGRAM_WEIGHTS = [0.45, 0.25, 0.12, 0.12, 0.06]
HOURS = [
    "",
    "Mon-Sun 24 hours",
    "Mon-Fri 9 am-5 pm",
    "Mon-Sun 24 hours * assessments Mon-Fri 9 am-5 pm",
]
HOURS_WEIGHTS = [0.8, 0.12, 0.05, 0.03]
LANGUAGES = ["", "English", "English ; French", "Français ; English ; interpreters may be arranged"]
LANGUAGE_WEIGHTS = [0.85, 0.07, 0.05, 0.03]
ACCESSIBILITY = [
    "",
    "Wheelchair accessible main entrance ; Barrier-free washroom including door and stall",
    "Street parking * Easy access to elevator",
]
ACCESSIBILITY_WEIGHTS = [0.88, 0.08, 0.04]
# Area codes per province, for fictitious 555-01xx numbers.
AREA_CODES = {
    "NL": ["709"], "PE": ["902"], "NS": ["902", "782"], "NB": ["506"],
    "QC": ["514", "438", "418", "819", "450"], "ON": ["416", "647", "613", "705", "519", "905"],
    "MB": ["204"], "SK": ["306"], "AB": ["403", "780", "587"], "BC": ["604", "250", "778"],
    "YT": ["867"], "NT": ["867"], "NU": ["867"],
}  # fmt: skip
STREETS = ["Example St", "Sample Ave", "Placeholder Rd", "Test Blvd", "Fictional Cres"]


@dataclass(frozen=True)
class SyntheticListings:
    """Where the rows were written, and facts about them for the report."""

    path: Path
    rows: int
    with_coordinates: int
    fsas_sampled: int
    fsas_without_postal_codes: int


def _postal_codes_by_fsa(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(FSAs with a population and at least one full postal code, the postal-code table)."""
    postal = pd.read_csv(
        data_dir / "gazetteer/postal_codes_geonames_ca.csv.gz",
        dtype={"postal_code": str, "place_name": str, "province_abbr": str},
        keep_default_na=False,
    )
    postal["fsa"] = postal["postal_code"].str[:3]
    fsas = pd.read_csv(
        data_dir / "gazetteer/fsa_centroids_geonames_pop2016.csv",
        dtype={"fsa": str},
        keep_default_na=False,
    )
    fsas["pop2016"] = pd.to_numeric(fsas["pop2016"], errors="coerce").fillna(0)
    fsas = fsas[fsas["pop2016"] > 0]
    return fsas, postal.sort_values("postal_code", kind="stable").reset_index(drop=True)


def _weighted(rng: np.random.Generator, values: list[str], weights: list[float], n: int) -> list:
    p = np.asarray(weights, dtype=float)
    return list(rng.choice(np.asarray(values, dtype=object), size=n, p=p / p.sum()))


def generate_rows(
    data_dir: Path, n: int = DEFAULT_ROWS, seed: int = SEED
) -> tuple[list[dict], dict]:
    """``n`` synthetic rows (dicts keyed by :data:`COLUMNS`) and facts about the sampling."""
    rng = np.random.default_rng(seed)
    fsas, postal = _postal_codes_by_fsa(data_dir)
    groups = postal.groupby("fsa", sort=True).indices  # fsa -> positions in `postal`
    has_codes = fsas["fsa"].isin(groups.keys())
    usable = fsas[has_codes].reset_index(drop=True)
    weights = usable["pop2016"].to_numpy(float)
    chosen_fsas = rng.choice(usable["fsa"].to_numpy(object), size=n, p=weights / weights.sum())
    picks = np.array([rng.choice(groups[fsa]) for fsa in chosen_fsas])
    points = postal.iloc[picks]
    codes_col = points["postal_code"].tolist()
    places_col = points["place_name"].tolist()
    provinces_col = points["province_abbr"].tolist()
    lats_col = points["latitude"].to_numpy(float)
    lons_col = points["longitude"].to_numpy(float)

    with_coords = rng.permutation(n) < n // 2  # exactly half carry coordinates
    distances = rng.uniform(0.0, MAX_NOISE_M, n)
    bearings = rng.uniform(0.0, 2 * math.pi, n)
    categories = _weighted(rng, SERVICE_CATEGORIES, CATEGORY_WEIGHTS, n)
    populations = _weighted(rng, POPULATIONS, POPULATION_WEIGHTS, n)
    programs = _weighted(rng, PROGRAM_TYPES, PROGRAM_WEIGHTS, n)
    hours = _weighted(rng, HOURS, HOURS_WEIGHTS, n)
    languages = _weighted(rng, LANGUAGES, LANGUAGE_WEIGHTS, n)
    accessibility = _weighted(rng, ACCESSIBILITY, ACCESSIBILITY_WEIGHTS, n)
    capacities = rng.integers(5, 201, n)
    occupancy = (capacities * rng.uniform(0.5, 1.05, n)).astype(int)
    confidential = rng.random(n) < 0.05
    has_phone = rng.random(n) < 0.9
    phone_suffix = rng.integers(0, 100, n)
    area_pick = rng.integers(0, 1_000, n)
    organizations = rng.integers(0, max(n // 4, 1), n)
    street_numbers = rng.integers(1, 9_999, n)
    streets = rng.integers(0, len(STREETS), n)
    as_of_days = rng.integers(0, 365, n)
    start = dt.date(2025, 1, 1)

    rows = []
    for i in range(n):
        province = provinces_col[i]
        latitude = longitude = ""
        if with_coords[i]:
            lat, lon = float(lats_col[i]), float(lons_col[i])
            dlat = distances[i] * math.cos(bearings[i]) / METRES_PER_DEGREE_LAT
            dlon = (
                distances[i] * math.sin(bearings[i])
                / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
            )  # fmt: skip
            latitude, longitude = f"{lat + dlat:.6f}", f"{lon + dlon:.6f}"
        codes = AREA_CODES[province]
        phone = f"{codes[area_pick[i] % len(codes)]}-555-01{phone_suffix[i]:02d}"
        number = f"{i:05d}"
        rows.append(
            {
                "source_id": f"SYN-{number}",
                "name": f"SYNTHETIC service {number}",
                "organization": f"SYNTHETIC organization {organizations[i]:05d}",
                "service_category": categories[i],
                "population_served": populations[i],
                "program_type": programs[i],
                "street_address": f"{street_numbers[i]} {STREETS[streets[i]]} (SYNTHETIC)",
                "city": places_col[i],
                "province": province,
                "postal_code": codes_col[i],
                "latitude": latitude,
                "longitude": longitude,
                "coord_source": (
                    "SYNTHETIC: gazetteer postal-code point plus < 100 m of noise"
                    if with_coords[i]
                    else ""
                ),
                "address_confidential": "True" if confidential[i] else "False",
                "capacity": str(capacities[i]),
                "as_of": (start + dt.timedelta(days=int(as_of_days[i]))).isoformat(),
                "source_dataset": SOURCE_DATASET,
                "facility": "",
                "phone": phone if has_phone[i] else "",
                "hours": hours[i],
                "languages": languages[i],
                "accessibility": accessibility[i],
                "occupancy_population": str(occupancy[i]),
                "programs_on_site": "",
                "beds_yr_rnd_all": str(capacities[i]),
                "beds_yr_rnd_women": "0",
                "beds_yr_rnd_youth": "0",
                "beds_temp": "0",
            }
        )
    facts = {
        "with_coordinates": int(with_coords.sum()),
        "fsas_sampled": len(set(chosen_fsas)),
        "fsas_without_postal_codes": int((~has_codes).sum()),
    }
    return rows, facts


def write_listings(
    directory: Path, data_dir: Path, n: int = DEFAULT_ROWS, seed: int = SEED
) -> SyntheticListings:
    """Write ``directory/synthetic_listings.csv`` and its ``.source.toml`` sidecar."""
    rows, facts = generate_rows(data_dir, n, seed)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{SOURCE_NAME}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (directory / f"{SOURCE_NAME}.source.toml").write_text(
        f'name = "{SOURCE_NAME}"\n'
        f'title = "{SOURCE_DATASET}"\n'
        'licence = "none: SYNTHETIC data generated by bench/synthetic.py"\n'
        'attribution = "SYNTHETIC; locations from GeoNames postal codes (CC BY 4.0)"\n'
        'url = ""\n',
        encoding="utf-8",
    )
    return SyntheticListings(path, len(rows), **facts)


def overlay_data_dir(target: Path, data_dir: Path) -> Path:
    """A copy-by-symlink of ``data_dir`` whose vocabulary also maps the synthetic source.

    Everything is a symlink to the real files except ``vocabulary/mappings``, which gains
    ``synthetic_listings.toml``: the ``service_listings_shared`` mapping under the synthetic
    source's name. The real ``data/`` is not touched.
    """
    target.mkdir(parents=True, exist_ok=True)
    for entry in data_dir.resolve().iterdir():
        if entry.name != "vocabulary":
            (target / entry.name).symlink_to(entry)
    vocabulary = target / "vocabulary"
    mappings = vocabulary / "mappings"
    mappings.mkdir(parents=True)
    real_vocabulary = data_dir.resolve() / "vocabulary"
    for entry in real_vocabulary.iterdir():
        if entry.name != "mappings":
            (vocabulary / entry.name).symlink_to(entry)
    for entry in (real_vocabulary / "mappings").iterdir():
        (mappings / entry.name).symlink_to(entry)
    reference = (real_vocabulary / "mappings" / f"{REFERENCE_MAPPING}.toml").read_text("utf-8")
    renamed = reference.replace(f'name = "{REFERENCE_MAPPING}"', f'name = "{SOURCE_NAME}"', 1)
    if renamed == reference:
        raise RuntimeError(f"cannot find the [source] name line in {REFERENCE_MAPPING}.toml")
    (mappings / f"{SOURCE_NAME}.toml").write_text(
        "# SYNTHETIC benchmark source: a copy of the service_listings_shared mapping.\n" + renamed,
        encoding="utf-8",
    )
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m bench synthetic [--rows N] [--out DIR]``: write the CSV and print its path."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench synthetic", description=__doc__)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args(argv)
    listings = write_listings(args.out, args.data_dir, args.rows)
    print(f"wrote {listings.rows} SYNTHETIC rows to {listings.path}")
    return 0
