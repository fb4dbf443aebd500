"""A confidential location's exact point and street address never leave the store.

Every GET route of the app is enumerated from ``app.url_map``, so a route added later is
covered automatically (or the test fails asking for sample values of its new argument).
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from sqlalchemy import select

from caremap.hsds import CONFIDENTIAL_CODE, taxonomy_uuid, term_uuid
from caremap.model import Location, Organization, Service, ServiceAtLocation
from caremap.privacy import CONFIDENTIAL_NAME, PublicPointRule, public_name, reveals_address
from caremap.store import Store
from etl.links import LINK_COLUMNS
from etl.pipeline import run
from tests.conftest import CONFIDENTIAL_FIXTURE, stores_of
from tests.support.data import DATA_DIR
from tests.test_service_links import LISTINGS, SOURCE
from webmap.common.bundle import BUNDLES, bundle_url

EXCLUDED_ENDPOINTS = {"static"}  # files shipped with the app, no data


def confidential_rows() -> list[dict[str, str]]:
    with CONFIDENTIAL_FIXTURE.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# The fixture's rows whose name, organization, facility or description hold their street
# (invented street names, found nowhere else): the street's name must never be published.
STREET_NAMES = {"TEST-NAME-4": "Invented", "TEST-NAME-5": "Songerie", "TEST-NAME-6": "Pretend"}


def secrets_of(row: dict[str, str]) -> list[str]:
    """Strings that would reveal the location: the exact point to 4 decimals (rounded or
    truncated), the street address, the full postal code, and for a row that names its
    street elsewhere, the street's name."""
    found = [row["street_address"]]
    if row["source_id"] in STREET_NAMES:
        found.append(STREET_NAMES[row["source_id"]])
    if row["postal_code"]:
        found.append(row["postal_code"])
    for value in (float(row["latitude"]), float(row["longitude"])):
        found.append(f"{value:.4f}")
        found.append(f"{math.trunc(value * 10_000) / 10_000:.4f}")
    return found


def searches_near_secrets() -> list[str]:
    """Searches from each confidential location's real point and postal code, asking for
    everything a search can show."""
    queries = []
    for row in confidential_rows():
        queries.append(f"lat={row['latitude']}&lon={row['longitude']}&limit=200&radius_km=5")
        if row["postal_code"]:
            queries.append(f"near={row['postal_code'].replace(' ', '+')}&limit=200")
    return queries


def sample_arguments(store) -> dict[str, list[str]]:
    """Values for each URL argument a route may take, covering every confidential record."""
    with store.session() as session:
        service_ids = list(session.scalars(select(Service.id)))
        service_at_locations = session.execute(
            select(
                ServiceAtLocation.id, ServiceAtLocation.service_id, ServiceAtLocation.location_id
            )
        ).all()
        organization_ids = list(session.scalars(select(Organization.id)))
        location_ids = list(session.scalars(select(Location.id)))
    return {
        "service_id": service_ids,
        "kind": ["csv", "geojson"],
        # OGC API - Features: every service at every location, and one jurisdiction.
        "collection_id": ["services", "indicators-province", "nothing"],
        "feature_id": [f"{s}@{loc}" for _, s, loc in service_at_locations] + ["35"],
        # HSDS: every organization and service_at_location, and the taxonomies.
        "organization_id": organization_ids,
        "service_at_location_id": [link_id for link_id, _, _ in service_at_locations],
        "taxonomy_id": [taxonomy_uuid("caremap")],
        "taxonomy_term_id": [term_uuid("safe_house"), term_uuid(CONFIDENTIAL_CODE)],
        # Editing pages: anonymous visitors are sent to sign in.
        "location_id": location_ids,
        "user_id": ["1"],  # admin pages: anonymous visitors are sent to sign in
        "entry_id": ["1"],  # a revert's confirmation: anonymous visitors are sent to sign in
        # Bulk import: the public template files; uploads are for signed-in people only.
        "name": ["listings_template.csv", "listings_example.csv", "README.md", "nope"],
        "token": ["0" * 32],
    }


