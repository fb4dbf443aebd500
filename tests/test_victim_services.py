"""The bundled place-based victim services (data/listings/victim_services.csv): every row
loaded or reported with its reason, the file's quirks read through its mapping and the
normaliser, each row's source and date on its page, and a search for trafficking services from
every provincial and territorial capital answered with a place or the trafficking hotline."""

from __future__ import annotations

import csv
import re
from collections import Counter

import pytest
from sqlalchemy import select

from caremap.model import ListingMatch, Location, Phone, Service
from etl.pipeline import run
from tests.conftest import DATA_DIR, LISTINGS, stores_of

VICTIM_SERVICES = LISTINGS / "victim_services.csv"
HELPLINES = LISTINGS / "helplines.csv"
# The README's rows by province, less the row the gazetteer cannot place (REJECTED).
LOADED_BY_PROVINCE = {
    "ON": 22, "QC": 11, "AB": 7, "BC": 6, "NS": 4, "MB": 3, "NL": 3, "SK": 2, "NB": 2,
    "PE": 1, "NT": 1, "NU": 1,
}  # fmt: skip
PRUIDS = {
    "NL": "10", "PE": "11", "NS": "12", "NB": "13", "QC": "24", "ON": "35", "MB": "46",
    "SK": "47", "AB": "48", "BC": "59", "YT": "60", "NT": "61", "NU": "62",
}  # fmt: skip
REJECTED = {50: ("city", "Pessamit")}  # SAC-QC-008: a community the gazetteer lacks


def _load(store, _url, reports):
    """The help lines and the victim services; what the load reported, by source."""
    found = run(store, [HELPLINES, VICTIM_SERVICES], DATA_DIR, reports, progress=False)
    return {report.source: (report.loaded, report.rejected) for report in found}


@pytest.fixture(scope="module")
def victims(backend):
    """(URL, reports) of a store with the help lines and victim services; not to be changed."""
    return stores_of(backend).template("victim_services", _load)


@pytest.fixture
def store_url(victims):
    return victims[0]


@pytest.fixture
def client(store_url, make_app):
    return make_app(store_url).test_client()


def service_of(session, record_id: str) -> Service:
    return session.scalars(
        select(Service).where(
            Service.source_name == "victim_services", Service.source_record_id == record_id
        )
    ).one()


def page_of(client, store_url, record_id: str, lang: str = "en") -> str:
    from caremap.store import open_store

    store = open_store(store_url)
    try:
        with store.session() as session:
            service_id = service_of(session, record_id).id
    finally:
        store.dispose()
    response = client.get(f"/services/{service_id}", query_string={"lang": lang})
    assert response.status_code == 200
    return response.text


def test_every_row_is_loaded_or_reported_with_its_line_and_reason(victims):
    url, reports = victims
    loaded, rejected = reports["victim_services"]
    with VICTIM_SERVICES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 64 and loaded + len(rejected) == 64
    assert {row.line: (row.field, row.value) for row in rejected} == REJECTED
    assert "match nothing in the gazetteer" in rejected[0].reason
    from caremap.store import open_store

    store = open_store(url)
    try:
        with store.session() as session:
            pruids = session.scalars(
                select(Location.pruid).where(Location.source_name == "victim_services")
            ).all()
    finally:
        store.dispose()
    assert Counter(pruids) == {PRUIDS[code]: n for code, n in LOADED_BY_PROVINCE.items()}


def phones_of(store_url, record_id: str) -> list[tuple[str, str]]:
    from caremap.store import open_store

    store = open_store(store_url)
    try:
        with store.session() as session:
            service = service_of(session, record_id)
            rows = session.scalars(
                select(Phone).where(Phone.service_id == service.id).order_by(Phone.id)
            ).all()
            return sorted((row.number, row.description or "") for row in rows)
    finally:
        store.dispose()


