"""The ETL on both stores: the real listings, idempotent re-runs, bad rows, atomic sources."""

from __future__ import annotations

import concurrent.futures
import csv
import gc
import io
import shutil
import threading
import tracemalloc
import uuid

import pytest
from sqlalchemy import event, func, select, text

from caremap import publish
from caremap.collector import BATCH_GC_THRESHOLDS
from caremap.model import (
    Attribute,
    Location,
    Organization,
    Phone,
    PublicListing,
    Schedule,
    Service,
    ServiceCapacity,
    SourceRecord,
)
from caremap.reasons import Reason
from caremap.store import open_store
from etl import load as load_module
from etl import pipeline
from etl.extract import ExtractError
from etl.load import SourceInfo
from etl.pipeline import LimitExceeded, Limits, check_and_load, load_reference, run
from etl.reference import sync_reference_data
from tests.conftest import DATA_DIR, LISTINGS, TEST_DATA

SHARED = LISTINGS / "service_listings_shared.csv"
BAD_ROWS = TEST_DATA / "bad_rows_latin1.csv"


def etl(store, *paths, report_dir):
    return run(store, list(paths), DATA_DIR, report_dir, progress=False)


def table_counts(store) -> dict[str, int]:
    tables = [Organization, Service, Location, Phone, Schedule, ServiceCapacity, Attribute]
    with store.session() as session:
        return {
            t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in tables
        }


def snapshot(store) -> list[tuple]:
    """Every source record's hash and load time: any write would change it."""
    with store.session() as session:
        return session.execute(
            select(
                SourceRecord.source_record_id, SourceRecord.content_hash, SourceRecord.loaded_at
            ).order_by(SourceRecord.source_record_id)
        ).all()


def test_all_real_listings_load(empty_store, tmp_path):
    [report] = etl(empty_store, SHARED, report_dir=tmp_path)
    assert report.counts.inserted == 116 and not report.rejected
    counts = table_counts(empty_store)
    assert counts["service"] == counts["location"] == 116
    assert counts["phone"] == 6  # one youth service lists two numbers
    with empty_store.session() as session:
        assert session.scalar(select(func.count()).where(Location.pruid.is_(None))) == 0
        assert session.scalar(select(func.count()).where(Location.cduid.is_(None))) == 0
        vaughan = session.scalars(select(Location).where(Location.cduid == "3519")).one()
        # Blank in the source: filled from the postal code L4L (GeoNames names the community).
        assert vaughan.addresses[0].city == "Woodbridge"


def test_warnings_name_line_and_reason(empty_store, tmp_path):
    [report] = etl(empty_store, SHARED, report_dir=tmp_path)
    warnings = {(line, text_) for line, _, text_ in report.warnings}
    assert (50, "coordinates are 3.6 km from postal code M1E 2P9") in warnings
    assert (8, "capacity 'VARIES' is not a number; kept as text") in warnings


def test_a_confidential_location_named_after_its_street_loads_under_a_name_without_it(
    empty_store, tmp_path
):
    """Five real rows made confidential: the four whose names hold their street address are
    loaded, reported (line and reason), and published without the address."""
    confidential = {"CRD2025-03", "TOR2026-001", "TOR2026-030", "TOR2026-034", "TOR2012-52"}

    def edit(rows):
        for row in rows:
            if row["source_id"] in confidential:
                row["address_confidential"] = "True"
        return rows

    [report] = etl(empty_store, edited_copy(tmp_path, edit), report_dir=tmp_path)
    assert report.counts.inserted == 116 and not report.rejected
    warned = {
        (line, text_)
        for line, _, text_ in report.warnings
        if "confidential location contains its street" in text_
    }
    start = "the name of a confidential location contains its street address"
    assert warned == {
        (2, f"{start} ('1240 Yates St'): it is published as 'Our Place Society'"),
        (
            39,
            (
                f"{start} ('213 Carlton Street'): it is published as "
                "'Canadian Mental Health Association - Toronto Branch'"
            ),
        ),
        (57, f"{start} ('McGill St'): it is published as 'Covenant House'"),
        (59, f"{start} ('351 Lake Shore Blvd E'): it is published as 'Dixon Hall Respite'"),
    }
    with empty_store.session() as session:
        published = dict(
            session.execute(
                select(Service.source_record_id, PublicListing.service_name).join(
                    PublicListing, PublicListing.service_id == Service.id
                )
            ).all()
        )
        features = session.scalars(select(PublicListing.feature)).all()
    assert published["CRD2025-03"] == "Our Place Society"
    assert published["TOR2026-034"] == "Dixon Hall Respite"
    assert published["TOR2012-52"] == "Women's Residence - Bellwoods House"  # no street address
    for secret in ("1240 Yates", "Carlton Street", "McGill St", "Lake Shore Blvd E"):
        assert not [f for f in features if secret in f], secret


