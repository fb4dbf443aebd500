"""The common terminology (data/vocabulary) and its loader, caremap.vocabulary."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest

from caremap.vocabulary import MappedValue, Term, Vocabulary, VocabularyError, load_vocabulary

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
LISTINGS = DATA_DIR / "listings" / "service_listings_shared.csv"
SOURCE = "service_listings_shared"

REQUIRED_CODES = {
    "service_type": {
        "emergency_shelter", "vaw_shelter", "second_stage_housing", "safe_house", "drop_in",
        "victim_services", "human_trafficking", "sexual_assault_centre", "crisis_line",
        "legal_aid", "immigration_support", "health", "mental_health", "addiction",
        "youth_services", "indigenous_led",
    },
    "population": {
        "women", "men", "youth", "children", "families", "lgbtq2s", "indigenous",
        "migrant_workers", "sex_workers", "disabilities", "all_adults",
    },
    "capability": {
        "addiction_capable", "high_security", "accepts_children", "accepts_pets",
        "wheelchair_accessible", "open_24_7",
    },
    "language": {
        "en", "fr", "oj", "cr", "iu", "tl", "pa", "zh", "es", "ar", "pt", "vi", "ko", "ta",
        "ur", "fa", "so", "ti", "am", "hi", "ru", "uk", "pl", "it", "tr", "ase", "fcs",
    },
}  # fmt: skip

# Terms whose French label is legitimately the English one (names of languages).
SAME_LABEL_IN_BOTH = {"iu", "moh", "mic", "tl", "so", "hi"}

MAPPED_COLUMNS = {
    "service_category", "population_served", "program_type", "languages", "accessibility",
}  # fmt: skip


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary(DATA_DIR)


@pytest.fixture(scope="module")
def listings() -> list[dict[str, str]]:
    with LISTINGS.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def all_terms(vocab: Vocabulary) -> list[Term]:
    return [term for facet in vocab.facets for term in vocab.terms(facet)]


def test_every_facet_has_the_required_codes(vocab):
    assert set(vocab.facets) == set(REQUIRED_CODES)
    for facet, required in REQUIRED_CODES.items():
        codes = {term.code for term in vocab.terms(facet)}
        assert required <= codes, f"{facet} lacks {sorted(required - codes)}"
    assert 25 <= len(vocab.terms("language")) <= 35


def test_codes_in_the_file_are_unique(vocab):
    with (DATA_DIR / "vocabulary" / "terms.toml").open("rb") as file:
        document = tomllib.load(file)
    codes = [entry["code"] for facet in vocab.facets for entry in document[facet]]
    assert len(codes) == len(set(codes))
    assert [term.code for term in all_terms(vocab)] == codes


def test_labels_and_descriptions_exist_in_both_languages(vocab):
    for term in all_terms(vocab):
        for text in (term.label_en, term.label_fr, term.description_en, term.description_fr):
            assert text.strip(), term.code


def test_french_is_translated_not_copied(vocab):
    same_label = {
        t.code for t in all_terms(vocab) if t.label_fr.casefold() == t.label_en.casefold()
    }
    assert same_label == SAME_LABEL_IN_BOTH
    assert not [t.code for t in all_terms(vocab) if t.description_fr == t.description_en]


def test_label_picks_the_language(vocab):
    shelter = vocab.get("emergency_shelter")
    assert shelter.label("fr") == "Refuge d'urgence"
    assert shelter.label("fr_CA") == shelter.label("fr-CA") == "Refuge d'urgence"
    assert shelter.label("en") == shelter.label("es") == "Emergency shelter"
    assert shelter.description("fr") == shelter.description_fr


def test_lookup_and_hierarchy(vocab):
    assert vocab.is_code("population", "women")
    assert not vocab.is_code("service_type", "women")
    assert not vocab.is_code("population", "nobody")
    assert vocab.get("vaw_shelter").parent == "emergency_shelter"
    assert vocab.get("vaw_shelter").facet == "service_type"
    with pytest.raises(KeyError, match="unknown vocabulary code 'nowhere'"):
        vocab.get("nowhere")
    with pytest.raises(KeyError, match="unknown facet"):
        vocab.terms("colour")


def test_load_is_cached_per_path(vocab):
    assert Vocabulary.load(DATA_DIR) is vocab
    assert vocab.taxonomy.id == "caremap"
    assert vocab.taxonomy.version == "1.0"


def test_every_raw_value_of_the_listings_is_known(vocab, listings):
    mapping = vocab.mapping(SOURCE)
    assert set(mapping.columns) == MAPPED_COLUMNS
    for column in mapping.columns:
        for raw in sorted({row[column] for row in listings}):
            assert mapping.map(column, raw).unknown == (), f"{column}: {raw!r}"


@pytest.mark.parametrize(
    ("column", "raw", "expected"),
    [
        ("population_served", "Single Women", MappedValue(codes=("women",))),
        ("population_served", "  single   WOMEN ", MappedValue(codes=("women",))),
        ("population_served", "Mixed Adult", MappedValue(codes=("all_adults",))),
        ("service_category", "drop_in", MappedValue(codes=("drop_in",))),
        ("program_type", "Family", MappedValue(codes=("families",))),
        ("program_type", "drop-in (TDIN member)", MappedValue()),
        (
            "languages",
            "English ; Ojibway ; access to interpreters for other Native languages",
            MappedValue(codes=("en", "oj"), notes=("interpretation_available",)),
        ),
        (
            "languages",
            "English ; other languages accommodated",
            MappedValue(codes=("en",), notes=("interpretation_available",)),
        ),
        (
            "accessibility",
            "Wheelchair accessible automatic main entrance ; Barrier-free washroom",
            MappedValue(codes=("wheelchair_accessible",)),
        ),
        ("population_served", "", MappedValue()),
        ("languages", " ; ", MappedValue()),
    ],
)
def test_specific_values(vocab, column, raw, expected):
    assert vocab.mapping(SOURCE).map(column, raw) == expected


def test_no_wheelchair_locations_is_not_accessible(vocab, listings):
    mapping = vocab.mapping(SOURCE)
    raws = [r["accessibility"] for r in listings if r["accessibility"].startswith("No locations")]
    assert raws
    for raw in raws:
        result = mapping.map("accessibility", raw)
        assert "wheelchair_accessible" not in result.codes
        assert result.unknown == ()


def test_unmatched_fragments_are_reported_not_dropped(vocab):
    mapping = vocab.mapping(SOURCE)
    assert mapping.map("languages", "English ; Klingon") == MappedValue(
        codes=("en",), unknown=("Klingon",)
    )
    assert mapping.map("no_such_column", " Anything ") == MappedValue(unknown=("Anything",))
    assert vocab.mapping("no_such_source").map("city", "Toronto") == MappedValue(
        unknown=("Toronto",)
    )


# --- broken files -------------------------------------------------------------------------

TAXONOMY = """
[taxonomy]
id = "caremap"
name_en = "Test"
name_fr = "Essai"
description_en = "Test vocabulary."
description_fr = "Vocabulaire d'essai."
version = "1.0"
"""


def term(facet: str, code: str, *, label_fr: str | None = "Étiquette", extra: str = "") -> str:
    french = "" if label_fr is None else f'label_fr = "{label_fr}"\n'
    return (
        f'[[{facet}]]\ncode = "{code}"\nlabel_en = "Label"\n{french}'
        f'description_en = "Definition."\ndescription_fr = "Définition."\n{extra}\n'
    )


def write(tmp_path: Path, terms: str, mapping: str | None = None) -> Path:
    folder = tmp_path / "vocabulary"
    (folder / "mappings").mkdir(parents=True)
    (folder / "terms.toml").write_text(TAXONOMY + terms, encoding="utf-8")
    if mapping is not None:
        (folder / "mappings" / "demo.toml").write_text(mapping, encoding="utf-8")
    return tmp_path


DEMO_MAPPING = '[source]\nname = "demo"\n[columns.kind.values]\n"Shelter" = ["{code}"]\n'


def test_a_minimal_vocabulary_loads(tmp_path):
    vocab = load_vocabulary(
        write(tmp_path, term("service_type", "shelter"), DEMO_MAPPING.format(code="shelter"))
    )
    assert [t.code for t in vocab.terms("service_type")] == ["shelter"]
    assert vocab.mapping("demo").map("kind", "shelter") == MappedValue(codes=("shelter",))


SHELTER = term("service_type", "shelter")
BAD_REGEX = '[source]\nname = "demo"\n[[columns.kind.rules]]\npattern = "(("\ncodes = []\n'


@pytest.mark.parametrize(
    ("terms", "mapping", "expected"),
    [
        pytest.param(
            SHELTER + term("population", "shelter"),
            None,
            ["terms.toml", "'shelter'", "duplicate code"],
            id="duplicate-code",
        ),
        pytest.param(
            term("service_type", "shelter", label_fr=None),
            None,
            ["terms.toml", "'shelter'", "label_fr is missing or empty"],
            id="missing-french",
        ),
        pytest.param(
            term("service_type", "shelter", label_fr="  "),
            None,
            ["'shelter'", "label_fr is missing or empty"],
            id="blank-french",
        ),
        pytest.param(
            term("service_type", "Shelter"),
            None,
            ["terms.toml", "'Shelter'", "lower-case"],
            id="bad-code",
        ),
        pytest.param(
            term("service_type", "shelter", extra='parent = "housing"'),
            None,
            ["'shelter'", "parent 'housing'"],
            id="unknown-parent",
        ),
        pytest.param(
            term("service_type", "shelter", extra='lable_en = "x"'),
            None,
            ["'shelter'", "lable_en"],
            id="misspelt-field",
        ),
        pytest.param(term("colour", "red"), None, ["terms.toml", "colour"], id="unknown-facet"),
        pytest.param(
            SHELTER,
            DEMO_MAPPING.format(code="refuge"),
            ["demo.toml", "'kind'", "unknown code 'refuge'"],
            id="mapping-to-unknown-code",
        ),
        pytest.param(
            SHELTER,
            BAD_REGEX,
            ["demo.toml", "'kind'", "rule #1", "invalid pattern"],
            id="bad-regex",
        ),
        pytest.param(
            SHELTER, '[source]\nname = "other"\n', ["demo.toml", "'demo'"], id="mapping-name"
        ),
        pytest.param(
            '[[service_type]\ncode = "x"\n', None, ["terms.toml", "cannot read"], id="toml-syntax"
        ),
    ],
)
def test_a_broken_vocabulary_is_refused_with_a_clear_message(tmp_path, terms, mapping, expected):
    data_dir = write(tmp_path, terms, mapping)
    with pytest.raises(VocabularyError) as error:
        load_vocabulary(data_dir)
    for fragment in expected:
        assert fragment in str(error.value)