def test_a_phone_cell_with_several_numbers_and_words_gives_each_number_its_words(store_url):
    assert phones_of(store_url, "AHT-BC-001") == [
        ("+12509534970", "main office (2009)"),
        ("+18887127974", "toll-free, 24/7, interpretation available"),
    ]
    # A ";" inside parentheses does not cut the number's words; "(7263)" restates "SANE".
    assert phones_of(store_url, "SAC-AB-002") == [
        ("+18669561099", "24-hour sexual violence help line; text line attached")
    ]
    assert phones_of(store_url, "SAC-NS-002") == [("+18335777263", "24/7")]
    # The number a 2019 news item printed instead stays in the words, not as a number to call.
    alberta = dict(phones_of(store_url, "CL-AB-001"))
    assert set(alberta) == {"+18664038000", "+14032376905"}
    assert "printed 1-800-403-8000" in alberta["+18664038000"]


def test_a_local_number_without_area_code_is_kept_as_printed_and_not_linked(store_url, client):
    assert [number for number, _ in phones_of(store_url, "SAC-NS-001")] == [
        "422-4240",
        "425-0122",
    ]
    page = page_of(client, store_url, "SAC-NS-001")
    assert "business: 422-4240" in page and "(area code not given)" in page
    assert 'href="tel:422' not in page and 'href="tel:+1902422' not in page
    assert "(indicatif régional non donné)" in page_of(client, store_url, "SAC-NB-002", "fr")


def test_a_row_without_street_address_is_placed_at_community_level(store_url, client):
    from caremap.store import open_store

    store = open_store(store_url)
    try:
        with store.session() as session:
            precision = session.scalars(
                select(Location.geocode_precision).where(
                    Location.source_name == "victim_services",
                    Location.source_record_id == "AHT-BC-001",
                )
            ).one()
    finally:
        store.dispose()
    assert precision == "place"
    assert "Located at community level; the source gives no address." in page_of(
        client, store_url, "AHT-BC-001"
    )
    french = page_of(client, store_url, "AHT-BC-001", "fr")
    assert "Situé à l’échelle de la localité ; la source ne donne aucune adresse." in french
    # An address without a postal code is placed at its community too, and says so truly.
    addressed = page_of(client, store_url, "IND-MB-001")
    assert "455 McDermot Ave." in addressed
    assert "the address is not placed more precisely" in addressed
    assert "the source gives no address" not in addressed


def test_the_as_of_is_the_newest_date_source_date_names(store_url):
    from caremap.store import open_store

    store = open_store(store_url)
    try:
        with store.session() as session:
            as_of = {
                record_id: service_of(session, record_id).source_as_of
                for record_id in ("SAC-AB-001", "IND-MB-001", "VS-MB-001", "VS-ON-001")
            }
    finally:
        store.dispose()
    assert as_of == {
        "SAC-AB-001": "2025-03-10",  # "undated operator pages; notice dated March 10, 2025 …"
        "IND-MB-001": "2025-12",  # "CTV Dec 2022; WFP Dec 2025 (…)"
        "VS-MB-001": "2024",  # "2020-2024 (news)"
        "VS-ON-001": None,  # "undated pages"
    }


def test_the_page_shows_the_rows_sources_date_and_notes(store_url, client):
    page = page_of(client, store_url, "AHT-ON-004")
    source = re.search(r"<dt>Source</dt><dd>([^<]*)</dd>", page).group(1)
    assert source.startswith("Place-based services for victims of trafficking")
    assert re.search(r"<dt>Source date</dt><dd>[^<]*2019[^<]*</dd>", page)
    # Several pages, and the undated words of source_date, stay in the description.
    undated = page_of(client, store_url, "SAC-ON-004")
    assert "https://trccmwar.ca/web-text-chat/ ; https://trccmwar.ca/about-us/" in undated
    assert "Sources (undated operator pages (current site))" in undated
    assert re.search(r"<dt>Source date</dt><dd>unknown</dd>", undated)
    assert "Street address not published in sources read" in undated  # the notes
    assert "Check before use" in undated


# What a search for human trafficking services within 100 km finds from each capital: a
# listed service's name, or None (then the page says so and shows the trafficking hotline).
CAPITALS = {
    "Victoria, BC": "BC Office to Combat Trafficking in Persons (OCTIP)",
    "Edmonton, AB": None,
    "Regina, SK": None,
    "Winnipeg, MB": "Klinic Community Health",
    "Toronto, ON": "FCJ Refugee Centre",
    "Québec, QC": None,
    "Fredericton, NB": None,
    "Halifax, NS": None,
    "Charlottetown, PE": None,
    "St. John's, NL": None,
    "Whitehorse, YT": None,
    "Yellowknife, NT": None,
    "Iqaluit, NU": None,
}