def test_unchanged_rerun_writes_nothing(empty_store, tmp_path):
    etl(empty_store, SHARED, report_dir=tmp_path)
    before = snapshot(empty_store)
    with empty_store.engine.connect() as connection:
        version = connection.execute(text("SELECT value FROM store_meta")).scalar_one()
    [report] = etl(empty_store, SHARED, report_dir=tmp_path)
    assert (
        report.counts.inserted,
        report.counts.updated,
        report.counts.unchanged,
        report.counts.removed,
    ) == (0, 0, 116, 0)
    assert snapshot(empty_store) == before
    with empty_store.engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM store_meta")).scalar_one() == version


def edited_copy(tmp_path, edit):
    with SHARED.open(encoding="utf-8") as handle:
        rows = edit(list(csv.DictReader(handle)))
    target = tmp_path / "src" / "service_listings_shared.csv"
    target.parent.mkdir(exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


def test_changed_and_removed_rows(empty_store, tmp_path):
    etl(empty_store, SHARED, report_dir=tmp_path)

    def edit(rows):
        rows[0]["name"] = "Our Place Society - renamed"
        return rows[:-1]

    [report] = etl(empty_store, edited_copy(tmp_path, edit), report_dir=tmp_path)
    assert (report.counts.updated, report.counts.removed, report.counts.unchanged) == (1, 1, 114)
    counts = table_counts(empty_store)
    assert counts["service"] == counts["location"] == 115
    with empty_store.session() as session:
        names = set(session.scalars(select(Service.name)))
    assert "Our Place Society - renamed" in names


def test_bad_rows_are_reported_and_good_rows_load(empty_store, tmp_path):
    [report] = etl(empty_store, BAD_ROWS, report_dir=tmp_path)
    reasons = {row.line: row.reason for row in report.rejected}
    assert reasons == {
        3: "required field 'name' is empty",
        4: "postal_code: 'Z9Z 9Z9' is not a Canadian postal code",
        5: "point (40.0, -40.0) is outside Canada",
        6: "latitude and longitude appear swapped: (-79.38, 43.65) is outside Canada",
        7: "point (43.65, -79.38) is in ON, but the row says QC",
        8: "name contains HTML markup: '<b>Shouting</b> Shelter'",
        9: "duplicate source_id 'BAD-01' (first on line 2)",
    }
    assert {row.line: (row.field, row.value) for row in report.rejected} == {
        3: ("name", ""),
        4: ("postal_code", "Z9Z 9Z9"),
        5: ("latitude, longitude", "40.0, -40.0"),
        6: ("latitude, longitude", "-79.38, 43.65"),
        7: ("province", "QC"),
        8: ("name", "<b>Shouting</b> Shelter"),
        9: ("source_id", "BAD-01"),
    }
    assert report.counts.inserted == 3
    with empty_store.session() as session:
        locations = {s.name: s for s in session.scalars(select(Service))}
        lea = session.scalars(select(Location).where(Location.cduid.like("24%"))).one()
        assert lea.geocode_precision == "place" and lea.addresses[0].city == "Trois-Rivières"
    assert set(locations) == {
        "Good Shelter One (test)",
        "Refuge Hébergement Léa (test)",
        "Good Shelter Two (test)",
    }
    with report.rejected_csv.open(encoding="utf-8") as handle:
        rejected = list(csv.DictReader(handle))
    assert [int(r["line"]) for r in rejected] == [3, 4, 5, 6, 7, 8, 9]
    assert rejected[5]["name"] == "<b>Shouting</b> Shelter"  # original values kept
    assert (rejected[1]["field"], rejected[1]["value"]) == ("postal_code", "Z9Z 9Z9")


def test_record_ids_are_the_uuid5_of_source_key_and_kind():
    """``record_id`` makes its UUID 5 without ``uuid.uuid5``: the same ids, text of any script."""
    names = [("s", "k", "service"), ("src é", "clé 中 \t|x", "term:abuse"), ("", "", "")]
    names += [("synthetic", f"SYN-{i:05d}", f"phone{i % 3}") for i in range(2_000)]
    for name in names:
        expected = str(uuid.uuid5(load_module.NAMESPACE, "|".join(name)))
        assert load_module.record_id(*name) == expected


def test_a_failing_load_leaves_the_previous_state(empty_store, tmp_path, monkeypatch):
    etl(empty_store, SHARED, report_dir=tmp_path)
    before, counts = snapshot(empty_store), table_counts(empty_store)

    def crash(*_args):
        raise RuntimeError("simulated crash after the inserts")

    monkeypatch.setattr(load_module, "_delete_orphan_organizations", crash)
    changed = edited_copy(tmp_path, lambda rows: [dict(r, name=r["name"] + " v2") for r in rows])
    with pytest.raises(RuntimeError, match="simulated crash"):
        etl(empty_store, changed, report_dir=tmp_path)
    assert snapshot(empty_store) == before
    assert table_counts(empty_store) == counts


def test_folder_of_sources_and_sidecar(empty_store, tmp_path):
    folder = tmp_path / "listings"
    folder.mkdir()
    shutil.copy(BAD_ROWS, folder / "ngo_upload.csv")
    (folder / "ngo_upload.source.toml").write_text(
        'name = "ngo_upload"\ntitle = "An NGO upload"\nlicence = "CC BY 4.0"\n', encoding="utf-8"
    )
    [report] = etl(empty_store, folder, report_dir=tmp_path)
    assert report.source == "ngo_upload" and report.counts.inserted == 3
    with empty_store.session() as session:
        assert session.scalar(select(func.count()).select_from(Organization)) == 2


def test_geojson_source(empty_store, tmp_path):
    """GeoJSON points (lon, lat order) load like CSV rows; a non-point feature is reported."""
    import json

    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-79.37426518, 43.65995605]},
            "properties": {
                "source_id": "G-1",
                "name": "GeoJSON Shelter (test)",
                "province": "ON",
                "city": "Toronto",
                "postal_code": "M5A 2N2",
                "service_category": "emergency_shelter",
            },
        },
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[-79.4, 43.6], [-79.3, 43.7]]},
            "properties": {"source_id": "G-2", "name": "A Line (test)", "province": "ON"},
        },
    ]
    path = tmp_path / "points.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    [report] = etl(empty_store, path, report_dir=tmp_path)
    assert report.counts.inserted == 1
    assert [row.line for row in report.rejected] == [2]
    with empty_store.session() as session:
        location = session.scalars(select(Location)).one()
    assert (location.latitude, location.longitude) == (43.65995605, -79.37426518)
    assert location.geocode_precision == "source_coordinates" and location.cduid == "3520"


