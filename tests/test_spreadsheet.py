"""CSV files the app writes open in a spreadsheet without running a formula (CSV injection)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from caremap.spreadsheet import SafeWriter, neutralise, restore

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3+SUM(A1)",
           "@SUM(A1)", "\t=1", "\r=1", "'=1", "''@x"]  # fmt: skip
INERT = ["-79.38", "+14165550100", "+1 (416) 555-0100", "-79.38, 43.65", "Refuge", "'quoted",
         "", "2025-11-01", "a=b"]  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_gets_a_quote_and_comes_back(text):
    cell = neutralise(text)
    assert cell.startswith("'") and cell[1:] == text
    assert restore(cell) == text


@pytest.mark.parametrize("value", [*INERT, -3, 2.5, None])
def test_numbers_and_plain_text_are_written_as_they_are(value):
    assert neutralise(value) == value
    if isinstance(value, str):
        assert restore(value) == value


def test_safe_writer_neutralises_every_cell_headers_too():
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(["=name", "line"])
    writer.writerows([["=HYPERLINK(1)", 3], ["-5", -5]])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [
        ["'=name", "line"], ["'=HYPERLINK(1)", "3"], ["-5", "-5"],
    ]  # fmt: skip


def test_every_csv_the_app_writes_goes_through_the_safe_writer():
    writers = re.compile(r"csv\.(writer|DictWriter)\(|\.to_csv\(")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("caremap", "etl", "webmap")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if writers.search(path.read_text(encoding="utf-8"))
    ]
    assert found == ["caremap/spreadsheet.py"]
