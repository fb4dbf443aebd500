"""Bulk import on both stores: the template example loads, a file with errors gets an exact
row-level report (page and CSV) and only its good rows load, a re-upload changes nothing, an HSDS
package exported by caremap loads back without loss, and the limits give a clear error."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from caremap import accounts
from caremap.accounts import Role
from caremap.hsds.package import export_package
from caremap.model import Location, Organization, Service, ServiceArea, SourceRecord
from caremap.store import open_store
from tests.conftest import DATA_DIR, TEST_DATA, _drop_schema, _postgis_base_url, new_store_url
from tests.support.world import PASSWORD
from tests.test_accounts import client_of, page_token
from tests.test_hsds_import import canonical

TEMPLATES = DATA_DIR / "templates"
EXAMPLE = TEMPLATES / "listings_example.csv"
ORG = str(uuid.uuid5(uuid.NAMESPACE_URL, "test:bulk-org"))
OTHER = str(uuid.uuid5(uuid.NAMESPACE_URL, "test:bulk-other"))


@dataclass
class Shop:
    store: object
    url: str


def add_organizations(store) -> None:
    import datetime as dt

    now = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
    with store.session() as session, session.begin():
        for organization_id, name in ((ORG, "Test Org"), (OTHER, "Other Org")):
            session.add(
                Organization(
                    id=organization_id, name=name, description="", source_name="test",
                    source_record_id=name, imported_at=now,
                )
            )  # fmt: skip


@pytest.fixture
def shop(empty_store, empty_store_url) -> Shop:
    add_organizations(empty_store)
    with empty_store.session() as session, session.begin():
        for who, role, organizations in (
            ("editor", Role.EDITOR, [ORG]),
            ("other_editor", Role.EDITOR, [OTHER]),
            ("moderator", Role.MODERATOR, []),
        ):
            accounts.create_user(
                session, email=f"{who}@example.org", password=PASSWORD, role=role,
                organization_ids=organizations,
            )  # fmt: skip
    return Shop(empty_store, empty_store_url)


def upload(client, files: list[tuple[bytes, str]], organization: str = ORG):
    data = {"csrf_token": page_token(client), "files": [(io.BytesIO(b), n) for b, n in files]}
    return client.post(
        f"/bulk/organizations/{organization}/check",
        data=data,
        content_type="multipart/form-data",
    )


def token_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return re.search(r"/uploads/([A-Za-z0-9_-]+)$", response.headers["Location"]).group(1)


def apply(client, token: str, organization: str = ORG):
    data = {"csrf_token": page_token(client), "token": token}
    return client.post(f"/bulk/organizations/{organization}/apply", data=data)


def report_csv(client, token: str, organization: str = ORG) -> list[dict]:
    response = client.get(f"/bulk/organizations/{organization}/uploads/{token}/report.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def state(store) -> list[tuple]:
    """The upload source's records, their content and when they were written."""
    with store.session() as session:
        return session.execute(
            select(SourceRecord.source_record_id, SourceRecord.content_hash, SourceRecord.loaded_at)
            .where(SourceRecord.source_name == f"upload-{ORG}")
            .order_by(SourceRecord.source_record_id)
        ).all()


