"""The search box's text → a point: coordinates, postal codes, FSAs and places (real gazetteer)."""

import re
from dataclasses import FrozenInstanceError
from pathlib import Path

import pandas as pd
import pytest
from babel.support import Translations

from caremap.gazetteer import Gazetteer, PlacePoint, load_gazetteer
from caremap.geocoder import Precision
from caremap.locate import (
    _PLACE_LABELS,
    MAX_ALTERNATIVES,
    Located,
    LocateError,
    LocatePrecision,
    locate,
)
from caremap.normalise import PROVINCES
from caremap.reasons import Reason, reason_of, say

DATA = Path(__file__).resolve().parent.parent / "data"
NBSP = "\u00a0"
FRENCH = Translations.load(Path(__file__).resolve().parents[1] / "webmap" / "translations", ["fr"])


def french(text: str) -> str:
    """``text`` (a :class:`Reason`) as a French page says it, through the French catalogue."""
    return say(text, lambda template, **values: FRENCH.gettext(template) % values)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer(DATA)


def place_of(text: str, gazetteer: Gazetteer) -> str:
    located = locate(text, gazetteer)
    assert located is not None, text
    assert located.precision is LocatePrecision.PLACE, located
    return located.label.removeprefix("place: ")


# --- coordinates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "latitude", "longitude", "shown"),
    [
        ("43.6532, -79.3832", 43.6532, -79.3832, "43.6532, -79.3832"),
        ("  43.6532 -79.3832 ", 43.6532, -79.3832, "43.6532, -79.3832"),
        ("43.6532;-79.3832", 43.6532, -79.3832, "43.6532, -79.3832"),
        ("+43.6532,-79.3832", 43.6532, -79.3832, "43.6532, -79.3832"),
        ("43, -79", 43.0, -79.0, "43, -79"),
        # French decimal commas: separated by ';', whitespace, or a comma and a space.
        ("43,6532; -79,3832", 43.6532, -79.3832, "43.6532, -79.3832"),
        ("43,6532 -79,3832", 43.6532, -79.3832, "43.6532, -79.3832"),
        ("43,6532, -79,3832", 43.6532, -79.3832, "43.6532, -79.3832"),
        ("43.6532 \u221279.3832", 43.6532, -79.3832, "43.6532, -79.3832"),  # Unicode minus
        # Hemisphere letters instead of signs, either order; O for "ouest".
        ("43.65° N, 79.38° W", 43.65, -79.38, "43.65, -79.38"),
        ("43.65N 79.38O", 43.65, -79.38, "43.65, -79.38"),
        ("79.38 w, 43.65 n", 43.65, -79.38, "43.65, -79.38"),
    ],
)
def test_coordinates(gazetteer, text, latitude, longitude, shown):
    located = locate(text, gazetteer)
    assert located == Located(
        latitude,
        longitude,
        LocatePrecision.COORDINATES,
        f"coordinates {shown}",
    )
    assert french(located.label) == f"coordonnées {shown}"


@pytest.mark.parametrize(
    ("text", "message_en", "message_fr"),
    [
        ("91, -79", "Latitude 91 is out of range", f"La latitude 91 est hors limites{NBSP}:"),
        ("-90.5 -79", "Latitude -90.5 is out of range", "La latitude -90.5"),
        ("45, -181", "Longitude -181 is out of range", "La longitude -181 est hors limites"),
        # Valid points but not in Canada, with the likely intended pair when there is one.
        ("43.65, 79.38", "did you mean 43.65, -79.38?", f"vouliez-vous dire 43.65, -79.38{NBSP}?"),
        ("-79.38, 43.65", "Latitude comes first: did you mean 43.65, -79.38?", "en premier"),
        ("-100.5, 50.2", "Latitude comes first: did you mean 50.2, -100.5?", "en premier"),
        ("48.8566, 2.3522", "48.8566, 2.3522 is outside Canada.", "est hors du Canada."),
        ("43.65 N 79.38 S", "one latitude (N or S) and one longitude", "une latitude (N ou S)"),
        ("-43.65 N, 79 W", "not both: -43.65 N", "pas les deux"),
        # Only numbers, but not a coordinate pair.
        ("43,6532,-79,3832", "is not a place, postal code or pair", "n'est ni un lieu"),
        ("43.6532", "43.6532, -79.3832", "latitude d'abord"),
        ("43°39′N 79°23′W", "decimal degrees", "degrés décimaux"),
        ("911", '"911" is not a place', f"«{NBSP}911{NBSP}»"),
    ],
)
def test_unusable_coordinates_raise_a_bilingual_error(gazetteer, text, message_en, message_fr):
    with pytest.raises(LocateError, match=re.escape(message_en)) as raised:
        locate(text, gazetteer)
    error = raised.value
    assert isinstance(error, ValueError)
    assert str(error) == reason_of(error)
    assert message_fr in french(reason_of(error))