# Filters a confidential service passes: the map's filtered views count the stored members
# (caremap.mapfilters), its other views the stored cells or the listings.
MAP_FILTERS = [
    "",
    "&service_type=safe_house&service_type=vaw_shelter&population=women",
    "&language=fr&open_now=1&beds_available=1&include_unknown=1&month=12",
    "&month=12",  # the stored cells less the members out of season
    "&population=women&month=12",  # a code's stored cells less its members out of season
]


def map_views() -> list[str]:
    """The browse map's views: Canada, and around each confidential location's real point,
    from clusters to markers, without filters and with filters it passes."""
    views = ["bbox=-141,41,-52,84&zoom=4", "bbox=-141,41,-52,84&zoom=18"]
    for row in confidential_rows():
        lat, lon = float(row["latitude"]), float(row["longitude"])
        box = f"{lon - 0.05:.3f},{lat - 0.05:.3f},{lon + 0.05:.3f},{lat + 0.05:.3f}"
        views += [f"bbox={box}&zoom={zoom}" for zoom in (8, 12, 14, 16, 18)]
    return [f"{view}{filters}" for view in views for filters in MAP_FILTERS]


# Routes that answer only with query parameters: the values the sweep gives them.
QUERIES = {"/map/points": map_views}


def get_urls(app, store) -> list[str]:
    samples = sample_arguments(store)
    with app.test_request_context():  # each map page's bundle, and one that is not
        bundles = [bundle_url(name, kind) for name in BUNDLES for kind in ("js", "css")]
    samples["filename"] = [url.rpartition("/")[2] for url in bundles] + ["search.0.js"]
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in EXCLUDED_ENDPOINTS:
            continue
        missing = set(rule.arguments) - set(samples)
        assert not missing, f"add sample values for {missing} of route {rule.rule}"
        if rule.rule in QUERIES:
            urls += [f"{rule.rule}?{query}" for query in QUERIES[rule.rule]()]
            continue
        if not rule.arguments:
            urls.append(rule.rule)
            urls += [f"{rule.rule}?{query}" for query in searches_near_secrets()]
            continue
        names = sorted(rule.arguments)
        for values in itertools.product(*(samples[name] for name in names)):
            url = rule.rule
            for name, value in zip(names, values, strict=True):
                url = url.replace(f"<{name}>", value)
            urls.append(url)
    return urls


# Each sweep's requests in parts (every part-th one), tests of their own that test workers share.
SWEEP_PARTS = 4


def assert_reveals_nothing(client, urls: list[str], secrets: list[str]) -> None:
    """Each URL, in English and in French: a page, a 404, or (pages for signed-in people
    only) a redirect to the sign-in page, never holding a secret the visitor did not type."""
    for url in urls:
        separator = "&" if "?" in url else "?"
        for variant in (url, f"{url}{separator}lang=fr"):
            response = client.get(variant, headers={"Accept": "text/html"})
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/account/login?next="), variant
                continue
            assert response.status_code in (200, 404), variant
            body = response.get_data(as_text=True)
            # What the searcher typed is echoed back (the form, the origin): not a leak.
            typed = unquote_plus(variant)
            leaked = [s for s in secrets if s in body and s not in typed]
            assert not leaked, f"{variant} reveals {leaked}"


@pytest.mark.parametrize("part", range(SWEEP_PARTS))
def test_confidential_locations_never_appear_in_any_get_response(app, client, loaded_store, part):
    urls = get_urls(app, loaded_store)
    assert len(urls) > 100
    secrets = [s for row in confidential_rows() for s in secrets_of(row)]
    assert_reveals_nothing(client, urls[part::SWEEP_PARTS], secrets)


