"""The ``caremap`` command, through click's runner and as a real process."""

from __future__ import annotations

import csv
import re
import subprocess
import sys

from click.testing import CliRunner

from caremap_cli import main
from tests.conftest import LISTINGS, TEST_DATA


def invoke(args, tmp_path, database_url=None):
    env = {
        "CAREMAP_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'cli.sqlite'}",
        "CAREMAP_INSTANCE_DIR": str(tmp_path / "instance"),
    }
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_etl_run_default_sources_then_rerun(tmp_path):
    first = invoke(["etl", "run"], tmp_path)
    assert first.exit_code == 0, first.output
    assert "service_listings_shared: 116 inserted, 0 updated, 0 unchanged" in first.output
    assert "selections on 3 levels" in first.output  # the stored coverage indicators
    second = invoke(["etl", "run", str(LISTINGS)], tmp_path)
    assert "0 inserted, 0 updated, 116 unchanged, 0 removed, 0 rejected" in second.output
    assert "coverage: stored indicators are current" in second.output
    rebuilt = invoke(["coverage", "build"], tmp_path)
    assert rebuilt.exit_code == 0, rebuilt.output
    built = r"coverage: [\d,]+ indicators for [\d,]+ selections on 3 levels"
    assert re.search(built, rebuilt.output)
    # The README's provincial table is the bundled data's: `caremap coverage table --write
    # README.md` after a change of the data or of what the ETL makes of it.
    table = invoke(["coverage", "table"], tmp_path)
    assert table.exit_code == 0 and table.output.startswith("| Province or territory |")
    assert table.output in (LISTINGS.parents[1] / "README.md").read_text(encoding="utf-8")


def test_etl_run_reports_bad_rows_on_each_store(empty_store_url, tmp_path):
    result = invoke(
        ["etl", "run", str(TEST_DATA / "bad_rows_latin1.csv")],
        tmp_path,
        database_url=empty_store_url,
    )
    assert result.exit_code == 0, result.output
    assert "3 inserted" in result.output and "7 rejected" in result.output
    assert "line 6: rejected: latitude and longitude appear swapped" in result.output
    assert "bad_rows_latin1-rejected.csv" in result.output


def test_etl_run_missing_path_is_a_clear_error(tmp_path):
    result = invoke(["etl", "run", str(tmp_path / "nope.csv")], tmp_path)
    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_db_upgrade(tmp_path):
    result = invoke(["db", "upgrade"], tmp_path)
    assert result.exit_code == 0 and "newest schema" in result.output


def test_geocode_batch(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(
        "id,street_address,city,province,postal_code\n"
        "1,339 George St,Toronto,ON,M5A 2N2\n"
        "2,,Kenora,ON,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    result = invoke(["geocode", str(source), "--out", str(out)], tmp_path)
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["precision"] for r in rows] == ["postal_code", "place"]
    assert rows[0]["id"] == "1" and rows[0]["latitude"]


def test_cli_starts_without_heavy_imports():
    code = (
        "import sys, caremap_cli; "
        "print(sorted(m for m in ('pandas', 'geopandas', 'flask', 'folium', 'sqlalchemy') "
        "if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert output == "[]"


def test_console_script_help():
    output = subprocess.run(
        [sys.executable, "-m", "caremap_cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("db", "etl", "geocode", "serve"):
        assert command in output
