"""One rule names a page's language: any French tag ("fr", "fr-CA", "fr_CA") is French, any
other is English; the core's bilingual reads follow it."""

import html
import re

import pytest

from caremap.language import language_of
from caremap.queries import term_labels, vocabulary_choices

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("FR_ca", "fr"),
        ("en", "en"),
        ("en-CA", "en"),
        ("es", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_of_a_tag(tag, language):
    assert language_of(tag) == language


def test_term_labels_read_a_french_region_tag_as_french(loaded_store):
    with loaded_store.session() as session:
        french = term_labels(session, "fr-CA")
        assert french == term_labels(session, "fr")
        assert french["emergency_shelter"] == "Refuge d'urgence"
        assert term_labels(session, "en-CA")["emergency_shelter"] == "Emergency shelter"


def test_a_term_choice_reads_a_french_region_tag_as_french(loaded_store):
    with loaded_store.session() as session:
        choices = vocabulary_choices(session)
    shelter = next(c for c in choices["service_type"] if c.code == "emergency_shelter")
    assert shelter.label("fr_CA") == shelter.label("fr") == "Refuge d'urgence"
    assert shelter.label("en-CA") == "Emergency shelter"


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("query", "english", "french"),
    [
        ("near=Trois-Rivières", "Trois-Rivières, QC", "Trois-Rivières (Qc)"),
        ("near=M5A+2N2", "postal code M5A 2N2", "code postal M5A 2N2"),
        ("near=M5V", "FSA M5V (Downtown Toronto)", "RTA M5V (Downtown Toronto)"),
        ("near=43.65,+-79.38", "coordinates 43.65, -79.38", "coordonnées 43.65, -79.38"),
        ("lat=43.65&lon=-79.38", "the point chosen on the map", "du point choisi sur la carte"),
        ("lat=43.65&lon=-79.38&origin=device", "your location", "de votre position"),
    ],
)
def test_the_origin_line_says_where_a_search_starts_with_one_label(client, query, english, french):
    """ "Searching from Trois-Rivières, QC", "Recherche à partir de : Trois-Rivières (Qc)": a
    place is not labelled "place:" after "Searching from", in either language."""
    for page in ("/", "/print"):
        shown = {
            lang: origin_line(page_text(client.get(f"{page}?{query}&lang={lang}")))
            for lang in ("en", "fr")
        }
        assert shown["en"].startswith("Searching from") and shown["en"].endswith(english)
        assert shown["fr"].startswith("Recherche à partir d") and shown["fr"].endswith(french)
        assert "place" not in shown["en"] and "lieu" not in shown["fr"]
        assert shown["fr"].count(":") <= 1


def origin_line(page: str) -> str:
    """The text of the line saying where the search starts (on the search page or the sheet)."""
    found = re.search(r"(Searching from|Recherche à partir d)[^<·]*", page)
    assert found, "no origin line"
    return " ".join(found[0].split())


def test_where_a_search_starts_and_why_it_cannot_are_said_in_the_pages_language(client):
    assert f"à partir de{NBSP}: Kenora (Ont.)" in page_text(client.get("/?near=Kenora&lang=fr"))
    assert "Searching from Kenora, ON" in page_text(client.get("/?near=Kenora&lang=en"))
    assert "code postal M5A 2N2" in page_text(client.get("/print?near=M5A+2N2&lang=fr"))
    french = client.get("/?near=91,+-79&lang=fr")
    assert french.status_code == 400
    assert (
        f"La latitude 91 est hors limites{NBSP}: elle doit être comprise entre -90 et 90."
        in page_text(french)
    )
    english = client.get("/?near=91,+-79&lang=en")
    assert "Latitude 91 is out of range: it must be between -90 and 90." in page_text(english)
    hinted = client.get("/api/v1/services?near=43.65,+79.38&lang=fr")
    assert hinted.status_code == 400
    assert hinted.json["message"] == (
        "43.65, 79.38 is outside Canada. "
        "Longitudes in Canada are negative (west): did you mean 43.65, -79.38?"
    )
    origin = client.get("/api/v1/services?near=Kenora&lang=fr").json["origin"]
    assert origin["matched"] == "place: Kenora, ON"