def test_coordinates_near_the_border_are_accepted(gazetteer):
    # Detroit, across the river from Windsor: a worker may be on either side.
    assert locate("42.3314, -83.0458", gazetteer).precision is LocatePrecision.COORDINATES


# --- postal codes and FSAs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["M5V 2T6", "m5v2t6", " m5v-2t6 ", "200 King St W, Toronto ON M5V 2T6", "M5V2T6, Toronto"],
)
def test_postal_code_anywhere_in_the_text(gazetteer, text):
    located = locate(text, gazetteer)
    point = gazetteer.postal_code("M5V 2T6")
    assert located == Located(
        point.latitude,
        point.longitude,
        LocatePrecision.POSTAL_CODE,
        "postal code M5V 2T6",
    )
    assert french(located.label) == "code postal M5V 2T6"


def test_unknown_postal_code_in_a_known_fsa_gives_the_fsa(gazetteer):
    assert gazetteer.postal_code("M5V 9Z9") is None
    located = locate("m5v 9z9", gazetteer)
    assert located.precision is LocatePrecision.FSA
    assert located.label == "FSA M5V (Downtown Toronto)"


@pytest.mark.parametrize("text", ["M5V", "m5v", "  M5V ", "Toronto M5V", "M5V, Toronto ON"])
def test_fsa(gazetteer, text):
    located = locate(text, gazetteer)
    point = gazetteer.fsa("M5V")
    assert (located.latitude, located.longitude) == (point.latitude, point.longitude)
    assert located.precision is LocatePrecision.FSA
    # The FSA's descriptive name is cut before its list of neighbourhoods.
    assert (located.label, french(located.label)) == (
        "FSA M5V (Downtown Toronto)",
        "RTA M5V (Downtown Toronto)",
    )


def test_a_rural_fsa_yields_to_a_place_named_with_it(gazetteer):
    # P0V covers most of northwestern Ontario: its point is 400 km from Kenora.
    assert locate("P0V", gazetteer).label == "FSA P0V (Northwestern Ontario)"
    assert place_of("Kenora ON P0V", gazetteer) == "Kenora, ON"
    assert place_of("Red Lake P0V", gazetteer) == "Red Lake, ON"
    assert locate("Nowhereville P0V", gazetteer).precision is LocatePrecision.FSA


def test_a_postal_code_outside_the_gazetteer_still_implies_the_province(gazetteer):
    # "P9Z" is no FSA, but P is Ontario-only.
    assert place_of("Kenora P9Z 9Z9", gazetteer) == "Kenora, ON"
    # J is Quebec-only: the Richmond in Quebec, not the larger one in BC.
    assert place_of("Richmond J0B 9Z9", gazetteer) == "Richmond, QC"


# --- places -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thunder Bay", "Thunder Bay, ON"),
        ("Trois-Rivières", "Trois-Rivières, QC"),
        ("trois rivieres", "Trois-Rivières, QC"),
        ("TROIS-RIVIÈRES (Québec)", "Trois-Rivières, QC"),
        ("Kenora, ON", "Kenora, ON"),
        ("Kenora (Ont.)", "Kenora, ON"),
        ("Saint-Jean-sur-Richelieu", "Saint-Jean-sur-Richelieu, QC"),
        ("St-Jean-sur-Richelieu", "Saint-Jean-sur-Richelieu, QC"),
        ("St. John's, NL", "St. John's, NL"),
        ("st johns", "St. John's, NL"),
        ("Saint John", "Saint John, NB"),
        ("Montréal", "Montréal, QC"),
        ("montreal qc", "Montréal, QC"),
        ("Montreal, Quebec", "Montréal, QC"),
        ("Iqaluit", "Iqaluit, NU"),
        ("Frobisher Bay", "Iqaluit, NU"),  # a GeoNames alternate name
        ("Québec", "Québec, QC"),  # the city, though it is also the province's name
        ("Quebec City", "Québec, QC"),
        ("Sault Ste. Marie", "Sault Ste. Marie, ON"),
        ("Yellowknife NWT", "Yellowknife, NT"),
        ("Charlottetown, PEI", "Charlottetown, PE"),
        ("Whitehorse, Yukon", "Whitehorse, YT"),
        ("Ottawa, Ontario, Canada", "Ottawa, ON"),
        ("Richmond Hill", "Richmond Hill, ON"),
    ],
)
def test_place(gazetteer, text, expected):
    assert place_of(text, gazetteer) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123 Main St, Kenora ON", "Kenora, ON"),
        ("123 Main St Kenora", "Kenora, ON"),
        ("200 King St W, Toronto", "Toronto, ON"),  # King is also a place in Ontario
        ("1 Victoria St, Kenora", "Kenora, ON"),  # and Victoria one in BC
        ("4500 rue Sherbrooke O., Montréal (Québec)", "Montréal, QC"),
        ("women's shelter near downtown Toronto", "Toronto, ON"),
    ],
)
def test_street_address_without_postal_code_gives_its_city(gazetteer, text, expected):
    assert place_of(text, gazetteer) == expected


