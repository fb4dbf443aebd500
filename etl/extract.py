"""Read source files (CSV or GeoJSON) into plain rows of stripped strings, with line numbers.

Nothing is interpreted here: every value stays a string, and rows that cannot even be read
(wrong field count, non-Point geometry) are reported as :class:`RowProblem` instead of rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caremap.reasons import N_, Reason, reason_of

logger = logging.getLogger(__name__)

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
GEOJSON_SUFFIXES = frozenset({".geojson", ".json"})
DELIMITERS = ",;\t"
_SNIFF_CHARS = 64 * 1024
# Legacy GeoJSON "crs" names that still mean WGS84 longitude/latitude.
_WGS84_CRS_NAMES = frozenset(
    {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326"}
)


class ExtractError(ValueError):
    """A whole file cannot be read: unknown type, no header, duplicate columns, bad JSON."""


@dataclass(frozen=True)
class SourceRow:
    """One record. ``line`` is where it starts (CSV: physical line, header = 1; GeoJSON:
    1-based feature index). ``values`` maps column names to stripped strings."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class RowProblem:
    """A record that could not be read as a row, with whatever values could be recovered."""

    line: int
    reason: str
    values: dict[str, str]


@dataclass
class Extracted:
    """The rows of one file, the column names in file order, and how the file was read."""

    rows: list[SourceRow]
    columns: list[str]
    encoding: str
    delimiter: str | None
    problems: list[RowProblem] = field(default_factory=list)


def read_rows(path: Path) -> Extracted:
    """Read a CSV (``.csv``, ``.tsv``, ``.txt``) or GeoJSON (``.geojson``, ``.json``) file.

    Encoding: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252, else Latin-1.
    CSV delimiter: one of ``,`` ``;`` tab, sniffed. Raises :class:`ExtractError` for an
    unsupported file type or a file that cannot be read at all.
    """
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | GEOJSON_SUFFIXES:
        raise ExtractError(
            f"{path.name}: unsupported file type {suffix or '(none)'!r}; "
            "expected .csv, .tsv, .txt, .geojson or .json"
        )
    text, encoding = decode(path.read_bytes())
    if suffix in CSV_SUFFIXES:
        extracted = _read_csv(path, text, encoding)
    else:
        extracted = _read_geojson(path, text, encoding)
    logger.info(
        "Read %d rows and %d problems from %s (%s, delimiter %r)",
        len(extracted.rows), len(extracted.problems), path, encoding, extracted.delimiter,
    )  # fmt: skip
    return extracted


def decode(data: bytes) -> tuple[str, str]:
    """Decode file bytes; return ``(text, encoding name)``. French accents survive cp1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8"
        return text, encoding
    return data.decode("latin-1"), "latin-1"


def read_csv_bytes(name: str, data: bytes) -> Extracted:
    """Read CSV content named ``name`` (e.g. a member of a zip file), as :func:`read_rows`."""
    text, encoding = decode(data)
    return _read_csv(Path(name), text, encoding)


# --- CSV ----------------------------------------------------------------------------------------


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter among ``,`` ``;`` tab.

    ``csv.Sniffer`` decides on the first 64 KiB; its answer is kept only if the header line
    contains it. Otherwise the candidate most frequent in the header (the first non-blank line)
    wins, and ``,`` when the header has none.
    """
    header = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:
        sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed and sniffed in header:
        return sniffed
    best = max(DELIMITERS, key=header.count)
    return best if best in header else ","


def _read_csv(path: Path, text: str, encoding: str) -> Extracted:
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        columns = _header(path, reader)
        extracted = Extracted([], columns, encoding, delimiter)
        end = reader.line_num
        for fields in reader:
            start, end = end + 1, reader.line_num
            _add_record(extracted, start, fields)
    except csv.Error as exc:
        raise ExtractError(f"{path.name}, line {reader.line_num}: {exc}") from exc
    return extracted


