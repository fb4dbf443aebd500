"""Import of HSDS 3.0 data packages: caremap's own export loads back without loss (a
confidential location stays confidential, at a public point), a package's bad rows are reported
with file, line and reason while the rest loads, and a re-import changes nothing."""

from __future__ import annotations

import csv
import json
import shutil
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from caremap.hsds import CONFIDENTIAL_CODE
from caremap.hsds.package import export_package
from caremap.privacy import PublicPointRule
from caremap_cli import main
from etl.pipeline import run, summary_line
from tests.conftest import DATA_DIR
from tests.test_privacy import confidential_rows, secrets_of

VOLATILE = {"last_modified"}
ID_FIELDS = {"id", "service_id", "location_id", "organization_id", "link_id", "taxonomy_term_id"}


def read_package(folder: Path) -> dict[str, list[dict]]:
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    tables = {}
    for resource in descriptor["resources"]:
        with (folder / resource["path"]).open(encoding="utf-8", newline="") as handle:
            tables[resource["name"]] = list(csv.DictReader(handle))
    return tables


def canonical(folder: Path) -> list[dict]:
    """Every service at its location with everything attached, ids left out (they are the
    importing source's own), in a stable order. The point of a confidential location is left
    out too: its exact point never left the first store, so the second one places it by its
    city (checked apart)."""
    tables = read_package(folder)
    codes = {t["id"]: t["code"] for t in tables["taxonomy_term"]}

    def strip(row: dict) -> dict:
        return {k: v for k, v in row.items() if k not in ID_FIELDS | VOLATILE}

    def of(table: str, key: str, value: str) -> list[dict]:
        return sorted((strip(r) for r in tables[table] if r[key] == value), key=json.dumps)

    def terms(link_id: str) -> list[str]:
        return sorted(codes[a["taxonomy_term_id"]] for a in tables["attribute"]
                      if a["link_id"] == link_id)  # fmt: skip

    services = {row["id"]: row for row in tables["service"]}
    locations = {row["id"]: row for row in tables["location"]}
    organizations = {row["id"]: row for row in tables["organization"]}
    entries = []
    for link in tables["service_at_location"]:
        service, location = services[link["service_id"]], locations[link["location_id"]]
        public = CONFIDENTIAL_CODE not in terms(location["id"])
        entries.append(
            {
                "link": strip(link),
                "service": strip(service),
                "organization": strip(organizations[service["organization_id"]]),
                "location": strip(location) | ({} if public else {"latitude": "", "longitude": ""}),
                "address": of("address", "location_id", location["id"]),
                "accessibility": of("accessibility", "location_id", location["id"]),
                "phones": of("phone", "service_id", service["id"]),
                "schedules": of("schedule", "service_id", service["id"]),
                "languages": of("language", "service_id", service["id"]),
                "capacities": of("service_capacity", "service_id", service["id"]),
                "service_terms": terms(service["id"]),
                "location_terms": terms(location["id"]),
            }
        )
    return sorted(entries, key=json.dumps)


def load(store, path: Path, reports: Path):
    [report] = run(store, [path], DATA_DIR, reports, progress=False)
    return report


def test_round_trip_loses_nothing_and_reimport_changes_nothing(loaded_store, empty_store, tmp_path):
    first = tmp_path / "first"
    export_package(loaded_store, DATA_DIR, first)
    archive = Path(shutil.make_archive(str(tmp_path / "first"), "zip", first))
    report = load(empty_store, archive, tmp_path / "reports")
    assert report.source == "caremap" and not report.rejected
    second = tmp_path / "second"
    counts = export_package(empty_store, DATA_DIR, second)
    assert report.counts.inserted == counts.rows["service"] == counts.rows["service_at_location"]

    assert canonical(second) == canonical(first)
    text = "".join(p.read_text(encoding="utf-8") for p in second.iterdir())
    assert not [s for row in confidential_rows() for s in secrets_of(row) if s in text]
    with empty_store.engine.connect() as connection:
        rules = connection.exec_driver_sql(
            "SELECT public_point_rule FROM location WHERE confidential"
        ).scalars().all()  # fmt: skip
    assert sorted(rules) == [PublicPointRule.PLACE.value] * len(confidential_rows())

    # The same package again (as a folder this time): nothing to write, nothing rewritten.
    again = load(empty_store, first, tmp_path / "reports")
    assert summary_line(again).startswith(f"0 inserted, 0 updated, {counts.rows['service']} unc")
    third = tmp_path / "third"
    export_package(empty_store, DATA_DIR, third)
    for name in ("services.csv", "locations.csv", "addresses.csv", "attributes.csv"):
        assert (third / name).read_bytes() == (second / name).read_bytes(), name


# --- a package from another system, with bad rows ----------------------------------------------


