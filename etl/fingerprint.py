"""A digest of everything that turns a source row into a record: the version of the pipeline's
code and the reference data. If it is unchanged, a row whose text is unchanged needs no new
transform."""

from __future__ import annotations

import functools
import hashlib
import json
from json.encoder import encode_basestring as _text
from pathlib import Path

# The version of the code that turns a source row into a record: the pipeline's modules
# (etl.pipeline, etl.hsds) and every project module they import, directly or not. Bump it
# when a change there can change a record or its warnings; rows are then transformed again.
# tests/test_code_versions.py fails until it is bumped.
PIPELINE_VERSION = 5
DATA = ["vocabulary", "gazetteer", "boundaries", "jurisdictions.toml"]


@functools.cache
def pipeline_fingerprint(data_dir: Path) -> str:
    digest = hashlib.sha256(f"pipeline {PIPELINE_VERSION}\n".encode())
    data_files = sorted(
        p for name in DATA for p in [data_dir / name, *(data_dir / name).rglob("*")] if p.is_file()
    )
    for path in data_files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def raw_row_hash(fingerprint: str, values: dict[str, str]) -> str:
    """The digest of a source row's text under a given pipeline fingerprint."""
    payload = row_json(values)
    return hashlib.sha256(f"{fingerprint}\n{payload}".encode()).hexdigest()


def row_json(values: dict[str, str]) -> str:
    """``json.dumps(values, sort_keys=True, ensure_ascii=False)``, in half its time for a row
    of text (its keys and values each encoded by the encoder's own string function)."""
    if not all(type(key) is str and type(value) is str for key, value in values.items()):
        return json.dumps(values, sort_keys=True, ensure_ascii=False)
    pairs = [f"{_text(key)}: {_text(value)}" for key, value in sorted(values.items())]
    return "{" + ", ".join(pairs) + "}"
