"""The continuum of care on both stores: links between services loaded from a links file after
the listings (bad rows reported with their line and reason), shown on both ends of the link in
English and French, nearest the origin first, a confidential linked service by its public
point and intake line only."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from caremap.hsds.package import export_package
from caremap.links import continuum, service_of_record
from caremap.model import Service, ServiceLink
from caremap.store import open_store
from etl.pipeline import run
from tests.conftest import MIGRATED, stores_of
from tests.support.data import CONFIDENTIAL_FIXTURE, DATA_DIR, TEST_DATA

FIXTURES = TEST_DATA / "continuum"
LISTINGS = FIXTURES / "continuum_listings.csv"
LINKS = FIXTURES / "continuum_links.csv"
SOURCE = "continuum_listings"


def load(store, tmp_path: Path, *paths: Path):
    return run(store, [*paths], DATA_DIR, tmp_path / "reports", progress=False)


@pytest.fixture
def linked(empty_store, empty_store_url, tmp_path):
    reports = load(empty_store, tmp_path, LISTINGS, CONFIDENTIAL_FIXTURE, LINKS)
    return empty_store, reports, empty_store_url


def ids(store, *records: tuple[str, str]) -> list[str]:
    with store.session() as session:
        return [service_of_record(session, source, record) for source, record in records]


def test_links_load_after_the_listings_and_bad_rows_are_reported(linked, tmp_path):
    store, reports, _ = linked
    links = next(r for r in reports if r.source == "continuum_links")
    assert links.loaded == 3
    assert [(row.line, row.field) for row in links.rejected] == [
        (5, "to_source_id"),
        (6, "link_type"),
        (7, ""),
    ]
    assert "no service was loaded from 'continuum_listings' record 'NO-SUCH-ROW'" in (
        links.rejected[0].reason
    )
    assert "'sends_to' is not a type of link" in links.rejected[1].reason
    with links.rejected_csv.open(encoding="utf-8") as handle:
        assert [row["line"] for row in csv.DictReader(handle)] == ["5", "6", "7"]
    # Loading again replaces the file's links: nothing doubles.
    again = load(store, tmp_path, LINKS)
    assert [r.loaded for r in again] == [3]
    with store.session() as session:
        assert len(session.scalars(select(ServiceLink)).all()) == 3


def test_a_link_shows_on_both_ends_nearest_first_in_english_and_french(linked):
    store, _, _ = linked
    a, b, c, safe = ids(
        store,
        (SOURCE, "LINK-A"),
        (SOURCE, "LINK-B"),
        (SOURCE, "LINK-C"),
        ("confidential_listings", "TEST-SAFE-1"),
    )
    ottawa = (45.4215, -75.6972)
    with store.session() as session:
        from_a = continuum(session, a, "en", ottawa)
        assert [s.service.id for s in from_a.next_steps] == [b, safe, c]  # Ottawa first
        assert from_a.next_steps[0].reason == "Legal help after a sexual assault"
        assert from_a.referred_from == []
        toronto = continuum(session, a, "fr", (43.65, -79.38))
        assert [s.service.id for s in toronto.next_steps] == [safe, c, b]
        assert toronto.next_steps[2].reason == "Aide juridique après une agression sexuelle"
        at_b = continuum(session, b, "fr", None)
        assert [(s.service.id, s.reason) for s in at_b.referred_from] == [
            (a, "Aide juridique après une agression sexuelle")
        ]
        at_c = continuum(session, c, "en", None)
        assert [(s.service.id, s.reason) for s in at_c.referred_from] == [
            (a, "Court support for survivors")
        ]
        # The safe house is at its public point, never its exact one.
        [step] = [s for s in from_a.next_steps if s.service.id == safe]
        assert step.location is not None and step.location.confidential
        assert step.reason is not None and "Safe housing" in step.reason
        assert "Fictional Lane" not in step.reason  # the file's reason names the street
        assert (step.location.latitude, step.location.longitude) != (43.66813, -79.44498)


def link_names(store) -> list[tuple[str, str, str, str | None, str | None]]:
    """Every link as (from name, to name, type, reasons), in order."""
    with store.session() as session:
        names = dict(session.execute(select(Service.id, Service.name)).all())
        rows = session.scalars(select(ServiceLink)).all()
        return sorted(
            (
                names[r.from_service_id],
                names[r.to_service_id],
                r.link_type,
                r.description,
                r.description_fr,
            )
            for r in rows
        )


def test_links_export_to_hsds_and_the_import_reads_them_back(linked, backend, tmp_path):
    store, _, _ = linked
    first = tmp_path / "first"
    counts = export_package(store, DATA_DIR, first)
    assert counts.rows["service_link"] == 3
    descriptor = json.loads((first / "datapackage.json").read_text(encoding="utf-8"))
    [resource] = [r for r in descriptor["resources"] if r["name"] == "service_link"]
    assert resource["path"] == "service_links.csv"
    assert "caremap extension" in resource["description"]
    exported = (first / "service_links.csv").read_text(encoding="utf-8")
    assert "77 Fictional Lane" not in exported and "Aide juridique" in exported
    # Published without the confidential street its reason named in the file.
    expected = [
        tuple(v.replace(" at 77 Fictional Lane", "") if v else v for v in link)
        for link in link_names(store)
    ]
    (tmp_path / "b").mkdir()
    with stores_of(backend).copy(MIGRATED, tmp_path / "b") as (url, _):
        second = open_store(url)
        try:
            [report] = run(second, [first], DATA_DIR, tmp_path / "reports", False)
            assert not report.rejected, report.rejected
            assert link_names(second) == expected
            again = run(second, [first], DATA_DIR, tmp_path / "reports", False)
            assert not again[0].rejected and link_names(second) == expected
        finally:
            second.dispose()


def test_the_hsds_api_serves_the_links(linked, make_app):
    store, _, url = linked
    client = make_app(url).test_client()
    page = client.get("/hsds/service_links").get_json()
    assert page["total_items"] == 3
    assert {row["link_type"] for row in page["contents"]} == {"refers_to", "receives_from"}
    [a] = ids(store, (SOURCE, "LINK-A"))
    mine = client.get("/hsds/service_links", query_string={"service_id": a}).get_json()
    assert [row["from_service_id"] for row in mine["contents"]] == [a, a]
