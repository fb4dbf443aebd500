"""Cross-source matching: the same shelter listed by the NSPL (at community level) and by the
City of Toronto list (at its address) is one public entry listing both sources."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from caremap.coverage.stored import build
from caremap.matching import (
    ACCEPTED,
    MERGED,
    REJECTED,
    REVIEWING,
    decide,
    match_counts,
    merges,
)
from caremap.model import CoverageIndicator, ListingMatch, PublicListing, Service
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
TODAY = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)


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


CONFIDENTIAL_PAIR = ("confidential_listings", "TEST-SAFE-1", "other_list", "OTHER-1")


def confidential_merge(store, folder: Path) -> None:
    """The safe house TEST-SAFE-1, and another list giving it at its street address (not
    confidential), loaded and merged into the confidential record."""
    rows = CONFIDENTIAL_FIXTURE.read_text(encoding="utf-8").splitlines()
    public_copy = folder / "other_list.csv"
    public_copy.write_text(
        "\n".join(
            [rows[0], rows[1].replace("TEST-SAFE-1", "OTHER-1").replace(",True,", ",False,")]
        ),
        encoding="utf-8",
    )
    run(store, [CONFIDENTIAL_FIXTURE, public_copy], DATA_DIR, folder, progress=False)
    assert status(store, CONFIDENTIAL_PAIR) == MERGED


def test_a_merge_with_a_confidential_record_is_confidential(empty_store, tmp_path):
    """Another source lists the safe house at its street address, not as confidential: the
    merged entry is the confidential record's, and that address is published nowhere."""
    confidential_merge(empty_store, tmp_path)
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


# Sagatay's NSPL record and a City record of the same name, waiting for review while that NSPL
# record is merged already (KNOWN_PAIR).
TAKEN_PAIR = ("nspl_2024", "1379", "service_listings_shared", "TOR2012-28")


def sources_of(store, source: str, record_id: str) -> list[str]:
    [entry] = listings_of(store, source, record_id)
    return [s["source_id"] for s in entry["properties"]["sources"]]


def test_a_moderator_cannot_merge_a_record_merged_already(make_app, world, tmp_path):
    etl(world.store, tmp_path)
    assert status(world.store, TAKEN_PAIR) == REVIEWING
    moderator = client_of(make_app(world.url), "moderator")
    pair = dict(zip(("source_a", "record_a", "source_b", "record_b"), TAKEN_PAIR, strict=True))
    refused = moderator.post(
        "/moderation/matches/accept?lang=fr", data={**pair, "csrf_token": page_token(moderator)}
    )
    assert refused.status_code == 409
    assert "déjà fusionnée" in refused.get_data(as_text=True)
    assert status(world.store, TAKEN_PAIR) == REVIEWING
    assert sources_of(world.store, "service_listings_shared", "TOR2026-068") == [
        "TOR2026-068",
        "1379",
    ]
    assert sources_of(world.store, "service_listings_shared", "TOR2012-28") == ["TOR2012-28"]


def test_an_accepted_pair_whose_record_merged_otherwise_goes_back_to_review(matched, tmp_path):
    """A pair stored as accepted while one record merges with another one (a likelier pair;
    two moderators accepting at once) merges nothing: it waits for review again, and each
    record belongs to one entry."""
    with matched.engine.begin() as connection:
        connection.execute(
            update(ListingMatch)
            .where(
                ListingMatch.source_a == TAKEN_PAIR[0],
                ListingMatch.record_a == TAKEN_PAIR[1],
                ListingMatch.source_b == TAKEN_PAIR[2],
                ListingMatch.record_b == TAKEN_PAIR[3],
            )
            .values(status=ACCEPTED)
        )
    etl(matched, tmp_path)
    assert status(matched, TAKEN_PAIR) == REVIEWING
    assert status(matched, KNOWN_PAIR) == MERGED
    with matched.engine.connect() as connection:
        assert match_counts(connection).review >= 1
        assert merges(connection)[service_id_of(matched, *KNOWN_PAIR[:2])] == service_id_of(
            matched, *KNOWN_PAIR[2:]
        )
    assert sources_of(matched, "service_listings_shared", "TOR2012-28") == ["TOR2012-28"]


def without_record(folder: Path, source: Path, record_id: str) -> Path:
    """A copy of a source file (and its sidecar) without one record."""
    folder.mkdir()
    sidecar = source.with_name(source.stem + ".source.toml")
    shutil.copy(sidecar, folder / sidecar.name)
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    copy = folder / source.name
    with copy.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(r for r in rows if record_id not in r)
    return copy


def test_a_decided_pair_whose_kept_record_left_its_source_hides_nothing(matched, tmp_path):
    """The entry that took a record in is gone from its source: the record is published on its
    own again."""
    with matched.engine.begin() as connection:
        assert decide(connection, DOUBTFUL_PAIR, accept=True, user_id=None)
    etl(matched, tmp_path)
    assert listings_of(matched, "nspl_2024", "636") == []
    city = without_record(tmp_path / "later", SOURCES[1], "TOR2026-099")
    run(matched, [SOURCES[0], city], DATA_DIR, tmp_path, progress=False)
    assert listings_of(matched, "service_listings_shared", "TOR2026-099") == []
    assert sources_of(matched, "nspl_2024", "636") == ["636"]
    with matched.session() as session:
        assert service_id_of(matched, "nspl_2024", "636") in {
            s.id for s in public_services(session)
        }


def stored_rows(store) -> int:
    with store.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(CoverageIndicator))


# Two programmes of one organization, alike enough to wait for review.
OTHER_DOUBTFUL_PAIR = ("nspl_2024", "2363", "service_listings_shared", "TOR2026-046")


def test_a_merge_forgets_the_stored_coverage_it_alters(make_app, world, tmp_path):
    """The planner counts a merged pair once: a moderator's accept, and a run merging a pair
    accepted since, forget the stored indicators that counted both records."""
    etl(world.store, tmp_path)
    build(world.store, DATA_DIR, TODAY, NOW)
    before = stored_rows(world.store)
    moderator = client_of(make_app(world.url), "moderator")
    pair = dict(zip(("source_a", "record_a", "source_b", "record_b"), DOUBTFUL_PAIR, strict=True))
    merged = moderator.post(
        "/moderation/matches/accept", data={**pair, "csrf_token": page_token(moderator)}
    )
    assert merged.status_code == 303
    assert 0 < stored_rows(world.store) < before

    build(world.store, DATA_DIR, TODAY, NOW)
    before = stored_rows(world.store)
    with world.store.engine.begin() as connection:
        assert decide(connection, OTHER_DOUBTFUL_PAIR, accept=True, user_id=None)
    etl(world.store, tmp_path)
    assert listings_of(world.store, *OTHER_DOUBTFUL_PAIR[:2]) == []
    assert 0 < stored_rows(world.store) < before
