"""Help lines first and honest answers at the front line: a search shows the lines serving its
origin's province or territory above the places, says first when nothing of the asked type is
near, and only on request shows farther places, their distance first."""

from __future__ import annotations

import html
import re

import pytest

from etl.pipeline import run
from tests.conftest import CONFIDENTIAL_FIXTURE, DATA_DIR, LISTINGS, stores_of

SOURCES = ["service_listings_shared.csv", "nspl_2024.csv", "helplines.csv"]


def _load_national(store, _url, reports) -> None:
    paths = [LISTINGS / name for name in SOURCES] + [CONFIDENTIAL_FIXTURE]
    run(store, paths, DATA_DIR, reports, progress=False)


@pytest.fixture(scope="module")
def national_url(backend) -> str:
    """Every bundled source (Toronto, Victoria, the NSPL shelters, the help lines) loaded.
    Tests must not change it."""
    return stores_of(backend).template("national", _load_national)[0]


@pytest.fixture
def client(national_url, make_app):
    return make_app(national_url).test_client()


def helpline_block(page: str) -> str:
    found = re.search(r'<section class="helplines".*?</section>', page, re.S)
    assert found, "no help line block"
    return found.group()


# A search from each place: the province's own lines (by name in the file), then national ones.
PLACES = {
    "Iqaluit": ("Nunavut", "Nunavut Kamatsiaqtut Help Line"),
    "Montréal, QC": ("Quebec", "SOS violence conjugale (domestic violence helpline)"),
    "Whitehorse": ("Yukon", "211 (Yukon, Northwest Territories, Nunavut)"),
    "Charlottetown": ("Prince Edward Island", "211 PEI"),
    "Kenora, ON": ("Ontario", "Talk4Healing"),
}


@pytest.mark.parametrize("near", sorted(PLACES))
def test_a_search_shows_its_areas_lines_above_the_places(client, near):
    area, own_line = PLACES[near]
    page = client.get("/", query_string={"near": near, "lang": "en"}).text
    block = helpline_block(page)
    assert f"These lines serve {area}:" in block
    assert own_line in block and "Canadian Human Trafficking Hotline" in block
    assert block.index(own_line) < block.index("Canadian Human Trafficking Hotline")
    assert 'href="tel:+18339001010"' in block  # the national trafficking hotline
    assert page.index('class="helplines"') < page.index('id="results"')
    assert "Hotline" not in page[page.index("</section>", page.index('class="helplines"')) :]


def test_short_numbers_are_called_as_dialled(client):
    block = helpline_block(client.get("/?near=Kenora%2C+ON&lang=en").text)
    assert '<a class="phone" href="tel:211">2-1-1</a>' in block
    assert '<a class="phone" href="tel:988">9-8-8</a>' in block


def test_toronto_still_shows_nearby_shelters_below_the_ontario_lines(client):
    page = client.get("/?near=M5V+2T6&service_type=emergency_shelter&lang=en").text
    assert "These lines serve Ontario:" in helpline_block(page)
    assert "in our data within" not in page
    heading = re.search(r'<h2 id="results-heading"[^>]*>\s*([^<]*?)\s*</h2>', page).group(1)
    assert re.fullmatch(r"\d+ of (more than )?\d+ services|\d+ services", heading)
    assert page.index('class="helplines"') < page.index('id="results"')
    assert '<details class="farther"' not in page


@pytest.mark.parametrize(
    ("lang", "label"), [("en", "Go to the services found"), ("fr", "Aller aux services trouvés")]
)
def test_a_link_above_the_lines_goes_to_the_services_found(client, lang, label):
    """On a phone the province's lines fill screens: a link above them jumps to the places
    (their heading takes the focus); none when nothing was found near."""
    page = client.get(f"/?near=M5V+2T6&service_type=emergency_shelter&lang={lang}").text
    link = f'<a href="#results-heading">{label}</a>'
    assert page.index(link) < page.index('class="helplines"') < page.index('id="results"')
    assert '<h2 id="results-heading" tabindex="-1">' in page
    nothing_near = "?near=Iqaluit&service_type=human_trafficking&radius_km=100"
    assert 'href="#results-heading"' not in client.get(f"/{nothing_near}&lang={lang}").text


def test_nothing_near_is_said_first_then_the_lines_then_farther_places_on_request(client):
    query = "?near=Iqaluit&service_type=human_trafficking&radius_km=100"
    page = client.get(f"/{query}&lang=en").text
    said = "No human trafficking services in our data within 100 km of Iqaluit, NU."
    assert said in page
    assert page.index(said) < page.index("These lines serve Nunavut:") < page.index('id="results"')
    # The farther places wait behind a disclosure whose summary puts the distance first.
    farther = re.search(
        r'<details class="farther" id="farther">\s*<summary>([^<]*)</summary>', page
    )
    assert farther, "farther places are not behind a disclosure"
    assert re.search(r"the nearest is [\d,.]+ km away", farther.group(1))
    assert "Nothing within" not in page
    french = client.get(f"/{query}&lang=fr").text
    assert re.search(
        "Aucun service de type « services aux victimes de la traite des personnes » dans nos "
        "données à moins de 100 km d’Iqaluit[^.]*[.]",
        french,
    )
    assert "Ces lignes desservent cette région (Nunavut) :" in french


@pytest.mark.parametrize(
    ("near", "said"),
    [("Iqaluit", "de 100 km d’Iqaluit (Nt)."), ("Whitehorse", "de 100 km de Whitehorse (Yn).")],
)
def test_french_elides_de_before_a_vowel_only(client, near, said):
    page = client.get(f"/?near={near}&service_type=human_trafficking&radius_km=100&lang=fr").text
    assert said in page