def check_and_apply(client, files: list[tuple[bytes, str]]) -> str:
    """Upload, read the report page, apply; the page shown after applying."""
    token = token_of(upload(client, files))
    assert client.get(f"/bulk/organizations/{ORG}/uploads/{token}").status_code == 200
    response = apply(client, token)
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_template_example_loads_and_a_reupload_changes_nothing(make_app, shop):
    client = client_of(make_app(shop.url), "editor")
    token = token_of(upload(client, [(EXAMPLE.read_bytes(), "listings_example.csv")]))
    page = client.get(f"/bulk/organizations/{ORG}/uploads/{token}").get_data(as_text=True)
    assert "3 services would be added" in page and "0 services would be removed" in page
    assert "Every row can be loaded." in page and report_csv(client, token) == []
    assert state(shop.store) == []  # a dry run writes nothing

    done = apply(client, token)
    assert done.status_code == 303
    assert "Done: 3 added, 0 changed, 0 unchanged, 0 removed, 0 rows not loaded." in client.get(
        done.headers["Location"]
    ).get_data(as_text=True)
    with shop.store.session() as session:
        services = session.scalars(select(Service).order_by(Service.source_record_id)).all()
        assert {s.organization_id for s in services} == {ORG}
        safe_house = session.scalars(select(Location).where(Location.name.like("%Safe House%")))
        assert safe_house.one().confidential
    loaded = state(shop.store)
    assert [row.source_record_id for row in loaded] == ["EX-001", "EX-002", "EX-003"]
    # The token is spent.
    assert apply(client, token).status_code == 404

    again = token_of(upload(client, [(EXAMPLE.read_bytes(), "listings_example.csv")]))
    page = client.get(f"/bulk/organizations/{ORG}/uploads/{again}").get_data(as_text=True)
    assert "0 services would be added" in page and "3 services are unchanged" in page
    apply(client, again)
    assert state(shop.store) == loaded

    # A later file without a row: the page says it will be removed, before anything changes.
    shorter = "\n".join(EXAMPLE.read_text(encoding="utf-8").splitlines()[:3]).encode()
    token = token_of(upload(client, [(shorter, "listings_example.csv")]))
    page = client.get(f"/bulk/organizations/{ORG}/uploads/{token}").get_data(as_text=True)
    assert "1 services would be removed" in page
    assert state(shop.store) == loaded


BAD_REPORT = [
    ("3", "name", "", "required field 'name' is empty"),
    ("4", "postal_code", "Z9Z 9Z9", "postal_code: 'Z9Z 9Z9' is not a Canadian postal code"),
    ("5", "latitude, longitude", "40.0, -40.0", "point (40.0, -40.0) is outside Canada"),
    (
        "6", "latitude, longitude", "-79.38, 43.65",
        "latitude and longitude appear swapped: (-79.38, 43.65) is outside Canada",
    ),
    ("7", "province", "QC", "point (43.65, -79.38) is in ON, but the row says QC"),
    (
        "8", "name", "<b>Shouting</b> Shelter",
        "name contains HTML markup: '<b>Shouting</b> Shelter'",
    ),
    ("9", "source_id", "BAD-01", "duplicate source_id 'BAD-01' (first on line 2)"),
    (
        "10", "organization", "Organisme de test",
        "the row names the organization 'Organisme de test', but this file is for 'Test Org'",
    ),
]  # fmt: skip


def test_a_file_with_errors_gets_an_exact_report_and_its_good_rows_load(make_app, shop):
    client = client_of(make_app(shop.url), "editor")
    data = (TEST_DATA / "bad_rows_latin1.csv").read_bytes()
    token = token_of(upload(client, [(data, "bad_rows_latin1.csv")]))
    rows = report_csv(client, token)
    assert [(r["line"], r["field"], r["value"], r["reason"]) for r in rows] == BAD_REPORT
    assert {r["file"] for r in rows} == {""}
    page = client.get(f"/bulk/organizations/{ORG}/uploads/{token}").get_data(as_text=True)
    assert "2 services would be added" in page and "8 rows cannot be loaded" in page
    assert "&lt;b&gt;Shouting&lt;/b&gt; Shelter" in page and "<b>Shouting" not in page
    french = html.unescape(
        client.get(f"/bulk/organizations/{ORG}/uploads/{token}?lang=fr").get_data(as_text=True)
    )
    assert "le champ obligatoire 'name' est vide" in french
    assert "postal_code: 'Z9Z 9Z9' n’est pas un code postal canadien" in french
    assert "le point (43.65, -79.38) est en ON, mais la ligne indique QC" in french
    assert "is outside Canada" not in french
    french_csv = report_csv(client, token)
    assert french_csv[6]["reason"] == "source_id 'BAD-01' en double (d’abord à la ligne 2)"
    client.get("/?lang=en")
    done = client.get(apply(client, token).headers["Location"]).get_data(as_text=True)
    assert "Done: 2 added, 0 changed, 0 unchanged, 0 removed, 8 rows not loaded." in done
    assert [row.source_record_id for row in state(shop.store)] == ["BAD-01", "BAD-10"]


