"""The national sources: the National Service Provider List 2024 (shelters placed at their
community) and the crisis and help lines that serve an area."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from caremap.helplines import OutsideCanada, helplines_for
from caremap.jurisdictions import load_boundaries
from caremap.model import (
    Attribute,
    Location,
    Organization,
    PublicListing,
    Service,
    ServiceArea,
    TaxonomyTerm,
)
from caremap.reasons import reason_of
from caremap.store import Store
from etl.pipeline import SourceReport, run
from tests.conftest import DATA_DIR, LISTINGS, Copy, copy_of
from webmap.common.filters import said

NSPL = LISTINGS / "nspl_2024.csv"
# The 1,114 rows by province (data/SOURCES.md) less the rows whose community the gazetteer
# lacks (UNPLACED).
NSPL_LOADED = {
    "35": 321, "24": 284, "59": 216, "48": 79, "46": 45, "47": 42, "12": 30, "13": 24,
    "10": 23, "11": 10, "61": 8, "62": 6, "60": 4,
}  # fmt: skip
UNPLACED = {
    97: "Campbell's Bay", 141: "L'Isle-aux-Coudres", 142: "La Baie", 143: "La Baie",
    144: "La Baie", 182: "Mingan", 285: "Obedjiwan", 286: "Pointe-aux-Outardes",
    323: "Roxton Falls", 422: "Champlain", 423: "Chatham-Kent", 436: "Georgina",
    437: "Georgina", 462: "Kawartha Lakes", 497: "New Tecumseth", 512: "North Grenville",
    579: "Six Nations Of The Grand River", 703: "Wikwemikong First Nation",
    757: "Lloydminster", 758: "Lloydminster", 991: "Salt Spring Island",
    1113: "Hamlet Of Kugluktuk",
}  # fmt: skip


def etl(store, *paths, report_dir):
    return run(store, list(paths), DATA_DIR, report_dir, progress=False)


def _load_nspl(store: Store, _url: str, reports: Path) -> SourceReport:
    [report] = etl(store, NSPL, report_dir=reports)
    return report


@pytest.fixture
def nspl_copy(backend, tmp_path) -> Iterator[Copy]:
    """A store of the test's own with the NSPL loaded; ``filled`` is its load report."""
    with copy_of(backend, "nspl", _load_nspl, tmp_path) as made:
        yield made


@pytest.fixture
def nspl_loaded(nspl_copy) -> tuple[Store, SourceReport]:
    return nspl_copy.store, nspl_copy.filled


def service(session, source_id: str) -> Service:
    return session.scalars(
        select(Service).where(
            Service.source_name == "nspl_2024", Service.source_record_id == source_id
        )
    ).one()


def codes(session, service_id: str) -> set[str]:
    return set(
        session.scalars(
            select(TaxonomyTerm.code)
            .join(Attribute, Attribute.taxonomy_term_id == TaxonomyTerm.id)
            .where(Attribute.link_id == service_id)
        )
    )


def location_of(session, source_id: str) -> Location:
    return session.scalars(
        select(Location).where(
            Location.source_name == "nspl_2024", Location.source_record_id == source_id
        )
    ).one()


def test_nspl_loads_in_all_13_jurisdictions_at_community_level(nspl_loaded):
    store, report = nspl_loaded
    assert report.counts.inserted == 1092 and len(report.rejected) == 22
    assert report.counts.inserted + len(report.rejected) == 1114
    with store.session() as session:
        locations = session.scalars(select(Location)).all()
    assert Counter(location.pruid for location in locations) == NSPL_LOADED
    assert {location.geocode_precision for location in locations} == {"place"}


def test_an_unknown_community_is_a_bad_row_with_its_line(nspl_loaded):
    _, report = nspl_loaded
    assert {row.line: row.value for row in report.rejected} == UNPLACED
    assert {row.field for row in report.rejected} == {"city"}
    kugluktuk = next(row for row in report.rejected if row.line == 1113)
    assert kugluktuk.values["ServiceProviderID"] and kugluktuk.values["ProvCode"] == "NU"
    assert "match nothing in the gazetteer" in kugluktuk.reason


