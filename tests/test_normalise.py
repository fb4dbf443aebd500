"""Provinces, postal codes, phone numbers, names and folding (caremap.normalise)."""

import csv
from pathlib import Path

import pytest

from caremap.normalise import (
    PROVINCES,
    NormaliseError,
    display_phone,
    fold,
    fsa_of,
    is_dialable,
    normalise_fsa,
    normalise_name,
    normalise_phones,
    normalise_postal_code,
    normalise_province,
    postal_code_province,
)

LISTINGS = Path(__file__).resolve().parent.parent / "data" / "listings"


def test_provinces_table_has_the_13_statistics_canada_codes():
    assert {abbr: p.pruid for abbr, p in PROVINCES.items()} == {
        "NL": "10", "PE": "11", "NS": "12", "NB": "13", "QC": "24", "ON": "35", "MB": "46",
        "SK": "47", "AB": "48", "BC": "59", "YT": "60", "NT": "61", "NU": "62",
    }  # fmt: skip
    assert PROVINCES["QC"].name_fr == "Québec"
    assert PROVINCES["PE"].name_fr == "Île-du-Prince-Édouard"


@pytest.mark.parametrize(
    ("raw", "abbr"),
    [
        ("ON", "ON"), ("on", "ON"), ("Ont.", "ON"), ("Ontario", "ON"), ("35", "ON"),
        ("QC", "QC"), ("Qué", "QC"), ("Québec", "QC"), ("quebec", "QC"), ("QUÉBEC", "QC"),
        ("PQ", "QC"), ("24", "QC"),
        ("B.C.", "BC"), ("British Columbia", "BC"), ("Colombie-Britannique", "BC"),
        ("colombie britannique", "BC"), ("C.-B.", "BC"),
        ("Terre-Neuve-et-Labrador", "NL"), ("Newfoundland and Labrador", "NL"),
        ("Nfld", "NL"), ("10", "NL"),
        ("PEI", "PE"), ("P.E.I.", "PE"), ("Île-du-Prince-Édouard", "PE"),
        ("ile du prince edouard", "PE"),
        ("Nouvelle-Écosse", "NS"), ("Nouveau-Brunswick", "NB"),
        ("Territoires du Nord-Ouest", "NT"), ("N.W.T.", "NT"), ("Nunavut", "NU"), ("Yukon", "YT"),
        ("  Sask. ", "SK"), ("Alta", "AB"), ("Manitoba", "MB"),
    ],
)  # fmt: skip
def test_normalise_province_accepts_english_french_abbreviations_and_pruid(raw, abbr):
    assert normalise_province(raw) == abbr


def test_normalise_province_blank_is_empty():
    assert normalise_province("  ") == ""


@pytest.mark.parametrize("raw", ["Ontarion", "NY", "99", "Canada"])
def test_normalise_province_rejects_unknown(raw):
    with pytest.raises(NormaliseError, match="not a Canadian province or territory"):
        normalise_province(raw)


@pytest.mark.parametrize(
    ("raw", "code"),
    [("m5v2t6", "M5V 2T6"), (" M5V-2T6 ", "M5V 2T6"), ("M5V 2T6", "M5V 2T6"),
     ("h2x 1y1", "H2X 1Y1"), ("X0A 0H0", "X0A 0H0"), ("K1A0B1", "K1A 0B1"), ("", "")],
)  # fmt: skip
def test_normalise_postal_code(raw, code):
    assert normalise_postal_code(raw) == code


@pytest.mark.parametrize(
    "raw",
    [
        "D5V 2T6",  # D never used
        "W5V 2T6",  # W is not a first letter
        "Z1A 1A1",  # nor is Z
        "M5V 2O6",  # O never used
        "M5U 2T6",  # U never used
        "M5V 2T",  # too short
        "M5V 2T66",  # too long
        "90210",  # a ZIP code
        "5MV 2T6",
    ],
)
def test_normalise_postal_code_rejects(raw):
    with pytest.raises(NormaliseError, match="is not a Canadian postal code"):
        normalise_postal_code(raw)


def test_fsa_helpers():
    assert fsa_of("m5v 2t6") == "M5V"
    assert fsa_of("") == ""
    assert normalise_fsa("M5V 2TX") == "M5V"
    with pytest.raises(NormaliseError):
        normalise_fsa("M5")


@pytest.mark.parametrize(
    ("postal", "provinces"),
    [("M5V 2T6", {"ON"}), ("H2X", {"QC"}), ("X0A 0H0", {"NT", "NU"}), ("Y1A", {"YT"}),
     ("A1C", {"NL"}), ("", set()), ("D1A", set())],
)  # fmt: skip
def test_postal_code_province(postal, provinces):
    assert postal_code_province(postal) == provinces


def test_phones_with_descriptions():
    admin, intake = normalise_phones("Administration 416-969-8510 ; Intake 416-537-2261")
    assert (admin.number, admin.description, admin.display) == (
        "+14169698510", "Administration", "416-969-8510",
    )  # fmt: skip
    assert (intake.number, intake.description, intake.extension) == ("+14165372261", "Intake", "")