def test_an_exported_hsds_package_loads_back_without_loss(make_app, shop, backend, tmp_path):
    client = client_of(make_app(shop.url), "editor")
    check_and_apply(client, [(EXAMPLE.read_bytes(), "listings_example.csv")])
    first = tmp_path / "first"
    export_package(shop.store, DATA_DIR, first)
    archive = Path(shutil.make_archive(str(tmp_path / "first"), "zip", first))

    other_url = new_store_url(backend, tmp_path)
    other = open_store(other_url)
    try:
        other.upgrade()
        add_organizations(other)
        with other.session() as session, session.begin():
            accounts.create_user(
                session, email="editor@example.org", password=PASSWORD, role=Role.EDITOR,
                organization_ids=[ORG],
            )  # fmt: skip
        second_client = client_of(make_app(other_url), "editor")
        done = check_and_apply(second_client, [(archive.read_bytes(), "first.zip")])
        assert "Done: 3 added, 0 changed, 0 unchanged, 0 removed, 0 rows not loaded." in done
        second = tmp_path / "second"
        export_package(other, DATA_DIR, second)
        assert canonical(second) == canonical(first)

        # The same package as its files (not zipped): nothing changes.
        files = [(p.read_bytes(), p.name) for p in sorted(first.iterdir())]
        done = check_and_apply(second_client, files)
        assert "Done: 0 added, 0 changed, 3 unchanged, 0 removed, 0 rows not loaded." in done
    finally:
        other.dispose()
        if backend == "postgis":
            _drop_schema(_postgis_base_url(), other_url)


def zip_of(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("datapackage.json", "{}")
        archive.writestr("big.csv", "x" * size)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("config", "files", "message"),
    [
        ({"BULK_MAX_ROWS": 2}, [(EXAMPLE.read_bytes(), "e.csv")], "more than 2 listings"),
        ({"BULK_TIME_LIMIT": 0}, [(EXAMPLE.read_bytes(), "e.csv")], "longer than 0 seconds"),
        ({"MAX_CONTENT_LENGTH": 1000}, [(EXAMPLE.read_bytes(), "e.csv")], "too large to import"),
        (
            {"BULK_MAX_UNZIPPED_BYTES": 2 * 1024 * 1024},
            [(zip_of(3 * 1024 * 1024), "p.zip")],
            "larger than 2 MB once unpacked",
        ),
    ],
)
def test_limits_give_a_clear_error_and_write_nothing(make_app, shop, config, files, message):
    client = client_of(make_app(shop.url, **config), "editor")
    response = upload(client, files)
    assert response.status_code == 413
    assert message in response.get_data(as_text=True)
    assert state(shop.store) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([(b"%PDF-1.4", "listing.pdf")], "This kind of file cannot be imported."),
        ([(b"a,b\n", "a.csv"), (b"c,d\n", "b.csv")], "but not datapackage.json"),
        ([], "Choose a file to upload."),
    ],
)
def test_files_that_are_not_listings_are_refused(make_app, shop, files, message):
    client = client_of(make_app(shop.url), "editor")
    response = upload(client, files)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_an_upload_is_its_uploaders_and_untouched(make_app, shop, tmp_path):
    app = make_app(shop.url)
    editor, moderator = client_of(app, "editor"), client_of(app, "moderator")
    other = client_of(app, "other_editor")
    assert upload(other, [(EXAMPLE.read_bytes(), "e.csv")]).status_code == 403
    token = token_of(upload(editor, [(EXAMPLE.read_bytes(), "e.csv")]))
    assert apply(other, token).status_code == 403  # not their organization
    assert apply(moderator, token).status_code == 404  # not their upload
    assert moderator.get(f"/bulk/organizations/{ORG}/uploads/{token}").status_code == 404
    assert apply(editor, token, OTHER).status_code == 403
    # Bytes changed on disk after the dry run: refused.
    [kept] = (tmp_path / "uploads" / token / "files").iterdir()
    kept.write_bytes(kept.read_bytes().replace(b"EX-001", b"EX-009"))
    assert apply(editor, token).status_code == 404
    assert state(shop.store) == []
    # Moderators upload for any organization; the index lists what each person may upload for.
    assert token_of(upload(moderator, [(EXAMPLE.read_bytes(), "e.csv")]))
    assert "Other Org" in moderator.get("/bulk/").get_data(as_text=True)
    assert "Other Org" not in editor.get("/bulk/").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_editor_of_one_organization_goes_straight_to_its_upload(make_app, shop, lang):
    with shop.store.session() as session, session.begin():
        accounts.create_user(
            session, email="both@example.org", password=PASSWORD, role=Role.EDITOR,
            organization_ids=[ORG, OTHER],
        )  # fmt: skip
    app = make_app(shop.url)
    response = client_of(app, "editor").get(f"/bulk/?lang={lang}")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/bulk/organizations/{ORG}/")
    for who in ("both", "moderator"):  # several: the choice stays
        choice = client_of(app, who).get(f"/bulk/?lang={lang}")
        assert choice.status_code == 200
        shown = choice.get_data(as_text=True)
        assert "Test Org" in shown and "Other Org" in shown


