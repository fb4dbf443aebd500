"""CSV in and out for coverage: points, cost matrices and scores.

Reading checks every row and reports every bad one with its file, line and reason (a
:class:`CoverageInputError`), rather than stopping at the first. Files have a header row; their
encoding (UTF-8, UTF-16, cp1252, Latin-1 …) and delimiter (``,`` ``;`` tab ``|``) are found as
for every CSV file (:func:`caremap.tabular.csv_format`); column names are matched without
regard to case or surrounding spaces, and other columns are ignored.

- points: ``id, latitude, longitude`` and a weight column (``population`` for demand,
  ``capacity`` for sites): ids non-empty and unique, latitude in [-90, 90], longitude in
  [-180, 180] (WGS84 decimal degrees), weights finite and not negative.
- costs: ``origin, dest, cost``: origin a demand id, dest a site id, cost finite and not
  negative, each (origin, dest) pair at most once. Read with pandas' C parser, since routing
  matrices run to tens of millions of rows; its line numbers assume no line breaks inside
  quoted fields.

Writing goes to a temporary file next to the output, renamed over it only when complete, so a
failed run leaves no half-written file (and an earlier output untouched).
"""

from __future__ import annotations

import csv
import math
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from caremap.coverage.accessibility import Points, SparseCosts
from caremap.spreadsheet import SafeWriter
from caremap.tabular import CsvFormat, UnreadableFile, csv_format

if TYPE_CHECKING:
    import pandas as pd

SHOWN_PROBLEMS = 20  # problems listed in an error message; the rest are counted
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


@dataclass(frozen=True)
class Problem:
    """One bad row (``line`` 0: the file as a whole)."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.path} line {self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


class CoverageInputError(ValueError):
    """Bad input; ``problems`` lists every bad row found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = [str(problem) for problem in self.problems[:SHOWN_PROBLEMS]]
        files = list(dict.fromkeys(p.path for p in self.problems))
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in {', '.join(files)}"
        more = len(self.problems) - len(shown)
        tail = [f"... and {more} more"] if more > 0 else []
        return "\n".join([f"{head}:", *(f"  {line}" for line in shown), *tail])


def _label(path: Path) -> str:
    return str(path)


def _csv_format(path: Path) -> CsvFormat:
    """The file's encoding and delimiter; raises if it is not text."""
    label = _label(path)
    with path.open("rb") as handle:
        try:
            return csv_format(label, handle)
        except UnreadableFile as error:
            raise CoverageInputError([Problem(label, 0, str(error))]) from None


def _read_header(
    path: Path, required: Iterable[str]
) -> tuple[list[str], dict[str, int], CsvFormat]:
    """(the header as written, {required column: position}, how the file is read); raises on a
    missing column."""
    label = _label(path)
    form = _csv_format(path)
    with path.open(encoding=form.encoding, newline="") as handle:
        header = next(csv.reader(handle, delimiter=form.delimiter), None)
    if not header or not any(cell.strip() for cell in header):
        raise CoverageInputError([Problem(label, 0, "empty file: no header row")])
    names = [cell.strip().lower() for cell in header]
    positions: dict[str, int] = {}
    problems = []
    for name in required:
        if names.count(name) > 1:
            problems.append(Problem(label, 1, f"column {name!r} appears more than once"))
        elif name in names:
            positions[name] = names.index(name)
        else:
            problems.append(
                Problem(
                    label,
                    1,
                    f"missing column {name!r} (the header has: "
                    f"{', '.join(cell.strip() for cell in header)})",
                )
            )
    if problems:
        raise CoverageInputError(problems)
    return header, positions, form


def _number(text: str, column: str) -> tuple[float | None, str | None]:
    text = text.strip()
    if not text:
        return None, f"empty {column}"
    try:
        value = float(text)
    except ValueError:
        return None, f"{column} {text!r} is not a number"
    if not math.isfinite(value):
        return None, f"{column} {text!r} is not a finite number"
    return value, None