def test_nspl_quirks(nspl_loaded):
    store, _ = nspl_loaded
    with store.session() as session:
        # ProvName says "Yukon", ProvCode NT: the shelter is in Yellowknife, NT.
        bailey = location_of(session, "1217")
        assert bailey.pruid == "61" and bailey.addresses[0].city == "Yellowknife"
        # City with a trailing space.
        assert location_of(session, "3083").addresses[0].city == "Yellowknife"
        # DesCom says "Ottawa"; the row is placed at its city, North Vancouver, BC.
        assert location_of(session, "1155").pruid == "59"
        # Umbrella "null": the shelter is its own organization.
        saint_john = service(session, "6281")
        assert saint_john.organization.name == "Saint John Out of the Cold"
        assert not session.scalars(select(Organization).where(Organization.name == "null")).all()
        # Umbrella "Calgary Drop-In Centre\n": one organization, named without the line break.
        calgary = session.scalars(
            select(Organization).where(Organization.name.like("Calgary Drop-In Centre%"))
        ).all()
        assert [organization.name for organization in calgary] == ["Calgary Drop-In Centre"]
        assert len(calgary[0].services) == 2
        # Beds are permanent capacity: nothing is said about beds free now.
        [beds] = service(session, "887").capacities
        assert (beds.unit, beds.maximum, beds.available) == ("beds", 1028, None)


def test_nspl_values_map_to_the_vocabulary(nspl_loaded):
    store, report = nspl_loaded
    assert not report.warnings  # every value of the mapped columns is known
    with store.session() as session:
        expected = {
            "4121": {"transitional_housing", "men"},
            "6284": {"transitional_housing", "families", "women"},
            "2338": {"emergency_shelter", "all_adults"},
            "1155": {"emergency_shelter", "youth"},
        }
        assert {key: codes(session, service(session, key).id) for key in expected} == expected


HELPLINES = LISTINGS / "helplines.csv"


def _load_helplines(store: Store, _url: str, reports: Path) -> SourceReport:
    [report] = etl(store, HELPLINES, report_dir=reports)
    return report


@pytest.fixture
def helplines_copy(backend, tmp_path) -> Iterator[Copy]:
    """A store of the test's own with the help lines loaded; ``filled`` is their load report."""
    with copy_of(backend, "helplines", _load_helplines, tmp_path) as made:
        yield made


@pytest.fixture
def helplines_loaded(helplines_copy) -> tuple[Store, SourceReport]:
    return helplines_copy.store, helplines_copy.filled


def test_helplines_load_as_services_that_serve_an_area(helplines_loaded):
    store, report = helplines_loaded
    assert report.counts.inserted == 41 and not report.rejected and not report.warnings
    with store.session() as session:
        areas = session.scalars(select(ServiceArea)).all()
        assert len({area.service_id for area in areas}) == 41
        national = {area.service_id for area in areas if area.pruid is None}
        assert len(national) == 8
        assert {area.name for area in areas if area.pruid is None} == {"Canada"}
        # Every province and territory has at least one line of its own.
        assert {area.pruid for area in areas if area.pruid} == set(NSPL_LOADED)
        # No place: no location, no published listing.
        assert session.scalars(select(Location)).all() == []
        assert session.scalars(select(PublicListing)).all() == []
        kids = session.scalars(select(Service).where(Service.name == "Kids Help Phone")).one()
        assert kids.alternate_name == "Jeunesse, J'écoute"
        assert [phone.number for phone in kids.phones] == ["+18006686868"]
        # Short and lettered numbers are phones, kept as dialled.
        dialled = {
            service.name: [phone.number for phone in service.phones]
            for service in session.scalars(select(Service)).all()
        }
        assert dialled["9-8-8: Suicide Crisis Helpline"] == ["988"]
        assert dialled["211 Ontario"] == ["211"]
        assert dialled["Family Violence Info Line (Alberta)"] == ["3101818"]
        assert all(dialled.values())  # every line can be called
        # A line serving several provinces has one area for each.
        north = session.scalars(
            select(ServiceArea).where(ServiceArea.source_record_id.like("%YT;NT;NU#area:%"))
        ).all()
        assert sorted(area.pruid for area in north) == ["60", "61", "62"]