def test_the_template_is_served_and_documented():
    from webmap import create_app

    client = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "TILES_URL": ""})
    client = client.test_client()
    with client.get("/bulk/templates/listings_template.csv") as template:
        assert template.status_code == 200
        assert "attachment" in template.headers["Content-Disposition"]
        columns = template.get_data(as_text=True).strip().split(",")
    with EXAMPLE.open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == columns
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    for column in columns:
        assert readme.count(f"`{column}`") >= 2, column  # in English and in French
    with client.get("/bulk/templates/README.md") as served:
        assert served.status_code == 200 and "Français" in served.get_data(as_text=True)
    assert client.get("/bulk/templates/secret_key").status_code == 404


def test_a_confidential_row_named_after_its_street_loads_under_a_name_without_it(make_app, shop):
    """The organization's safe house is named after its street: the report says so (line,
    reason, in the page's language), and the public never sees the street."""
    named = EXAMPLE.read_text(encoding="utf-8").replace(
        "EXAMPLE Safe House (fictional, confidential address)",
        "EXAMPLE Safe House - 339 George St.",
    )
    client = client_of(make_app(shop.url), "editor")
    token = token_of(upload(client, [(named.encode(), "listings_example.csv")]))
    assert report_csv(client, token) == []  # nothing rejected
    found = "('339 George St.')"
    pages = {
        lang: html.unescape(
            client.get(f"/bulk/organizations/{ORG}/uploads/{token}?lang={lang}").get_data(
                as_text=True
            )
        )
        for lang in ("en", "fr")
    }
    assert (
        f"Line 3 (EX-002): the name of a confidential location contains its street address "
        f"{found}: it is published as 'EXAMPLE Safe House'"
    ) in pages["en"]
    assert (
        f"Ligne 3 (EX-002) : le champ name d’un lieu confidentiel contient son adresse {found} : "
        "il est publié sous le nom 'EXAMPLE Safe House'"
    ) in pages["fr"]
    client.get("/?lang=en")
    apply(client, token)
    with shop.store.session() as session:
        service_id = session.scalars(
            select(Service.id).where(Service.source_record_id == "EX-002")
        ).one()
    public = client.get(f"/api/v1/services/{service_id}")
    assert public.status_code == 200 and public.json["properties"]["name"] == "EXAMPLE Safe House"
    for url in (f"/services/{service_id}", f"/hsds/services/{service_id}", "/api/v1/services"):
        response = client.get(url)
        assert response.status_code == 200 and "George" not in response.get_data(as_text=True)


