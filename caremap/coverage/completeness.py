"""How complete the directory is, per province and territory: what it holds (places by
service type and by source, beds, beds per 100,000 people) beside a reference count where one
exists (``data/reference/``: Statistics Canada's residential facilities for victims of abuse).

A place is a public service with a location, counted once (a merged record is one service), in
the province of its first location; lines that serve an area without a place are not counted.
Confidential places count, as in every aggregate: a province's total reveals no location.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from caremap.coverage.supply import bed_count
from caremap.jurisdictions import load_boundaries
from caremap.listing import published_services
from caremap.store import Store

REFERENCE_FILE = "reference/shelters_for_victims_of_abuse_2007_08.csv"
REFERENCE_TOTAL = 569  # the survey's national total in 2007/08
TABLE_START = "<!-- caremap coverage table -->"
TABLE_END = "<!-- /caremap coverage table -->"


@dataclass(frozen=True)
class Reference:
    """A reference count, and the jurisdictions it was published for together."""

    facilities: int
    jurisdictions: tuple[str, ...]


@dataclass
class ProvinceCompleteness:
    code: str  # PRUID
    name_en: str
    name_fr: str
    population: int
    places: int = 0
    beds: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    reference: Reference | None = None

    @property
    def beds_per_100k(self) -> float | None:
        return self.beds / self.population * 100_000 if self.population else None


def read_reference(data_dir: Path) -> dict[str, Reference]:
    """The reference count of each province (PRUID); shared by jurisdictions published
    together."""
    with (data_dir / REFERENCE_FILE).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    references = {}
    for row in rows:
        jurisdictions = tuple(row["provinces"].split(";"))
        for code in jurisdictions:
            references[code] = Reference(int(row["facilities"]), jurisdictions)
    return references


def completeness(store: Store, data_dir: Path) -> list[ProvinceCompleteness]:
    """One row per province and territory, in PRUID order."""
    layer = load_boundaries(data_dir).layers["province"]
    config = layer.config
    references = read_reference(data_dir)
    rows = {
        str(row[config.code]): ProvinceCompleteness(
            code=str(row[config.code]),
            name_en=str(row[config.name_en]),
            name_fr=str(row[config.name_fr]),
            population=int(row[config.population] or 0),
            reference=references.get(str(row[config.code])),
        )
        for row in layer.frame.to_dict("records")
    }
    with store.session() as session:
        placed = published_services(session.connection())
    codes = (
        layer.assign(
            np.array([s.locations[0].latitude for s in placed], float),
            np.array([s.locations[0].longitude for s in placed], float),
        )
        if placed
        else np.array([], dtype=object)
    )
    for service, code in zip(placed, codes, strict=True):
        row = rows.get(str(code))
        if row is None:
            continue
        row.places += 1
        row.beds += bed_count(service)
        row.by_type.update(service.terms.get("service_type", ()))
        row.by_source[service.source_name] += 1
    return sorted(rows.values(), key=lambda r: r.code)


def markdown_table(rows: list[ProvinceCompleteness], labels: dict[str, str]) -> str:
    """The rows as a Markdown table (English; ``labels``: service type code → label)."""
    header = (
        "| Province or territory | Places | Beds | Beds per 100,000 | By service type | "
        "By source | Reference: shelters for victims of abuse, 2007/08 |"
    )
    lines = [header, "|---|--:|--:|--:|---|---|--:|"]
    for row in rows:
        per_100k = "—" if row.beds_per_100k is None else f"{row.beds_per_100k:,.1f}"
        lines.append(
            f"| {row.name_en} | {row.places:,} | {row.beds:,} | {per_100k} | "
            f"{_counts(row.by_type, labels)} | {_counts(row.by_source, {})} | "
            f"{_reference(row, rows)} |"
        )
    total_places = sum(r.places for r in rows)
    total_beds = sum(r.beds for r in rows)
    population = sum(r.population for r in rows)
    lines.append(
        f"| **Canada** | {total_places:,} | {total_beds:,} | "
        f"{total_beds / population * 100_000:,.1f} | | | {REFERENCE_TOTAL} |"
    )
    return "\n".join(lines) + "\n"


def _counts(counts: Counter[str], labels: dict[str, str]) -> str:
    return ", ".join(f"{labels.get(key, key)} {n:,}" for key, n in counts.most_common()) or "—"


def _reference(row: ProvinceCompleteness, rows: list[ProvinceCompleteness]) -> str:
    if row.reference is None:
        return "—"
    if len(row.reference.jurisdictions) == 1:
        return f"{row.reference.facilities:,}"
    names = {r.code: r.name_en for r in rows}
    together = " and ".join(names.get(code, code) for code in row.reference.jurisdictions)
    return f"{row.reference.facilities:,} ({together} together)"


def replace_between_markers(text: str, table: str) -> str:
    """``text`` with the part between the table markers replaced by ``table``."""
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"no {TABLE_START} ... {TABLE_END} markers")
    return text[: start + len(TABLE_START)] + "\n" + table + text[end:]