def test_unchanged_rows_are_not_transformed_again(empty_store, tmp_path, monkeypatch):
    [first] = etl(empty_store, SHARED, report_dir=tmp_path)

    def must_not_run(*_args):
        raise AssertionError("an unchanged row was transformed again")

    monkeypatch.setattr("etl.pipeline.transform_row", must_not_run)
    [again] = etl(empty_store, SHARED, report_dir=tmp_path)
    assert again.counts.unchanged == 116
    assert again.warnings == first.warnings  # remembered, still reported
    # and still able to say themselves in French (templates and values are kept)
    assert all(isinstance(text_, Reason) for _, _, text_ in again.warnings)


def test_new_pipeline_fingerprint_retransforms_but_writes_no_records(
    empty_store, tmp_path, monkeypatch
):
    etl(empty_store, SHARED, report_dir=tmp_path)
    before = {(r[0], r[1]) for r in snapshot(empty_store)}
    monkeypatch.setattr("etl.pipeline.pipeline_fingerprint", lambda _data_dir: "new code")
    [report] = etl(empty_store, SHARED, report_dir=tmp_path)
    assert (report.counts.inserted, report.counts.updated, report.counts.unchanged) == (0, 0, 116)
    assert {(r[0], r[1]) for r in snapshot(empty_store)} == before


