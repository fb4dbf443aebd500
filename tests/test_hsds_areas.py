"""Services that serve an area (the help lines) in HSDS 3.0: the API and ``caremap export hsds``
carry their ``service_areas``, both still follow the official schemas, and the HSDS import reads
``service_areas.csv`` back."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from caremap.hsds.package import TABLES, export_package
from caremap.store import Store, open_store
from etl.pipeline import run
from tests.conftest import (
    CONFIDENTIAL_FIXTURE,
    DATA_DIR,
    LISTINGS,
    MIGRATED,
    Copy,
    copy_of,
    stores_of,
)
from tests.hsds_schemas import errors, standard_resources, typed_rows
from tests.test_hsds_import import read_package

HELPLINES = LISTINGS / "helplines.csv"


def _load_lines(store: Store, _url: str, reports: Path) -> None:
    loaded = run(store, [HELPLINES, CONFIDENTIAL_FIXTURE], DATA_DIR, reports, False)
    assert all(not report.rejected for report in loaded)


@pytest.fixture
def lines_copy(backend, tmp_path) -> Iterator[Copy]:
    """A store of the test's own with the help lines and the confidential fixture (places and
    lines side by side)."""
    with copy_of(backend, "lines", _load_lines, tmp_path) as made:
        yield made


@pytest.fixture
def lines_store(lines_copy) -> Store:
    return lines_copy.store


def area_entries(folder: Path) -> list[dict]:
    """Each service that has service areas, with its areas and phones, ids left out (so rows
    in a stable order)."""
    tables = read_package(folder)
    ids = {"id", "service_id", "organization_id", "last_modified"}

    def strip(row: dict) -> dict:
        return {key: value for key, value in row.items() if key not in ids}

    def of(table: str, service_id: str) -> list[dict]:
        rows = [strip(row) for row in tables[table] if row["service_id"] == service_id]
        return sorted(rows, key=json.dumps)

    entries = [
        {
            "service": strip(service),
            "areas": of("service_area", service["id"]),
            "phones": of("phone", service["id"]),
        }
        for service in tables["service"]
    ]
    entries = [entry for entry in entries if entry["areas"]]
    return sorted(entries, key=json.dumps)


def test_the_export_carries_the_41_lines_with_their_service_areas(lines_store, tmp_path):
    counts = export_package(lines_store, DATA_DIR, tmp_path)
    assert "service_area" in TABLES
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    resource = next(r for r in descriptor["resources"] if r["name"] == "service_area")
    assert resource == standard_resources()["service_area"]
    rows = typed_rows(tmp_path, resource)
    assert len(rows) == counts.rows["service_area"]
    for row in rows:
        assert not errors("service_area.json", row), (row, errors("service_area.json", row))
    assert len({row["service_id"] for row in rows}) == 41
    canada = [row for row in rows if row["name"] == "Canada"]
    assert len(canada) == 8 and {row["uri"] for row in canada} == {"urn:iso:std:iso:3166:CA"}
    nunavut = {row["uri"] for row in rows if row["name"] == "Nunavut"}
    assert nunavut == {"urn:iso:std:iso:3166:-2:CA-NU"}
    # The lines have no location: no service_at_location, no location of theirs.
    tables = read_package(tmp_path)
    linked = {row["service_id"] for row in tables["service_at_location"]}
    assert not linked & {row["service_id"] for row in rows}


def test_the_api_nests_the_service_areas_and_follows_the_schemas(lines_copy, make_app):
    client = make_app(lines_copy.url).test_client()
    page = client.get("/hsds/services?full=true&per_page=1000").get_json()
    assert not errors("Page", page)
    for item in page["contents"]:
        assert not errors("compiled/service.json", item), errors("compiled/service.json", item)
    kids = next(s for s in page["contents"] if s["name"] == "Kids Help Phone")
    assert [area["name"] for area in kids["service_areas"]] == ["Canada"]
    assert kids["service_at_locations"] == []
    one = client.get(f"/hsds/services/{kids['id']}").get_json()
    assert one["service_areas"] == kids["service_areas"]
    organizations = client.get("/hsds/organizations?full_service=true&per_page=1000").get_json()
    for item in organizations["contents"]:
        assert not errors("compiled/organization.json", item)


def test_export_then_import_round_trips_each_line_with_its_areas(lines_store, backend, tmp_path):
    first = tmp_path / "first"
    export_package(lines_store, DATA_DIR, first)
    (tmp_path / "b").mkdir()
    with stores_of(backend).copy(MIGRATED, tmp_path / "b") as (url, _):
        second_store = open_store(url)
        try:
            [report] = run(second_store, [first], DATA_DIR, tmp_path / "reports", False)
            assert not report.rejected, report.rejected
            second = tmp_path / "second"
            export_package(second_store, DATA_DIR, second)
            again = run(second_store, [first], DATA_DIR, tmp_path / "reports", False)
        finally:
            second_store.dispose()
    assert report.counts.inserted == 41 + len(read_package(first)["service_at_location"])
    assert area_entries(second) == area_entries(first)
    assert len(area_entries(second)) == 41
    assert again[0].counts.inserted == 0 and again[0].counts.updated == 0
    names = Counter(row["name"] for row in read_package(second)["service_area"])
    assert names["Canada"] == 8


def test_an_area_that_is_no_province_is_a_bad_row_and_the_rest_loads(
    lines_store, backend, tmp_path
):
    package = tmp_path / "package"
    export_package(lines_store, DATA_DIR, package)
    path = package / "service_areas.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    hostile = "<script>alert(1)</script>{{ 7*7 }}"
    rows[0] |= {"uri": "", "name": hostile}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "b").mkdir()
    with stores_of(backend).copy(MIGRATED, tmp_path / "b") as (url, _):
        store = open_store(url)
        try:
            [report] = run(store, [package], DATA_DIR, tmp_path / "reports", False)
        finally:
            store.dispose()
    [rejected] = report.rejected
    assert (rejected.file, rejected.line) == ("service_areas.csv", 2)
    assert rejected.reason == f"{hostile!r} is not a Canadian province or territory"
    assert report.counts.inserted == 40 + len(read_package(package)["service_at_location"])
