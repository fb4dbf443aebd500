"""The ETL pipeline: extract → normalise/geocode (transform) → validate → load → report."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from caremap.collector import fewer_collections
from caremap.coverage.claims import parse_claims
from caremap.gazetteer import load_gazetteer
from caremap.geocoder import Geocoder
from caremap.jurisdictions import Boundaries, load_boundaries
from caremap.matching import (
    MatchCounts,
    match_sources,
    matched_services,
    merges,
    still_listed,
)
from caremap.reasons import N_, Reason, reason_of
from caremap.republish import services_changed
from caremap.spreadsheet import SafeWriter
from caremap.store import Store
from caremap.timezones import TimezoneFinder, load_timezones
from caremap.vocabulary import Vocabulary, load_vocabulary
from etl.extract import RowProblem, SourceRow, check_columns, stream_rows
from etl.fingerprint import pipeline_fingerprint, raw_row_hash
from etl.hsds import PackageError, is_package, package_source_info, read_hsds_package
from etl.links import is_links_file, load_link_rows, load_links
from etl.load import LoadCounts, LoadedRow, SourceInfo, load_source, loaded_rows, plan_source
from etl.records import ListingRecord, RejectedRow
from etl.reference import sync_reference_data
from etl.transform import REQUIRED_COLUMNS, RowRejected, TransformContext, transform_row
from etl.validate import validate_records

log = logging.getLogger(__name__)

SOURCE_SUFFIXES = {".csv", ".tsv", ".txt", ".geojson", ".json"}
SIDECAR_SUFFIX = ".source.toml"
# A file's rows are transformed, validated and loaded by chunks of this many, so that only
# the rows of one chunk are held, besides the ids of the source's rows.
CHUNK_ROWS = 5_000
LOCK = "etl"  # the store lock held while sources are checked and loaded


@dataclass
class SourceReport:
    """What one source's run did; ``rejected`` and ``warnings`` carry line numbers."""

    source: str
    path: Path
    counts: LoadCounts | None = None
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)  # line, record id, text
    rejected_csv: Path | None = None
    # An HSDS package's links between its services (etl.links), loaded after its records.
    links: list[SourceRow] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return (
            0
            if self.counts is None
            else (self.counts.inserted + self.counts.updated + self.counts.unchanged)
        )


def discover_sources(paths: Iterable[Path]) -> list[Path]:
    """Source files and HSDS packages named, or found (sorted) in the folders named."""
    found: list[Path] = []
    for path in paths:
        if is_package(path) and path.exists():
            found.append(path)
        elif path.is_dir():
            packages = sorted(p.parent for p in path.rglob("datapackage.json"))
            found += packages + sorted(
                p
                for p in path.rglob("*")
                if (p.suffix.lower() in SOURCE_SUFFIXES or p.suffix.lower() == ".zip")
                and p.is_file()
                and not any(p.is_relative_to(package) for package in packages)
            )
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def source_info(path: Path) -> SourceInfo:
    """Identity and licence of a source file, from its ``NAME.source.toml`` sidecar if present
    (an HSDS package without one: from its descriptor)."""
    sidecar = path.with_name(path.stem + SIDECAR_SUFFIX)
    if is_package(path) and not sidecar.exists():
        return package_source_info(path)
    meta = tomllib.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else {}
    return SourceInfo(
        name=meta.get("name", path.stem),
        title=meta.get("title", path.name),
        licence=meta.get("licence", ""),
        attribution=meta.get("attribution", ""),
        url=meta.get("url", ""),
        coverage=parse_claims(meta.get("coverage", []), meta.get("name", path.stem)),
    )


def check_coverage(info: SourceInfo, reference: Reference) -> None:
    """Every ``coverage`` claim of a sidecar must name known jurisdictions ("level:code") and
    service type codes of the vocabulary."""
    for claim in info.coverage:
        for entry in claim.jurisdictions:
            level, _, code = entry.partition(":")
            layer = reference.boundaries.layers.get(level)
            if layer is None or code not in set(layer.codes):
                raise ValueError(
                    f"source {info.name!r}: coverage entry {entry!r} is not a known "
                    f"jurisdiction (levels: {', '.join(reference.boundaries.layers)})"
                )
        for service_type in claim.service_types:
            if not reference.vocabulary.is_code("service_type", service_type):
                raise ValueError(
                    f"source {info.name!r}: coverage service type {service_type!r} is not a "
                    "service_type code of data/vocabulary/terms.toml"
                )


