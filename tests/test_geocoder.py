"""Gazetteer lookups and offline geocoding against the bundled GeoNames data."""

from pathlib import Path

import pandas as pd
import pytest

from caremap.gazetteer import Gazetteer, GazetteerPoint, PlacePoint, load_gazetteer
from caremap.geocoder import CROSS_CHECK_LIMIT_M, Geocoder, Precision
from caremap.geodesy import distance_m

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer(DATA)


@pytest.fixture(scope="module")
def geocoder(gazetteer) -> Geocoder:
    return Geocoder(gazetteer)


def test_gazetteer_is_loaded_once_with_every_postal_code(gazetteer):
    assert len(gazetteer) == 891_909
    assert load_gazetteer(DATA) is gazetteer


def test_gazetteer_postal_code_accepts_any_spelling(gazetteer):
    point = gazetteer.postal_code("m5a2n2")
    assert point is not None
    assert (point.label, point.province_abbr) == ("Toronto", "ON")
    assert 43 < point.latitude < 44 and -80 < point.longitude < -79  # (lat, lon), not swapped
    assert gazetteer.postal_code("M5A 9Z9") is None
    assert gazetteer.postal_code("not a code") is None


def test_gazetteer_fsa_and_place(gazetteer):
    assert gazetteer.fsa("M5V").province_abbr == "ON"
    assert gazetteer.fsa("ZZZ") is None
    kenora = gazetteer.place("KENORA", "Ontario")
    assert (kenora.label, kenora.province_abbr) == ("Kenora", "ON")
    assert gazetteer.place("Kenora", "MB") is None  # matching is within the province


def test_gazetteer_place_picks_largest_and_expands_saint(gazetteer):
    assert gazetteer.place("Montreal", "QC").label == "Montréal"
    assert gazetteer.place("St-Jean-sur-Richelieu", "QC").label == "Saint-Jean-sur-Richelieu"
    assert gazetteer.place("Saint John's", "NL").label == "St. John's"  # a GeoNames alternate name
    assert gazetteer.place("Kenora", "") is None


def test_distance_m_is_geodesic_and_keyword_only():
    # One degree of latitude at 45° N is about 111.1 km on the WGS84 ellipsoid.
    assert distance_m(lat1=45, lon1=-75, lat2=46, lon2=-75) == pytest.approx(111_141, abs=10)
    with pytest.raises(TypeError):
        distance_m(45, -75, 46, -75)  # type: ignore[misc]


def test_full_postal_code_from_the_listings(geocoder):
    # 339 George St (Seaton House), listed by the City at 43.65995605, -79.37426518.
    result = geocoder.geocode(
        street_address="339 George St", city="Toronto", province="ON", postal_code="M5A 2N2"
    )
    assert result.precision is Precision.POSTAL_CODE
    assert result.matched == "postal code M5A 2N2"
    metres = distance_m(
        lat1=43.65995605, lon1=-79.37426518, lat2=result.latitude, lon2=result.longitude
    )
    # GeoNames puts this code about 1.5 km away: within the ETL's cross-check limit, not 1 km.
    assert 1_000 < metres < CROSS_CHECK_LIMIT_M


def test_postal_code_point_close_to_the_city_address_point(geocoder):
    # 21 Park Rd (TOR2026-065): the GeoNames point is within about 10 m.
    result = geocoder.geocode(postal_code="m4w 2n1")
    assert result.precision is Precision.POSTAL_CODE
    assert (
        distance_m(lat1=43.67205, lon1=-79.384598, lat2=result.latitude, lon2=result.longitude)
        < 100
    )


def test_fsa_fallback_for_an_unknown_code_in_a_real_fsa(geocoder, gazetteer):
    assert gazetteer.postal_code("M5V 9Z9") is None
    result = geocoder.geocode(city="Toronto", province="ON", postal_code="M5V 9Z9")
    assert (result.precision, result.matched) == (Precision.FSA, "FSA M5V")
    fsa = gazetteer.fsa("M5V")
    assert (result.latitude, result.longitude) == (fsa.latitude, fsa.longitude)


def test_damaged_postal_code_still_gives_its_fsa(geocoder):
    result = geocoder.geocode(postal_code="M5V 2TX")
    assert result.precision is Precision.FSA


def test_place_fallback(geocoder):
    result = geocoder.geocode(street_address="1 Main St", city="Kenora", province="ON")
    assert (result.precision, result.matched) == (Precision.PLACE, "place: Kenora, ON")
    assert result.latitude == pytest.approx(49.767, abs=0.01)
    assert result.longitude == pytest.approx(-94.49, abs=0.01)


def test_place_fallback_is_accent_insensitive(geocoder):
    result = geocoder.geocode(city="Trois Rivieres", province="QC")
    assert (result.precision, result.matched) == (Precision.PLACE, "place: Trois-Rivières, QC")