def test_street_name_alone_is_not_taken_for_a_place(gazetteer):
    assert locate("55 Hope St", gazetteer) is None
    assert place_of("Hope", gazetteer) == "Hope, BC"


def test_place_labels_follow_each_languages_typography(gazetteer):
    kenora = locate("kenora", gazetteer)
    point = gazetteer.place("Kenora", "ON")
    assert kenora == Located(
        point.latitude,
        point.longitude,
        LocatePrecision.PLACE,
        "place: Kenora, ON",
    )
    assert french(kenora.label) == f"lieu{NBSP}: Kenora (Ont.)"
    assert french(locate("Trois-Rivières", gazetteer).label) == f"lieu{NBSP}: Trois-Rivières (Qc)"
    assert french(locate("St. John's", gazetteer).label) == f"lieu{NBSP}: St. John's (T.-N.-L.)"


def test_every_province_has_a_french_abbreviation():
    assert _PLACE_LABELS.keys() == PROVINCES.keys()
    assert all(FRENCH.gettext(label) != label for label in _PLACE_LABELS.values())


def test_ambiguous_place_picks_the_most_populous_and_lists_the_others(gazetteer):
    located = locate("Richmond", gazetteer)
    assert located.label == "place: Richmond, BC"
    assert located.alternatives == ("Richmond, AB", "Richmond, ON", "Richmond, QC")
    # Each alternative, typed back, gives that place (and the province is never overridden).
    quebec = locate(located.alternatives[-1], gazetteer)
    assert quebec.label == "place: Richmond, QC"
    assert quebec.alternatives == ()
    assert quebec.latitude == gazetteer.place("Richmond", "QC").latitude
    windsor = locate("Windsor", gazetteer)
    assert (windsor.label, windsor.alternatives) == (
        "place: Windsor, ON",
        ("Windsor, QC", "Windsor, NS"),
    )


def test_alternatives_include_places_known_by_an_alternate_name(gazetteer):
    # "Saint John" is the main name of the city in New Brunswick and an alternate name of
    # St. John's, Newfoundland: main names come first, whatever the population.
    located = locate("Saint John", gazetteer)
    assert located.label == "place: Saint John, NB"
    assert located.alternatives == ("St. John's, NL",)


def test_alternatives_are_distinct(gazetteer):
    # Seven places called Westmount, two of them in Nova Scotia.
    located = locate("Westmount", gazetteer)
    assert located.label == "place: Westmount, QC"
    assert located.alternatives == (
        "Westmount, NS", "Westmount, AB", "Westmount, ON", "Westmount, SK", "Westmount, BC",
    )  # fmt: skip


def test_alternatives_are_capped():
    provinces = list(PROVINCES)
    springfields = tuple(
        (PlacePoint(45.0 + i, -75.0, "Springfield", provinces[i], 1000 - i), False)
        for i in range(8)
    )
    postal_codes = pd.DataFrame(
        {"postal_code": ["K1A 0B1"], "place_name": ["Ottawa"], "province_abbr": ["ON"],
         "latitude": [45.4], "longitude": [-75.7]}
    )  # fmt: skip
    small = Gazetteer(postal_codes, {}, {}, {}, place_index={"springfield": springfields})
    located = locate("Springfield", small)
    assert located.label == "place: Springfield, NL"
    assert len(located.alternatives) == MAX_ALTERNATIVES == 5
    assert located.alternatives[0] == "Springfield, PE"


def test_a_named_province_is_never_overridden(gazetteer):
    assert gazetteer.place("Kenora", "ON") is not None
    assert locate("Kenora, MB", gazetteer) is None
    assert locate("123 Main St, Kenora MB", gazetteer) is None


# --- nothing to find --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "asdfgh", "shelter", "Ontario", "QC", "Nunavut", "Atlantis", "D5V 2T6", "ZZZ"],
)
def test_nothing_matched(gazetteer, text):
    assert locate(text, gazetteer) is None


def test_long_text_is_read_from_its_end(gazetteer):
    assert place_of("please help " * 200 + "in Kenora, ON", gazetteer) == "Kenora, ON"
    assert locate("blah " * 2000, gazetteer) is None


# --- types and speed --------------------------------------------------------------------------


def test_located_is_frozen_and_precision_values_match_the_geocoders():
    located = Located(1.0, 2.0, LocatePrecision.PLACE, Reason("a"))
    with pytest.raises(FrozenInstanceError):
        located.latitude = 3.0  # type: ignore[misc]
    assert [p.value for p in LocatePrecision] == ["coordinates", "postal_code", "fsa", "place"]
    assert LocatePrecision.POSTAL_CODE == Precision.POSTAL_CODE
    assert LocatePrecision.FSA == Precision.FSA
    assert LocatePrecision.PLACE == Precision.PLACE