def run(
    store: Store, paths: list[Path], data_dir: Path, report_dir: Path, progress: bool | None = None
) -> list[SourceReport]:
    """Load every source in ``paths`` into ``store`` (migrated first); write rejected-row CSVs.

    One run at a time: a run waits for another one on the same store to finish
    (:data:`LOCK`)."""
    reference = load_reference(data_dir)
    show_progress = sys.stderr.isatty() if progress is None else progress
    reports = []
    with fewer_collections(), store.exclusive(LOCK):
        store.upgrade()
        sync_reference_data(store, reference.vocabulary, reference.boundaries)
        found = discover_sources(paths)
        for path in [p for p in found if not is_links_file(p)]:
            info = source_info(path)
            check_coverage(info, reference)
            report = check_and_load(store, reference, path, info, progress=show_progress).report
            if is_package(path):
                _load_package_links(store, report)
            report.rejected_csv = write_rejected_csv(report, report_dir)
            log.info("%s: %s", info.name, summary_line(report))
            reports.append(report)
        for path in [p for p in found if is_links_file(p)]:
            report = links_report(store, path)
            report.rejected_csv = write_rejected_csv(report, report_dir)
            reports.append(report)
        match_and_publish(store, data_dir)
    return reports


def _load_package_links(store: Store, report: SourceReport) -> None:
    """The package's links, between the records it loaded; bad ones join its report."""
    ends = {"from_source": report.source, "to_source": report.source}
    rows = [SourceRow(row.line, {**ends, **row.values}) for row in report.links]
    now = dt.datetime.now(dt.UTC)
    loaded = load_link_rows(store, rows, report.source, now, file="service_links.csv")
    report.rejected += loaded.rejected


def links_report(store: Store, path: Path) -> SourceReport:
    """Load a links file (:mod:`etl.links`) after the listings; its rows reported as a
    source's."""
    name = source_info(path).name
    loaded = load_links(store, path, name, dt.datetime.now(dt.UTC))
    report = SourceReport(name, path, LoadCounts(loaded.loaded, 0, 0, 0), loaded.rejected)
    log.info("%s: %s", name, summary_line(report))
    return report


def match_and_publish(store: Store, data_dir: Path) -> MatchCounts:
    """Match the loaded records across sources (:mod:`caremap.matching`) and publish again
    every service in a pair before or after (a moderator's decision included); the stored
    coverage is forgotten only where a merge began or ended (``data_dir`` holds the
    boundaries)."""
    with store.engine.begin() as connection:
        before, merged_before = matched_services(connection), merges(connection)
        counts = match_sources(connection)
        paired = before | matched_services(connection)
        merged_after = merges(connection)
        moved = merged_before.items() ^ merged_after.items()
        moved |= {(m, merged_after[m]) for m in still_listed(connection, list(merged_after))}
        remerged = {service for pair in moved for service in pair}
        if paired - remerged:  # the same merges: only what this run loaded may have changed
            services_changed(connection, sorted(paired - remerged), coverage=False)
        if remerged:
            services_changed(connection, sorted(remerged), data_dir=data_dir)
    log.info("matching: %s", matching_line(counts))
    return counts


def matching_line(counts: MatchCounts) -> str:
    return (
        f"{counts.pairs} pairs of records of different sources matched, {counts.merged} merged, "
        f"{counts.review} waiting for review"
    )


@dataclass(frozen=True)
class Reference:
    """What every source is checked against, read once from ``data_dir``."""

    data_dir: Path
    vocabulary: Vocabulary
    boundaries: Boundaries
    geocoder: Geocoder
    timezones: TimezoneFinder


def load_reference(data_dir: Path) -> Reference:
    vocabulary = load_vocabulary(data_dir)
    boundaries = load_boundaries(data_dir)
    geocoder = Geocoder(load_gazetteer(data_dir))
    return Reference(data_dir, vocabulary, boundaries, geocoder, load_timezones(data_dir))


class LimitExceeded(ValueError):
    """A source is bigger or slower than allowed; nothing of it was written."""

    def __init__(self, kind: str, limit: float) -> None:
        super().__init__(f"the source exceeds the {kind} limit ({limit:g})")
        self.kind, self.limit = kind, limit


