"""How responses travel, on both stores: compressed for a client that accepts it, static files
under content-hashed names cached for good, API answers revalidated with a 304."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import webmap
from etl.pipeline import run
from tests.support.data import DATA_DIR, LISTINGS

STATIC = Path(webmap.__file__).parent / "static"
GZIP = {"Accept-Encoding": "gzip"}
PAGES = ["/", "/?near=M5V%202T6", "/?q=shelter&lang=fr", "/planner/", "/about", "/sources"]
READS = [
    "/api/v1/services?lat=43.65&lon=-79.38",
    "/api/v1/openapi.json",
    "/hsds/services",
    "/hsds/organizations",
    "/ogc/collections",
    "/ogc/collections/services/items",
]
_LINK = re.compile(r"""(?:href|src)="(/[^"#]*)\"""")
_HASHED = re.compile(r"\.[0-9a-f]{12}(\.[^/.]+)?$")


def is_text(mimetype: str) -> bool:
    return mimetype.startswith("text/") or mimetype.endswith(("json", "javascript", "xml", "svg"))


def same_origin_links(html: str) -> set[str]:
    return {link.replace("&amp;", "&") for link in _LINK.findall(html)}


def static_links(html: str) -> set[str]:
    return {link for link in same_origin_links(html) if link.startswith("/static/")}


def a_service_page(client) -> str:
    features = client.get("/api/v1/services?lat=43.65&lon=-79.38").get_json()["features"]
    return f"/services/{features[0]['properties']['id']}"


def one_per_path(links: list[str], walked: list[str]) -> list[str]:
    """The first link of each path not ``walked``: another query string of a view (a planner
    sort, a results page) is the same kind of response."""
    seen = {urlsplit(path).path for path in walked}
    kept = []
    for link in links:
        if urlsplit(link).path not in seen:
            seen.add(urlsplit(link).path)
            kept.append(link)
    return kept


def test_no_response_over_1kb_is_sent_uncompressed_to_a_client_accepting_gzip(client):
    walked = [*PAGES, *READS, a_service_page(client)]
    uncompressed: dict[str, tuple[int, str, int]] = {}
    linked = [link for path in walked for link in gzip_checked(client, path, uncompressed)]
    for path in one_per_path(linked, walked):
        gzip_checked(client, path, uncompressed)
    assert uncompressed == {}


def gzip_checked(client, path: str, uncompressed: dict[str, tuple[int, str, int]]) -> list[str]:
    """Fetch ``path`` accepting gzip, noting it in ``uncompressed`` when a text body over 1 KB
    came plain; the same-origin links of an HTML page, sorted."""
    response = client.get(path, headers=GZIP, buffered=True)
    body = response.get_data()
    assert "Accept-Encoding" in response.headers.get("Vary", ""), path
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    elif response.status_code == 200 and is_text(response.mimetype) and len(body) > 1024:
        uncompressed[path] = (response.status_code, response.mimetype, len(body))
    if response.mimetype != "text/html":
        return []
    return sorted(same_origin_links(body.decode()))


def test_brotli_is_preferred_when_the_client_accepts_it(client):
    response = client.get("/", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "br"


def test_pages_reference_static_files_by_content_hash(client):
    html = client.get("/").get_data(as_text=True)
    links = static_links(html)
    bundles = {link for link in same_origin_links(html) if link.startswith("/bundle/")}
    assert {link.rpartition(".")[2] for link in bundles} == {"js", "css"}  # folium's assets
    assert [link for link in links | bundles if not _HASHED.search(link)] == []
    for link in bundles:
        response = client.get(link, buffered=True)
        assert response.status_code == 200, link
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for link in links:
        response = client.get(link, buffered=True)
        assert response.status_code == 200, link
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        plain = _HASHED.sub(lambda m: m.group(1) or "", link.removeprefix("/static/"))
        assert response.get_data() == (STATIC / plain).read_bytes(), link


def test_a_hash_that_is_not_the_files_is_a_404_and_the_plain_name_is_briefly_cached(client):
    assert client.get("/static/css/caremap.0123456789ab.css").status_code == 404
    assert client.get("/static/css/no-such-file.0123456789ab.css").status_code == 404
    plain = client.get("/static/css/caremap.css", buffered=True)
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "public, max-age=300"
    assert plain.get_data() == (STATIC / "css" / "caremap.css").read_bytes()


@pytest.mark.parametrize("headers", [{}, GZIP], ids=["identity", "gzip"])
def test_a_repeat_visit_to_the_api_or_a_static_file_costs_a_304(client, headers):
    home = client.get("/").get_data(as_text=True)
    for path in [*READS, sorted(static_links(home))[0]]:
        first = client.get(path, headers=headers, buffered=True)
        assert first.status_code == 200, path
        etag = first.headers["ETag"]
        again = client.get(path, headers={**headers, "If-None-Match": etag}, buffered=True)
        assert again.status_code == 304, path
        assert again.get_data() == b"", path


def test_the_api_etag_changes_when_the_data_changes(
    make_app, empty_store, empty_store_url, tmp_path
):
    listings = tmp_path / "listings" / "service_listings_shared.csv"
    listings.parent.mkdir()
    listings.write_text((LISTINGS / listings.name).read_text(encoding="utf-8"), encoding="utf-8")
    run(empty_store, [listings], DATA_DIR, tmp_path, progress=False)
    client = make_app(empty_store_url).test_client()
    path = "/api/v1/services?lat=43.65&lon=-79.38"
    before = client.get(path)
    name = before.get_json()["features"][0]["properties"]["name"]
    text = listings.read_text(encoding="utf-8")
    listings.write_text(text.replace(name, f"{name} (renamed)", 1), encoding="utf-8")
    run(empty_store, [listings], DATA_DIR, tmp_path, progress=False)
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json()["features"][0]["properties"]["name"] == f"{name} (renamed)"
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_static_file_is_sent_whole_so_its_compressed_body_is_never_a_range(client):
    links = static_links(client.get("/").get_data(as_text=True))
    link = next(link for link in links if re.search(r"/caremap\.[0-9a-f]{12}\.css$", link))
    plain = _HASHED.sub(lambda m: m.group(1) or "", link.removeprefix("/static/"))
    response = client.get(link, headers={**GZIP, "Range": "bytes=0-999"}, buffered=True)
    assert response.status_code == 200
    assert "Accept-Ranges" not in response.headers
    assert gzip.decompress(response.get_data()) == (STATIC / plain).read_bytes()