def test_beds_set_aside_for_women(empty_store, tmp_path):
    """CRD2025-10 has 25 year-round beds for women: a capacity of that kind, and the service
    is listed as serving women."""
    etl(empty_store, SHARED, report_dir=tmp_path)
    with empty_store.session() as session:
        service = session.scalars(
            select(Service).where(Service.source_record_id == "CRD2025-10")
        ).one()
        kinds = {(c.maximum, c.description) for c in service.capacities}
        terms = set(
            session.scalars(
                select(Attribute.taxonomy_term_id).where(Attribute.link_id == service.id)
            )
        )
    assert kinds == {(25, None), (25, "women")}
    assert {"emergency_shelter", "women"} <= terms


def test_source_coverage_is_recorded_and_checked(empty_store, tmp_path):
    import json

    from caremap.model import Source

    etl(empty_store, SHARED, report_dir=tmp_path)
    with empty_store.session() as session:
        coverage = json.loads(session.get(Source, "service_listings_shared").coverage)
    assert coverage == [
        {
            "jurisdictions": ["census_division:3520", "census_division:5917"],
            "service_types": ["emergency_shelter"],
        }
    ]
    folder = tmp_path / "bad"
    folder.mkdir()
    shutil.copy(BAD_ROWS, folder / "x.csv")
    sidecar = (
        '[[coverage]]\njurisdictions = ["census_division:9999"]\nservice_types = ["drop_in"]\n'
    )
    (folder / "x.source.toml").write_text(sidecar, "utf-8")
    with pytest.raises(ValueError, match="'census_division:9999' is not a known jurisdiction"):
        etl(empty_store, folder, report_dir=tmp_path)


# --- Bad files: every bad row is reported with its line and reason, the good ones load -------


def shared_lines() -> list[str]:
    return SHARED.read_text(encoding="utf-8").splitlines(keepends=True)


def test_a_nul_character_rejects_its_row_and_the_rest_loads(empty_store, tmp_path):
    lines = shared_lines()
    lines[5] = lines[5].replace(",", ",\x00", 1)  # line 6: a NUL at the start of its name
    path = tmp_path / "nul.csv"
    path.write_text("".join(lines), encoding="utf-8")
    [report] = etl(empty_store, path, report_dir=tmp_path / "reports")
    assert [(r.line, r.reason) for r in report.rejected] == [(6, "'name' contains a NUL character")]
    assert report.counts.inserted == 115
    assert table_counts(empty_store)["service"] == 115


def test_an_unterminated_quote_is_reported_and_the_rest_loads(empty_store, tmp_path):
    lines = shared_lines()
    lines[2] = lines[2].replace(",", ',"', 1)  # line 3: a quote opened, never closed
    path = tmp_path / "quote.csv"
    path.write_text("".join(lines), encoding="utf-8")
    [report] = etl(empty_store, path, report_dir=tmp_path / "reports")
    [rejected] = report.rejected
    assert rejected.line == 3 and rejected.reason.startswith("unterminated quoted field")
    assert report.counts.inserted == 115


def test_an_over_long_value_rejects_its_row_and_the_rest_loads(empty_store, tmp_path):
    lines = shared_lines()
    columns = lines[0].rstrip("\n").split(",")
    facility = columns.index("facility")
    fields = next(csv.reader([lines[3]]))
    fields[facility] = "x" * 200_000
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    lines[3] = buffer.getvalue()
    path = tmp_path / "long.csv"
    path.write_text("".join(lines), encoding="utf-8")
    [report] = etl(empty_store, path, report_dir=tmp_path / "reports")
    assert [(r.line, r.reason) for r in report.rejected] == [
        (4, "'facility' is 200000 characters long; a value may have at most 32768")
    ]
    assert report.counts.inserted == 115


def test_a_missing_required_column_is_one_error_naming_it(empty_store, tmp_path):
    path = tmp_path / "noname.csv"
    path.write_text("source_id,city,province\nA-1,Toronto,ON\nA-2,Ottawa,ON\n", encoding="utf-8")
    with pytest.raises(ExtractError) as raised:
        etl(empty_store, path, report_dir=tmp_path / "reports")
    assert str(raised.value) == (
        "noname.csv: missing required column(s) name (the header has: source_id, city, province)"
    )
    assert table_counts(empty_store)["service"] == 0


def test_a_binary_file_is_one_error(empty_store, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 200)
    with pytest.raises(ExtractError, match=r"^photo\.csv is not a text \(CSV\) file$"):
        etl(empty_store, path, report_dir=tmp_path / "reports")


