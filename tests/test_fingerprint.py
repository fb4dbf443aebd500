"""A source row's text digest: its JSON is exactly the standard library's, so that rows loaded
before keep their stored raw hashes."""

from __future__ import annotations

import json

import pytest

from etl.fingerprint import row_json

ROWS = [
    {},
    {"name": "Maison d'hébergement « Le Phare »", "city": "Trois-Rivières"},
    {"b": 'a "quoted" word', "a": "back\\slash", "C": "tab\tnew\nline\r\x00\x1f\x7f"},
    {"É": "é", "e": "\u2028\u2029", "z": "😀 emoji", "": ""},
    {"source_id": "SYN-1", "phone": "416-555-0100", "hours": "Mon-Fri 9:00-17:00"},
]


@pytest.mark.parametrize("values", ROWS)
def test_row_json_is_the_standard_librarys(values: dict) -> None:
    assert row_json(values) == json.dumps(values, sort_keys=True, ensure_ascii=False)


def test_row_json_of_other_values_is_the_standard_librarys() -> None:
    values = {"count": 3, "name": "x", "missing": None}
    assert row_json(values) == json.dumps(values, sort_keys=True, ensure_ascii=False)  # type: ignore[arg-type]