@dataclass(frozen=True)
class Limits:
    """Bounds on checking one source: at most ``max_rows`` rows (listings), finished within
    ``seconds`` of ``started`` (``time.monotonic()``); None: no bound."""

    max_rows: int | None = None
    seconds: float | None = None
    started: float = field(default_factory=time.monotonic)

    def check_rows(self, rows: int) -> None:
        if self.max_rows is not None and rows > self.max_rows:
            raise LimitExceeded("rows", self.max_rows)

    def check_time(self) -> None:
        if self.seconds is not None and time.monotonic() - self.started >= self.seconds:
            raise LimitExceeded("seconds", self.seconds)


@dataclass
class Checked:
    """A source checked, and loaded or not: its report, whose ``counts`` say what the load
    did, or would do (a dry run)."""

    info: SourceInfo
    report: SourceReport


def check_source(
    store: Store,
    reference: Reference,
    path: Path,
    info: SourceInfo,
    limits: Limits = Limits(),
    progress: bool = False,
    organization: str = "",
) -> Checked:
    """Everything but the load: extract, transform and validate ``path`` as source ``info``,
    every row of it belonging to ``organization`` if given. Writes nothing."""
    plan = functools.partial(plan_source, store, info)
    return check(store, reference, path, info, plan, limits, progress, organization)


def check_and_load(
    store: Store,
    reference: Reference,
    path: Path,
    info: SourceInfo,
    limits: Limits = Limits(),
    progress: bool = False,
    organization: str = "",
) -> Checked:
    """:func:`check_source`, loading each chunk of good records as it is checked, all in one
    transaction: a source that fails, or exceeds its ``limits``, leaves nothing written."""
    load = functools.partial(load_source, store, info, data_dir=reference.data_dir)
    return check(store, reference, path, info, load, limits, progress, organization)


def check(
    store: Store,
    reference: Reference,
    path: Path,
    info: SourceInfo,
    consume: Callable[[Iterable[ListingRecord], set[str]], LoadCounts],
    limits: Limits = Limits(),
    progress: bool = False,
    organization: str = "",
) -> Checked:
    """Check ``path``, handing its good records, read lazily by chunks, and the ids of its
    rows kept as unchanged (complete once the records are consumed) to ``consume``."""
    context = TransformContext(
        reference.geocoder,
        reference.vocabulary,
        reference.vocabulary.mapping(info.name),
        reference.data_dir,
        organization,
    )
    report = SourceReport(info.name, path)
    loaded = loaded_rows(store, info.name)
    if is_package(path):
        chunks: Iterable[Prepared] = [_prepare_package(path, context, report, loaded, limits)]
    else:
        chunks = _prepare(path, context, report, loaded, progress, limits)
    kept: set[str] = set()

    def good_records() -> Iterator[ListingRecord]:
        for prepared in chunks:
            yield from _validated(prepared, reference, report)
            kept.update(prepared.kept)
            limits.check_time()

    report.counts = consume(good_records(), kept)
    report.warnings.sort()
    report.rejected.sort(key=lambda row: (row.file, row.line))
    return Checked(info, report)


def _validated(
    prepared: Prepared, reference: Reference, report: SourceReport
) -> list[ListingRecord]:
    """The records that pass validation; the others go to the report, with their row."""
    verdicts = validate_records(
        prepared.records, reference.boundaries, reference.geocoder, reference.timezones
    )
    good = []
    for verdict in verdicts:
        record = verdict.record
        if verdict.reason is None:
            good.append(record)
            report.warnings += [(record.line, record.source_record_id, w) for w in record.warnings]
        else:
            values = prepared.values_by_line[(record.file, record.line)]
            report.rejected.append(
                _rejected(record.line, verdict.reason, values, record.file, verdict.field)
            )
    return good


def _rejected(
    line: int, reason: str, values: dict[str, str], file: str = "", field: str = "", value: str = ""
) -> RejectedRow:
    """A rejected row; the value of the blamed field(s) comes from the row when not given."""
    if field and not value:
        value = ", ".join(values.get(name, "") for name in field.split(", "))
    return RejectedRow(line, reason, values, file, field, value)


@dataclass
class Prepared:
    """A source's rows after transform: new or changed ``records``, the ids of rows ``kept``
    because their text is unchanged, and every row's values by (file, line) for the report
    (file is '' for a single-file source)."""

    records: list[ListingRecord] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)
    values_by_line: dict[tuple[str, int], dict[str, str]] = field(default_factory=dict)