@pytest.mark.parametrize("capital", sorted(CAPITALS))
def test_a_trafficking_search_from_each_capital_finds_a_place_or_says_so_with_the_hotline(
    client, capital
):
    query = {"near": capital, "service_type": "human_trafficking", "radius_km": 100}
    page = client.get("/", query_string=query | {"lang": "en"}).text
    helplines = re.search(r'<section class="helplines".*?</section>', page, re.S)
    assert helplines, "no help line block"
    assert "Canadian Human Trafficking Hotline" in helplines.group()
    assert 'href="tel:+18339001010"' in helplines.group()
    results = page[page.index('id="results"') :]
    expected = CAPITALS[capital]
    nothing = re.search(r"No human trafficking services in our data within 100 km of [^.]*\.", page)
    if expected is None:
        assert nothing, page
        assert page.index(nothing.group()) < page.index('class="helplines"')
    else:
        assert nothing is None
        assert expected in results.split('<details class="farther"')[0]


HOSTILE_ROW = {
    "source_id": "HOST-ON-001",
    "name": "Hostile Centre",
    "organization": '=HYPERLINK("http://evil.example","click")',
    "service_category": "victim_services",
    "city": "Toronto",
    "province": "ON",
    "phone": "416-555-0100 (<script>alert(1)</script>)",
    "description": "<img src=x onerror=alert(1)> {{ 7*7 }}",
    "source_url": "javascript:alert(1) ; https://example.org/a",
    "source_date": "2024-05",
    "notes": "<b>bold</b> {% raw %}",
}


def test_hostile_text_in_a_copied_row_is_escaped_and_a_nul_is_reported(
    empty_store, empty_store_url, make_app, tmp_path
):
    with VICTIM_SERVICES.open(encoding="utf-8") as handle:
        columns = csv.DictReader(handle).fieldnames
    path = tmp_path / "victim_services.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerow(dict.fromkeys(columns, "") | HOSTILE_ROW)
        writer.writerow(
            dict.fromkeys(columns, "")
            | HOSTILE_ROW
            | {"source_id": "HOST-ON-002", "notes": "before\0after"}
        )
    [report] = run(empty_store, [path], DATA_DIR, tmp_path / "reports", progress=False)
    assert report.loaded == 1
    [nul] = report.rejected
    assert nul.line == 3 and "NUL" in nul.reason
    # The rejected-row report is a spreadsheet: the formula is written as text.
    with (tmp_path / "reports" / "victim_services-rejected.csv").open(encoding="utf-8") as handle:
        [reported] = list(csv.DictReader(handle))
    assert reported["organization"] == "'" + HOSTILE_ROW["organization"]
    assert reported["notes"] == "beforeafter"
    with empty_store.session() as session:
        service_id = service_of(session, "HOST-ON-001").id
    client = make_app(empty_store_url).test_client()
    page = client.get(f"/services/{service_id}?lang=en").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; {{ 7*7 }}" in page
    assert 'href="javascript:' not in page


def test_victim_services_are_not_merged_with_shelters_of_the_same_organization(
    empty_store, tmp_path
):
    """North End Women's Centre and Stepping Stone also run shelters listed in the NSPL: the
    pairs go to the moderators at most, never merged."""
    with (LISTINGS / "nspl_2024.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        shelters = [row for row in reader if row["ServiceProviderID"] in {"4159", "5631"}]
        columns = reader.fieldnames
    nspl = tmp_path / "nspl_2024.csv"
    with nspl.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(shelters)
    run(empty_store, [nspl, VICTIM_SERVICES], DATA_DIR, tmp_path / "reports", progress=False)
    with empty_store.session() as session:
        pairs = session.scalars(select(ListingMatch)).all()
    found = {(pair.record_a, pair.record_b): pair.status for pair in pairs}
    assert found == {("4159", "VS-MB-001"): "review", ("5631", "SW-NS-001"): "review"}
