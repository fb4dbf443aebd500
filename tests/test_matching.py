"""Cross-source matching: the same shelter listed by the NSPL (at community level) and by the
City of Toronto list (at its address) is one public entry listing both sources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from caremap.matching import ACCEPTED, MERGED, REJECTED, REVIEWING, decide, match_counts
from caremap.model import ListingMatch, PublicListing, Service
from caremap.queries import public_services
from caremap.store import Store
from etl.pipeline import run
from tests.conftest import DATA_DIR, LISTINGS, Copy, copy_of
from tests.support.data import CONFIDENTIAL_FIXTURE
from tests.test_accounts import client_of, page_token

SOURCES = [LISTINGS / "nspl_2024.csv", LISTINGS / "service_listings_shared.csv"]
# Sagatay, in both files with 17 beds (NSPL ServiceProviderID 1379, City id TOR2026-068).
KNOWN_PAIR = ("nspl_2024", "1379", "service_listings_shared", "TOR2026-068")
# Two programmes of the Fred Victor Centre: the Women's Hostel and the Uptown Hotel.
KNOWN_NON_PAIR = ("nspl_2024", "1404", "service_listings_shared", "TOR2026-046")
# Youth Without Shelter's emergency programme: alike, but not sure (waits for review).
DOUBTFUL_PAIR = ("nspl_2024", "636", "service_listings_shared", "TOR2026-099")


def etl(store, report_dir):
    return run(store, SOURCES, DATA_DIR, report_dir, progress=False)


def _matched(store: Store, _url: str, reports: Path) -> None:
    etl(store, reports)


@pytest.fixture
def matched_copy(backend, tmp_path) -> Iterator[Copy]:
    """A store of the test's own with :data:`SOURCES` loaded (matched)."""
    with copy_of(backend, "matched", _matched, tmp_path) as made:
        yield made


@pytest.fixture
def matched(matched_copy) -> Store:
    return matched_copy.store


@pytest.fixture
def matched_url(matched_copy) -> str:
    return matched_copy.url


def status(store, key) -> str | None:
    with store.engine.connect() as connection:
        return connection.scalar(
            select(ListingMatch.status).where(
                ListingMatch.source_a == key[0],
                ListingMatch.record_a == key[1],
                ListingMatch.source_b == key[2],
                ListingMatch.record_b == key[3],
            )
        )


def listings_of(store, source: str, record_id: str) -> list[dict]:
    """The published features of a source's record."""
    with store.engine.connect() as connection:
        service_id = connection.scalar(
            select(Service.id).where(
                Service.source_name == source, Service.source_record_id == record_id
            )
        )
        features = connection.scalars(
            select(PublicListing.feature).where(PublicListing.service_id == service_id)
        )
        return [json.loads(feature) for feature in features]


def test_a_known_pair_merges_into_one_entry_listing_every_source(matched):
    assert status(matched, KNOWN_PAIR) == MERGED
    assert listings_of(matched, "nspl_2024", "1379") == []
    [entry] = listings_of(matched, "service_listings_shared", "TOR2026-068")
    properties = entry["properties"]
    assert properties["geocode_precision"] == "source_coordinates"  # the City's address
    assert [(s["source"], s["source_id"], s["as_of"]) for s in properties["sources"]] == [
        ("service_listings_shared", "TOR2026-068", "2026-04-08"),
        ("nspl_2024", "1379", "2024-06-12"),
    ]
    assert properties["sources"][1]["licence"] == "Open Government Licence – Canada 2.0"


def test_a_known_non_pair_does_not_merge(matched):
    assert status(matched, KNOWN_NON_PAIR) != MERGED
    for source, record_id in (KNOWN_NON_PAIR[:2], KNOWN_NON_PAIR[2:]):
        [entry] = listings_of(matched, source, record_id)
        assert [s["source_id"] for s in entry["properties"]["sources"]] == [record_id]


def test_etl_counts_pairs_merged_and_waiting(matched):
    with matched.engine.connect() as connection:
        counts = match_counts(connection)
    assert counts.merged >= 10
    assert counts.review >= 1
    assert counts.pairs == counts.merged + counts.review


