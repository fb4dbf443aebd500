"""Read source files (CSV or GeoJSON) into plain rows of stripped strings, with line numbers.

Nothing is interpreted here: every value stays a string, and rows that cannot even be read
(wrong field count, non-Point geometry) are reported as :class:`RowProblem` instead of rows.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from caremap.reasons import N_, Reason, reason_of
from caremap.tabular import UnreadableFile, csv_format, detect_encoding

logger = logging.getLogger(__name__)

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
GEOJSON_SUFFIXES = frozenset({".geojson", ".json"})
# A longer value is refused: its row is reported, the others are read.
MAX_FIELD_CHARS = 32 * 1024
# The parser reads values up to this long, so that the report can name the one too long.
_PARSER_FIELD_LIMIT = 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), _PARSER_FIELD_LIMIT))
# Legacy GeoJSON "crs" names that still mean WGS84 longitude/latitude.
_WGS84_CRS_NAMES = frozenset(
    {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326"}
)


# A whole file cannot be read: not text, unknown type, no header, duplicate columns, bad JSON.
ExtractError = UnreadableFile


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


@dataclass
class RowStream:
    """A file's column names, how it is read, and its rows and problems as they are read;
    a context manager that closes the file."""

    columns: list[str]
    encoding: str
    delimiter: str | None
    items: Iterator[SourceRow | RowProblem]
    file: IO[str] | None = None

    def __enter__(self) -> RowStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.file is not None:
            self.file.close()


def read_rows(path: Path) -> Extracted:
    """Every row of :func:`stream_rows`, in a list."""
    with stream_rows(path) as stream:
        return _collected(stream)


def stream_rows(path: Path) -> RowStream:
    """Read a CSV (``.csv``, ``.tsv``, ``.txt``) or GeoJSON (``.geojson``, ``.json``) file; a
    CSV file's rows are read as they are consumed, so memory does not grow with the file.

    Encoding and CSV delimiter: see :func:`caremap.tabular.csv_format`. Raises
    :class:`ExtractError` for an unsupported file type or a file that cannot be read at all.
    """
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | GEOJSON_SUFFIXES:
        raise ExtractError(
            f"{path.name}: unsupported file type {suffix or '(none)'!r}; "
            "expected .csv, .tsv, .txt, .geojson or .json"
        )
    if suffix in CSV_SUFFIXES:
        return _stream_csv(path.name, path.open("rb"))
    data = path.read_bytes()
    encoding = detect_encoding(path.name, io.BytesIO(data))
    return _read_geojson(path, data.decode(encoding), encoding)


def read_csv_bytes(name: str, data: bytes) -> Extracted:
    """Read CSV content named ``name`` (e.g. a member of a zip file), as :func:`read_rows`."""
    with _stream_csv(name, io.BytesIO(data)) as stream:
        return _collected(stream)


def _collected(stream: RowStream) -> Extracted:
    extracted = Extracted([], stream.columns, stream.encoding, stream.delimiter)
    for item in stream.items:
        if isinstance(item, SourceRow):
            extracted.rows.append(item)
        else:
            extracted.problems.append(item)
    logger.info(
        "Read %d rows and %d problems (%s, delimiter %r)",
        len(extracted.rows), len(extracted.problems), extracted.encoding, extracted.delimiter,
    )  # fmt: skip
    return extracted


def check_columns(name: str, columns: list[str], required: Iterable[str]) -> None:
    """Raise :class:`ExtractError` naming every ``required`` column missing from ``columns``."""
    missing = [column for column in required if column not in columns]
    if missing:
        raise ExtractError(
            Reason(
                N_("%(file)s: missing required column(s) %(missing)s (the header has: %(found)s)"),
                file=name,
                missing=", ".join(missing),
                found=", ".join(columns) or "-",
            )
        )


# --- CSV ----------------------------------------------------------------------------------------


def _stream_csv(name: str, handle: BinaryIO) -> RowStream:
    """The header of the CSV bytes in ``handle`` and its records as they are read; closing
    the stream closes the handle."""
    try:
        form = csv_format(name, handle)
        text = io.TextIOWrapper(handle, encoding=form.encoding, newline="")
        records = _records(text, form.delimiter)
        columns = _header(name, records)
    except BaseException:
        handle.close()
        raise
    return RowStream(columns, form.encoding, form.delimiter, _items(name, columns, records), text)


def _items(
    name: str, columns: list[str], records: Iterator[tuple[int, list[str] | str]]
) -> Iterator[SourceRow | RowProblem]:
    try:
        for line, fields in records:
            item = _item(columns, line, fields)
            if item is not None:
                yield item
    except UnicodeDecodeError as error:
        raise ExtractError(
            Reason(
                N_("%(file)s is not valid %(encoding)s text (byte %(offset)s)"),
                file=name,
                encoding=error.encoding,
                offset=error.start,
            )
        ) from None


def _header(name: str, records: Iterator[tuple[int, list[str] | str]]) -> list[str]:
    """The first non-empty record, stripped; names must be unique."""
    for line, fields in records:
        if isinstance(fields, str):
            raise ExtractError(f"{name}, line {line}: {fields}")
        if any(column.strip() for column in fields):
            columns = [column.strip() for column in fields]
            duplicates = sorted({column for column in columns if columns.count(column) > 1})
            if duplicates:
                raise ExtractError(f"{name}: duplicate column names {duplicates}")
            return columns
    raise ExtractError(f"{name}: the file is empty; a header row is required")


class _Lines:
    """Lines of text that remember those taken since :meth:`record_read`."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.taken.append(line)
        return line

    def record_read(self) -> list[str]:
        """The lines of the record just read; the next record starts afresh."""
        taken, self.taken = self.taken, []
        return taken


