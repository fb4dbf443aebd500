"""One place per address: the programmes of one organization at one address are one result
with its programmes listed (page, referral sheet, map popup, API ``place``), the limit counts
places, and confidential programmes are never grouped."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest

from caremap.geodesy import distance_m as geodesic_m
from caremap.listing import ListingKey
from caremap.search import SAME_PLACE_M, Clock, SearchQuery, _grouped, search
from etl.pipeline import run
from tests.conftest import DATA_DIR

# Youth Without Shelter's programmes at 6 Warrendale Ct, Toronto (M9V 1P9): three sources'
# points for the building, up to 18 m apart.
WARRENDALE = (43.7363, -79.5803)
NOW = Clock(dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC))
HEADER = (
    "source_id,name,organization,service_category,population_served,street_address,city,"
    "province,postal_code,latitude,longitude,address_confidential,as_of,phone\n"
)
# Two confidential programmes of one organization at one address, two public programmes of
# another at one address, and a third public one of that organization 2 km away.
ROWS = [
    (
        "C-1,Fictional Safe House (test),Fictional Network,safe_house,women,1 Hidden Lane,"
        "Toronto,ON,M6H 3Z5,43.66813,-79.44498,True,2026-11-01,416-555-0101"
    ),
    (
        "C-2,Fictional Second Stage (test),Fictional Network,transitional_housing,women,"
        "1 Hidden Lane,Toronto,ON,M6H 3Z5,43.66813,-79.44498,True,2026-11-01,416-555-0102"
    ),
    (
        "P-1,Fictional Drop-in (test),Fictional Centre,drop_in,youth,5 Open St,Toronto,ON,"
        "M6H 3Z5,43.66900,-79.44400,False,2026-11-01,416-555-0103"
    ),
    (
        "P-2,Fictional Beds (test),Fictional Centre,emergency_shelter,youth,5 Open St,Toronto,ON,"
        "M6H 3Z5,43.66905,-79.44410,False,2026-11-01,416-555-0104"
    ),
    (
        "P-3,Fictional Annex (test),Fictional Centre,drop_in,youth,9 Far Rd,Toronto,ON,"
        "M6H 3Z5,43.68700,-79.44400,False,2026-11-01,416-555-0105"
    ),
]


def test_one_organizations_programmes_at_one_address_are_one_place(loaded_store):
    query = SearchQuery(latitude=WARRENDALE[0], longitude=WARRENDALE[1], radius_km=5, limit=2)
    result = search(loaded_store, query, NOW)
    assert len(result.places) == 2  # the limit counts places
    first = result.places[0]
    assert [hit.service.name for hit in first.hits] == ["Youth Without Shelter"] * 4
    assert len({hit.service.id for hit in first.hits}) == 4
    assert "Youth Without Shelter" not in {h.service.name for h in result.places[1].hits}
    assert result.total == 3  # places within 5 km, not programmes


def test_the_page_sheet_map_and_api_show_one_place_with_its_programmes(loaded_store_url, make_app):
    client = make_app(loaded_store_url).test_client()
    query = "near=M9V+1P9&radius_km=5&limit=2"
    for lang, also in (("en", "Also at this address:"), ("fr", "Aussi à cette adresse :")):
        page = client.get(f"/?{query}&lang={lang}").text
        results = page[page.index('id="results"') : page.index("</ol>", page.index('id="results"'))]
        assert results.count('class="service-item"') == 2
        assert results.count(also) == 1
        assert len(re.findall(r'<ul class="programmes">(?:(?!</ul>).)*?<li>', results, re.S)) == 1
        links = re.findall(r'href="(/services/[^"?]+)', results)
        assert len(set(links)) == 5  # four programmes at one address, one other place
        data = json.loads(re.search(r'id="map-data"[^>]*>(.*?)</script>', page, re.S).group(1))
        assert len(data["points"]) == 2
        assert len(data["points"][0]["popup"]["programmes"]) == 3
        assert data["text"]["programmes"] == also
    sheet = client.get(f"/print?{query}&lang=en").text
    assert sheet.count('class="sheet-item"') == 2
    assert sheet.count("Programmes at this address:") == 1
    assert sheet.count("<h3>Youth Without Shelter</h3>") == 4
    french = client.get(f"/print?{query}&lang=fr").text
    assert "Programmes à cette adresse :" in french
    collection = client.get(f"/api/v1/services?{query}").get_json()
    places = [feature["properties"]["place"] for feature in collection["features"]]
    assert len(collection["features"]) == 5 and len(set(places)) == 2
    assert places[:4] == [collection["features"][0]["id"]] * 4
    assert collection["total"] == 3


@pytest.fixture
def grouped_store(empty_store, tmp_path):
    listings = tmp_path / "places_test.csv"
    listings.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    (loaded,) = run(empty_store, [listings], DATA_DIR, tmp_path / "reports", progress=False)
    assert not loaded.rejected, loaded.rejected
    return empty_store


def test_confidential_programmes_are_never_grouped(grouped_store):
    query = SearchQuery(latitude=43.66813, longitude=-79.44498, radius_km=10, limit=10)
    result = search(grouped_store, query, NOW)
    places = {frozenset(hit.service.name for hit in place.hits) for place in result.places}
    assert places == {
        frozenset({"Fictional Safe House (test)"}),
        frozenset({"Fictional Second Stage (test)"}),
        frozenset({"Fictional Drop-in (test)", "Fictional Beds (test)"}),  # 10 m apart
        frozenset({"Fictional Annex (test)"}),  # the same organization 2 km away
    }
    browsed = search(grouped_store, SearchQuery(limit=10), NOW)
    assert sorted(len(place.hits) for place in browsed.places) == [1, 1, 1, 2]


def test_a_place_is_whole_at_the_edge_of_a_page(grouped_store):
    """The limit reached inside a place's programmes still returns the place whole."""
    query = SearchQuery(latitude=43.66900, longitude=-79.44400, radius_km=10, limit=1)
    (place,) = search(grouped_store, query, NOW).places
    assert {hit.service.name for hit in place.hits} == {
        "Fictional Drop-in (test)",
        "Fictional Beds (test)",
    }


