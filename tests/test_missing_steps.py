"""The planner's missing-step indicator on a hand-checked case, on both stores: shelters in
Kenora, Toronto and Montréal; the one sexual assault centre is in Toronto. Kenora's and
Montréal's census divisions (over 1,000 and about 500 km away) miss the step, Toronto's does
not, and Ottawa's (no shelter) has no step to miss."""

from __future__ import annotations

import datetime as dt
import html
import re

from caremap.coverage.continuum import STEPS, missing_steps
from caremap.coverage.indicators import LevelContext
from tests.support.data import CONFIDENTIAL_FIXTURE, DATA_DIR
from tests.test_service_links import LISTINGS, load

TODAY = dt.date(2026, 12, 4)
KENORA, TORONTO, MONTREAL, OTTAWA = "3560", "3520", "2466", "3506"


def test_shelters_without_a_sexual_assault_centre_within_100_km(empty_store, tmp_path):
    load(empty_store, tmp_path, LISTINGS, CONFIDENTIAL_FIXTURE)
    context = LevelContext(empty_store, DATA_DIR, "census_division", TODAY)
    rows = {r.code: r for r in missing_steps(context, STEPS["shelter_to_sexual_assault_centre"])}
    assert rows[KENORA].have == 1 and rows[KENORA].share_beyond == 1.0 and rows[KENORA].missing
    assert rows[MONTREAL].have == 4 and rows[MONTREAL].missing
    assert rows[TORONTO].have == 1 and rows[TORONTO].share_beyond == 0.0
    assert not rows[TORONTO].missing
    assert rows[OTTAWA].have == 0 and not rows[OTTAWA].missing
    assert sum(r.missing for r in rows.values()) == 2
    # No source lists sexual assault centres completely: an absence from the data.
    assert rows[KENORA].status != "covered"
    legal = {r.code: r for r in missing_steps(context, STEPS["shelter_to_legal_aid"])}
    assert {code for code, r in legal.items() if r.missing} == {KENORA, TORONTO, MONTREAL}
    assert [rows[c].name_en for c in (KENORA, TORONTO, MONTREAL, OTTAWA)] == [
        "Kenora",
        "Toronto",
        "Montréal",
        "Ottawa",
    ]


def test_the_planner_page_lists_the_missing_steps_in_english_and_french(
    make_app, empty_store, empty_store_url, tmp_path
):
    load(empty_store, tmp_path, LISTINGS, CONFIDENTIAL_FIXTURE)
    client = make_app(empty_store_url).test_client()
    page = html.unescape(client.get("/planner/continuum?lang=en").get_data(as_text=True))
    assert "Missing steps of the continuum of care" in page and "Kenora" in page
    assert "2 jurisdictions miss this step" in page
    french = html.unescape(client.get("/planner/continuum?lang=fr").get_data(as_text=True))
    assert "Étapes manquantes du continuum de soins" in french and "Kenora" in french
    bad = client.get("/planner/continuum?step=<script>")
    assert bad.status_code == 400 and "<script>" not in bad.get_data(as_text=True)


def test_a_census_division_is_named_with_its_province(
    make_app, empty_store, empty_store_url, tmp_path
):
    load(empty_store, tmp_path, LISTINGS, CONFIDENTIAL_FIXTURE)
    client = make_app(empty_store_url).test_client()
    for lang, name in (
        ("en", r"Division No\.\s+1 \(Newfoundland and Labrador\)"),
        ("fr", r"Division no\s+1 \(Terre-Neuve-et-Labrador\)"),
    ):
        url = f"/planner/continuum?level=census_division&lang={lang}"
        page = html.unescape(client.get(url).get_data(as_text=True))
        assert re.search(name, page), lang
