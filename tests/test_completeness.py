"""Completeness per province and territory (issue 13, section 6) on the national shelter list,
both stores: places by type and source, beds, beds per 100,000, and the reference count."""

from __future__ import annotations

import csv
import re

import pytest
from click.testing import CliRunner

from caremap.coverage.completeness import (
    TABLE_END,
    TABLE_START,
    completeness,
    read_reference,
)
from caremap_cli import main
from tests.conftest import DATA_DIR, LISTINGS, copy_of
from tests.test_national import NSPL_LOADED, UNPLACED, _load_nspl

NSPL = LISTINGS / "nspl_2024.csv"


@pytest.fixture
def national(backend, tmp_path):
    with copy_of(backend, "nspl", _load_nspl, tmp_path) as made:
        return {row.code: row for row in completeness(made.store, DATA_DIR)}


def test_prince_edward_island_checked_by_hand(national):
    # nspl_2024.csv, ProvCode PE: 6 emergency shelters (8+50+10+10+4+6 = 88 beds) and 4
    # transitional programmes (18+5+6+22 = 51 beds) in Charlottetown and Summerside; 2021
    # population 154,331; Statistics Canada counted 5 shelters for victims of abuse (2007/08).
    pe = national["11"]
    assert (pe.name_en, pe.name_fr) == ("Prince Edward Island", "Île-du-Prince-Édouard")
    assert (pe.places, pe.beds, pe.population) == (10, 139, 154_331)
    assert pe.beds_per_100k == pytest.approx(90.07, abs=0.01)
    assert pe.by_type == {"emergency_shelter": 6, "transitional_housing": 4}
    assert pe.by_source == {"nspl_2024": 10}
    assert pe.reference is not None and pe.reference.facilities == 5


def placed_rows() -> list[dict[str, str]]:
    """The NSPL rows the ETL places (all but the UNPLACED lines), by their first line."""
    with NSPL.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows, line = [], reader.line_num + 1
        for row in reader:
            if line not in UNPLACED:
                rows.append(row)
            line = reader.line_num + 1
    return rows


def test_every_jurisdiction_has_places_and_sane_beds(national):
    rows = placed_rows()
    assert {code: row.places for code, row in national.items()} == NSPL_LOADED
    assert sum(r.places for r in national.values()) == len(rows) == 1_092
    assert sum(r.beds for r in national.values()) == sum(int(r["Beds"] or 0) for r in rows)
    for row in national.values():
        assert row.beds_per_100k is not None and 5 < row.beds_per_100k < 1_000, row.name_en


def test_the_reference_names_jurisdictions_published_together():
    references = read_reference(DATA_DIR)
    assert len(references) == 13
    assert references["61"] == references["62"]
    assert references["61"].jurisdictions == ("61", "62")
    assert sum({r.jurisdictions: r.facilities for r in references.values()}.values()) == 569


def test_the_table_command_rewrites_only_its_part_of_a_file(empty_store_url, tmp_path):
    page = tmp_path / "coverage.md"
    page.write_text(f"# Before\n{TABLE_START}\nold\n{TABLE_END}\nAfter\n", encoding="utf-8")
    env = {"CAREMAP_DATABASE_URL": empty_store_url, "CAREMAP_INSTANCE_DIR": str(tmp_path)}
    runner = CliRunner()
    assert runner.invoke(main, ["etl", "run", str(NSPL)], env=env).exit_code == 0
    result = runner.invoke(main, ["coverage", "table", "--write", str(page)], env=env)
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Before\n") and text.endswith(f"{TABLE_END}\nAfter\n")
    assert "old" not in text
    assert (
        "| Prince Edward Island | 10 | 139 | 90.1 | Emergency shelter 6, Transitional housing 4 "
        "| nspl_2024 10 | 5 |"
    ) in text
    assert (
        "| Northwest Territories |" in text
        and "(Northwest Territories and Nunavut together)" in text
    )
    printed = runner.invoke(main, ["coverage", "table"], env=env)
    assert printed.output in text
    bad = tmp_path / "no_markers.md"
    bad.write_text("nothing here\n", encoding="utf-8")
    refused = runner.invoke(main, ["coverage", "table", "--write", str(bad)], env=env)
    assert refused.exit_code != 0 and "no <!-- caremap coverage table -->" in refused.output
    assert bad.read_text(encoding="utf-8") == "nothing here\n"


def completeness_rows(html: str) -> dict[str, list[str]]:
    table = re.search(r'<table class="indicators completeness"[^>]*>(.*?)</table>', html, re.DOTALL)
    assert table, "no completeness table"
    rows = re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', table.group(1), re.DOTALL)
    return {name: re.findall(r"<td>(.*?)</td>", cells, re.DOTALL) for name, cells in rows}


def test_the_planner_shows_completeness_by_province_in_both_languages(client):
    english = client.get("/planner/?lang=en&level=province").get_data(as_text=True)
    assert "How complete the data is" in english
    rows = completeness_rows(english)
    assert len(rows) == 13
    # The six Capital Regional District shelters, 315 beds; BC had 5,000,879 people in 2021.
    assert rows["British Columbia"] == [
        "6", "315", "6.3", "Emergency shelter 6", "service_listings_shared 6", "110",
    ]  # fmt: skip
    assert rows["Nunavut"][-1] == "7 (with Northwest Territories)"
    french = client.get("/planner/?lang=fr&level=province").get_data(as_text=True)
    assert "Complétude des données" in french and "Par type de service" in french
    rows = completeness_rows(french)
    assert rows["Colombie-Britannique"][3] == "Refuge d&#39;urgence 6"
    assert rows["Nunavut"][-1] == "7 (avec Territoires du Nord-Ouest)"
    other_level = client.get("/planner/?lang=fr").get_data(as_text=True)
    assert 'class="indicators completeness"' not in other_level
    assert "Lieux et lits répertoriés par province et territoire" in other_level