def _point_values(
    row: list[str], positions: Mapping[str, int], weight_column: str
) -> tuple[dict[str, float | None], list[str]]:
    """A row's latitude, longitude and weight (None when unreadable), and what is wrong."""
    parsed: dict[str, float | None] = {}
    reasons = []
    for name in ("latitude", "longitude", weight_column):
        value, reason = _number(row[positions[name]], name)
        if reason:
            reasons.append(reason)
        parsed[name] = value
    latitude, longitude = parsed["latitude"], parsed["longitude"]
    weight = parsed[weight_column]
    if latitude is not None and not -90 <= latitude <= 90:
        reasons.append(f"latitude {latitude:g} is outside -90 to 90")
    if longitude is not None and not -180 <= longitude <= 180:
        reasons.append(f"longitude {longitude:g} is outside -180 to 180")
    if weight is not None and weight < 0:
        reasons.append(f"{weight_column} {weight:g} is negative")
    return parsed, reasons


def read_points(path: Path, weight_column: str) -> Points:
    """Points from a CSV with ``id, latitude, longitude`` and ``weight_column``."""
    path = Path(path)
    label = _label(path)
    columns = ("id", "latitude", "longitude", weight_column)
    header, positions, form = _read_header(path, columns)
    width = len(header)
    ids: list[str] = []
    values: dict[str, list[float | None]] = {name: [] for name in columns[1:]}
    first_line: dict[str, int] = {}
    problems: list[Problem] = []
    try:
        with path.open(encoding=form.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=form.delimiter)
            next(reader)
            end = reader.line_num
            for row in reader:
                line, end = end + 1, reader.line_num  # a record's first line
                if not any(cell.strip() for cell in row):
                    continue  # blank line
                reasons = []
                if len(row) > width:
                    reasons.append(
                        f"{len(row)} fields but the header has {width} "
                        f"(an unquoted {_DELIMITER_NAMES[form.delimiter]} in a value?)"
                    )
                cells = row + [""] * (width - len(row))
                identifier = cells[positions["id"]].strip()
                if not identifier:
                    reasons.append("empty id")
                elif identifier in first_line:
                    reasons.append(
                        f"duplicate id {identifier!r} (first on line {first_line[identifier]})"
                    )
                parsed, value_reasons = _point_values(cells, positions, weight_column)
                reasons += value_reasons
                if reasons:
                    problems.append(Problem(label, line, "; ".join(reasons)))
                    if identifier and identifier not in first_line:
                        first_line[identifier] = line
                    continue
                first_line[identifier] = line
                ids.append(identifier)
                for name in columns[1:]:
                    values[name].append(parsed[name])
    except csv.Error as error:
        problems.append(Problem(label, 0, f"not readable as CSV: {error}"))
    if not problems and not ids:
        problems.append(Problem(label, 0, "no data rows"))
    if problems:
        raise CoverageInputError(problems)
    latitudes, longitudes, weights = (
        np.array(values[name], dtype=np.float64) for name in columns[1:]
    )
    return Points(np.array(ids, dtype=object), latitudes, longitudes, weights)


def read_costs(path: Path, demand: Points, supply: Points, *, demand_label: str = "the demand",
               supply_label: str = "the supply") -> SparseCosts:  # fmt: skip
    """A cost matrix ``origin, dest, cost`` from demand ids to site ids.

    A clean file takes one pass of pandas' C parser with numeric costs (about 1.5 million rows
    a second); only when something is wrong is it read again as text, to say what and where.
    """
    import pandas as pd  # only this reader needs it

    path = Path(path)
    label = _label(path)
    header, positions, form = _read_header(path, ("origin", "dest", "cost"))
    names = {header[p]: name for name, p in positions.items()}
    options: dict[str, Any] = {
        "usecols": list(names), "keep_default_na": False, "skip_blank_lines": False,
        "encoding": form.encoding, "sep": form.delimiter, "engine": "c",
    }  # fmt: skip
    cost_column = header[positions["cost"]]
    try:
        table = pd.read_csv(
            path, dtype={column: (float if name == "cost" else str)
                         for column, name in names.items()},
            na_values={cost_column: [""]}, **options,
        ).rename(columns=names)  # fmt: skip
    except ValueError:  # a cost that is not a number (or a malformed file): report below
        table = None
    if table is not None:
        costs = _clean_costs(table, demand, supply)
        if costs is not None:
            return costs
    try:
        table = pd.read_csv(path, dtype=str, **options).rename(columns=names)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise CoverageInputError([Problem(label, 0, f"not readable as CSV: {error}")]) from None
    problems, costs = _checked_costs(table, demand, supply, label, demand_label, supply_label)
    if problems or costs is None:
        raise CoverageInputError(problems)
    return costs