def test_each_helpline_keeps_its_sources_and_their_date(helplines_loaded):
    store, _ = helplines_loaded
    with store.session() as session:
        hotline = session.scalars(
            select(Service).where(Service.name == "Canadian Human Trafficking Hotline")
        ).one()
    assert "Sources (launched 2019-05-29" in hotline.description
    assert "https://canadianhumantraffickinghotline.ca/faq" in hotline.description
    assert "Phone (as published): 1-833-900-1010" in hotline.description


def test_a_helpline_with_an_unknown_area_is_a_bad_row(empty_store, tmp_path):
    lines = HELPLINES.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "helplines.csv"
    bad.write_text(lines[0] + lines[1].replace(",national,", ",Atlantis,"), encoding="utf-8")
    [report] = etl(empty_store, bad, report_dir=tmp_path / "reports")
    [row] = report.rejected
    assert (row.line, row.field, row.value) == (2, "area_served", "Atlantis")
    assert row.reason.startswith("area_served: ")


# A point in each province and territory (its capital or a city), with its code in the file.
POINTS = {
    "NL": (47.5615, -52.7126), "PE": (46.2382, -63.1311), "NS": (44.6488, -63.5752),
    "NB": (45.9636, -66.6431), "QC": (45.5017, -73.5673), "ON": (49.7670, -94.4894),
    "MB": (49.8951, -97.1384), "SK": (50.4452, -104.6189), "AB": (53.5461, -113.4938),
    "BC": (49.2827, -123.1207), "YT": (60.7212, -135.0568), "NT": (62.4540, -114.3718),
    "NU": (63.7467, -68.5170),
}  # fmt: skip


def lines_in_file() -> list[dict[str, str]]:
    with HELPLINES.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("province", sorted(POINTS))
def test_helplines_for_a_point_are_its_provinces_then_the_national_ones(helplines_loaded, province):
    store, _ = helplines_loaded
    rows = lines_in_file()
    own = sorted(r["name_en"] for r in rows if province in r["area_served"].split(";"))
    national = sorted(r["name_en"] for r in rows if r["area_served"] == "national")
    with store.session() as session:
        found = helplines_for(session, *POINTS[province], load_boundaries(DATA_DIR))
    assert own and [line.name for line in found] == own + national


def test_a_point_outside_canada_has_no_helplines(helplines_loaded, helplines_copy, make_app):
    store, _ = helplines_loaded
    with store.session() as session, pytest.raises(OutsideCanada) as raised:
        helplines_for(session, 40.0, -40.0, load_boundaries(DATA_DIR))
    reason = reason_of(raised.value)
    assert reason == "40, -40 is outside Canada: no help line serves it."
    with make_app(helplines_copy.url).test_request_context(headers={"Accept-Language": "fr"}):
        assert said(reason) == "40, -40 est hors du Canada : aucune ligne d’aide ne le dessert."


def test_the_api_lists_the_helplines_apart_from_the_places(helplines_copy, make_app):
    client = make_app(helplines_copy.url).test_client()
    iqaluit = client.get("/api/v1/services?lat=63.7467&lon=-68.5170").get_json()
    assert iqaluit["features"] == []  # lines are never places
    names = [line["name"] for line in iqaluit["helplines"]]
    assert names[:2] == [
        "211 (Yukon, Northwest Territories, Nunavut)",
        "Nunavut Kamatsiaqtut Help Line",
    ]
    assert len(names) == 2 + 8
    hotline = next(line for line in iqaluit["helplines"] if line["name"].startswith("Nunavut"))
    assert hotline["phones"][0]["number"].startswith("+1")
    assert not {"distance_m", "geometry", "latitude"} & set(iqaluit["helplines"][0])
    browse = client.get("/api/v1/services").get_json()
    assert len(browse["helplines"]) == 8
    assert {area["name"] for line in browse["helplines"] for area in line["service_area"]} == {
        "Canada"
    }
    kids = next(line for line in browse["helplines"] if line["name"] == "Kids Help Phone")
    assert kids["name_fr"] == "Jeunesse, J'écoute"


