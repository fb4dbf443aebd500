"""A listing merged into another entry by cross-source matching answers a 301 to the kept
entry (page and API), never a 404, unless the kept entry is confidential."""

from __future__ import annotations

import pytest

from etl.pipeline import run
from tests.conftest import DATA_DIR, stores_of
from tests.support.data import CONFIDENTIAL_FIXTURE
from tests.test_area_answers import _load_national
from tests.test_matching import KNOWN_PAIR, service_id_of


@pytest.fixture(scope="module")
def national_url(backend) -> str:
    return stores_of(backend).template("national", _load_national)[0]


def test_a_merged_away_id_moves_permanently_to_the_kept_entry(national_url, make_app):
    app = make_app(national_url)
    store = app.extensions["caremap_store"]
    merged = service_id_of(store, *KNOWN_PAIR[:2])
    kept = service_id_of(store, *KNOWN_PAIR[2:])
    client = app.test_client()
    page = client.get(f"/services/{merged}?lang=fr&back=%2F%3Fnear%3DM5V")
    assert page.status_code == 301
    assert page.headers["Location"] == f"/services/{kept}?lang=fr&back=%2F%3Fnear%3DM5V"
    moved = client.get(page.headers["Location"])
    assert moved.status_code == 200 and "nspl_2024 · 1379" in moved.text
    hostile = client.get(f"/services/{merged}?service_id=x&service_id=y")
    assert hostile.status_code == 301
    assert hostile.headers["Location"].startswith(f"/services/{kept}?service_id=x&")
    for feature_id in (merged, f"{merged}@any-location"):
        api = client.get(f"/api/v1/services/{feature_id}")
        assert api.status_code == 301
        assert api.headers["Location"] == f"/api/v1/services/{kept}"
    sheet = client.get(f"/services/{merged}/print?near=M5V&lang=fr")
    assert sheet.status_code == 301
    assert sheet.headers["Location"] == f"/services/{kept}/print?near=M5V&lang=fr"
    assert client.get(sheet.headers["Location"]).status_code == 200
    feature = client.get(f"/api/v1/services/{kept}").get_json()
    assert {s["source_id"] for s in feature["properties"]["sources"]} == {"1379", "TOR2026-068"}
    assert client.get("/services/no-such-service").status_code == 404


def test_a_record_merged_into_a_confidential_entry_is_a_plain_404(
    empty_store, empty_store_url, make_app, tmp_path
):
    """Another source lists the safe house at its street address: a redirect from that
    record's id would tie the address to the safe house."""
    rows = CONFIDENTIAL_FIXTURE.read_text(encoding="utf-8").splitlines()
    public_copy = tmp_path / "other_list.csv"
    copy = rows[1].replace("TEST-SAFE-1", "OTHER-1").replace(",True,", ",False,")
    public_copy.write_text("\n".join([rows[0], copy]), encoding="utf-8")
    run(empty_store, [CONFIDENTIAL_FIXTURE, public_copy], DATA_DIR, tmp_path, progress=False)
    merged = service_id_of(empty_store, "other_list", "OTHER-1")
    client = make_app(empty_store_url).test_client()
    unknown = client.get("/services/no-such-service")
    for path in (f"/services/{merged}", f"/services/{merged}/print", f"/api/v1/services/{merged}"):
        answer = client.get(path)
        assert answer.status_code == 404 and "Location" not in answer.headers
    same = client.get(f"/services/{merged}").text.replace(merged, "no-such-service")
    assert same == unknown.text
    unknown_sheet = client.get("/services/no-such-service/print")
    same_sheet = client.get(f"/services/{merged}/print").text.replace(merged, "no-such-service")
    assert same_sheet == unknown_sheet.text
