"""HSDS 3.0: the API at /hsds/ and the exported data package follow the official schemas, page
correctly, and show a confidential location only at its public point and city/province."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from caremap.hsds import CONFIDENTIAL_CODE, term_uuid
from caremap.hsds.package import TABLES, export_package
from caremap.hsds.tables import read_tables
from caremap.model import Location, Organization, Service
from caremap.queries import public_services, read_service_records
from tests.conftest import DATA_DIR
from tests.hsds_schemas import errors, standard_resources, typed_rows
from tests.test_privacy import confidential_rows, secrets_of

LISTS = {
    "/hsds/services": "compiled/service_list.json",
    "/hsds/service_at_locations": "compiled/service_at_location_list.json",
    "/hsds/organizations": "compiled/organization_list.json",
    "/hsds/taxonomies": "taxonomy.json",
    "/hsds/taxonomy_terms": "taxonomy_term.json",
}
FULL = {
    "/hsds/services": "compiled/service.json",
    "/hsds/service_at_locations": "compiled/service_at_location.json",
    "/hsds/organizations": "compiled/organization.json",
}
SECRETS = [s for row in confidential_rows() for s in secrets_of(row)]


def all_pages(client, path, per_page=50, **args):
    """Every page's contents, checking each Page object."""
    items, number = [], 1
    while True:
        query = {"page": number, "per_page": per_page, **args}
        response = client.get(path, query_string=query)
        assert response.status_code == 200, response.json
        page = response.json
        assert not errors("Page", page), errors("Page", page)
        assert page["page_number"] == number and page["size"] == len(page["contents"])
        assert page["first_page"] == (number == 1)
        items += page["contents"]
        if page["last_page"]:
            assert len(items) == page["total_items"]
            return items
        number += 1


@pytest.mark.parametrize("path", sorted(LISTS))
def test_lists_follow_the_schemas(client, path):
    items = all_pages(client, path)
    assert items
    for item in items:
        assert not errors(LISTS[path], item), (item["id"], errors(LISTS[path], item))
    if path in FULL:
        for item in all_pages(client, path, full="true"):
            assert not errors(FULL[path], item), (item["id"], errors(FULL[path], item))


def test_each_record_follows_the_schemas(client, loaded_store):
    with loaded_store.session() as session:
        count = len(session.scalars(select(Service.id)).all())
    links = all_pages(client, "/hsds/service_at_locations", per_page=1000)
    assert len(all_pages(client, "/hsds/services", per_page=1000)) == count == len(links)
    for link in links:
        for path, schema in (
            (f"/hsds/services/{link['service_id']}", "compiled/service.json"),
            (f"/hsds/service_at_locations/{link['id']}", "compiled/service_at_location.json"),
            (
                f"/hsds/organizations/{link['service']['organization_id']}",
                "compiled/organization.json",
            ),
        ):
            document = client.get(path).json
            assert not errors(schema, document), (path, errors(schema, document))
    for path, schema in (("taxonomies", "taxonomy.json"), ("taxonomy_terms", "taxonomy_term.json")):
        for item in all_pages(client, f"/hsds/{path}"):
            document = client.get(f"/hsds/{path}/{item['id']}").json
            assert document == item and not errors(schema, document)


def test_root_and_openapi(client):
    about = client.get("/hsds/").json
    assert about["version"] == "3.0"
    document = client.get(about["openapi_url"]).json
    assert "/services/{id}" in document["paths"] and document["servers"]
    # only JSON is served (format=ndjson is a 400): no parameter offers another format
    assert "ndjson" not in json.dumps(document)
    assert "format" not in document["components"]["parameters"]


def test_paging_covers_every_service_once(client):
    everything = [s["id"] for s in all_pages(client, "/hsds/services", per_page=1000)]
    paged = [s["id"] for s in all_pages(client, "/hsds/services", per_page=7)]
    assert paged == everything and len(set(paged)) == len(paged)
    beyond = client.get("/hsds/services", query_string={"page": 999}).json
    assert beyond["empty"] and beyond["contents"] == [] and beyond["last_page"]


def test_filters(client, loaded_store):
    with loaded_store.session() as session:
        organization = session.scalars(
            select(Organization).where(Organization.name == "Fictional Anti-Trafficking Network")
        ).one()
    by_organization = all_pages(client, "/hsds/services", organization_id=organization.id)
    assert [s["name"] for s in by_organization] == ["Fictional Safe House A (test fixture)"]
    safe_houses = all_pages(client, "/hsds/services", taxonomy_term_id=term_uuid("safe_house"))
    assert "Fictional Safe House A (test fixture)" in [s["name"] for s in safe_houses]
    assert all_pages(client, "/hsds/services", taxonomy_term_id="safe_house") == safe_houses
    searched = all_pages(client, "/hsds/services", search="SAFE HOUSE a")
    assert [s["name"] for s in searched] == ["Fictional Safe House A (test fixture)"]
    assert all_pages(client, "/hsds/services", modified_after="2999-01-01T00:00:00Z") == []
    top = all_pages(client, "/hsds/taxonomy_terms", top_only="true")
    assert top and all("parent_id" not in term for term in top)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page=0", "page"),
        ("page=two", "page"),
        ("per_page=100000", "per_page"),
        ("full=perhaps", "full"),
        ("modified_after=yesterday", "modified_after"),
        ("format=ndjson", "format"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, query, parameter):
    response = client.get(f"/hsds/services?{query}")
    assert response.status_code == 400
    assert response.json["parameter"] == parameter and response.json["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/hsds/services/nope",
        "/hsds/service_at_locations/nope",
        "/hsds/organizations/nope",
        "/hsds/taxonomies/nope",
        "/hsds/taxonomy_terms/nope",
    ],
)
def test_unknown_ids_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.json["status"] == 404


