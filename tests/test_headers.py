"""Response headers on both stores: no framing, HTTPS kept once used, the language cookie
kept like the session cookie, every 405 saying what is allowed, and the API's Content-Type
what its OpenAPI document says."""

from __future__ import annotations

import pytest


def test_no_page_may_be_framed(client):
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_https_is_kept_once_reached_over_https(client):
    secure = client.get("/health", base_url="https://caremap.example.org")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = client.get("/health", base_url="http://caremap.example.org")
    assert "Strict-Transport-Security" not in plain.headers


@pytest.mark.parametrize(("proxies", "kept"), [(0, False), (1, True)])
def test_https_through_a_proxy_counts_only_when_the_proxy_is_trusted(
    make_app, loaded_store_url, proxies, kept
):
    client = make_app(loaded_store_url, PROXY_HOPS=proxies).test_client()
    response = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert ("Strict-Transport-Security" in response.headers) is kept


@pytest.mark.parametrize("secure", [True, False])
def test_the_language_cookie_is_kept_like_the_session_cookie(make_app, loaded_store_url, secure):
    client = make_app(loaded_store_url, SESSION_COOKIE_SECURE=secure).test_client()
    cookie = client.get("/health?lang=fr").headers["Set-Cookie"]
    assert cookie.startswith("lang=fr;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/", {"GET", "HEAD", "OPTIONS"}),
        ("POST", "/", {"GET", "HEAD", "OPTIONS"}),
        ("DELETE", "/api/v1/services", {"GET", "HEAD", "OPTIONS"}),
        ("PUT", "/account/login", {"GET", "HEAD", "OPTIONS", "POST"}),
    ],
)
def test_every_405_says_what_is_allowed(client, method, path, allowed):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed


def test_the_api_serves_the_content_types_its_openapi_document_names(client):
    document = client.get("/api/v1/openapi.json").json
    first = client.get("/api/v1/services?near=Toronto&limit=1").json["features"][0]
    examples = {"service_id": first["properties"]["id"], "feature_id": first["id"]}
    for template, operations in document["paths"].items():
        path = template.format(**examples)
        response = client.get(path)
        documented = set(operations["get"]["responses"]["200"]["content"])
        assert response.status_code == 200, path
        assert response.mimetype in documented, (path, response.mimetype, documented)
        assert response.json is not None