def test_two_runs_at_once_both_succeed_one_after_the_other(empty_store_url, tmp_path):
    """Each run has its own store object, as two ``caremap etl run`` processes would."""
    stores = [open_store(empty_store_url) for _ in range(2)]
    barrier = threading.Barrier(2)

    def one_run(store):
        barrier.wait()
        return etl(store, SHARED, report_dir=tmp_path / "reports")

    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(one_run, stores))
        inserted = sorted(report.counts.inserted for [report] in results)
        assert inserted == [0, 116]  # the second found the first's work done
        assert table_counts(stores[0])["service"] == 116
    finally:
        for store in stores:
            store.dispose()


def _replicated_listing(folder, rows: int):
    """The listing template's rows repeated to ``rows`` rows, each with its own source_id."""
    with (DATA_DIR / "templates" / "listings_example.csv").open(encoding="utf-8") as handle:
        template = list(csv.DictReader(handle))
    path = folder / f"listing-{rows}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(template[0]))
        writer.writeheader()
        for n in range(rows):
            writer.writerow({**template[n % len(template)], "source_id": f"ROW-{n}"})
    return path


def test_the_memory_a_load_takes_does_not_grow_with_its_rows(empty_store, tmp_path, monkeypatch):
    """Rows are checked and loaded chunk by chunk into the one transaction of their source,
    so eight times the rows (80 chunks instead of 10) take nowhere near eight times the
    memory: only ids are kept for the whole source. Holding every chunk's validated records
    took 2.8 (SQLite) and 3.2 (PostGIS) times the memory here; the ids take 1.7 and 2.1 times."""
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 100)
    monkeypatch.setattr(load_module, "INSERT_CHUNK", 50)
    monkeypatch.setattr(publish, "CHUNK", 50)
    reference = load_reference(DATA_DIR)
    sync_reference_data(empty_store, reference.vocabulary, reference.boundaries)

    def load(name: str, rows: int) -> None:
        path = _replicated_listing(tmp_path, rows)
        info = SourceInfo(name=name, title=path.name)
        checked = check_and_load(empty_store, reference, path, info, organization="Org")
        assert (checked.report.counts.inserted, checked.report.rejected) == (rows, [])

    load("warm-up", 500)  # what a first load makes once (caches, statements): not traced
    peaks = []
    for name, rows in (("small", 500), ("large", 4_000)):
        gc.collect()  # garbage of earlier tests in this process is not this load's
        tracemalloc.start()
        try:
            load(name, rows)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    small, large = peaks
    assert large < 2.5 * small, peaks


def test_a_source_that_fails_after_some_chunks_were_written_leaves_nothing(
    empty_store, tmp_path, monkeypatch
):
    """Chunks written before a later row fails the source are rolled back with it."""
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 100)
    monkeypatch.setattr(load_module, "INSERT_CHUNK", 50)
    reference = load_reference(DATA_DIR)
    sync_reference_data(empty_store, reference.vocabulary, reference.boundaries)
    info = SourceInfo(name="limited", title="limited")
    first = check_and_load(empty_store, reference, _replicated_listing(tmp_path, 300), info)
    assert first.report.counts.inserted == 300
    before = snapshot(empty_store)
    bigger = _replicated_listing(tmp_path, 600)  # 300 rows as loaded, then 300 new ones
    with pytest.raises(LimitExceeded):
        check_and_load(empty_store, reference, bigger, info, Limits(max_rows=550))
    assert snapshot(empty_store) == before
    again = check_and_load(empty_store, reference, bigger, info)
    assert (again.report.counts.inserted, again.report.counts.unchanged) == (300, 300)


def test_a_run_collects_garbage_rarely_and_restores_the_collector(empty_store, tmp_path):
    """While a run writes, what existed before it is frozen out of the cyclic collector's reach
    and collections are rarer; after it, the collector is as it was."""
    before = gc.get_threshold(), gc.get_freeze_count()
    during: set[tuple] = set()

    def record(*_args) -> None:
        during.add(gc.get_threshold())

    event.listen(empty_store.engine, "before_cursor_execute", record)
    try:
        etl(empty_store, SHARED, report_dir=tmp_path)
    finally:
        event.remove(empty_store.engine, "before_cursor_execute", record)
    assert during == {BATCH_GC_THRESHOLDS}
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
