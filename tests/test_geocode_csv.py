"""The batch geocoder behind ``caremap geocode IN.csv --out OUT.csv`` (etl.geocode)."""

import csv
import statistics
from pathlib import Path

import pytest

from caremap.gazetteer import load_gazetteer
from caremap.geocoder import Geocoder, Precision
from caremap.geodesy import distance_m
from etl.geocode import GeocodeCsvError, geocode_csv

DATA = Path(__file__).resolve().parent.parent / "data"
LISTINGS = DATA / "listings" / "service_listings_shared.csv"


@pytest.fixture(scope="module")
def geocoder() -> Geocoder:
    return Geocoder(load_gazetteer(DATA))


def read_output(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as out:
        reader = csv.DictReader(out)
        return list(reader.fieldnames or []), list(reader)


def test_round_trip_passes_columns_through_and_adds_coordinates(tmp_path, geocoder):
    source = tmp_path / "in.csv"
    source.write_text(
        "source_id,name,street_address,city,province,postal_code,notes\n"
        'S1,Seaton House,339 George St,Toronto,ON,M5A 2N2,"shelter, men"\n'
        "S2,Unknown code,1 King St W,Toronto,ON,M5V 9Z9,\n"
        "S3,Refuge,1 rue Principale,Trois Rivieres,QC,,accents: é\n"
        "S4,Nowhere,,Atlantis,,,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    stats = geocode_csv(source, out, geocoder)
    columns, rows = read_output(out)
    assert columns == [
        "source_id", "name", "street_address", "city", "province", "postal_code", "notes",
        "latitude", "longitude", "precision",
    ]  # fmt: skip
    assert [r["precision"] for r in rows] == ["postal_code", "fsa", "place", "unmatched"]
    assert rows[0]["notes"] == "shelter, men"
    assert rows[2]["notes"] == "accents: é"
    assert (rows[0]["latitude"], rows[0]["longitude"]) == ("43.6473", "-79.3692")
    assert float(rows[2]["latitude"]) == pytest.approx(46.345, abs=0.01)
    assert (rows[3]["latitude"], rows[3]["longitude"]) == ("", "")
    assert stats.rows_written == 4
    assert stats.by_precision[Precision.FSA] == 1
    assert stats.summary() == "4 rows: 1 postal_code, 1 fsa, 1 place, 1 unmatched"


def test_existing_coordinates_are_kept_as_source_coordinates(tmp_path, geocoder):
    source = tmp_path / "in.csv"
    source.write_text(
        "latitude,longitude,name,street_address,city,province,postal_code\n"
        "43.65995605,-79.37426518,Seaton,339 George St,Toronto,ON,M5A 2N2\n"
        ",,No coordinates,339 George St,Toronto,ON,M5A 2N2\n"
        "abc,-79.4,Broken latitude,,Kenora,ON,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    geocode_csv(source, out, geocoder)
    columns, rows = read_output(out)
    assert columns == [
        "latitude", "longitude", "name", "street_address", "city", "province", "postal_code",
        "precision",
    ]  # fmt: skip
    assert [(r["latitude"], r["longitude"], r["precision"]) for r in rows] == [
        ("43.65995605", "-79.37426518", "source_coordinates"),
        ("43.6473", "-79.3692", "postal_code"),
        ("49.76741", "-94.48985", "place"),
    ]


def test_latin1_semicolon_input_gives_utf8_output(tmp_path, geocoder):
    source = tmp_path / "fr.csv"
    text = (
        "nom;street_address;city;province;postal_code\n"
        "Maison de l’Aube;12 rue des Forges;Trois-Rivières;Québec;\n"
        "Refuge;1 rue Sainte-Catherine;Montréal;QC;H2X 1Y1\n"
    )
    source.write_bytes(text.encode("cp1252"))
    out = tmp_path / "out.csv"
    geocode_csv(source, out, geocoder)
    _, rows = read_output(out)
    assert [r["city"] for r in rows] == ["Trois-Rivières", "Montréal"]
    assert rows[0]["nom"] == "Maison de l’Aube"
    assert [r["precision"] for r in rows] == ["place", "postal_code"]


def test_missing_required_column_is_named(tmp_path, geocoder):
    source = tmp_path / "in.csv"
    source.write_text("name,street_address,city,province\nA,1 Main St,Kenora,ON\n")
    with pytest.raises(GeocodeCsvError, match=r"missing required column.*postal_code") as raised:
        geocode_csv(source, tmp_path / "out.csv", geocoder)
    assert isinstance(raised.value, ValueError)
    assert not (tmp_path / "out.csv").exists()


def test_unreadable_rows_are_skipped_and_reported(tmp_path, geocoder):
    source = tmp_path / "in.csv"
    source.write_text(
        "street_address,city,province,postal_code\n"
        "1 Main St,Kenora,ON,\n"
        "2 Main St,Kenora,ON,,unexpected\n"
    )
    out = tmp_path / "out.csv"
    stats = geocode_csv(source, out, geocoder)
    assert [p.line for p in stats.problems] == [3]
    assert stats.rows_written == 1
    assert stats.summary() == "1 rows: 1 place; 1 unreadable rows skipped"
    assert len(read_output(out)[1]) == 1


def test_real_listings_keep_their_coordinates(tmp_path, geocoder):
    out = tmp_path / "out.csv"
    stats = geocode_csv(LISTINGS, out, geocoder)
    assert stats.by_precision == {Precision.SOURCE_COORDINATES: 116}
    with LISTINGS.open(encoding="utf-8", newline="") as listings:
        original = list(csv.DictReader(listings))
    columns, rows = read_output(out)
    assert columns == [*original[0], "precision"]
    assert [{k: v for k, v in r.items() if k != "precision"} for r in rows] == original


def test_real_listings_geocoded_without_their_coordinates(tmp_path, geocoder):
    with LISTINGS.open(encoding="utf-8", newline="") as listings:
        original = list(csv.DictReader(listings))
    source = tmp_path / "no_coordinates.csv"
    with source.open("w", encoding="utf-8", newline="") as stripped:
        fields = [c for c in original[0] if c not in ("latitude", "longitude")]
        writer = csv.DictWriter(stripped, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(original)
    out = tmp_path / "out.csv"
    stats = geocode_csv(source, out, geocoder)
    with_postal_code = sum(1 for row in original if row["postal_code"])
    assert stats.by_precision[Precision.POSTAL_CODE] + stats.by_precision[Precision.FSA] == (
        with_postal_code
    )
    _, rows = read_output(out)
    # Only Salt Spring Island is not a GeoNames "cities500" place (its village is Ganges).
    unmatched = [r["city"] for r in rows if r["precision"] == Precision.UNMATCHED]
    assert unmatched == ["Salt Spring Island"]
    metres = [
        distance_m(
            lat1=float(listed["latitude"]), lon1=float(listed["longitude"]),
            lat2=float(row["latitude"]), lon2=float(row["longitude"]),
        )
        for listed, row in zip(original, rows, strict=True)
        if row["precision"] == Precision.POSTAL_CODE
    ]  # fmt: skip
    assert statistics.median(metres) < 150