def _header(path: Path, reader: Iterator[list[str]]) -> list[str]:
    """The first non-empty record, stripped; names must be unique."""
    for fields in reader:
        if any(name.strip() for name in fields):
            columns = [name.strip() for name in fields]
            duplicates = sorted({name for name in columns if columns.count(name) > 1})
            if duplicates:
                raise ExtractError(f"{path.name}: duplicate column names {duplicates}")
            return columns
    raise ExtractError(f"{path.name}: the file is empty; a header row is required")


def _add_record(extracted: Extracted, line: int, fields: list[str]) -> None:
    """Append one CSV record as a row or a problem. Blank records are skipped.

    Missing trailing fields become ''. Extra fields are a problem unless they are all blank
    (spreadsheets often write trailing delimiters).
    """
    fields = [value.strip() for value in fields]
    if not any(fields):
        return
    columns = extracted.columns
    values = {name: fields[i] if i < len(fields) else "" for i, name in enumerate(columns)}
    extra = fields[len(columns) :]
    if any(extra):
        extra_values = {f"column {len(columns) + i}": v for i, v in enumerate(extra, start=1)}
        reason = Reason(
            N_("has %(fields)s fields but the header has %(columns)s"),
            fields=len(fields),
            columns=len(columns),
        )
        extracted.problems.append(RowProblem(line, reason, values | extra_values))
    else:
        extracted.rows.append(SourceRow(line, values))


# --- GeoJSON ------------------------------------------------------------------------------------


def _read_geojson(path: Path, text: str, encoding: str) -> Extracted:
    """Each Feature becomes a row; ``line`` is its 1-based index in the collection."""
    features = _features(path, text)
    extracted = Extracted([], [], encoding, None)
    for index, feature in enumerate(features, start=1):
        values = {key: _stringify(value) for key, value in _properties(feature).items()}
        try:
            values |= _point_values(_geometry(feature))
        except ValueError as exc:
            extracted.problems.append(RowProblem(index, reason_of(exc), values))
            continue
        extracted.rows.append(SourceRow(index, values))
        extracted.columns.extend(key for key in values if key not in extracted.columns)
    return extracted


def _features(path: Path, text: str) -> list[Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExtractError(f"{path.name}: not valid JSON ({exc})") from exc
    kind = document.get("type") if isinstance(document, dict) else None
    if kind not in ("FeatureCollection", "Feature"):
        raise ExtractError(f"{path.name}: expected a GeoJSON FeatureCollection or Feature")
    crs_name = (document.get("crs") or {}).get("properties", {}).get("name")
    if crs_name and crs_name not in _WGS84_CRS_NAMES:
        raise ExtractError(f"{path.name}: coordinates in {crs_name}; only WGS84 is accepted")
    features = document.get("features") if kind == "FeatureCollection" else [document]
    if not isinstance(features, list):
        raise ExtractError(f"{path.name}: the FeatureCollection has no list of features")
    return features


def _properties(feature: Any) -> dict[str, Any]:
    properties = feature.get("properties") if isinstance(feature, dict) else None
    return properties if isinstance(properties, dict) else {}


def _geometry(feature: Any) -> Any:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    return feature.get("geometry")


def _stringify(value: object) -> str:
    """JSON value → string: null → '', booleans → 'true'/'false', objects and arrays → JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict | list | bool):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _point_values(geometry: Any) -> dict[str, str]:
    """``longitude``/``latitude`` of a Point; {} for a null geometry; ValueError otherwise."""
    if geometry is None:
        return {}
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind != "Point":
        raise ValueError(Reason(N_("geometry is %(kind)s, not a Point"), kind=kind or "missing"))
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
        raise ValueError(
            Reason(
                N_("Point coordinates %(value)s are not [longitude, latitude]"),
                value=repr(coordinates),
            )
        )
    # GeoJSON positions are (longitude, latitude[, altitude]): x first.
    longitude, latitude = coordinates[:2]
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates):
        raise ValueError(
            Reason(N_("Point coordinates %(value)s are not numbers"), value=repr(coordinates))
        ) from None
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise ValueError(
            Reason(N_("Point coordinates %(value)s are out of range"), value=repr(coordinates))
        )
    return {"longitude": str(longitude), "latitude": str(latitude)}
