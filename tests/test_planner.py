"""The planner page and its exports, on both stores."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html import unescape
from pathlib import Path

import numpy as np
import pytest

from caremap.coverage.classify import classify


def test_choropleth_legend_and_table(client):
    page = client.get("/planner/?level=census_division&indicator=services_per_100k")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Services per 100,000 people" in html and "quantiles" in html
    assert "no data contributed (not a desert)" in html
    assert "288 jurisdictions without data" in html
    assert html.count('<tr class="status-') == 293
    # the choropleth's styles come with the outlines the map fetches
    assert "fillColor" in client.get(_map_data(html)["outlines"]["url"]).get_data(as_text=True)


def test_switching_the_indicator_changes_the_view(client):
    one = client.get("/planner/?level=toronto_neighbourhood&indicator=services").get_data(
        as_text=True
    )
    other = client.get(
        "/planner/?level=toronto_neighbourhood&indicator=share_beyond&threshold_km=10"
    ).get_data(as_text=True)
    assert "Number of services" in one and "Share of people farther than the distance" in other
    assert one != other


def test_exports_carry_the_indicators(client):
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/planner/export.csv?level=province").get_data(as_text=True))
        )
    )
    assert len(rows) == 13
    ontario = next(r for r in rows if r["code"] == "35")
    assert ontario["status"] == "partial" and int(ontario["services"]) == 112
    collection = client.get("/planner/export.geojson?level=toronto_neighbourhood").json
    assert len(collection["features"]) == 158
    assert {"services", "share_beyond", "desert"} <= set(collection["features"][0]["properties"])


def test_an_export_is_named_for_the_day_of_the_app_clock(make_app, loaded_store_url):
    """The export's file name carries the date of the clock the indicators use (``NOW``)."""
    now = dt.datetime(2024, 2, 29, 23, 30, tzinfo=dt.UTC)
    client = make_app(loaded_store_url, NOW=now).test_client()
    response = client.get("/planner/export.csv?level=province")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="caremap-province-services_per_100k-2024-02-29.csv"'


def test_geopackage_export(client, tmp_path):
    import geopandas as gpd

    response = client.get("/planner/export.gpkg?level=census_division&indicator=share_beyond")
    assert response.status_code == 200
    path = tmp_path / "view.gpkg"
    path.write_bytes(response.data)
    frame = gpd.read_file(path, layer="indicators")
    assert len(frame) == 293 and frame.crs.to_epsg() == 4326
    toronto = frame.loc[frame["code"] == "3520"].iloc[0]
    # All types: Toronto's source claims its shelters only (tests/test_coverage_claims.py).
    assert toronto["status"] == "partial" and toronto["services"] == 110


@pytest.mark.parametrize(
    "query",
    ["level=nowhere", "indicator=happiness", "month=13", "service_type=teleportation", "k=99"],
)
def test_bad_choices_are_400(client, query):
    response = client.get(f"/planner/?{query}")
    assert response.status_code == 400


def test_classes_darker_is_worse():
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0, np.nan])
    better_high = classify(values, "equal_interval", 4, higher_is_worse=False)
    worse_high = classify(values, "equal_interval", 4, higher_is_worse=True)
    assert better_high.labels[-1] == -1
    assert better_high.colours == worse_high.colours[::-1]
    assert worse_high.colours[-1] == "#b10026"  # the darkest class holds the worst values


def test_what_if_adds_and_switches_off_without_saving(client, loaded_store):
    import csv as csv_module

    def rows(query):
        text = client.get(f"/planner/export.csv?level=census_division&{query}").get_data(
            as_text=True
        )
        return {r["code"]: r for r in csv_module.DictReader(io.StringIO(text))}

    before = rows("")
    # A site in Thunder Bay's district (no data there): one more service counted, and the
    # real services stay untouched afterwards.
    added = rows("add=48.38,-89.25,25")
    assert int(added["3558"]["services"]) == int(before["3558"]["services"]) + 1
    assert float(added["3558"]["access_score"]) > float(before["3558"]["access_score"] or 0)
    capital = client.get("/api/v1/services?near=Victoria,+BC&limit=1").json
    off_id = capital["features"][0]["properties"]["id"]
    switched = rows(f"off={off_id}")
    assert int(switched["5917"]["services"]) == int(before["5917"]["services"]) - 1
    assert rows("") == before  # nothing was saved


def test_what_if_bad_site_is_400(client):
    assert client.get("/planner/?add=somewhere").status_code == 400
    assert client.get("/planner/?add=91,0,5").status_code == 400


