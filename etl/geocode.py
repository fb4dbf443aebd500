"""Batch geocoding of a CSV file: the engine of ``caremap geocode IN.csv --out OUT.csv``.

CLI contract (the click command only parses arguments, calls :func:`geocode_csv` and prints
:meth:`GeocodeCsvStats.summary`; a ``ValueError`` becomes a usage error):

- IN is read with :func:`etl.extract.read_rows`: UTF-8, UTF-8 with BOM, cp1252/Latin-1; comma,
  semicolon or tab delimited. It needs the columns ``street_address``, ``city``, ``province``
  and ``postal_code``.
- OUT is UTF-8 (no BOM), comma-delimited, one row per readable input row in input order. Every
  input column is passed through unchanged and in the same order, followed by ``latitude``,
  ``longitude`` and ``precision`` (a column the input already has keeps its position;
  ``precision`` is always recomputed).
- A row whose input ``latitude`` and ``longitude`` are both valid numbers (a decimal comma is
  accepted) keeps them as they are, with precision ``source_coordinates``. Otherwise the row is
  geocoded (postal code → FSA → place) and its latitude/longitude are overwritten ('' when
  unmatched; a half-filled or invalid pair is logged as replaced).
- Rows that cannot be read (more fields than the header) are left out of OUT, logged, and
  listed in :attr:`GeocodeCsvStats.problems`.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from caremap.geocoder import Geocoder, GeocodeResult, Precision
from caremap.spreadsheet import SafeWriter
from etl.extract import RowProblem, SourceRow, read_rows

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("street_address", "city", "province", "postal_code")
OUTPUT_COLUMNS = ("latitude", "longitude", "precision")


class GeocodeCsvError(ValueError):
    """The input file cannot be geocoded as a whole (for example, a required column is missing)."""


@dataclass
class GeocodeCsvStats:
    """What :func:`geocode_csv` did: rows written per precision, and rows it could not read."""

    by_precision: Counter[Precision] = field(default_factory=Counter)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def rows_written(self) -> int:
        """The number of data rows in the output file."""
        return sum(self.by_precision.values())

    def summary(self) -> str:
        """One line for a terminal, e.g. "116 rows: 110 source_coordinates, 6 postal_code"."""
        counts = ", ".join(f"{n} {p}" for p in Precision if (n := self.by_precision[p]))
        unread = f"; {len(self.problems)} unreadable rows skipped" if self.problems else ""
        return f"{self.rows_written} rows: {counts or 'none'}{unread}"


def geocode_csv(in_path: Path, out_path: Path, geocoder: Geocoder) -> GeocodeCsvStats:
    """Geocode every row of ``in_path`` into ``out_path``; see the module docstring."""
    extracted = read_rows(in_path)
    missing = [name for name in REQUIRED_COLUMNS if name not in extracted.columns]
    if missing:
        raise GeocodeCsvError(
            f"{in_path.name} is missing required column(s) {', '.join(missing)} "
            f"(found: {', '.join(extracted.columns) or 'none'})"
        )
    columns = [*extracted.columns, *(c for c in OUTPUT_COLUMNS if c not in extracted.columns)]
    stats = GeocodeCsvStats(problems=extracted.problems)
    for problem in extracted.problems:
        logger.warning("%s, line %d skipped: %s", in_path.name, problem.line, problem.reason)
    with out_path.open("w", encoding="utf-8", newline="") as out:
        writer = SafeWriter(out)
        writer.writerow(columns)
        for row in extracted.rows:
            values = _geocoded(row, geocoder, in_path.name)
            stats.by_precision[Precision(values["precision"])] += 1
            writer.writerow(values.get(column, "") for column in columns)
    logger.info("Geocoded %s into %s: %s", in_path.name, out_path, stats.summary())
    return stats


def _geocoded(row: SourceRow, geocoder: Geocoder, source: str) -> dict[str, str]:
    """The row's values plus latitude, longitude and precision."""
    values = row.values
    if _has_coordinates(values):
        return values | {"precision": Precision.SOURCE_COORDINATES.value}
    if values.get("latitude") or values.get("longitude"):
        logger.warning(
            "%s, line %d: coordinates (%r, %r) are not valid and were replaced by the geocoder",
            source, row.line, values.get("latitude"), values.get("longitude"),
        )  # fmt: skip
    result = geocoder.geocode(
        street_address=values["street_address"],
        city=values["city"],
        province=values["province"],
        postal_code=values["postal_code"],
    )
    return values | _coordinate_columns(result)


def _coordinate_columns(result: GeocodeResult) -> dict[str, str]:
    def text(degrees: float | None) -> str:
        return "" if degrees is None else str(degrees)

    return {
        "latitude": text(result.latitude),
        "longitude": text(result.longitude),
        "precision": result.precision.value,
    }


def _has_coordinates(values: dict[str, str]) -> bool:
    """True when the row's latitude and longitude are numbers within range (decimal comma ok)."""
    try:
        latitude = float(values.get("latitude", "").replace(",", "."))
        longitude = float(values.get("longitude", "").replace(",", "."))
    except ValueError:
        return False
    finite = math.isfinite(latitude) and math.isfinite(longitude)
    return finite and -90 <= latitude <= 90 and -180 <= longitude <= 180