def _records(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str] | str]]:
    """Each record's first physical line and its fields, or the reason it cannot be read.

    A quote never closed swallows the lines after it: a record that ends inside quotes (at the
    end of the file), or runs over several lines to a field count other than the header's, is
    reported on the line it starts on, and reading goes on from the next line. So it does after
    a record the parser refuses.
    """
    source = _Lines(iter(lines))
    line, width = 1, None
    while True:
        reader = csv.reader(source, delimiter=delimiter)
        try:
            for fields in reader:
                taken = source.record_read()
                problem = _unclosed_quote(line, taken, fields, width, delimiter)
                if problem is not None:
                    yield line, problem
                    source.lines = itertools.chain(taken[1:], source.lines)
                    line += 1
                    break
                yield line, fields
                line += len(taken)
                if width is None and any(field.strip() for field in fields):
                    width = len(fields)
            else:
                return
        except csv.Error as error:
            yield line, _parse_problem(error)
            line += len(source.record_read())


def _unclosed_quote(
    line: int, taken: list[str], fields: list[str], width: int | None, delimiter: str
) -> Reason | None:
    """Why a record read over ``taken`` lines looks like a quote never closed, or None."""
    if _ends_inside_quotes(taken, delimiter):
        return Reason(
            N_("unterminated quoted field: the quote opened on line %(line)s is never closed"),
            line=line,
        )
    if len(taken) > 1 and width is not None and len(fields) != width:
        return Reason(
            N_("unterminated quoted field: the quote opened on line %(line)s runs over "
               "%(lines)s lines, to a row of %(fields)s fields where the header has %(columns)s"),
            line=line, lines=len(taken), fields=len(fields), columns=width,
        )  # fmt: skip
    return None


def _parse_problem(error: csv.Error) -> Reason:
    if "field larger than field limit" in str(error):
        return Reason(N_("a value is longer than %(limit)s characters"), limit=_PARSER_FIELD_LIMIT)
    return Reason(N_("not readable as CSV: %(error)s"), error=str(error))


def _ends_inside_quotes(lines: list[str], delimiter: str) -> bool:
    """Whether a record read by the lenient parser ended inside a quoted field (which happens
    only at the end of the file)."""
    text = "".join(lines)
    if text.count('"') % 2 == 0:
        return False
    inside, field_start = False, True
    index = 0
    while index < len(text):
        character = text[index]
        if inside and character == '"':
            if text.startswith('"', index + 1):
                index += 1
            else:
                inside = False
        elif not inside and character == '"' and field_start:
            inside = True
        field_start = not inside and character in (delimiter, "\n", "\r")
        index += 1
    return inside


def _item(columns: list[str], line: int, fields: list[str] | str) -> SourceRow | RowProblem | None:
    """One CSV record as a row or a problem; None for a blank record.

    Missing trailing fields become ''. Extra fields are a problem unless they are all blank
    (spreadsheets often write trailing delimiters); so are a value with a NUL character (no
    database can store it) and one longer than :data:`MAX_FIELD_CHARS`.
    """
    if isinstance(fields, str):
        return RowProblem(line, fields, {})
    fields = [value.strip() for value in fields]
    if not any(fields):
        return None
    values = {column: fields[i] if i < len(fields) else "" for i, column in enumerate(columns)}
    extra = fields[len(columns) :]
    if any(extra):
        extra_values = {f"column {len(columns) + i}": v for i, v in enumerate(extra, start=1)}
        reason = Reason(
            N_("has %(fields)s fields but the header has %(columns)s"),
            fields=len(fields),
            columns=len(columns),
        )
        return RowProblem(line, reason, values | extra_values)
    problem = value_problem(values)
    return SourceRow(line, values) if problem is None else RowProblem(line, problem, values)


def value_problem(values: dict[str, str]) -> Reason | None:
    """Why a row's values cannot be loaded as text (a NUL character, a value too long), or
    None; the value in ``values`` loses its NULs or is cut short, for the report."""
    for column, value in values.items():
        if "\0" in value:
            values[column] = value.replace("\0", "")
            return Reason(N_("%(column)s contains a NUL character"), column=repr(column))
        if len(value) > MAX_FIELD_CHARS:
            values[column] = value[:80] + "…"
            return Reason(
                N_("%(column)s is %(length)s characters long; a value may have at most %(limit)s"),
                column=repr(column),
                length=len(value),
                limit=MAX_FIELD_CHARS,
            )
    return None


# --- GeoJSON ------------------------------------------------------------------------------------


def _read_geojson(path: Path, text: str, encoding: str) -> RowStream:
    """Each Feature becomes a row; ``line`` is its 1-based index in the collection."""
    features = _features(path, text)
    stream = RowStream([], encoding, None, iter(()))
    items: list[SourceRow | RowProblem] = []
    for index, feature in enumerate(features, start=1):
        values = {key: _stringify(value) for key, value in _properties(feature).items()}
        try:
            values |= _point_values(_geometry(feature))
        except ValueError as exc:
            items.append(RowProblem(index, reason_of(exc), values))
            continue
        reason = value_problem(values)
        items.append(
            SourceRow(index, values) if reason is None else RowProblem(index, reason, values)
        )
        stream.columns.extend(key for key in values if key not in stream.columns)
    stream.items = iter(items)
    return stream


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