def confidential_locations(store) -> dict[str, Location]:
    with store.session() as session:
        rows = session.scalars(select(Location).where(Location.confidential)).all()
    assert len(rows) == len(confidential_rows())
    return {row.id: row for row in rows}


def test_api_shows_confidential_locations_at_their_public_point_only(client, loaded_store):
    secret = confidential_locations(loaded_store)
    links = all_pages(client, "/hsds/service_at_locations", full="true")
    seen = 0
    for link in links:
        location = link["location"]
        if location["id"] not in secret:
            continue
        seen += 1
        stored = secret[location["id"]]
        assert (location["latitude"], location["longitude"]) == (stored.latitude, stored.longitude)
        [address] = location["addresses"]
        assert address["address_1"] == "" and address["postal_code"] == ""
        assert address["city"] and address["state_province"]
        assert [a["taxonomy_term"]["code"] for a in location["attributes"]] == [CONFIDENTIAL_CODE]
    assert seen == len(secret)
    for path in FULL:
        body = json.dumps(all_pages(client, path, full="true", full_service="true"))
        assert not [s for s in SECRETS if s in body], path


def test_export_follows_the_data_package_schemas(loaded_store, tmp_path):
    counts = export_package(loaded_store, DATA_DIR, tmp_path)
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    standard = standard_resources()
    package = {}
    for resource in descriptor["resources"]:
        if resource["name"] not in TABLES:
            continue
        assert resource == standard[resource["name"]]
        rows = typed_rows(tmp_path, resource)
        assert len(rows) == counts.rows[resource["name"]]
        single = resource["name"] + ".json"
        for row in rows:
            assert not errors(single, row), (resource["name"], row, errors(single, row))
        package[resource["name"]] = rows
    assert sorted(package) == sorted(TABLES)
    assert not errors("compiled/tabular.json", package)
    assert {s["title"] for s in descriptor["sources"]} and descriptor["licenses"]


def test_export_shows_confidential_locations_at_their_public_point_only(loaded_store, tmp_path):
    export_package(loaded_store, DATA_DIR, tmp_path)
    for path in tmp_path.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not [s for s in SECRETS if s in text], path.name
    secret = confidential_locations(loaded_store)
    resources = {r["name"]: r for r in standard_resources().values()}
    locations = {row["id"]: row for row in typed_rows(tmp_path, resources["location"])}
    addresses = {row["location_id"]: row for row in typed_rows(tmp_path, resources["address"])}
    for location_id, stored in secret.items():
        exported = locations[location_id]
        assert (exported["latitude"], exported["longitude"]) == (stored.latitude, stored.longitude)
        assert addresses[location_id]["address_1"] == ""
        assert addresses[location_id]["postal_code"] == ""


def test_hsds_and_the_public_services_are_made_of_one_read(loaded_store):
    """The HSDS tables and the public services agree: the same services under the same public
    names, at the same locations and public points."""
    with loaded_store.session() as session:
        services = public_services(session)
        tables = read_tables(session)
    assert {row["id"]: row["name"] for row in tables["service"]} == {s.id: s.name for s in services}
    points = {row["id"]: (row["latitude"], row["longitude"]) for row in tables["location"]}
    published = {
        (s.id, location.id, location.latitude, location.longitude)
        for s in services
        for location in s.locations
    }
    linked = {
        (link["service_id"], link["location_id"], *points[link["location_id"]])
        for link in tables["service_at_location"]
    }
    assert linked == published


def test_the_records_of_some_services_are_theirs_only(loaded_store):
    with loaded_store.session() as session:
        every = read_service_records(session)
        ids = sorted(row.id for row in every.services)[::9]
        some = read_service_records(session, ids)
    assert sorted(row.id for row in some.services) == ids
    assert [(row.name, row.id) for row in some.services] == sorted(
        (row.name, row.id) for row in some.services
    )
    assert {link.service_id for link in some.links} <= set(ids)
    assert set(some.locations) == {link.location_id for link in some.links}
    assert {row.service_id for row in some.capacities} <= set(ids)
    for rows in (some.links, some.phones, some.schedules, some.languages, some.capacities):
        assert [row.id for row in rows] == sorted(row.id for row in rows)