def test_an_origin_outside_canada_is_a_clear_400(helplines_copy, make_app):
    response = make_app(helplines_copy.url).test_client().get("/api/v1/services?lat=40&lon=-40")
    assert response.status_code == 400
    body = response.get_json()
    assert (body["parameter"], body["message"]) == (
        "lat",
        "40, -40 is outside Canada: no help line serves it.",
    )


def test_a_community_level_listing_says_so_and_its_distance_is_coarse(
    nspl_loaded, nspl_copy, make_app
):
    store, _ = nspl_loaded
    client = make_app(nspl_copy.url).test_client()
    kenora_search = client.get("/?near=Kenora%2C+ON&lang=en").text
    assert '<span class="distance">in Kenora</span>' in kenora_search
    assert "0.0 km" not in kenora_search  # nor in the map markers
    far = client.get("/?near=Thunder+Bay%2C+ON&radius_km=any&lang=en").text
    assert re.search(r'<span class="distance">about [\d,]+ km</span>', far)
    assert not re.search(r'<span class="distance">[\d,]+\.\d km</span>', far)
    printed = client.get("/print?near=Kenora%2C+ON&lang=fr").text
    assert "à Kenora" in printed
    with store.session() as session:
        bailey = service(session, "1217").id
    english = client.get(f"/services/{bailey}?lang=en").text
    assert "Located at community level; the source gives no address." in english
    assert "Directions (OpenStreetMap)" not in english
    french = client.get(f"/services/{bailey}?lang=fr").text
    assert "Situé à l’échelle de la localité ; la source ne donne aucune adresse." in french


def line(session, name: str) -> Service:
    return session.scalars(select(Service).where(Service.name == name)).one()


def test_a_helplines_hours_languages_and_date_are_fields_of_their_own(helplines_loaded):
    """Hours are schedules (24/7 is the term open_24_7), languages are language codes with the
    source's own words kept as interpretation services, the newest date of the sources is the
    as-of; the description keeps what has no field (phone as published, who is served, notes,
    sources)."""
    store, _ = helplines_loaded
    with store.session() as session:
        hotline = line(session, "Canadian Human Trafficking Hotline")
        assert [s.description for s in hotline.schedules] == ["24/7/365"]
        assert [(s.byday, str(s.opens_at)) for s in hotline.schedules] == [
            ("MO,TU,WE,TH,FR,SA,SU", "00:00:00")
        ]
        assert "open_24_7" in codes(session, hotline.id)
        assert sorted(language.code for language in hotline.languages) == ["en", "fr"]
        assert hotline.interpretation_services.startswith("English, French; 200+ languages")
        assert hotline.source_as_of == "2019-05-29"
        assert "Hours:" not in hotline.description and "Languages:" not in hotline.description
        # A blank column leaves out its part of the description, label and all.
        assert "Text:" not in hotline.description
        assert "Text: Text CONNECT to 686868." in line(session, "Kids Help Phone").description
        wellness = line(session, "Hope for Wellness Help Line")
        assert {language.code for language in wellness.languages} == {"en", "fr", "cr", "oj", "iu"}
        assert wellness.source_as_of == "2022-06"
        quebec = line(session, "211 (Québec)")
        # Hours that do not parse stay as text, one schedule per part.
        assert {s.description for s in quebec.schedules} == {
            "Varies by region: Grand Montréal 8:00-18:00 daily",
            (
                "Capitale-Nationale/Chaudière-Appalaches Mon-Fri 8:00-19:00, weekends/holidays "
                "8:00-15:30"
            ),
        }
        assert quebec.source_as_of == "2020-12-15"
