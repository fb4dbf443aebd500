"""Issue 13's done-when check at the front line, on the national data and both stores: a search
from Iqaluit, Montréal, Whitehorse, Charlottetown or Kenora shows that area's help lines, each
with a tel: link, and never presents a result farther than the radius as nearby."""

from __future__ import annotations

import re

import pytest

from tests.conftest import stores_of
from tests.test_area_answers import PLACES, _load_national, helpline_block

QUERIES = [
    {"radius_km": "25"},
    {"radius_km": "100", "service_type": "human_trafficking"},
    {"radius_km": "10", "service_type": "emergency_shelter"},
]
# A distance as the page says it: "3.2 km", "about 40 km", or "in Kenora" (in the community).
SAID_KM = re.compile(r"(?:about )?([\d,]+(?:\.\d)?) km")


@pytest.fixture(scope="module")
def national_url(backend) -> str:
    return stores_of(backend).template("national", _load_national)[0]


@pytest.fixture
def client(national_url, make_app):
    return make_app(national_url).test_client()


@pytest.mark.parametrize("near", sorted(PLACES))
def test_an_areas_lines_each_with_a_tel_link_and_only_near_results_as_nearby(client, near):
    area, own_line = PLACES[near]
    for query in QUERIES:
        asked = {"near": near, "lang": "en", **query}
        page = client.get("/", query_string=asked).text
        block = helpline_block(page)
        assert f"These lines serve {area}:" in block and own_line in block
        lines = re.findall(r'<li class="helpline">(.*?)</li>', block, re.S)
        assert lines and all('href="tel:' in line for line in lines)
        api = client.get("/api/v1/services", query_string=asked).json
        radius_m = float(query["radius_km"]) * 1000
        results = page[page.index('id="results"') :]
        if api["beyond_radius"]:
            assert api["jurisdiction"]["nearby"] == 0
            assert "in our data within" in page[: page.index('class="helplines"')]
            assert page.index('<details class="farther"') < page.index('id="results"')
        else:
            assert all(f["properties"]["distance_m"] <= radius_m for f in api["features"])
            assert '<details class="farther"' not in page
            said = re.findall(r'<span class="distance">([^<]*)</span>', results)
            assert said, f"no result near {near} for {query}"
            for text in said:
                found = SAID_KM.fullmatch(text.strip())
                assert text.startswith("in ") or (
                    found and float(found.group(1).replace(",", "")) * 1000 <= radius_m
                ), text
