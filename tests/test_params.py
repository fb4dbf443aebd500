"""Every GET route, every query parameter it reads and every path variable, driven with hostile
values on both stores, anonymous and signed in: never a server error (5xx).

The parameters a route reads are found by asking it once with none and recording every name it
looks up in ``request.args``; a route whose path variable has no sample here fails the test, so
a new route cannot be left out."""

from __future__ import annotations

import contextvars
from urllib.parse import quote

import pytest
from flask import Flask, Request
from markupsafe import escape
from sqlalchemy import func, select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

from caremap.model import Organization, ServiceAtLocation, TaxonomyTerm
from tests.support.world import World
from tests.test_accounts import client_of, page_token

READ: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("read", default=None)

# Raw (already percent-encoded) values: what a hostile client can put in a URL, one of each
# kind rather than every combination.
HOSTILE = [
    "",
    quote("٣"),  # Arabic-Indic digit three
    quote("²"),  # superscript two: isdigit() but not int()
    quote("１２"),  # fullwidth digits
    "%00",  # NUL
    "%2500",  # the text "%00"
    "%ED%A0%80",  # a lone surrogate, UTF-8 encoded (not valid UTF-8)
    "-1",
    "99999999999999999999",
    "1e308",
    "nan",
    "inf",
    "0001-01-01T00:00:00%2B05:00",
    "9999-12-31T23:59:59-05:00",
    quote("{{ 7*7 }}{% if %}"),
    "x" * 5000,
]
REPEATED = "1"  # a plausible first value before the hostile second one
WHO = ["anonymous", "editor_a", "admin"]
REFUSED = {302, 401, 403}  # 302: to the sign-in page


class RecordingArgs(ImmutableMultiDict):
    """Query arguments that note each name a route asks for."""

    def _note(self, key: object) -> None:
        names = READ.get()
        if names is not None and isinstance(key, str):
            names.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - MultiDict.get's signature
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002 - MultiDict.getlist's signature
        self._note(key)
        return super().getlist(key, type)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = RecordingArgs


def path_samples(world: World) -> dict[str, str]:
    """A value that exists for each path variable of the GET routes."""
    with world.store.session() as session:
        link = session.scalars(select(ServiceAtLocation.id)).first()
        term = session.scalars(select(TaxonomyTerm)).first()
    return {
        "service_id": world.service_a,
        "organization_id": world.org_a,
        "location_id": world.location_a,
        "user_id": str(world.users["target"]),
        "token": "not-a-token",
        "name": "listings_template.csv",
        "filename": "favicon.svg",
        "kind": "csv",
        "collection_id": "services",
        "feature_id": f"{world.service_a}@{world.location_a}",
        "service_at_location_id": link,
        "taxonomy_id": term.taxonomy_id,
        "taxonomy_term_id": term.id,
        "entry_id": "1",
    }


def get_rules(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())), key=lambda r: r.rule
    )


