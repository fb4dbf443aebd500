"""The planner's figures on the national data: Nunavut's people are counted where they live,
and merged records are counted once in beds per 100,000."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from caremap.coverage.accessibility import Points
from caremap.coverage.indicators import (
    FSA_FILE,
    LevelContext,
    Selection,
    _nearest_km,
    fsa_demand,
)
from etl.pipeline import run
from tests.conftest import DATA_DIR, stores_of
from tests.test_area_answers import _load_national

NUNAVUT = "62"
TODAY = dt.date(2026, 12, 1)
SHELTERS = Selection(level="province", service_types=frozenset({"emergency_shelter"}))


@pytest.fixture(scope="module")
def national_url(backend) -> str:
    return stores_of(backend).template("national", _load_national)[0]


@pytest.fixture(scope="module")
def provinces(national_url) -> LevelContext:
    from caremap.store import open_store

    store = open_store(national_url)
    try:
        yield LevelContext(store, DATA_DIR, "province", TODAY)
    finally:
        store.dispose()


def test_nunavuts_people_are_where_its_communities_are(provinces):
    """Before: X0A's centroid (18,958 people, Iqaluit's FSA) lies at 79.6° N on Ellesmere
    Island, X0B's and X0C's far from their hamlets: 100 % of Nunavut was "beyond reach" of
    the shelters of Iqaluit and Rankin Inlet. After: 68 %, the people of the hamlets
    without a shelter in the data."""
    raw = pd.read_csv(DATA_DIR / FSA_FILE, dtype={"fsa": str})
    raw = raw[raw["province_abbr"] == "NU"]
    evaluation = provinces.evaluate(SHELTERS)
    sites = _shelter_sites(provinces)
    before = _nearest_km(
        Points(
            raw["fsa"].to_numpy(object),
            raw["latitude"].to_numpy(float),
            raw["longitude"].to_numpy(float),
            raw["pop2016"].to_numpy(float),
        ),
        sites,
    )
    assert (before > SHELTERS.threshold_km).all()  # the old figure: 100 % beyond reach
    [nunavut] = [row for row in evaluation.indicators() if row.code == NUNAVUT]
    # Nunavut's 35,944 (2016), give or take a hamlet whose postal codes are another FSA's
    assert nunavut.population == pytest.approx(raw["pop2016"].sum(), rel=0.05)
    assert nunavut.share_beyond is not None and nunavut.share_beyond < 0.8
    assert nunavut.share_beyond > 0.2  # most hamlets have no shelter in the data


def test_every_fsas_people_are_kept_when_moved_to_its_communities():
    raw = pd.read_csv(DATA_DIR / FSA_FILE, dtype={"fsa": str}).dropna(subset=["pop2016"])
    moved = fsa_demand(DATA_DIR)
    assert moved.groupby("fsa")["pop2016"].sum().round(6).to_dict() == pytest.approx(
        raw.set_index("fsa")["pop2016"].to_dict()
    )
    iqaluit = moved[(moved["fsa"] == "X0A") & (moved["latitude"].between(63.7, 63.8))]
    assert len(iqaluit) == 1 and iqaluit["pop2016"].iloc[0] > 5_000
    toronto = moved[moved["fsa"] == "M5V"]
    assert len(toronto) == 1  # an FSA whose centroid lies among its postal codes keeps it


def _shelter_sites(context: LevelContext) -> Points:
    supply = context.supply
    shelters = np.array(["emergency_shelter" in types for types in supply.service_types])
    sites = shelters[supply.service]
    return Points(
        np.arange(sites.sum()),
        supply.latitude[sites],
        supply.longitude[sites],
        np.ones(sites.sum()),
    )


def test_the_planners_any_type_view_says_why_nothing_is_covered(client):
    """No source lists every type completely: with no type chosen nothing can be covered or a
    desert, and the page says so and offers the types a source does list completely."""
    for lang, said, shelter in (
        ("en", "no source lists every type completely anywhere", "Emergency shelter"),
        ("fr", "aucune source ne liste tous les types au complet nulle part", "Refuge d"),
    ):
        page = client.get(f"/planner/?lang={lang}&level=census_division").text
        note = re.search(r'<p class="note" id="any-type-note">(.*?)</p>', page, re.S)
        assert note and said in note.group(1)
        assert re.search(rf'href="[^"]*service_type=emergency_shelter">{shelter}', note.group(1))
    chosen = client.get("/planner/?lang=en&level=census_division&service_type=emergency_shelter")
    assert "any-type-note" not in chosen.text and "data: complete" in chosen.text


MERGED_HEADER = (
    "source_id,name,organization,service_category,population_served,street_address,city,"
    "province,postal_code,latitude,longitude,address_confidential,capacity,as_of,phone\n"
)
SHELTER = (
    "Fictional Lakeside Shelter (test),Fictional Lakeside Society,emergency_shelter,women,"
    "1 Lake St,Kenora,ON,P9N 1A1,49.7670,-94.4894,False,17,{as_of},807-555-0100\n"
)


def test_a_merged_pair_s_beds_count_once_per_100000(empty_store, tmp_path):
    """Two sources list one Kenora shelter with 17 beds: one entry, 17 beds in Ontario's beds
    per 100,000 (the completeness table) and in the planner's beds (indicators)."""
    from caremap.coverage.completeness import completeness
    from caremap.matching import merges

    paths = []
    for name, as_of in (("first_list", "2026-01-01"), ("second_list", "2026-06-01")):
        path = tmp_path / f"{name}.csv"
        path.write_text(MERGED_HEADER + f"{name}-1," + SHELTER.format(as_of=as_of))
        paths.append(path)
    run(empty_store, paths, DATA_DIR, tmp_path / "reports", progress=False)
    with empty_store.engine.connect() as connection:
        assert len(merges(connection)) == 1
    [ontario] = [row for row in completeness(empty_store, DATA_DIR) if row.code == "35"]
    assert (ontario.places, ontario.beds) == (1, 17)
    assert ontario.beds_per_100k == pytest.approx(17 / ontario.population * 100_000)
    rows = LevelContext(empty_store, DATA_DIR, "province", TODAY).evaluate(SHELTERS)
    [planned] = [row for row in rows.indicators() if row.code == "35"]
    assert (planned.services, planned.beds) == (1, 17)