def _first_place_within_reach(ranked):
    """Places by their definition, each listing compared with every earlier place: the first
    place of its organization whose first listing is within SAME_PLACE_M."""
    places = []
    for item in ranked:
        key = item[1]
        home = None
        if key.place is not None:
            home = next(
                (
                    place
                    for place in places
                    if place[0][1].place == key.place
                    and geodesic_m(
                        lat1=key.latitude,
                        lon1=key.longitude,
                        lat2=place[0][1].latitude,
                        lon2=place[0][1].longitude,
                    )
                    <= SAME_PLACE_M
                ),
                None,
            )
        if home is None:
            places.append([item])
        else:
            home.append(item)
    return places


@pytest.mark.parametrize("seed", range(40))
def test_listings_join_the_first_place_of_their_organization_within_reach(seed):
    """Points scattered around one spot (some 50 m apart or nearly, at high latitudes too),
    with three organizations and listings of none, grouped as the definition says."""
    rng = np.random.default_rng(seed)
    latitude, longitude = float(rng.uniform(42, 80)), float(rng.uniform(-140, -55))
    ranked = []
    for i in range(int(rng.integers(1, 150))):
        shift = float(rng.choice([0, 0.0002, 0.0004, 0.00045, -0.0003, 0.001]))
        key = ListingKey(
            id=f"s{i}@l{i}",
            service_id=f"s{i}",
            service_name="Programme",
            confidential=False,
            place=[None, "a", "b", "c"][int(rng.integers(4))],
            latitude=latitude + shift + float(rng.uniform(-0.0003, 0.0003)),
            longitude=longitude + float(rng.uniform(-0.002, 0.002)),
        )
        ranked.append((float(i), key))
    assert _grouped(ranked) == _first_place_within_reach(ranked)