def build_path(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with raw (percent-encoded) ``values`` in its variables."""
    path = rule.rule
    for name in rule.arguments:
        converter = rule._converters[name]
        kind = type(converter).__name__.removesuffix("Converter").lower()
        placeholder = f"<{name}>" if f"<{name}>" in path else f"<{kind}:{name}>"
        path = path.replace(placeholder, values[name])
    return path


def asked(client, path: str) -> tuple[int, set[str]]:
    """The status of a plain request, and the query parameters the route read."""
    names: set[str] = set()
    token = READ.set(names)
    try:
        response = client.get(path)
        response.close()
    finally:
        READ.reset(token)
    return response.status_code, names


def requests_of(rule: Rule, path: str, samples: dict[str, str], names: set[str]) -> list[str]:
    """Every hostile request for one route: each path variable, then each query parameter,
    once alone and once repeated after a plausible value."""
    good = {name: quote(samples[name], safe="") for name in rule.arguments}
    urls = []
    for name in sorted(rule.arguments):
        urls += [build_path(rule, good | {name: value or "%20"}) for value in HOSTILE]
    for name in sorted(names):
        urls += [f"{path}?{name}={value}" for value in HOSTILE]
        urls.append(f"{path}?{name}={REPEATED}&{name}=%00")
    return urls


def test_no_hostile_value_is_a_server_error(make_app, world):
    """Anonymous on every route; then an editor on the routes refused to anonymous people,
    and an administrator on those refused to the editor. Parameters every route reads (the
    language) are driven on one route."""
    app = make_app(world.url)
    app.request_class = RecordingRequest
    samples = path_samples(world)
    missing = {a for r in get_rules(app) for a in r.arguments} - set(samples)
    assert not missing, f"no sample for path variables {missing}"
    everywhere = asked(app.test_client(), "/health")[1]
    rules = get_rules(app)
    failures = []
    for who in WHO:
        client = client_of(app, who)
        refused = []
        for rule in rules:
            path = build_path(rule, {n: quote(samples[n], safe="") for n in rule.arguments})
            status, names = asked(client, path)
            if status in REFUSED:
                refused.append(rule)
                continue
            if rule.rule != "/health":
                names -= everywhere
            for url in requests_of(rule, path, samples, names):
                response = client.get(url)
                response.close()
                if response.status_code >= 500:
                    failures.append(f"{who}: {response.status_code} {url[:120]}")
        rules = refused
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures)


# --- the cases the fuzzing found, and what a person reads -----------------------------------


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/services?limit=%C2%B2", "limit"),  # isdigit() but not int()
        ("/api/v1/services?limit=%D9%A3", "limit"),  # Arabic-Indic three
        ("/api/v1/services?lat=nan&lon=0", "lat"),
        ("/api/v1/services?radius_km=inf", "radius_km"),
        ("/hsds/services?page=99999999999999999999", "page"),
        ("/hsds/services?page=-1", "page"),
        ("/hsds/services?modified_after=0001-01-01T00:00:00%2B05:00", "modified_after"),
        ("/hsds/services?modified_after=9999-12-31T23:59:59-05:00", "modified_after"),
        ("/hsds/services?search=a%00b", "search"),
        ("/hsds/organizations?search=%00", "search"),
        ("/ogc/collections/services/items?offset=%EF%BC%91", "offset"),
        ("/ogc/collections/services/items?bbox=0,0,nan,1", "bbox"),
    ],
)
def test_bad_values_are_400_in_the_api_error_shape(client, url, parameter):
    response = client.get(url)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "bad_parameter"
    assert response.json["parameter"] == parameter and response.json["message"]


@pytest.mark.parametrize(
    "url",
    [
        "/services/a%00b",
        "/api/v1/services/a%00b",
        "/hsds/services/a%00b",
        "/hsds/organizations/%00",
        "/ogc/collections/services/items/a%00b@1",
    ],
)
def test_an_id_with_a_nul_byte_names_nothing(client, url):
    assert client.get(url).status_code == 404


def test_a_row_id_beyond_a_database_integer_names_nothing(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    assert admin.get(f"/admin/users/{world.users['target']}").status_code == 200
    assert admin.get("/admin/users/99999999999999999999").status_code == 404
    assert admin.get(f"/admin/users/{quote('٣')}").status_code == 404


@pytest.mark.parametrize(
    ("lang", "reason"),
    [
        ("en", "month: '²' is not a whole number"),
        ("fr", "month : '²' n’est pas un nombre entier"),
    ],
)
def test_a_bad_value_on_a_page_says_why_in_the_page_language(client, lang, reason):
    for path in ("/planner/", "/print"):
        response = client.get(f"{path}?lang={lang}&month=%C2%B2")
        assert response.status_code == 400
        assert escape(reason) in response.get_data(as_text=True), path


def test_a_nul_byte_in_a_form_is_refused_before_the_store(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    with world.store.session() as session:
        before = session.scalar(select(func.count()).select_from(Organization))
    data = {"name": "Shelter\x00", "csrf_token": page_token(admin)}
    response = admin.post("/admin/organizations", data=data)
    assert response.status_code == 400
    assert "holds a character that is not allowed" in response.get_data(as_text=True)
    with world.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Organization)) == before


def test_too_long_a_search_says_so(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    response = admin.get("/admin/organizations?q=" + "x" * 201)
    assert response.status_code == 400
    assert "q: is longer than 200 characters" in response.get_data(as_text=True)
