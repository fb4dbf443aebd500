"""Coverage declared per source and service type (issue 13, section 4), on both stores: the
planner's data status and deserts follow what each source claims to list completely."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from caremap.coverage.indicators import Selection, compute_indicators
from etl.pipeline import run
from tests.conftest import DATA_DIR, LISTINGS, TEST_DATA

TODAY = dt.date(2026, 11, 29)


def indicators(store, level="census_division", types=()):
    selection = Selection(level=level, service_types=frozenset(types))
    return {r.code: r for r in compute_indicators(store, DATA_DIR, selection, TODAY)}


def test_toronto_is_no_longer_a_trafficking_desert(empty_store, tmp_path):
    shared = LISTINGS / "service_listings_shared.csv"
    run(empty_store, [shared], DATA_DIR, tmp_path, progress=False)
    toronto = indicators(empty_store, types={"human_trafficking"})["3520"]
    assert toronto.services == 0
    assert toronto.status == "no_data" and not toronto.desert


def test_a_listed_service_of_an_unclaimed_type_makes_partial_data(loaded_store):
    # The fixture's trafficking safe house is in Toronto; no source claims that type there.
    toronto = indicators(loaded_store, types={"human_trafficking"})["3520"]
    assert toronto.services == 1
    assert toronto.status == "partial" and not toronto.desert


def test_toronto_and_the_crd_are_still_covered_for_shelters(loaded_store):
    results = indicators(loaded_store, types={"emergency_shelter"})
    assert results["3520"].status == results["5917"].status == "covered"
    # Ontario holds a covered part (Toronto) and is declared as a whole for nothing.
    assert indicators(loaded_store, "province", {"emergency_shelter"})["35"].status == "partial"
    # Shelters and drop-ins together: Toronto's drop-ins are a sample, so not all is known.
    both = indicators(loaded_store, types={"emergency_shelter", "drop_in"})
    assert both["3520"].status == "partial" and not both["3520"].desert


def test_all_types_are_covered_only_where_every_type_is_claimed(loaded_store):
    results = indicators(loaded_store)
    assert results["3520"].status == "partial" and results["5917"].status == "partial"
    assert not any(r.status == "covered" or r.desert for r in results.values())


@pytest.mark.parametrize("level", ["province", "census_division", "toronto_neighbourhood"])
def test_a_type_no_source_claims_is_no_data_everywhere(loaded_store, level):
    results = indicators(loaded_store, level, {"legal_aid"})
    assert {r.status for r in results.values()} == {"no_data"}
    assert not any(r.desert for r in results.values())


BAD_DECLARATIONS = {
    'coverage = ["census_division:3520"]\n': "a bare list of jurisdictions\\) is no longer read",
    '[[coverage]]\njurisdictions = ["census_division:3520"]\n': "exactly jurisdictions",
    '[[coverage]]\njurisdictions = ["census_division:3520"]\nservice_types = []\n': (
        "service_types must be a non-empty list"
    ),
    '[[coverage]]\njurisdictions = ["census_division:3520"]\nservice_types = ["shelterz"]\n': (
        "service type 'shelterz' is not a service_type code"
    ),
    '[[coverage]]\njurisdictions = ["census_division:9999"]\nservice_types = ["drop_in"]\n': (
        "'census_division:9999' is not a known jurisdiction"
    ),
    '[[coverage]]\njurisdictions = ["census_division:3520"]\nservice_types = ["women"]\n': (
        "service type 'women' is not a service_type code"
    ),
}


@pytest.mark.parametrize("declaration", BAD_DECLARATIONS)
def test_a_bad_declaration_is_rejected_with_a_clear_error(empty_store, tmp_path, declaration):
    folder = tmp_path / "source"
    folder.mkdir()
    shutil.copy(TEST_DATA / "bad_rows_latin1.csv", folder / "x.csv")
    (folder / "x.source.toml").write_text(f'name = "x"\n{declaration}', "utf-8")
    with pytest.raises(ValueError, match=f"source 'x': .*{BAD_DECLARATIONS[declaration]}"):
        run(empty_store, [folder], DATA_DIR, tmp_path, progress=False)


def test_the_bundled_sidecars_declare_types(empty_store, tmp_path):
    import json

    from caremap.model import Source

    shared = LISTINGS / "service_listings_shared.csv"
    run(empty_store, [shared], DATA_DIR, tmp_path, progress=False)
    with empty_store.session() as session:
        stored = json.loads(session.get(Source, "service_listings_shared").coverage)
    assert stored == [
        {
            "jurisdictions": ["census_division:3520", "census_division:5917"],
            "service_types": ["emergency_shelter"],
        }
    ]


def test_a_store_holding_the_bare_list_form_claims_nothing_until_reloaded():
    from caremap.coverage.claims import claimed_pairs

    assert claimed_pairs('["census_division:3520"]') == set()
    assert claimed_pairs(None) == set()
    stored = '[{"jurisdictions": ["province:35"], "service_types": ["drop_in", "health"]}]'
    assert claimed_pairs(stored) == {("province:35", "drop_in"), ("province:35", "health")}