def test_phone_extension_and_formats():
    [toll_free] = normalise_phones("1-800-555-1234 ext. 22")
    assert (toll_free.number, toll_free.extension) == ("+18005551234", "22")
    assert toll_free.display == "800-555-1234 ext. 22"
    [spaced] = normalise_phones("(416) 555 1234")
    assert (spaced.number, spaced.description, spaced.display) == (
        "+14165551234",
        "",
        "416-555-1234",
    )
    [french] = normalise_phones("Accueil : 819 555-0123 poste 4")
    assert (french.description, french.extension) == ("Accueil", "4")


@pytest.mark.parametrize(
    ("raw", "numbers", "displays"),
    [("2-1-1", ["211"], ["2-1-1"]), ("9-8-8", ["988"], ["9-8-8"]),
     ("310-1818", ["3101818"], ["310-1818"]),
     ("2-1-1; toll-free 1-855-466-4994", ["211", "+18554664994"], ["2-1-1", "855-466-4994"]),
     ("1-833-MMI-FIND", ["+18336643463"], ["833-664-3463"]),
     ("1-800-222-TIPS (8477)", ["+18002228477"], ["800-222-8477"]),
     ("1-855-554-4325 (1-855-554-HEAL)", ["+18555544325"], ["855-554-4325"])],
)  # fmt: skip
def test_short_and_lettered_numbers_are_kept_as_dialled(raw, numbers, displays):
    phones = normalise_phones(raw)
    assert [phone.number for phone in phones] == numbers
    assert [phone.display for phone in phones] == displays
    assert [display_phone(number) for number in numbers] == displays


@pytest.mark.parametrize(
    ("raw", "phones"),
    [("main office 250-953-4970 (2009)", [("+12509534970", "main office (2009)")]),
     ("1-866-956-1099 (help line; text line attached)",
      [("+18669561099", "help line; text line attached")]),
     ("1-833-577-SANE (7263) (24/7)", [("+18335777263", "24/7")]),
     ("One Line: 1-866-403-8000 (a news item printed 1-800-403-8000)",
      [("+18664038000", "One Line (a news item printed 1-800-403-8000)")]),
     ("outreach (Sackville) 506-377-5444", [("+15063775444", "outreach (Sackville)")]),
     ("422-4240 (business); 425-0122", [("422-4240", "business"), ("425-0122", "")])],
)  # fmt: skip
def test_words_after_a_number_are_its_description(raw, phones):
    assert [(phone.number, phone.description) for phone in normalise_phones(raw)] == phones


def test_a_local_number_without_area_code_is_kept_as_printed_and_not_dialable():
    [local] = normalise_phones("739-7729")
    assert (local.number, local.display) == ("739-7729", "739-7729")
    assert display_phone("739-7729") == "739-7729"
    assert not is_dialable(local.number) and is_dialable("+15067397729") and is_dialable("211")


def test_phones_blank_is_empty_list():
    assert normalise_phones("  ") == []


def test_every_phone_in_the_shared_listings_parses():
    with (LISTINGS / "service_listings_shared.csv").open(encoding="utf-8") as listings:
        raw_phones = [row["phone"] for row in csv.DictReader(listings) if row["phone"]]
    assert raw_phones
    for raw in raw_phones:
        phones = normalise_phones(raw)
        assert phones
        assert all(p.number.startswith("+1") and len(p.number) == 12 for p in phones)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [("Intake 416-537-226", "Intake 416-537-226"), ("call the office", "call the office"),
     ("416-969-8510 or 555-12345", "555-12345")],
)  # fmt: skip
def test_phones_reject_unparseable_fragments(raw, fragment):
    with pytest.raises(NormaliseError, match=fragment):
        normalise_phones(raw)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("  Covenant   House\tToronto ", "Covenant House Toronto"),
        ("Maison d'hébergement", "Maison d'hébergement"),  # mixed case is kept as given
        ("YWCA TORONTO", "YWCA Toronto"),
        ("YMCA OF GREATER TORONTO", "YMCA of Greater Toronto"),
        ("THE SCOTT MISSION", "The Scott Mission"),
        ("TSSS SEATON HOUSE", "TSSS Seaton House"),  # no vowel: an acronym
        ("ST. JOHN'S WOMEN'S CENTRE", "St. John's Women's Centre"),
        ("MAISON D'HÉBERGEMENT DE TROIS-RIVIÈRES", "Maison d'Hébergement de Trois-Rivières"),
        ("L'ÉCHELON", "L'Échelon"),
        ("2SLGBTQ+ YOUTH SHELTER", "2SLGBTQ+ Youth Shelter"),
        ("CLSC DE MONTRÉAL-NORD", "CLSC de Montréal-Nord"),
    ],
)
def test_normalise_name(raw, name):
    assert normalise_name(raw) == name


def test_normalise_name_composes_accents():
    decomposed = "Montre\u0301al"
    assert normalise_name(decomposed) == "Montréal"
    assert len(normalise_name(decomposed)) == len("Montréal")


@pytest.mark.parametrize(
    ("a", "b"),
    [("Trois-Rivières", "trois rivieres"), ("MONTRÉAL", "montreal"), ("St. John's", "st john s"),
     ("L'Œuvre", "l oeuvre"), ("  Saint--Jean  ", "saint jean")],
)  # fmt: skip
def test_fold(a, b):
    assert fold(a) == b