def test_a_moderators_decision_survives_a_rerun(matched, tmp_path):
    assert status(matched, DOUBTFUL_PAIR) == REVIEWING
    with matched.engine.begin() as connection:
        assert decide(connection, DOUBTFUL_PAIR, accept=True, user_id=None)
        assert decide(connection, KNOWN_PAIR, accept=False, user_id=None)
    etl(matched, tmp_path)
    assert status(matched, DOUBTFUL_PAIR) == ACCEPTED
    assert status(matched, KNOWN_PAIR) == REJECTED
    assert listings_of(matched, "nspl_2024", "636") == []
    [entry] = listings_of(matched, "service_listings_shared", "TOR2026-099")
    assert {s["source_id"] for s in entry["properties"]["sources"]} == {"636", "TOR2026-099"}
    [rejected] = listings_of(matched, "service_listings_shared", "TOR2026-068")
    assert "1379" not in {s["source_id"] for s in rejected["properties"]["sources"]}


def test_a_moderator_merges_a_doubtful_pair_and_keeps_one_apart(make_app, world, tmp_path):
    etl(world.store, tmp_path)
    moderator, editor = (client_of(make_app(world.url), who) for who in ("moderator", "editor_a"))
    page = moderator.get("/moderation/matches?lang=fr").get_data(as_text=True)
    assert "Youth without Shelter Emergency Shelter Program" in page
    assert "Fiches qui sont peut-être le même service" in page
    assert editor.get("/moderation/matches").status_code == 403
    token = page_token(moderator)
    pair = dict(zip(("source_a", "record_a", "source_b", "record_b"), DOUBTFUL_PAIR, strict=True))
    merged = moderator.post("/moderation/matches/accept", data={**pair, "csrf_token": token})
    assert merged.status_code == 303
    assert status(world.store, DOUBTFUL_PAIR) == ACCEPTED
    assert listings_of(world.store, "nspl_2024", "636") == []
    nothing = {**pair, "record_a": "no such record", "csrf_token": token}
    gone = moderator.post("/moderation/matches/reject?lang=fr", data=nothing)
    assert gone.status_code == 404 and "n&#39;existe pas" in gone.get_data(as_text=True)


def test_the_detail_page_of_a_merged_entry_lists_every_source(matched, matched_url, make_app):
    service_id = listings_of(matched, "service_listings_shared", "TOR2026-068")[0]["properties"]
    page = make_app(matched_url).test_client().get(f"/services/{service_id['id']}?lang=fr")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "nspl_2024 · 1379" in html and "service_listings_shared · TOR2026-068" in html
    assert "Open Government Licence – Canada 2.0" in html


def test_a_merge_with_a_confidential_record_is_confidential(empty_store, tmp_path):
    """Another source lists the safe house at its street address, not as confidential: the
    merged entry is the confidential record's, and that address is published nowhere."""
    rows = CONFIDENTIAL_FIXTURE.read_text(encoding="utf-8").splitlines()
    public_copy = tmp_path / "other_list.csv"
    public_copy.write_text(
        "\n".join(
            [rows[0], rows[1].replace("TEST-SAFE-1", "OTHER-1").replace(",True,", ",False,")]
        ),
        encoding="utf-8",
    )
    run(empty_store, [CONFIDENTIAL_FIXTURE, public_copy], DATA_DIR, tmp_path, progress=False)
    pair = ("confidential_listings", "TEST-SAFE-1", "other_list", "OTHER-1")
    assert status(empty_store, pair) == MERGED
    assert listings_of(empty_store, "other_list", "OTHER-1") == []
    [entry] = listings_of(empty_store, "confidential_listings", "TEST-SAFE-1")
    assert entry["properties"]["confidential"] is True
    # Both sources are named; the public copy's record id is withheld, since that record, in
    # its own source, gives the address.
    assert {(s["source"], s["source_id"]) for s in entry["properties"]["sources"]} == {
        ("confidential_listings", "TEST-SAFE-1"),
        ("other_list", ""),
    }
    with empty_store.engine.connect() as connection:
        published = connection.execute(select(PublicListing.feature, PublicListing.latitude))
        for feature, latitude in published:
            assert "Fictional Lane" not in feature and latitude != 43.66813
            assert "OTHER-1" not in feature


def service_id_of(store, source: str, record_id: str) -> str:
    with store.engine.connect() as connection:
        return connection.scalar(
            select(Service.id).where(
                Service.source_name == source, Service.source_record_id == record_id
            )
        )


def test_coverage_counts_a_merged_service_once(matched):
    """The planner's indicators count the public services: a merged pair is one of them."""
    with matched.session() as session:
        counted = [s.id for s in public_services(session)]
    assert service_id_of(matched, "nspl_2024", "1379") not in counted
    assert counted.count(service_id_of(matched, "service_listings_shared", "TOR2026-068")) == 1
