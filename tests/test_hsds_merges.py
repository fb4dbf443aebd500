"""HSDS publishes one entry per real service: a record merged into another by cross-source
matching (:mod:`caremap.matching`) is no HSDS record of its own, and the kept entry's
``metadata`` names every source record of the pair, in the API and in the export."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from caremap.hsds.package import export_package
from caremap.model import (
    Location,
    Organization,
    Phone,
    Service,
    ServiceAtLocation,
    ServiceLink,
)
from caremap.queries import public_services
from caremap.store import Store, open_store
from etl.links import LINK_COLUMNS
from etl.pipeline import run
from tests.conftest import CONFIDENTIAL_FIXTURE, DATA_DIR, Copy, copy_of, stores_of
from tests.hsds_schemas import errors, standard_resources, typed_rows
from tests.support.stores import MIGRATED
from tests.test_accounts import client_of
from tests.test_hsds import all_pages
from tests.test_matching import (
    CONFIDENTIAL_PAIR,
    KNOWN_PAIR,
    SOURCES,
    confidential_merge,
    service_id_of,
    status,
)
from tests.test_moderation_web import form_data, post_edit
from tests.test_next_steps_web import links_of, step_fields
from tests.test_privacy import confidential_rows, secrets_of

# A next step of the Fred Victor Centre's Women's Hostel (City) to Sagatay's NSPL record, and
# one from that record: both are the kept Sagatay entry's.
LINKS = [
    ["service_listings_shared", "TOR2026-046", "nspl_2024", "1379", "refers_to", "To", "Vers", ""],
    ["nspl_2024", "1379", "service_listings_shared", "TOR2026-046", "refers_to", "Back", "", ""],
]


def write_links(folder: Path) -> Path:
    path = folder / "links.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LINK_COLUMNS)
        writer.writerows(LINKS)
    return path


def _load_merged(store: Store, _url: str, reports: Path) -> None:
    run(store, [*SOURCES, write_links(reports)], DATA_DIR, reports, progress=False)


@pytest.fixture
def merged_copy(backend, tmp_path) -> Iterator[Copy]:
    """A store of the test's own with the NSPL and the City list loaded (Sagatay merged), with
    next steps to and from the merged-away record."""
    with copy_of(backend, "hsds-merged", _load_merged, tmp_path) as made:
        assert status(made.store, KNOWN_PAIR) == "merged"
        yield made


@pytest.fixture
def merged(merged_copy) -> Store:
    return merged_copy.store


@pytest.fixture
def merged_url(merged_copy) -> str:
    return merged_copy.url


def kept_and_gone(store) -> tuple[str, str]:
    return service_id_of(store, *KNOWN_PAIR[2:]), service_id_of(store, *KNOWN_PAIR[:2])


def rows_of_merged_away(store, service_id: str) -> dict[str, set[str]]:
    """The ids of the merged-away service's own rows by table: itself, its
    service_at_locations, the locations only it is at, its phones."""
    with store.engine.connect() as connection:
        links = connection.execute(
            select(ServiceAtLocation.id, ServiceAtLocation.location_id).where(
                ServiceAtLocation.service_id == service_id
            )
        ).all()
        shared = set(
            connection.scalars(
                select(ServiceAtLocation.location_id).where(
                    ServiceAtLocation.service_id != service_id
                )
            )
        )
        phones = set(connection.scalars(select(Phone.id).where(Phone.service_id == service_id)))
    return {
        "service": {service_id},
        "service_at_location": {link.id for link in links},
        "location": {link.location_id for link in links if link.location_id not in shared},
        "phone": phones,
    }


def ids_of_merged_away(store, service_id: str) -> set[str]:
    rows = rows_of_merged_away(store, service_id)
    assert rows["service_at_location"] and rows["location"]
    return set().union(*rows.values())


def sources_of(service: dict) -> set[tuple[str, str]]:
    return {(row["updated_by"], row["replacement_value"]) for row in service["metadata"]}


BOTH = {("service_listings_shared", "TOR2026-068"), ("nspl_2024", "1379")}


def test_the_api_lists_a_merged_pair_once_with_both_sources(merged, merged_url, make_app):
    kept, gone = kept_and_gone(merged)
    client = make_app(merged_url).test_client()
    services = all_pages(client, "/hsds/services", per_page=200, full="true")
    assert [s["id"] for s in services].count(kept) == 1
    [entry] = [s for s in services if s["id"] == kept]
    assert sources_of(entry) == BOTH
    assert not errors("compiled/service.json", entry), errors("compiled/service.json", entry)
    assert sources_of(client.get(f"/hsds/services/{kept}").json) == BOTH
    assert client.get(f"/hsds/services/{gone}").status_code == 404
    searched = client.get("/hsds/services?search=Sagatay").json
    found = [s["id"] for s in searched["contents"]]
    assert kept in found and gone not in found and searched["total_items"] == len(found)
    with merged.session() as session:
        assert len(services) == len(public_services(session))


def test_the_merged_away_record_is_in_no_hsds_answer(merged, merged_url, make_app):
    kept, gone = kept_and_gone(merged)
    hidden = ids_of_merged_away(merged, gone)
    client = make_app(merged_url).test_client()
    answers = {
        path: all_pages(client, path, per_page=500, full="true")
        for path in ("/hsds/services", "/hsds/service_at_locations", "/hsds/organizations")
    }
    answers["/hsds/service_links"] = all_pages(client, "/hsds/service_links", per_page=500)
    for path, items in answers.items():
        text = json.dumps(items)
        assert not [i for i in hidden if i in text], path
    links = answers["/hsds/service_links"]
    steps = {(link["from_service_id"], link["to_service_id"]) for link in links}
    women = service_id_of(merged, "service_listings_shared", "TOR2026-046")
    assert {(women, kept), (kept, women)} <= steps
    for link_id in rows_of_merged_away(merged, gone)["service_at_location"]:
        assert client.get(f"/hsds/service_at_locations/{link_id}").status_code == 404


def test_paging_counts_public_entries_only(merged, merged_url, make_app):
    client = make_app(merged_url).test_client()
    with merged.session() as session:
        entries = public_services(session)
    first = client.get("/hsds/services?per_page=7").json
    assert first["total_items"] == len(entries)
    assert first["total_pages"] == -(-len(entries) // 7)
    links = all_pages(client, "/hsds/service_at_locations", per_page=500)
    assert len(links) == sum(len(s.locations) for s in entries)
    organizations = all_pages(client, "/hsds/organizations", per_page=500)
    with merged.session() as session:
        providers = set(
            session.scalars(
                select(Service.organization_id).where(Service.id.in_([s.id for s in entries]))
            )
        )
        every = set(session.scalars(select(Organization.id)))
    assert providers <= {o["id"] for o in organizations} <= every


def test_the_export_has_the_merged_pair_once_with_both_sources(merged, tmp_path):
    kept, gone = kept_and_gone(merged)
    out = tmp_path / "package"
    export_package(merged, DATA_DIR, out)
    text = "".join(path.read_text(encoding="utf-8") for path in out.iterdir())
    assert not [i for i in ids_of_merged_away(merged, gone) if i in text]
    resources = standard_resources()
    services = typed_rows(out, resources["service"])
    assert [row["id"] for row in services].count(kept) == 1
    metadata = typed_rows(out, resources["metadata"])
    for row in metadata:
        assert not errors("metadata.json", row), errors("metadata.json", row)
    assert sources_of({"metadata": [r for r in metadata if r["resource_id"] == kept]}) == BOTH
    assert {row["resource_id"] for row in metadata} == {row["id"] for row in services}
    descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert {"nspl_2024", "service_listings_shared"} <= {s["name"] for s in descriptor["sources"]}


SECRETS = [s for row in confidential_rows() for s in secrets_of(row)]


def test_a_confidential_merge_publishes_no_street_in_hsds(
    empty_store, empty_store_url, make_app, tmp_path
):
    confidential_merge(empty_store, tmp_path)
    kept = service_id_of(empty_store, "confidential_listings", "TEST-SAFE-1")
    client = make_app(empty_store_url).test_client()
    texts = [
        json.dumps(all_pages(client, path, per_page=100, full="true"))
        for path in ("/hsds/services", "/hsds/service_at_locations", "/hsds/organizations")
    ]
    with empty_store.session() as session:
        gone = session.get(Service, service_id_of(empty_store, "other_list", "OTHER-1"))
        assert gone is not None
        provides = session.scalars(
            select(Service.id).where(Service.organization_id == gone.organization_id)
        ).all()
    assert provides == [gone.id]  # an organization of the merged-away record only
    assert gone.organization_id not in {o["id"] for o in json.loads(texts[2])}
    assert client.get("/hsds/organizations?search=Anti-Trafficking").json["total_items"] == 1
    assert client.get(f"/hsds/organizations/{gone.organization_id}").status_code == 404
    entry = client.get(f"/hsds/services/{kept}").json
    # The merged record's id is withheld: in its own source, it may give the address.
    assert sources_of(entry) == {("confidential_listings", "TEST-SAFE-1"), ("other_list", "")}
    api = client.get(f"/api/v1/services/{kept}").text + client.get(f"/services/{kept}").text
    texts.append(api)
    out = tmp_path / "package"
    export_package(empty_store, DATA_DIR, out)
    texts += [path.read_text(encoding="utf-8") for path in out.iterdir()]
    for text in texts:
        assert not [s for s in SECRETS if s in text]
        assert "OTHER-1" not in text
    with empty_store.engine.connect() as connection:
        street = connection.scalars(
            select(Location.id).where(Location.confidential.is_(False))
        ).all()
    assert street and not [i for i in street if any(i in text for text in texts)]


def test_a_link_to_a_record_merged_into_a_safe_house_gives_neither_its_address_nor_its_page(
    empty_store, empty_store_url, make_app, tmp_path
):
    """Another list gives the safe house at its street (OTHER-1, merged into TEST-SAFE-1); a
    links file states a next step to that record, with the street in the reason and the
    record's own page. The step is published to the safe house's entry, without either, and
    with an id that is not the stored link's (derived from OTHER-1's record id)."""
    confidential_merge(empty_store, tmp_path)
    links = tmp_path / "links.csv"
    with links.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LINK_COLUMNS)
        writer.writerow(
            [
                "confidential_listings", "TEST-MTL-3", "other_list", "OTHER-1", "refers_to",
                "Walk in at 77 Fictional Lane", "Entrée au 77 Fictional Lane",
                "https://other.example/OTHER-1",
            ]
        )  # fmt: skip
    sources = [CONFIDENTIAL_FIXTURE, tmp_path / "other_list.csv", links]
    run(empty_store, sources, DATA_DIR, tmp_path, progress=False)
    kept = service_id_of(empty_store, "confidential_listings", "TEST-SAFE-1")
    start = service_id_of(empty_store, "confidential_listings", "TEST-MTL-3")
    with empty_store.engine.connect() as connection:
        [stored_id] = connection.scalars(select(ServiceLink.id)).all()
    client = make_app(empty_store_url).test_client()
    [published] = client.get(f"/hsds/service_links?service_id={start}").json["contents"]
    assert (published["from_service_id"], published["to_service_id"]) == (start, kept)
    assert published.get("source_url") is None and published["id"] != stored_id
    texts = [client.get(f"/services/{start}?lang={lang}").text for lang in ("en", "fr")]
    texts += [client.get(f"/services/{start}/print").text, json.dumps(published)]
    export_package(empty_store, DATA_DIR, tmp_path / "package")
    texts.append((tmp_path / "package" / "service_links.csv").read_text(encoding="utf-8"))
    assert published["description"] == "Walk in"  # the step is said, without the street
    for text in texts:
        assert "Fictional Lane" not in text and "other.example" not in text
        assert stored_id not in text


def test_an_export_of_merged_entries_reads_back_without_their_sources(
    backend, empty_store, tmp_path
):
    """The sources travel as HSDS metadata, which the HSDS import does not turn into data:
    the package reads back as the same entries, and exports again the same."""
    confidential_merge(empty_store, tmp_path)
    first = tmp_path / "first"
    counts = export_package(empty_store, DATA_DIR, first)
    archive = Path(shutil.make_archive(str(tmp_path / "first"), "zip", first))
    (tmp_path / "other").mkdir()
    with empty_store.session() as session:
        assert counts.rows["service"] == len(public_services(session))
    with stores_of(backend).copy(MIGRATED, tmp_path / "other") as (url, _):
        other = open_store(url)
        try:
            [report] = run(other, [archive], DATA_DIR, tmp_path / "reports", progress=False)
            assert not report.rejected
            assert report.counts.inserted == counts.rows["service"]
            with other.session() as session:
                entries = public_services(session)
            assert len(entries) == counts.rows["service"]
            assert {src.source for s in entries for src in s.sources} == {"caremap"}
            assert not [s for s in entries if "OTHER-1" in repr(s)]
            second = tmp_path / "second"
            export_package(other, DATA_DIR, second)
        finally:
            other.dispose()
    for name in ("services.csv", "locations.csv", "addresses.csv"):
        assert (second / name).read_text(encoding="utf-8").count("\n") == (first / name).read_text(
            encoding="utf-8"
        ).count("\n"), name


def test_an_editor_sees_a_next_step_to_a_merged_record_as_its_entry_and_saves(
    make_app, world, tmp_path
):
    """The Women's Hostel's next step to Sagatay's NSPL record (merged into the City's
    Sagatay) shows, and saves, as the kept entry: the form is not refused."""
    run(world.store, [*SOURCES, write_links(tmp_path)], DATA_DIR, tmp_path, progress=False)
    kept, gone = kept_and_gone(world.store)
    hostel = service_id_of(world.store, "service_listings_shared", "TOR2026-046")
    admin = client_of(make_app(world.url), "admin")
    page = admin.get(f"/edit/services/{hostel}").get_data(as_text=True)
    row = re.search(r'name="next_steps-0-service_id">(.*?)</select>', page, re.S)
    assert row is not None
    assert re.findall(r'<option selected value="([^"]*)"', row.group(1)) == [kept]
    data = {k: v for k, v in form_data(world, hostel).items() if k != "next_steps"}
    edit = data | step_fields(kept, "To", "Vers")
    assert post_edit(admin, hostel, edit).status_code == 303
    assert (hostel, kept, "To", "Vers") in links_of(world)
    assert gone not in {to for _from, to, *_ in links_of(world)}


# A next step from a transition house to the public copy of the safe house (OTHER-1).
CONFIDENTIAL_LINK = [
    *("confidential_listings", "TEST-VAW-2", "other_list", "OTHER-1"),
    *("refers_to", "Intake", "Accueil", ""),
]


def test_a_next_step_to_a_record_merged_into_a_confidential_entry_stays_that_record(
    make_app, world, tmp_path
):
    """Another list gives the safe house at its street address; a next step to that record
    is not shown as the safe house's entry (that would tie the address to it), and the form
    still saves."""
    rows = CONFIDENTIAL_FIXTURE.read_text(encoding="utf-8").splitlines()
    public_copy = tmp_path / "other_list.csv"
    copy = rows[1].replace("TEST-SAFE-1", "OTHER-1").replace(",True,", ",False,")
    public_copy.write_text("\n".join([rows[0], copy]), encoding="utf-8")
    links = tmp_path / "links.csv"
    with links.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [
                LINK_COLUMNS,
                [*CONFIDENTIAL_LINK],
            ]
        )
    run(world.store, [CONFIDENTIAL_FIXTURE, public_copy, links], DATA_DIR, tmp_path, progress=False)
    assert status(world.store, CONFIDENTIAL_PAIR) == "merged"
    other = service_id_of(world.store, "other_list", "OTHER-1")
    safe_house = service_id_of(world.store, "confidential_listings", "TEST-SAFE-1")
    admin = client_of(make_app(world.url), "admin")
    page = admin.get(f"/edit/services/{world.service_b}").get_data(as_text=True)
    row = re.search(r'name="next_steps-0-service_id">(.*?)</select>', page, re.S)
    assert row is not None
    assert re.findall(r'<option selected value="([^"]*)"', row.group(1)) == [other]
    assert safe_house != other
    data = {k: v for k, v in form_data(world, world.service_b).items() if k != "next_steps"}
    edit = data | step_fields(other, "Intake", "Accueil")
    assert post_edit(admin, world.service_b, edit).status_code == 303
    assert (world.service_b, other, "Intake", "Accueil") in links_of(world)