def _clean_costs(table: pd.DataFrame, demand: Points, supply: Points) -> SparseCosts | None:
    """The matrix, if every row is good (blank lines aside); ``None`` if any row is not."""
    import pandas as pd

    cost = table["cost"].to_numpy(dtype=np.float64)
    codes = {}
    for column, points in (("origin", demand), ("dest", supply)):
        code, values = pd.factorize(table[column])  # code -1: missing (the last entry below)
        stripped = [str(value).strip() for value in values]
        lookup = np.append(pd.Index(points.ids).get_indexer(stripped), -1)
        is_blank = np.array([not value for value in stripped] + [True])
        codes[column] = (lookup[code], is_blank[code])
    (i, origin_blank), (j, dest_blank) = codes["origin"], codes["dest"]
    keep = ~(origin_blank & dest_blank & np.isnan(cost))  # blank lines
    i, j, cost = i[keep], j[keep], cost[keep]
    if (i < 0).any() or (j < 0).any():
        return None
    try:
        return SparseCosts(i, j, cost)  # checks costs (finite, >= 0) and duplicate pairs
    except ValueError:
        return None


def _checked_costs(
    table: pd.DataFrame,
    demand: Points,
    supply: Points,
    label: str,
    demand_label: str,
    supply_label: str,
) -> tuple[list[Problem], SparseCosts | None]:
    """Every bad row of a cost table read as text; else no problems and the matrix."""
    import pandas as pd

    origin = table["origin"].str.strip()
    dest = table["dest"].str.strip()
    text = table["cost"].str.strip()
    lines = np.arange(len(table)) + 2  # the header is line 1
    blank = ((origin == "") & (dest == "") & (text == "")).to_numpy()
    cost = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    i = pd.Index(demand.ids).get_indexer(origin)
    j = pd.Index(supply.ids).get_indexer(dest)
    bad_cost = ~np.isfinite(cost) | (cost < 0)
    bad = ~blank & (bad_cost | (i < 0) | (j < 0))
    good = ~blank & ~bad
    key = i.astype(np.int64) * max(len(supply), 1) + j
    duplicate = np.zeros(len(table), dtype=bool)
    duplicate[good] = pd.Series(key[good]).duplicated().to_numpy()
    first_of = {}
    if duplicate.any():
        keys = pd.Series(key[good], index=lines[good])
        firsts = keys[~keys.duplicated()]
        first_of = dict(zip(firsts.to_numpy().tolist(), firsts.index.tolist(), strict=True))
    problems = []
    for row in np.flatnonzero(bad | duplicate).tolist():
        reasons = []
        if i[row] < 0:
            reasons.append(
                "empty origin" if not origin.iat[row]
                else f"origin {origin.iat[row]!r} is not an id in {demand_label}"
            )  # fmt: skip
        if j[row] < 0:
            reasons.append(
                "empty dest" if not dest.iat[row]
                else f"dest {dest.iat[row]!r} is not an id in {supply_label}"
            )  # fmt: skip
        if bad_cost[row]:
            value = str(text.iat[row])
            reasons.append(
                "empty cost" if not value
                else f"cost {value!r} is not a number" if np.isnan(cost[row])
                else f"cost {value!r} is not a finite number" if not np.isfinite(cost[row])
                else f"cost {value} is negative"
            )  # fmt: skip
        if duplicate[row]:
            reasons.append(
                f"duplicate pair ({origin.iat[row]}, {dest.iat[row]}) "
                f"(first on line {first_of[int(key[row])]})"
            )
        problems.append(Problem(label, int(lines[row]), "; ".join(reasons)))
    if problems:
        return problems, None
    return problems, SparseCosts(i[good], j[good], cost[good])


def _format(value: float) -> str:
    return repr(value) if math.isfinite(value) else ""


def write_scores(path: Path, ids: np.ndarray, columns: Mapping[str, np.ndarray]) -> None:
    """Write ``id`` and ``columns`` (full float precision; NaN as empty) atomically to ``path``.

    An ``OSError`` (no such folder, no permission) is raised before anything is replaced.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            writer = SafeWriter(handle, lineterminator="\n")
            writer.writerow(["id", *columns])
            texts = [
                map(_format, np.asarray(v, dtype=np.float64).tolist()) for v in columns.values()
            ]
            writer.writerows(zip(ids.tolist(), *texts, strict=True))
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