def test_a_nul_character_is_a_reported_row_in_the_dry_run_and_the_apply(make_app, shop):
    client = client_of(make_app(shop.url), "editor")
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace("EXAMPLE Safe House", "EXAMPLE Safe\x00 House")
    token = token_of(upload(client, [("".join(lines).encode(), "listings_example.csv")]))
    rows = report_csv(client, token)
    assert [(r["line"], r["reason"]) for r in rows] == [("3", "'name' contains a NUL character")]
    done = client.get(apply(client, token).headers["Location"]).get_data(as_text=True)
    assert "Done: 2 added, 0 changed, 0 unchanged, 0 removed, 1 rows not loaded." in done
    assert [row.source_record_id for row in state(shop.store)] == ["EX-001", "EX-003"]


def test_the_report_csv_neutralises_formulas(make_app, shop):
    client = client_of(make_app(shop.url), "editor")
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace("200 King St W,Toronto,ON,M5V 2T6", "200 King St W,Toronto,ON,=1+2")
    token = token_of(upload(client, [("".join(lines).encode(), "listings_example.csv")]))
    [row] = report_csv(client, token)
    assert (row["field"], row["value"]) == ("postal_code", "'=1+2")
    assert row["reason"].startswith("postal_code: '=1+2'")


def test_a_binary_file_is_one_clear_error_and_writes_nothing(make_app, shop):
    client = client_of(make_app(shop.url), "editor")
    response = upload(client, [(bytes(range(256)) * 50, "listings.csv")])
    assert response.status_code == 400
    assert "listings.csv is not a text (CSV) file" in response.get_data(as_text=True)
    french = client.get("/?lang=fr")
    assert french.status_code == 200
    response = upload(client, [(bytes(range(256)) * 50, "listings.csv")])
    assert "listings.csv n’est pas un fichier texte (CSV)" in html.unescape(
        response.get_data(as_text=True)
    )
    assert state(shop.store) == []


def test_rows_that_serve_an_area_load_without_an_address(make_app, shop):
    """A help line gives ``area_served`` and no place; an area that is no province or
    territory (hostile text) is a reported row, shown escaped (EN and FR)."""
    template = (TEMPLATES / "listings_template.csv").read_text(encoding="utf-8").strip()
    columns = template.split(",")
    assert "area_served" in columns
    rows = [
        {"source_id": "LINE-1", "name": "Test Help Line", "phone": "1-800-555-0199",
         "area_served": "ON; Québec"},
        {"source_id": "LINE-2", "name": "Test National Line", "area_served": "national"},
        {"source_id": "LINE-3", "name": "Bad Line", "area_served": "<b>Atlantis</b>"},
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    client = client_of(make_app(shop.url), "editor")
    token = token_of(upload(client, [(out.getvalue().encode(), "lines.csv")]))
    [rejected] = report_csv(client, token)
    assert (rejected["line"], rejected["field"]) == ("4", "area_served")
    page = client.get(f"/bulk/organizations/{ORG}/uploads/{token}").get_data(as_text=True)
    assert "2 services would be added" in page
    assert "&lt;b&gt;Atlantis&lt;/b&gt;" in page and "<b>Atlantis" not in page
    french = client.get(f"/bulk/organizations/{ORG}/uploads/{token}?lang=fr").get_data(as_text=True)
    assert "n’est pas une province ni un territoire du Canada" in html.unescape(french)
    client.get("/?lang=en")
    done = client.get(apply(client, token).headers["Location"]).get_data(as_text=True)
    assert "Done: 2 added, 0 changed, 0 unchanged, 0 removed, 1 rows not loaded." in done
    with shop.store.session() as session:
        areas = session.execute(
            select(Service.source_record_id, ServiceArea.pruid, ServiceArea.name)
            .join(ServiceArea, ServiceArea.service_id == Service.id)
            .order_by(Service.source_record_id, ServiceArea.name)
        ).all()
        assert session.scalars(select(Location)).all() == []
    assert [tuple(row) for row in areas] == [
        ("LINE-1", "35", "Ontario"),
        ("LINE-1", "24", "Quebec"),
        ("LINE-2", None, "Canada"),
    ]