def test_unknown_ids_reveal_nothing(client):
    response = client.get("/services/does-not-exist", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json["message"]


@pytest.mark.parametrize(
    ("source_id", "rule", "public_point"),
    [
        # FSA centroid of M6H, not the invented street address.
        ("TEST-SAFE-1", PublicPointRule.FSA, None),
        # No postal code: the GeoNames point of Kenora, ON.
        ("TEST-VAW-2", PublicPointRule.PLACE, (49.76741, -94.48985)),
        ("TEST-MTL-3", PublicPointRule.FSA, None),
    ],
)
def test_public_point_rule(loaded_store, source_id, rule, public_point):
    from caremap.gazetteer import load_gazetteer
    from tests.conftest import DATA_DIR

    row = next(r for r in confidential_rows() if r["source_id"] == source_id)
    with loaded_store.session() as session:
        location = session.scalars(
            select(Location).where(Location.source_record_id == source_id)
        ).one()
    assert location.confidential
    assert location.public_point_rule == rule
    if rule == PublicPointRule.FSA:
        fsa = load_gazetteer(DATA_DIR).fsa(row["postal_code"][:3])
        public_point = (fsa.latitude, fsa.longitude)
    assert (location.latitude, location.longitude) == pytest.approx(public_point)
    assert (location.private_latitude, location.private_longitude) == pytest.approx(
        (float(row["latitude"]), float(row["longitude"]))
    )


def test_spatial_queries_only_see_the_public_point(loaded_store):
    """Asked from the exact address, the store measures to the public point, never 0 m."""
    row = next(r for r in confidential_rows() if r["source_id"] == "TEST-SAFE-1")
    with loaded_store.session() as session:
        location_id = session.scalars(
            select(ServiceAtLocation.location_id)
            .join(Location)
            .where(Location.source_record_id == "TEST-SAFE-1")
        ).one()
    [nearby] = loaded_store.nearest(
        latitude=float(row["latitude"]),
        longitude=float(row["longitude"]),
        limit=1,
        location_filter=select(Location.id).where(Location.id == location_id),
    )
    assert nearby.distance_m > 500


@pytest.mark.parametrize(
    ("text", "lines", "found"),
    [
        ("Our Place Society - 1240 Yates St", ["1240 Yates St"], "1240 Yates St"),
        ("OUR PLACE, 1240 yates street", ["1240 Yates St"], "1240 yates street"),
        ("Our Place at 1240 Yates", ["1240 Yates St"], "1240 Yates"),
        ("Our Place (Yates Street)", ["1240 Yates St"], "Yates Street"),
        ("Refuge au 1240, rue Yates", ["1240 Yates St"], "1240, rue Yates"),
        ("Maison du 3456, rue de l'Imaginaire", ["3456 rue de l’Imaginaire"],
         "3456, rue de l'Imaginaire"),
        ("Maison Rue Éloïse", ["12 rue Eloise"], "Rue Éloïse"),
        ("Dixon Hall 351 Lake Shore Blvd. E Respite", ["351 Lake Shore Blvd E"],
         "351 Lake Shore Blvd. E"),
        ("Centre St. Clair Ave W", ["100 Saint-Clair Avenue West"], "St. Clair Ave W"),
        ("Our Place 1240", ["Suite 5, 1240 Yates St"], "1240"),
        ("Our Place 1240", ["5-1240 Yates St"], "1240"),
        ("House at 805 Wellington", ["805A Wellington St W"], "805 Wellington"),
        ("Shelter on Yates Blvd", ["Building C", "1240 Yates St"], "Yates Blvd"),
        # Not a street address: the street's name alone, the number inside a longer one.
        ("Yates House", ["1240 Yates St"], None),
        ("Call 250-555-1240", ["1240 Yates St"], None),
        ("Shelter 12400", ["1240 Yates St"], None),
        ("Suite 5 Shelter", ["Suite 5", "1240 Yates St"], None),
        ("Our Place Society", ["1240 Yates St"], None),
        ("Our Place Society - 1240 Yates St", [None, ""], None),
    ],
)  # fmt: skip
def test_a_text_reveals_an_address_in_any_form(text, lines, found):
    assert reveals_address(text, lines) == found


@pytest.mark.parametrize(
    ("name", "public"),
    [
        ("Our Place Society - 1240 Yates St", "Our Place Society"),
        ("Our Place Society (1240 Yates St.)", "Our Place Society"),
        ("Shelter, at 1240 Yates St, Victoria", "Shelter, Victoria"),
        ("HFS 1240 Yates St W Shelter", "HFS Shelter"),
        ("1240 Yates Street", "Fallback Society"),
        ("Our Place Society", "Our Place Society"),
    ],
)
def test_a_public_name_is_the_name_without_the_address(name, public):
    assert public_name(name, ["1240 Yates St W"], "Fallback Society") == public
    assert public_name("1240 Yates", ["1240 Yates St W"]) == CONFIDENTIAL_NAME


def test_hsds_searches_see_only_public_names(client):
    """Searching the HSDS API for a confidential street finds nothing; the public names are
    found, and the lists are ordered by them."""
    for url in (
        "/hsds/services?search=Invented",
        "/hsds/services?search=Songerie",
        "/hsds/service_at_locations?search=Invented",
        "/hsds/organizations?search=Pretend",
    ):
        assert client.get(url).json["total_items"] == 0, url
    [found] = client.get("/hsds/services?search=Refuge fictif E").json["contents"]
    assert found["name"] == "Refuge fictif E (données de test)"
    [organization] = client.get("/hsds/organizations?search=Fictional House").json["contents"]
    assert organization["name"] == "Fictional House"
    names = [s["name"] for s in all_hsds(client, "/hsds/services")]
    assert names == sorted(names)


def all_hsds(client, path: str) -> list[dict]:
    items, page = [], 1
    while True:
        body = client.get(path, query_string={"page": page, "per_page": 100}).json
        items += body["contents"]
        if body["last_page"]:
            return items
        page += 1


def _load_linked(store: Store, _url: str, reports: Path) -> list[str]:
    """The listings and the confidential fixture, every confidential record a next step of a
    public service (and referring people back to one), the links' reasons naming its street;
    the ids of the linked services."""
    rows = confidential_rows()
    links = reports / "links.csv"
    with links.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LINK_COLUMNS)
        for row in rows:
            street, record = row["street_address"], row["source_id"]
            writer.writerow([SOURCE, "LINK-A", "confidential_listings", record, "refers_to",
                             f"Go to {street}", f"Allez au {street}", ""])  # fmt: skip
            writer.writerow(["confidential_listings", record, SOURCE, "LINK-B", "refers_to",
                             f"From {street}", f"Depuis {street}", ""])  # fmt: skip
    loaded = run(store, [LISTINGS, CONFIDENTIAL_FIXTURE, links], DATA_DIR, reports, progress=False)
    assert [r.loaded for r in loaded if r.source == "links"] == [2 * len(rows)]
    with store.session() as session:
        return list(
            session.scalars(
                select(Service.id).where(Service.source_record_id.in_(["LINK-A", "LINK-B"]))
            )
        )


@pytest.mark.parametrize("part", range(SWEEP_PARTS))
def test_a_confidential_linked_service_reveals_nothing_on_any_page(make_app, backend, part):
    """The sweep above on a store of :func:`_load_linked` (loaded once per process, read
    only), with the detail pages and referral sheets of the linked services seen from each
    secret point."""
    url, linked = stores_of(backend).template("linked", _load_linked)
    app = make_app(url)
    client = app.test_client()
    urls = get_urls(app, app.extensions["caremap_store"])
    urls += [
        f"/services/{service_id}{page}?{query}"
        for service_id in linked
        for page in ("", "/print")
        for query in searches_near_secrets()
    ]
    secrets = [s for row in confidential_rows() for s in secrets_of(row)]
    assert_reveals_nothing(client, urls[part::SWEEP_PARTS], secrets)
    for service_id in linked:
        page = client.get(f"/services/{service_id}?lang=en").get_data(as_text=True)
        assert "Next steps from here" in page or "Often referred from" in page