def ids(*names: str) -> dict[str, str]:
    return {name: str(uuid.uuid5(uuid.NAMESPACE_URL, f"test:{name}")) for name in names}


ID = ids("org", "s1", "s2", "s3", "s4", "s5", "l1", "l2", "l3", "l4", "a1", "a2", "a4", "t1")


def write(folder: Path, name: str, rows: list[dict]) -> None:
    with (folder / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def foreign_package(folder: Path) -> Path:
    """Four services, three of them unloadable, and one with no location."""
    folder.mkdir()
    (folder / "datapackage.json").write_text(
        json.dumps({"name": "partner-211", "title": "Partner 211 export", "resources": []})
    )
    organization = {"id": ID["org"], "name": "Partner Org", "description": ""}
    write(folder, "organizations.csv", [organization])
    names = {"s1": "Good Shelter", "s2": "Bad Point", "s3": "", "s4": "In Paris", "s5": "Nowhere"}
    write(
        folder,
        "services.csv",
        [
            {"id": ID[key], "organization_id": ID["org"], "name": name, "status": "active"}
            for key, name in names.items()
        ],
    )
    points = {"l1": ("43.6487", "-79.3849"), "l2": ("123.4", "-79.4"), "l3": ("43.7", "-79.4"),
              "l4": ("48.8566", "2.3522")}  # fmt: skip
    write(
        folder,
        "locations.csv",
        [
            {"id": ID[key], "location_type": "physical", "latitude": lat, "longitude": lon}
            for key, (lat, lon) in points.items()
        ],
    )
    address = {
        "city": "Toronto",
        "state_province": "ON",
        "country": "CA",
        "address_type": "physical",
    }
    streets = {
        "l1": ("a1", "100 Queen St W", "M5H 2N2"),
        "l2": ("a2", "", ""),
        "l4": ("a4", "", ""),
    }
    write(
        folder,
        "addresses.csv",
        [
            {
                "id": ID[a],
                "location_id": ID[lo],
                "address_1": street,
                "postal_code": code,
                **address,
            }
            for lo, (a, street, code) in streets.items()
        ],
    )
    write(
        folder,
        "service_at_location.csv",
        [
            {"id": str(uuid.uuid4()), "service_id": ID[f"s{i}"], "location_id": ID[f"l{i}"]}
            for i in range(1, 5)
        ],
    )
    phone = {"id": str(uuid.uuid4()), "service_id": ID["s1"], "number": "416-555-0100"}
    write(folder, "phones.csv", [phone])
    # Another system's taxonomy: its code means nothing here, its name does.
    term = {"id": ID["t1"], "code": "BH-180", "name": "Emergency Shelter", "description": ""}
    write(folder, "taxonomy_terms.csv", [term])
    link = {"id": str(uuid.uuid4()), "link_id": ID["s1"], "taxonomy_term_id": ID["t1"]}
    write(folder, "attributes.csv", [link | {"link_entity": "service"}])
    return folder


EXPECTED = [
    ("locations.csv", 3, "coordinates (123.4, -79.4) are not a place on Earth"),
    ("locations.csv", 5, "point (48.8566, 2.3522) is outside Canada"),
    ("services.csv", 4, "required field 'name' is empty"),
    (
        "services.csv",
        6,
        "the service has no service_at_location row, so no location to show it at",
    ),
]


def test_bad_rows_are_reported_with_file_line_and_reason(empty_store, tmp_path):
    package = foreign_package(tmp_path / "partner")
    report = load(empty_store, package, tmp_path / "reports")
    assert report.source == "partner-211"
    assert [(r.file, r.line, r.reason) for r in report.rejected] == EXPECTED
    assert report.counts.inserted == 1
    with report.rejected_csv.open(encoding="utf-8", newline="") as handle:
        written = [(r["file"], int(r["line"]), r["reason"]) for r in csv.DictReader(handle)]
    assert written == EXPECTED
    with empty_store.engine.connect() as connection:
        terms = connection.exec_driver_sql("SELECT taxonomy_term_id FROM attribute").scalars()
        assert list(terms) == ["emergency_shelter"]  # matched by the term's name
        phones = connection.exec_driver_sql("SELECT number FROM phone").scalars()
        assert list(phones) == ["+14165550100"]


def test_cli_loads_a_package_and_reports_its_bad_rows(empty_store_url, tmp_path):
    package = foreign_package(tmp_path / "partner")
    env = {"CAREMAP_DATABASE_URL": empty_store_url, "CAREMAP_INSTANCE_DIR": str(tmp_path / "i")}
    result = CliRunner().invoke(main, ["etl", "run", str(package)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "partner-211: 1 inserted" in result.output and "4 rejected" in result.output
    for file, line, reason in EXPECTED:
        assert f"  {file} line {line}: rejected: {reason}" in result.output


def test_unknown_terms_and_languages_are_warned_with_file_and_line(empty_store, tmp_path):
    package = foreign_package(tmp_path / "partner")
    unknown_term = {"id": str(uuid.uuid4()), "code": "ZZ-9", "name": "Moon Base", "description": ""}
    write(
        package,
        "taxonomy_terms.csv",
        [
            {"id": ID["t1"], "code": "BH-180", "name": "Emergency Shelter", "description": ""},
            unknown_term,
        ],
    )
    links = [
        {"id": str(uuid.uuid4()), "link_id": ID["s1"], "taxonomy_term_id": term_id}
        for term_id in (ID["t1"], unknown_term["id"])
    ]
    write(package, "attributes.csv", [link | {"link_entity": "service"} for link in links])
    languages = [
        {"id": str(uuid.uuid4()), "service_id": ID["s1"], "code": code, "name": name}
        for code, name in (("fr", "French"), ("xx", "Klingon"))
    ]
    write(package, "languages.csv", languages)
    report = load(empty_store, package, tmp_path / "reports")
    texts = [text_ for _, _, text_ in report.warnings]
    assert "attributes.csv line 3: unknown taxonomy term 'ZZ-9'" in texts
    assert "languages.csv line 3: unknown language 'xx'" in texts
    with empty_store.engine.connect() as connection:
        terms = connection.exec_driver_sql("SELECT taxonomy_term_id FROM attribute").scalars()
        assert list(terms) == ["emergency_shelter"]
        codes = connection.exec_driver_sql("SELECT code FROM language").scalars()
        assert list(codes) == ["fr"]


FORMULA_NAME = '=HYPERLINK("http://evil.example","Click me")'


def test_a_formula_name_is_neutralised_in_the_export_and_read_back_as_it_was(empty_store, tmp_path):
    listings = tmp_path / "formula.csv"
    listings.write_text(
        "source_id,name,organization,street_address,city,province,postal_code,phone\n"
        f'F-1,"{FORMULA_NAME.replace(chr(34), chr(34) * 2)}",@Org,200 King St W,Toronto,ON,'
        "M5V 2T6,+1 416-555-0100\n",
        encoding="utf-8",
    )
    assert load(empty_store, listings, tmp_path / "reports").counts.inserted == 1
    package = tmp_path / "package"
    export_package(empty_store, DATA_DIR, package)
    with (package / "services.csv").open(encoding="utf-8", newline="") as handle:
        [service] = list(csv.DictReader(handle))
    assert service["name"] == "'" + FORMULA_NAME
    with (package / "phones.csv").open(encoding="utf-8", newline="") as handle:
        assert [row["number"] for row in csv.DictReader(handle)] == ["+14165550100"]
    report = load(empty_store, package, tmp_path / "reports")
    assert report.counts.inserted == 1 and not report.rejected
    with empty_store.engine.connect() as connection:
        names = connection.exec_driver_sql(
            "SELECT name FROM service WHERE source_name = 'caremap'"
        ).scalars().all()  # fmt: skip
        organizations = connection.exec_driver_sql(
            "SELECT name FROM organization WHERE source_name = 'caremap'"
        ).scalars().all()  # fmt: skip
    assert (names, organizations) == ([FORMULA_NAME], ["@Org"])


def test_a_package_without_locations_is_one_error_and_a_failing_exit(empty_store_url, tmp_path):
    package = foreign_package(tmp_path / "partner")
    (package / "locations.csv").unlink()
    env = {"CAREMAP_DATABASE_URL": empty_store_url, "CAREMAP_INSTANCE_DIR": str(tmp_path / "i")}
    result = CliRunner().invoke(main, ["etl", "run", str(package)], env=env)
    assert result.exit_code != 0 and result.exception is not None
    assert not isinstance(result.exception, ValueError)  # a clean exit, not a traceback
    assert (
        "partner: the package has no locations.csv; an HSDS package needs services.csv, "
        "locations.csv, service_at_location.csv"
    ) in result.output


def test_a_package_file_without_an_id_column_is_one_error(empty_store, tmp_path):
    package = foreign_package(tmp_path / "partner")
    (package / "phones.csv").write_text("service_id,number\nx,416-555-0100\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"phones\.csv: missing required column\(s\) id"):
        load(empty_store, package, tmp_path / "reports")


def test_a_nul_character_in_the_descriptor_is_one_error(empty_store, tmp_path):
    package = foreign_package(tmp_path / "partner")
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["title"] = "Partner\u0000"
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    with pytest.raises(ValueError, match=r"datapackage\.json contains a NUL character"):
        load(empty_store, package, tmp_path / "reports")