def test_place_province_from_a_postal_code_outside_the_gazetteer(geocoder):
    # "P9Z" is no FSA, but P is Ontario-only, so the city can be placed.
    result = geocoder.geocode(city="Kenora", postal_code="P9Z 9Z9")
    assert result.matched == "place: Kenora, ON"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"city": "Atlantis", "province": "ON"},
        {"city": "Kenora"},  # no province: too ambiguous to guess
        {"city": "Kenora", "province": "Nowhere", "postal_code": "90210"},
    ],
)
def test_unmatched(geocoder, fields):
    result = geocoder.geocode(**fields)
    assert (result.latitude, result.longitude) == (None, None)
    assert (result.precision, result.matched) == (Precision.UNMATCHED, "")


def test_cross_check(geocoder):
    # 4674 Kingston Rd (TOR2012-14): the City's address point is about 3.6 km from GeoNames'.
    far = geocoder.cross_check(latitude=43.77664411, longitude=-79.17436399, postal_code="M1E 2P9")
    assert far > CROSS_CHECK_LIMIT_M
    near = geocoder.cross_check(latitude=43.67205, longitude=-79.384598, postal_code="M4W 2N1")
    assert near < 100
    assert geocoder.cross_check(latitude=43.7, longitude=-79.4, postal_code="") is None
    assert geocoder.cross_check(latitude=43.7, longitude=-79.4, postal_code="M5V 9Z9") is None


def test_precision_values_are_stable_strings():
    assert [p.value for p in Precision] == [
        "source_coordinates", "manual", "postal_code", "fsa", "place", "unmatched",
    ]  # fmt: skip


def test_places_named_searches_every_province_most_populous_first(gazetteer):
    richmonds = gazetteer.places_named("RICHMOND")
    assert [(p.label, p.province_abbr) for p in richmonds] == [
        ("Richmond", "BC"), ("Richmond", "AB"), ("Richmond", "ON"), ("Richmond", "QC"),
    ]  # fmt: skip
    populations = [p.population for p in richmonds]
    assert populations == sorted(populations, reverse=True)
    assert all(isinstance(p, PlacePoint) and isinstance(p, GazetteerPoint) for p in richmonds)
    assert richmonds[0].population > 200_000
    assert gazetteer.places_named("Richmond", "Québec") == [richmonds[-1]]
    assert gazetteer.places_named("Richmond", "Nowhere") == []
    assert gazetteer.places_named("Atlantis") == []


def test_places_named_puts_main_names_before_alternate_names(gazetteer):
    # Saint John (NB) by its main name; St. John's (NL, larger) by a GeoNames alternate name.
    saint_johns = gazetteer.places_named("Saint John")
    assert [(p.label, p.province_abbr) for p in saint_johns] == [
        ("Saint John", "NB"), ("St. John's", "NL"),
    ]  # fmt: skip
    assert gazetteer.places_named("Saint John", alternate_names=False) == saint_johns[:1]
    assert [p.label for p in gazetteer.places_named("Frobisher Bay")] == ["Iqaluit"]
    assert gazetteer.places_named("Frobisher Bay", alternate_names=False) == []


def test_places_named_accepts_a_possessive_without_its_apostrophe(gazetteer):
    for spelling in ("St. John's", "st johns", "Saint Johns", "ST JOHN S"):
        assert [p.label for p in gazetteer.places_named(spelling)] == ["St. John's"], spelling
    assert "saint johns" in gazetteer.place_keys


def test_places_named_agrees_with_place(gazetteer):
    checked = 0
    for key in gazetteer.place_keys:
        found = gazetteer.places_named(key)
        for province in {p.province_abbr for p in found}:
            expected = gazetteer.place(key, province)
            if expected is None:  # a key only places_named knows ("saint johns")
                continue
            first = gazetteer.places_named(key, province)[0]
            assert (first.latitude, first.longitude, first.label, first.province_abbr) == (
                expected.latitude, expected.longitude, expected.label, expected.province_abbr,
            ), (key, province)  # fmt: skip
            checked += 1
    assert checked > 9_000


def test_places_named_without_an_index_uses_the_place_dicts():
    postal_codes = pd.DataFrame(
        {"postal_code": ["P9N 1A1"], "place_name": ["Kenora"], "province_abbr": ["ON"],
         "latitude": [49.77], "longitude": [-94.49]}
    )  # fmt: skip
    kenora = GazetteerPoint(49.76741, -94.48985, "Kenora", "ON")
    small = Gazetteer(postal_codes, {}, {("ON", "kenora"): kenora}, {("ON", "rat portage"): kenora})
    assert small.places_named("Kenora") == [PlacePoint(49.76741, -94.48985, "Kenora", "ON", 0)]
    assert [p.label for p in small.places_named("Rat Portage", "ON")] == ["Kenora"]
    assert small.places_named("Rat Portage", alternate_names=False) == []
    assert small.place_keys == {"kenora", "rat portage"}