def test_accessibility_method_catchment_and_supply_are_choices(client):
    def scores(query):
        text = client.get(
            f"/planner/export.csv?level=toronto_neighbourhood&indicator=access_score&{query}"
        ).get_data(as_text=True)
        return {r["code"]: r["access_score"] for r in csv.DictReader(io.StringIO(text))}

    plain = scores("")
    assert scores("access=2sfca&catchment_km=50&supply=services") == plain
    for other in ("access=e2sfca", "catchment_km=10", "supply=beds"):
        assert scores(other) != plain, other
    page = client.get(
        "/planner/?lang=en&indicator=access_score&access=e2sfca&catchment_km=10&supply=beds"
    ).get_data(as_text=True)
    assert "E2SFCA (weights 1, 0.68, 0.22 over thirds of the catchment)" in page
    assert "catchment 10 km in a straight line; supply: number of beds per person." in page


@pytest.mark.parametrize("query", ["access=3sfca", "catchment_km=7", "supply=staff"])
def test_bad_accessibility_choices_are_400(client, query):
    response = client.get(f"/planner/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.get_data(as_text=True)


def test_bar_chart_data_worst_first(client):
    import json
    import re

    html = client.get(
        "/planner/?lang=en&level=toronto_neighbourhood&indicator=share_beyond&threshold_km=10"
    ).get_data(as_text=True)
    found = re.search(r'id="chart-data" type="application/json">(.*?)</script>', html)
    chart = json.loads(found[1])
    assert chart["title"] == "Share of people farther than the distance"
    assert chart["shown"] == len(chart["values"]) == len(chart["labels"]) == 40
    assert chart["total"] == 158
    assert chart["values"] == sorted(chart["values"], reverse=True)  # higher is worse
    assert re.search(r"/static/vendor/chart\.js/chart\.umd\.min\.[0-9a-f]+\.js", html)
    assert "The 40 worst of 158 jurisdictions with data" in html


def test_page_says_whether_the_indicators_are_stored(client):
    html = client.get("/planner/?lang=en&add=48.38,-89.25,25").get_data(as_text=True)
    assert "Computed for this view just now." in html


def test_planner_reads_the_data_folder_named_in_the_environment(
    loaded_store_url, make_app, monkeypatch, data_dir
):
    """The container sets CAREMAP_DATA_DIR, which the app's config receives as text."""
    monkeypatch.setenv("CAREMAP_DATA_DIR", str(data_dir))
    client = make_app(loaded_store_url).test_client()
    assert client.get("/planner/export.csv?level=province").status_code == 200


@pytest.fixture(scope="module")
def data_dir_with_a_level_added(data_dir, tmp_path_factory) -> Path:
    """The data folder with Toronto's neighbourhoods as one more level, "toronto_ward"; one for
    the module, so that the boundaries and demand it reads are read once (tests only read it)."""
    extra = tmp_path_factory.mktemp("levels") / "data"
    extra.mkdir()
    for entry in data_dir.iterdir():
        if entry.name != "jurisdictions.toml":
            (extra / entry.name).symlink_to(entry)
    layers = (data_dir / "jurisdictions.toml").read_text(encoding="utf-8")
    (extra / "jurisdictions.toml").write_text(
        layers
        + "\n[[layer]]\n"
        + 'level = "toronto_ward"\n'
        + 'file = "boundaries/toronto_neighbourhoods_158.geojson"\n'
        + 'code = "AREA_SHORT_CODE"\nname_en = "AREA_NAME"\nname_fr = "AREA_NAME"\n'
        + 'population = "POP_PRIV_HH_2021"\nparent_code = "3520"\n'
        + 'label_en = "Toronto wards"\nlabel_fr = "Quartiers électoraux de Toronto"\n',
        encoding="utf-8",
    )
    return extra


def test_a_level_added_to_the_jurisdictions_file_is_a_planner_choice(
    loaded_store_url, make_app, data_dir_with_a_level_added
):
    """data/jurisdictions.toml promises that a new layer needs no code: its level, labelled
    in each language, is one of the planner's choices."""
    client = make_app(loaded_store_url, DATA_DIR=data_dir_with_a_level_added).test_client()
    french = client.get("/planner/?lang=fr").get_data(as_text=True)
    assert re.search(r'<option value="toronto_ward"[^>]*>Quartiers électoraux de Toronto<', french)
    assert re.search(r'<option value="province"[^>]*>Provinces et territoires<', french)
    english = client.get("/planner/?lang=en").get_data(as_text=True)
    assert re.search(r'<option value="toronto_ward"[^>]*>Toronto wards<', english)
    assert client.get("/planner/?level=toronto_ward").status_code == 200


RATIOS = ("services_per_100k", "beds_per_10k", "share_beyond", "access_score")


def test_no_data_jurisdictions_have_empty_figures(client):
    """A jurisdiction no source covers has no figures (not 100 % beyond, not 0.0 per 100,000),
    in the CSV and in the table; its status says why."""
    text = client.get("/planner/export.csv?level=province").get_data(as_text=True)
    no_data = [r for r in csv.DictReader(io.StringIO(text)) if r["status"] == "no_data"]
    assert no_data
    assert all(r[name] == "" for r in no_data for name in RATIOS), no_data[0]
    html = client.get("/planner/?lang=en&level=province").get_data(as_text=True)
    rows = re.findall(r'<tr class="status-no_data">(.*?)</tr>', html, re.DOTALL)
    assert len(rows) == len(no_data)
    for row in rows:
        cells = re.findall(r"<td>(.*?)</td>", row, re.DOTALL)
        assert cells[2:6] == ["—"] * 4 and "no data contributed" in cells[6], cells


def _map_data(html: str) -> dict:
    import json

    found = re.search(r'id="map-data" type="application/json">(.*?)</script>', html, re.DOTALL)
    return json.loads(found[1])


def _map_features(client, html: str) -> list[dict]:
    """The features the page's map fetches."""
    return client.get(_map_data(html)["outlines"]["url"]).get_json()["features"]


def test_partial_jurisdictions_keep_their_class_colour(client):
    """A jurisdiction with partial data is drawn in its class colour with a dashed outline, so
    it differs from one without data (white) and the legend's colours appear on the map."""
    html = client.get("/planner/?lang=en&level=province").get_data(as_text=True)
    legend = re.search(r'<ul class="legend-list">(.*?)</ul>', html, re.DOTALL)[1]
    colours = set(re.findall(r"background: (#[0-9a-f]{6})", legend))
    features = _map_features(client, html)
    styles = {f["properties"]["status"]: f["properties"]["style"] for f in features}
    partial, no_data = styles["data: partial"], styles["no data contributed"]
    assert partial["fillColor"] in colours and partial["dashArray"]
    assert no_data["fillColor"] not in colours and partial["color"] != no_data["color"]


def test_legend_counts_its_classes_and_shows_shares_as_percent(client):
    html = client.get("/planner/?lang=en&level=province&k=5").get_data(as_text=True)
    legend = re.search(r'<section aria-labelledby="legend-heading".*?</section>', html, re.DOTALL)
    made = len(re.findall(r'<span class="swatch" style', legend[0]))
    assert made < 5  # two provinces with data make fewer classes than asked
    expected = "1 class" if made == 1 else f"{made} classes"
    assert f"quantiles, {expected} (5 asked: too few distinct values)" in legend[0]
    share = client.get(
        "/planner/?lang=fr&level=toronto_neighbourhood&indicator=share_beyond&threshold_km=10"
    ).get_data(as_text=True)
    bounds = re.findall(r'class="swatch" style=[^>]*></span>\s*([^<]*)</li>', share)
    assert bounds and all(text.strip().endswith("%") for text in bounds), bounds


def test_legend_bounds_are_written_in_the_page_language(client):
    """French writes "0,9912", English "0.9912": the bounds are the page's numbers, at four
    significant digits, never Python's "%g"."""
    bounds = {}
    for lang in ("en", "fr"):
        html = client.get(
            f"/planner/?lang={lang}&level=census_division&indicator=services_per_100k"
        ).get_data(as_text=True)
        found = re.findall(r'class="swatch" style=[^>]*></span>\s*([^<]*)</li>', html)
        bounds[lang] = [re.findall(r"\d[\d\s,.]*\d|\d", text) for text in found]
    assert bounds["en"] and len(bounds["en"]) == len(bounds["fr"])
    decimals = [n for row in bounds["en"] for n in row if "." in n]
    assert decimals, bounds["en"]  # the rates have fractions
    for en_row, fr_row in zip(bounds["en"], bounds["fr"], strict=True):
        assert [n.replace(",", "").replace(".", ",") for n in en_row] == [
            n.replace("\u202f", "").replace("\xa0", "") for n in fr_row
        ]
    assert all(len(n.replace(".", "").replace(",", "").lstrip("0")) <= 4 for n in decimals)


def test_export_links_and_the_2sfca_unit_are_on_the_page(client):
    html = client.get("/planner/?lang=fr&level=province").get_data(as_text=True)
    links = {
        text: href.replace("&amp;", "&")
        for href, text in re.findall(r'<a href="([^"]*)">(CSV|GeoJSON|GeoPackage)</a>', html)
    }
    assert set(links) == {"CSV", "GeoJSON", "GeoPackage"}
    for kind, href in links.items():
        assert href.startswith("/planner/export.") and "level=province" in href, kind
        assert client.get(href).status_code == 200, kind
    assert "services (ou lits) par personne dans la zone de desserte" in html


@pytest.mark.parametrize("path", ["/planner/", "/", "/print"])
@pytest.mark.parametrize("name", ["endpoint", "_anchor", "_method", "_external", "lang_x"])
def test_a_parameter_named_like_an_argument_of_url_for_stays_a_parameter(client, path, name):
    page = client.get(f"{path}?near=Toronto&{name}=x&{name}=y")
    assert page.status_code == 200
    assert f"{name}=x&amp;{name}=y" in page.get_data(as_text=True)


def test_census_divisions_are_named_with_their_province(client):
    html = client.get("/planner/?lang=fr&level=census_division").get_data(as_text=True)
    assert "Division no 1 (Terre-Neuve-et-Labrador)</th>" in html
    text = client.get("/planner/export.csv?level=census_division").get_data(as_text=True)
    names = [r["name_en"] for r in csv.DictReader(io.StringIO(text))]
    assert len(set(names)) == len(names) and "Division No. 1 (Newfoundland and Labrador)" in names
    provinces = client.get("/planner/export.csv?level=province").get_data(as_text=True)
    assert "Ontario (" not in provinces  # provinces have no parent to name


COORDINATE_PAIR = re.compile(r"\[\s*-?\d+\.\d+\s*,\s*-?\d+\.\d+\s*\]")
LEVELS = ("province", "census_division", "toronto_neighbourhood")


@pytest.mark.parametrize("level", LEVELS)
def test_the_page_embeds_no_polygons_and_its_map_fetches_them(client, level):
    """The page holds the map's view, not the outlines (a few coordinate pairs, not
    thousands); its map fetches every jurisdiction of the table, named in the page's
    language, with aggregate figures only."""
    html = client.get(f"/planner/?lang=fr&level={level}").get_data(as_text=True)
    assert len(COORDINATE_PAIR.findall(html)) < 10
    data = _map_data(html)
    assert data["outlines"]["features"] == []
    features = _map_features(client, html)
    table = html.split('<table class="indicators">')[1].split("</table>")[0]
    names = [unescape(name) for name in re.findall(r'<th scope="row">([^<]*)</th>', table)]
    assert sorted(f["properties"]["name"] for f in features) == sorted(names)
    assert len(features) == len(re.findall(r'<tr class="status-', html))
    properties = {key for f in features for key in f["properties"]}
    assert properties == {"name", "value", "status", "style"}
    assert all(f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in features)


def test_the_fetched_outlines_are_simplified_for_the_level(client, loaded_store):
    from caremap.queries import jurisdiction_outlines

    url = _map_data(client.get("/planner/?level=census_division").get_data(as_text=True))
    fetched = client.get(url["outlines"]["url"]).get_json()["features"]
    with loaded_store.session() as session:
        stored = jurisdiction_outlines(session, "census_division")["features"]

    def coordinates(features: list[dict]) -> int:
        return len(re.findall(r"-?\d+\.\d+", str([f["geometry"] for f in features])))

    assert len(fetched) == len(stored)
    assert coordinates(fetched) < 0.8 * coordinates(stored)


def test_the_outlines_follow_the_view_and_answer_304_to_their_etag(client):
    html = client.get("/planner/?lang=en&level=province&indicator=services").get_data(as_text=True)
    url = _map_data(html)["outlines"]["url"]
    assert "indicator=services" in url and "level=province" in url
    answer = client.get(url)
    assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
    again = client.get(url, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    other = client.get(url.replace("indicator=services", "indicator=beds_per_10k"))
    assert other.headers["ETag"] != answer.headers["ETag"]


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("lang=en&level=nowhere", "level: 'nowhere' is not one of"),
        ("lang=fr&level=nowhere", "level : 'nowhere' n’est pas l’un de ceux-ci"),
        ("lang=en&add=1,2", "add: '1,2' is not latitude,longitude,beds"),
        ("lang=fr&k=99", "k : '99' n’est pas l’un de ceux-ci"),
    ],
)
def test_bad_outline_views_are_400_with_a_reason(client, query, said):
    answer = client.get(f"/planner/areas.geojson?{query}", headers={"Accept": "text/html"})
    assert answer.status_code == 400
    assert said in unescape(answer.get_data(as_text=True))


def test_the_default_page_is_light_and_fetches_the_services_to_switch_off(client, loaded_store):
    """The page holds the services switched off; its script fetches the whole list."""
    from caremap.queries import service_names

    page = client.get("/planner/?lang=fr")
    assert len(page.get_data()) <= 150 * 1024
    html = page.get_data(as_text=True)
    assert 'name="off"' not in html
    url = unescape(re.search(r'<fieldset class="switch-off" data-url="([^"]*)"', html)[1])
    listed = client.get(url).get_json()
    with loaded_store.session() as session:
        assert {s["id"] for s in listed} == {s.id for s in service_names(session)}
    assert any("Date de la source" in s["detail"] and " lits" in s["detail"] for s in listed)
    off = listed[0]["id"]
    switched = client.get(f"/planner/?lang=fr&off={off}").get_data(as_text=True)
    assert re.findall(r'name="off" value="([^"]*)" checked', switched) == [off]