def _prepare(
    path: Path,
    context: TransformContext,
    report: SourceReport,
    loaded: dict[str, LoadedRow],
    show_progress: bool,
    limits: Limits,
) -> Iterator[Prepared]:
    """Transform every row whose text changed since the last load, read and yielded by chunks
    of :data:`CHUNK_ROWS` rows; rejected rows and duplicate ids go to the report, a kept row's
    stored warnings too."""
    fingerprint = pipeline_fingerprint(context.data_dir)
    prepared = Prepared()
    first_line: dict[str, int] = {}
    mapping = context.mapping
    with stream_rows(path) as stream:
        check_columns(path.name, stream.columns, mapping.source_columns() or REQUIRED_COLUMNS)
        for count, item in enumerate(
            tqdm(stream.items, desc=report.source, unit="row", disable=not show_progress), 1
        ):
            limits.check_rows(count)
            limits.check_time()
            if count % CHUNK_ROWS == 0:
                yield prepared
                prepared = Prepared()
            if isinstance(item, RowProblem):
                report.rejected.append(RejectedRow(item.line, item.reason, item.values))
                continue
            row = SourceRow(item.line, mapping.listing_values(item.values))
            record_id = row.values.get("source_id", "").strip()
            if record_id in first_line:
                reason = Reason(
                    N_("duplicate source_id %(id)s (first on line %(line)s)"),
                    id=repr(record_id),
                    line=first_line[record_id],
                )
                report.rejected.append(
                    _rejected(row.line, reason, item.values, "", "source_id", record_id)
                )
                continue
            raw_hash = raw_row_hash(fingerprint, item.values)
            stored = loaded.get(record_id)
            if stored is not None and stored.raw_hash == raw_hash:
                first_line[record_id] = row.line
                prepared.kept.add(record_id)
                report.warnings += [(row.line, record_id, w) for w in stored.warnings]
                continue
            try:
                record = transform_row(row, context)
            except RowRejected as error:
                value = error.value or row.values.get(error.field, "")
                report.rejected.append(
                    _rejected(row.line, reason_of(error), item.values, "", error.field, value)
                )
                continue
            first_line[record_id] = row.line
            record.raw_hash = raw_hash
            prepared.records.append(record)
            prepared.values_by_line[("", row.line)] = item.values
    yield prepared


def _prepare_package(
    path: Path,
    context: TransformContext,
    report: SourceReport,
    loaded: dict[str, LoadedRow],
    limits: Limits,
) -> Prepared:
    """An HSDS package's records; those whose rows are unchanged since the last load are
    kept as they are."""
    try:
        read = read_hsds_package(path, context)
    except PackageError as error:
        raise ValueError(reason_of(error)) from error
    limits.check_rows(read.listings)
    limits.check_time()
    report.rejected += read.rejected
    report.links = read.links
    prepared = Prepared(values_by_line=read.values)
    for record in read.records:
        stored = loaded.get(record.source_record_id)
        if stored is not None and stored.raw_hash == record.raw_hash:
            prepared.kept.add(record.source_record_id)
            report.warnings += [(record.line, record.source_record_id, w) for w in stored.warnings]
        else:
            prepared.records.append(record)
    return prepared


def write_rejected_csv(report: SourceReport, report_dir: Path) -> Path | None:
    """``REPORT_DIR/SOURCE-rejected.csv``: (file,) line, reason, field, value, then the row's
    original columns; the file column is there for a multi-file source (an HSDS package)."""
    target = report_dir / f"{report.source}-rejected.csv"
    if not report.rejected:
        target.unlink(missing_ok=True)
        return None
    report_dir.mkdir(parents=True, exist_ok=True)
    columns: list[str] = []
    for row in report.rejected:
        columns += [c for c in row.values if c not in columns]
    files = any(row.file for row in report.rejected)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = SafeWriter(handle)
        writer.writerow(
            [*(["file"] if files else []), "line", "reason", "field", "value", *columns]
        )
        for row in report.rejected:
            where = [row.file] if files else []
            cells = (row.values.get(c, "") for c in columns)
            writer.writerow([*where, row.line, row.reason, row.field, row.value, *cells])
    return target


def summary_line(report: SourceReport) -> str:
    counts = report.counts or LoadCounts(0, 0, 0, 0)
    kept = f", {counts.edits_kept} editors' changes kept" if counts.edits_kept else ""
    return (
        f"{counts.inserted} inserted, {counts.updated} updated, {counts.unchanged} unchanged, "
        f"{counts.removed} removed, {len(report.rejected)} rejected, "
        f"{len(report.warnings)} warnings{kept}"
    )
