"""One rule names a page's language: any French tag ("fr", "fr-CA", "fr_CA") is French, any
other is English; the core's bilingual reads follow it."""

import pytest

from caremap.language import language_of
from caremap.queries import term_labels, vocabulary_choices


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
