"""A digest of everything that turns a source row into a record: the transform code and the
reference data. If it is unchanged, a row whose text is unchanged needs no new transform."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CODE = [
    *sorted((PROJECT / "etl").glob("*.py")),
    *(
        PROJECT / "caremap" / f"{name}.py"
        for name in (
            "normalise",
            "gazetteer",
            "geocoder",
            "geodesy",
            "jurisdictions",
            "privacy",
            "timezones",
            "vocabulary",
        )
    ),
]
DATA = ["vocabulary", "gazetteer", "boundaries", "jurisdictions.toml"]


@functools.cache
def pipeline_fingerprint(data_dir: Path) -> str:
    digest = hashlib.sha256()
    data_files = sorted(
        p for name in DATA for p in [data_dir / name, *(data_dir / name).rglob("*")] if p.is_file()
    )
    for path in [*CODE, *data_files]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def raw_row_hash(fingerprint: str, values: dict[str, str]) -> str:
    """The digest of a source row's text under a given pipeline fingerprint."""
    payload = json.dumps(values, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{fingerprint}\n{payload}".encode()).hexdigest()