def test_a_lines_hours_are_in_the_pages_language_unless_the_source_qualifies_them(client):
    hours = re.compile(r'class="helpline-hours">([^<]*)<')
    french = [html.unescape(h) for h in hours.findall(client.get("/?near=Iqaluit&lang=fr").text)]
    assert french and set(french) == {"Heures : Ouvert 24 heures sur 24, 7 jours sur 7"}
    # 211 Québec's hours differ by region: the source's words, not a schedule without them.
    montreal = html.unescape(client.get("/?near=Montreal&lang=fr").text)
    assert "Capitale-Nationale/Chaudière-Appalaches Mon-Fri 8:00-19:00" in montreal


def test_a_page_search_without_a_radius_keeps_to_the_radius_its_form_shows(client):
    """A link without radius_km (typed, shared, from another site) answers for the 25 km its
    form shows selected, not for any distance: Kangiqsualujjuaq, 580 km from Iqaluit, is not
    listed as an answer."""
    for path in ("/", "/print"):
        page = client.get(f"{path}?near=Iqaluit&service_type=transitional_housing&lang=en").text
        assert "Uquutaq Society - Avataq Transitional Housing" in page
        assert "Appartements supervisés Uvattinut" not in page  # Puvirnituq, about 620 km
    page = client.get("/?near=Iqaluit&lang=en").text
    assert re.search(r'<option value="25"\s+selected>', page)
    assert "Maison de la famille Qarmaapik" not in page  # about 580 km away
    assert "Maison de la famille Qarmaapik" in client.get("/?near=Iqaluit&radius_km=any").text


def test_the_referral_sheet_says_it_first_and_lists_farther_places_only_if_asked(client):
    query = "?near=Iqaluit&service_type=human_trafficking&radius_km=100&lang=en"
    sheet = client.get(f"/print{query}").text
    said = "No human trafficking services in our data within 100 km of Iqaluit, NU."
    assert said in sheet and "These lines serve Nunavut:" in sheet
    assert sheet.index(said) < sheet.index("These lines serve Nunavut:")
    assert 'class="sheet-item"' not in sheet  # no 2,000 km result presented as nearby
    asked = client.get(f"/print{query}&farther=1").text
    assert asked.index("These lines serve Nunavut:") < asked.index("Farther away (not nearby):")
    assert asked.index("Farther away (not nearby):") < asked.index('class="sheet-item"')


def test_a_browse_lists_the_national_lines(client):
    page = client.get("/?service_type=emergency_shelter&lang=en").text
    block = helpline_block(page)
    assert "These lines serve all of Canada:" in block
    assert "Kids Help Phone" in block and "Nunavut Kamatsiaqtut" not in block
    french = helpline_block(client.get("/?service_type=emergency_shelter&lang=fr").text)
    assert "Jeunesse, J&#39;écoute" in french and "Ces lignes desservent tout le Canada :" in french


def test_a_point_outside_canada_is_a_clear_400_on_the_page_and_the_sheet(client):
    page = client.get("/?lat=40&lon=-40&lang=en")
    assert page.status_code == 400
    assert "40, -40 is outside Canada: no help line serves it." in page.text
    french = client.get("/?lat=40&lon=-40&lang=fr")
    assert french.status_code == 400
    assert "40, -40 est hors du Canada : aucune ligne d’aide ne le dessert." in french.text
    assert client.get("/print?lat=40&lon=-40&lang=fr").status_code == 400


def test_a_community_level_result_has_no_leading_comma(client):
    page = client.get("/?near=Kenora%2C+ON&lang=en").text
    assert not re.search(r'<span class="muted">\s*, ', page)
    sheet = client.get("/print?near=Kenora%2C+ON&lang=en").text
    assert not re.search(r"<p>\s*, Kenora", sheet)
    assert re.search(r"<p>Kenora, ON", sheet)


def test_the_api_states_the_origins_jurisdiction_and_what_is_near(client):
    body = client.get(
        "/api/v1/services?near=Iqaluit&service_type=human_trafficking&radius_km=100"
    ).get_json()
    assert body["beyond_radius"] is True
    assert body["jurisdiction"] == {
        "pruid": "62", "name_en": "Nunavut", "name_fr": "Nunavut", "nearby": 0,
    }  # fmt: skip
    toronto = client.get("/api/v1/services?near=M5V+2T6&service_type=emergency_shelter").get_json()
    assert toronto["jurisdiction"]["name_en"] == "Ontario" and toronto["jurisdiction"]["nearby"]
    assert client.get("/api/v1/services").get_json()["jurisdiction"] is None


def test_the_api_gives_a_community_level_distance_at_its_precision(client):
    body = client.get("/api/v1/services?near=Thunder+Bay%2C+ON&radius_km=any&limit=50").get_json()
    said = {
        (f["properties"]["geocode_precision"], f["properties"]["distance_precision_m"])
        for f in body["features"]
    }
    assert ("place", 5000.0) in said
    for feature in body["features"]:
        properties = feature["properties"]
        if properties["geocode_precision"] == "place":
            assert properties["distance_precision_m"] == 5000
            assert properties["distance_m"] % 5000 == 0  # never to 0.1 m
        else:
            assert properties["distance_precision_m"] in (0.1, 1000)
    kenora = client.get("/api/v1/services?near=Kenora%2C+ON&limit=10").get_json()
    in_kenora = [
        f["properties"]["distance_m"]
        for f in kenora["features"]
        if f["properties"]["geocode_precision"] == "place"
    ]
    assert in_kenora[0] == 0 and all(d % 5000 == 0 for d in in_kenora)  # 0: "in Kenora"
