"""Read an HSDS 3.0 tabular data package (a folder with ``datapackage.json`` and CSV files, or a
zip of one) into :class:`ListingRecord` s, one per ``service_at_location`` and one per service
that serves an area, for the same validate → load path as the CSV listings
(:func:`etl.pipeline.run`).

Fields are normalised by the listing transform's own rules (names, postal codes, provinces,
coordinates, phones). Terms and languages are matched by code, then by name, through the
source's mapping file and the vocabulary. A row that cannot be loaded is reported with its file,
line and reason. A service without a location is a service that serves an area (a help line)
when it has ``service_area`` rows, and is reported otherwise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from caremap.hsds import CONFIDENTIAL_CODE, COUNTRY_URI, PROVINCE_URI, term_uuid
from caremap.normalise import normalise_name, normalise_phones, normalise_province
from caremap.reasons import N_, Reason, reason_of
from caremap.spreadsheet import restore
from etl.extract import ExtractError, SourceRow, check_columns, read_csv_bytes
from etl.fingerprint import pipeline_fingerprint, raw_row_hash
from etl.hours import WeeklyHours
from etl.load import SourceInfo
from etl.records import (
    CANADA,
    CapacitySpec,
    LanguageSpec,
    ListingRecord,
    PhoneSpec,
    RejectedRow,
    ScheduleSpec,
)
from etl.transform import (
    BEFORE,
    REQUIRED,
    RowRejected,
    TransformContext,
    _capacity_terms,
    _clean_name,
    _locate,
    _postal_code,
    _province,
    _schedule_terms,
    map_column,
    not_a,
    owning_organization,
)

DESCRIPTOR = "datapackage.json"
# HSDS resources read, and their file names when a descriptor does not give a path.
RESOURCES = {
    "organization": "organizations.csv",
    "service": "services.csv",
    "service_at_location": "service_at_location.csv",
    "location": "locations.csv",
    "address": "addresses.csv",
    "phone": "phones.csv",
    "schedule": "schedules.csv",
    "language": "languages.csv",
    "accessibility": "accessibility.csv",
    "attribute": "attributes.csv",
    "taxonomy_term": "taxonomy_terms.csv",
    "service_capacity": "service_capacities.csv",
    "service_area": "service_areas.csv",
    "service_link": "service_links.csv",
}
# Without these there is no listing: a service, its location, and the row linking them.
REQUIRED_RESOURCES = ("service", "location", "service_at_location")


class PackageError(ValueError):
    """The package as a whole cannot be read (no descriptor, bad JSON, not a zip)."""


def is_package(path: Path) -> bool:
    """A folder holding ``datapackage.json``, or a zip file."""
    return (path.is_dir() and (path / DESCRIPTOR).is_file()) or path.suffix.lower() == ".zip"


@dataclass(frozen=True)
class Row:
    """One CSV row of the package: its file, line (header = 1) and values."""

    file: str
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()


@dataclass
class HsdsRead:
    """What a package gave: ``records`` to validate and load, ``rejected`` rows, every row's
    values by (file, line) for the report, and how many listings it has."""

    records: list[ListingRecord] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    values: dict[tuple[str, int], dict[str, str]] = field(default_factory=dict)
    listings: int = 0  # service_at_location rows
    # caremap's service_link rows as rows of a links file (etl.links), one per pair of
    # records made from the two services; the pipeline names the source.
    links: list[SourceRow] = field(default_factory=list)


class _Rejected(Exception):
    def __init__(self, row: Row, reason: str, field: str = "", value: str = "") -> None:
        super().__init__(reason)
        self.row, self.reason, self.field, self.value = row, reason, field, value

    def rejected_row(self) -> RejectedRow:
        row = self.row
        return RejectedRow(row.line, self.reason, row.values, row.file, self.field, self.value)


@contextlib.contextmanager
def _at(row: Row) -> Iterator[None]:
    """Blame ``row`` for any rejection raised inside."""
    try:
        yield
    except ValueError as error:  # RowRejected, NormaliseError, a bad number or date
        field, value = getattr(error, "field", ""), getattr(error, "value", "")
        raise _Rejected(row, reason_of(error), field, value) from error


# --- reading the files ----------------------------------------------------------------------


def _members(path: Path) -> tuple[dict, dict[str, bytes]]:
    """The descriptor and the package's files by path relative to it."""
    if path.is_dir():
        files = {p.relative_to(path).as_posix(): p for p in path.rglob("*") if p.is_file()}
        contents = {name: p.read_bytes() for name, p in files.items()}
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                contents = {
                    info.filename: archive.read(info)
                    for info in archive.infolist()
                    if not info.is_dir()
                }
        except zipfile.BadZipFile as error:
            raise PackageError(f"{path.name}: not a zip file ({error})") from error
        descriptors = sorted((n for n in contents if PurePosixPath(n).name == DESCRIPTOR), key=len)
        if not descriptors:
            raise PackageError(f"{path.name}: no {DESCRIPTOR} in the zip file")
        root = PurePosixPath(descriptors[0]).parent
        contents = {
            PurePosixPath(n).relative_to(root).as_posix(): data
            for n, data in contents.items()
            if PurePosixPath(n).is_relative_to(root)
        }
    if DESCRIPTOR not in contents:
        raise PackageError(f"{path.name}: no {DESCRIPTOR}")
    try:
        descriptor = json.loads(contents[DESCRIPTOR].decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PackageError(f"{path.name}: {DESCRIPTOR} is not valid JSON ({error})") from error
    if _has_nul(descriptor):
        raise PackageError(f"{path.name}: {DESCRIPTOR} contains a NUL character")
    return descriptor, contents


def _has_nul(value: object) -> bool:
    """Whether a JSON value holds a NUL character (no database can store it)."""
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_nul(item) for item in value)


def package_source_info(path: Path, sidecar: SourceInfo | None = None) -> SourceInfo:
    """The source's identity from the sidecar if there is one, else from the descriptor."""
    if sidecar is not None:
        return sidecar
    descriptor, _ = _members(path)
    sources = descriptor.get("sources") or []
    licences = [lic.get("title") or lic.get("name") or "" for lic in descriptor.get("licenses", [])]
    attribution = "; ".join(
        s.get("attribution") or s.get("title") or "" for s in sources if isinstance(s, dict)
    )
    return SourceInfo(
        name=str(descriptor.get("name") or path.stem),
        title=str(descriptor.get("title") or path.name),
        licence="; ".join(dict.fromkeys(filter(None, licences))),
        attribution=attribution,
        url=str(descriptor.get("homepage") or ""),
    )


def _tables(path: Path, read: HsdsRead) -> dict[str, list[Row]]:
    """Every resource's rows; unreadable rows and duplicate ids go to ``read.rejected``."""
    descriptor, contents = _members(path)
    paths = dict(RESOURCES)
    for resource in descriptor.get("resources", []):
        if isinstance(resource, dict) and resource.get("name") in RESOURCES:
            paths[resource["name"]] = str(resource.get("path") or paths[resource["name"]])
    missing = [paths[name] for name in REQUIRED_RESOURCES if paths[name] not in contents]
    if missing:
        raise PackageError(
            Reason(
                N_("%(file)s: the package has no %(missing)s; an HSDS package needs %(needed)s"),
                file=path.name,
                missing=", ".join(missing),
                needed=", ".join(paths[name] for name in REQUIRED_RESOURCES),
            )
        )
    tables: dict[str, list[Row]] = {}
    for name, member in paths.items():
        data = contents.get(member)
        tables[name] = [] if data is None else _rows(member, data, read)
    return tables


def _rows(member: str, data: bytes, read: HsdsRead) -> list[Row]:
    try:
        extracted = read_csv_bytes(member, data)
        check_columns(member, extracted.columns, ("id",))
    except ExtractError as error:
        raise PackageError(reason_of(error)) from error
    read.rejected += [RejectedRow(p.line, p.reason, p.values, member) for p in extracted.problems]
    rows: list[Row] = []
    first_line: dict[str, int] = {}
    for source_row in extracted.rows:
        # A cell a spreadsheet would read as a formula was exported with a ' in front.
        values = {column: restore(value) for column, value in source_row.values.items()}
        row = Row(member, source_row.line, values)
        read.values[(member, row.line)] = row.values
        identifier = row.get("id")
        if not identifier:
            read.rejected.append(
                RejectedRow(row.line, Reason(REQUIRED, column="'id'"), row.values, member, "id")
            )
        elif identifier in first_line:
            reason = Reason(
                N_("duplicate id %(id)s (first on line %(line)s)"),
                id=repr(identifier),
                line=first_line[identifier],
            )
            read.rejected.append(
                RejectedRow(row.line, reason, row.values, member, "id", identifier)
            )
        else:
            first_line[identifier] = row.line
            rows.append(row)
    return rows


# --- records --------------------------------------------------------------------------------


def read_hsds_package(path: Path, context: TransformContext) -> HsdsRead:
    """Records (one per service_at_location, and one per service without a location that has
    service_area rows) and rejected rows of the package at ``path``."""
    read = HsdsRead()
    package = _Package(_tables(path, read), context)
    fingerprint = pipeline_fingerprint(context.data_dir)
    links = package.tables["service_at_location"]
    linked = {link.get("service_id") for link in links}
    areas = [s for s in package.tables["service"] if s.get("id") not in linked]
    read.listings = len(links) + len(areas)
    for link in links:
        _add(read, fingerprint, partial(package.record, link))
    for service in areas:
        if package.serves_areas(service):
            _add(read, fingerprint, partial(package.area_record, service))
        else:
            reason = Reason(
                N_("the service has no service_at_location row, so no location to show it at")
            )
            read.rejected.append(RejectedRow(service.line, reason, service.values, service.file))
    read.links = _link_rows(package.tables["service_link"], links)
    return read


def _link_rows(rows: list[Row], links: list[Row]) -> list[SourceRow]:
    """Each service_link row as links between the records made from its two services (a
    service_at_location's id, or the service's own when it has none)."""
    records: dict[str, list[str]] = defaultdict(list)
    for link in links:
        records[link.get("service_id")].append(link.get("id"))
    found = []
    for row in rows:
        ends = [
            records.get(row.get(c)) or [row.get(c)] for c in ("from_service_id", "to_service_id")
        ]
        for from_id in ends[0]:
            for to_id in ends[1]:
                values = {
                    "from_source_id": from_id,
                    "to_source_id": to_id,
                    "link_type": row.get("link_type"),
                    "description_en": row.get("description"),
                    "description_fr": row.get("description_fr"),
                    "source_url": row.get("source_url"),
                }
                found.append(SourceRow(row.line, values))
    return found


def _add(read: HsdsRead, fingerprint: str, make: Callable[[], tuple[ListingRecord, list]]) -> None:
    """The record ``make`` makes, with the hash of the rows it was made from; or its row
    rejected."""
    try:
        record, parts = make()
    except _Rejected as rejected:
        read.rejected.append(rejected.rejected_row())
        return
    record.raw_hash = raw_row_hash(fingerprint, {"hsds": json.dumps(parts, sort_keys=True)})
    read.records.append(record)


class _Package:
    """The package's rows indexed by id and by the ids they link to."""

    def __init__(self, tables: dict[str, list[Row]], context: TransformContext) -> None:
        self.tables, self.context = tables, context
        self.by_id = {name: {row.get("id"): row for row in rows} for name, rows in tables.items()}
        self.linked: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for name in (
            "phone", "schedule", "language", "accessibility", "address", "attribute",
            "service_area",
        ):  # fmt: skip
            for row in tables[name]:
                for key in ("service_id", "location_id", "service_at_location_id", "link_id"):
                    if row.get(key):
                        self.linked[(name, row.get(key))].append(row)
        for row in tables["service_capacity"]:
            self.linked[("service_capacity", row.get("service_id"))].append(row)
        self.term_codes = {
            row.get("id"): (row.get("code"), row.get("name")) for row in tables["taxonomy_term"]
        }

    def _of(self, table: str, *ids: str) -> list[Row]:
        """Rows of ``table`` linked to any of ``ids``, once each, in file order."""
        found = {row.line: row for i in ids for row in self.linked.get((table, i), [])}
        return [found[line] for line in sorted(found)]

    def _linked(self, link: Row, table: str, column: str) -> Row:
        row = self.by_id[table].get(link.get(column))
        if row is None:
            reason = Reason(
                N_("%(column)s %(value)s is not in %(file)s"),
                column=column,
                value=repr(link.get(column)),
                file=RESOURCES[table],
            )
            raise _Rejected(link, reason, column, link.get(column))
        return row

    def record(self, link: Row) -> tuple[ListingRecord, list]:
        """The record of one service_at_location, and the rows it was made from."""
        service = self._linked(link, "service", "service_id")
        location = self._linked(link, "location", "location_id")
        names = self._names(service)
        addresses = sorted(
            self._of("address", location.get("id")),
            key=lambda a: a.get("address_type") != "physical",
        )
        address = addresses[0] if addresses else location
        with _at(address):
            postal_code = _postal_code(address.get("postal_code"))
            province = _province(address.get("state_province"), postal_code, self.context.geocoder)
        street = ", ".join(filter(None, (address.get("address_1"), address.get("address_2"))))
        city = normalise_name(address.get("city"))
        with _at(location):
            place = {
                "latitude": location.get("latitude"),
                "longitude": location.get("longitude"),
                "street_address": street,
                "city": city,
            }
            latitude, longitude, precision, matched = _locate(
                place, postal_code, province, self.context
            )
        ids = (service.get("id"), location.get("id"), link.get("id"))
        where = {
            "source_record_id": link.get("id"),
            "line": location.line,
            "file": location.file,
            "location_name": normalise_name(location.get("name")),
            "street_address": street,
            "city": city,
            "province": province,
            "postal_code": postal_code,
            "latitude": latitude,
            "longitude": longitude,
            "geocode_precision": precision,
            "geocode_matched": matched,
            "confidential": self._confidential(location.get("id")),
            "accessibility": tuple(
                row.get("description")
                for row in self._of("accessibility", location.get("id"))
                if row.get("description")
            ),
        }
        return self._record(service, names, ids, where, [link, location, *addresses])

    def serves_areas(self, service: Row) -> bool:
        return bool(self._of("service_area", service.get("id")))

    def area_record(self, service: Row) -> tuple[ListingRecord, list]:
        """The record of a service without a location that serves the areas of its
        service_area rows, and the rows it was made from."""
        names = self._names(service)
        areas = self._of("service_area", service.get("id"))
        where = {
            "source_record_id": service.get("id"),
            "line": service.line,
            "file": service.file,
            "service_areas": tuple(dict.fromkeys(self._area(row) for row in areas)),
        }
        return self._record(service, names, (service.get("id"),), where, areas)

    def _area(self, row: Row) -> str:
        """The area of a service_area row: its ISO 3166 ``uri``, else its ``name`` ("Canada",
        or a province or territory)."""
        uri, name = row.get("uri"), row.get("name")
        with _at(row):
            if uri == COUNTRY_URI or (not uri and name.casefold() == "canada"):
                return CANADA
            code = uri.removeprefix(PROVINCE_URI) if uri.startswith(PROVINCE_URI) else name
            area = normalise_province(code)
            if not area:
                raise RowRejected(Reason(REQUIRED, column="'name'"), "name")
            return area

    def _names(self, service: Row) -> tuple[str, str]:
        """The names of an active service and of its organization."""
        organization = self.by_id["organization"].get(service.get("organization_id"))
        with _at(service):
            name = _clean_name(service.get("name"), "name")
            if not name:
                raise RowRejected(Reason(REQUIRED, column="'name'"))
            status = service.get("status") or "active"
            if status != "active":
                raise RowRejected(
                    Reason(
                        N_("status is %(status)s: only active services are listed"),
                        status=repr(status),
                    )
                )
        with _at(organization or service):
            organization_name = owning_organization(
                organization.get("name") if organization else "", name, self.context, "name"
            )
        return name, organization_name

    def _record(
        self,
        service: Row,
        names: tuple[str, str],
        ids: tuple[str, ...],
        where: dict[str, Any],
        rows: list[Row],
    ) -> tuple[ListingRecord, list]:
        """The record of ``service`` (``names``: its own and its organization's) at ``where``
        (its location's fields, or its areas), with the children of ``ids`` (the service's,
        its location's, its link's)."""
        name, organization_name = names
        organization = self.by_id["organization"].get(service.get("organization_id"))
        warnings: list[str] = []
        schedules = self._schedules(ids)
        capacities = self._capacities(service)
        languages = self._languages(ids, warnings)
        terms = self._terms((ids[0], ids[-1]), warnings)
        parts = [row.values for row in (service, organization, *rows) if row is not None]
        for table in (
            "phone",
            "schedule",
            "language",
            "accessibility",
            "attribute",
            "service_capacity",
        ):
            parts += [row.values for row in self._of(table, *ids)]
        record = ListingRecord(
            **{
                "street_address": "",
                "city": "",
                "province": "",
                "postal_code": "",
                "latitude": None,
                "longitude": None,
                "geocode_precision": "",
                "geocode_matched": "",
                "confidential": False,
                "accessibility": (),
                **where,
                "location_name": where.get("location_name") or name,
            },
            organization_name=organization_name,
            service_name=name,
            alternate_name=_clean_name(service.get("alternate_name"), "alternate_name"),
            description=service.get("description"),
            as_of=service.get("assured_date"),
            term_codes=tuple(
                dict.fromkeys(terms + _schedule_terms(schedules) + _capacity_terms(capacities))
            ),
            phones=self._phones(ids),
            schedules=schedules,
            languages=languages,
            language_note=service.get("interpretation_services"),
            capacities=capacities,
            email=service.get("email"),
            url=service.get("url"),
            application_process=service.get("application_process"),
            eligibility_description=service.get("eligibility_description"),
            warnings=warnings,
        )
        return record, parts

    def _confidential(self, location_id: str) -> bool:
        return any(
            self.term_codes.get(row.get("taxonomy_term_id"), ("", ""))[0] == CONFIDENTIAL_CODE
            or row.get("taxonomy_term_id") == term_uuid(CONFIDENTIAL_CODE)
            for row in self._of("attribute", location_id)
        )

    def _terms(self, link_ids: tuple[str, ...], warnings: list[str]) -> tuple[str, ...]:
        codes: list[str] = []
        for row in self._of("attribute", *link_ids):
            code, name = self.term_codes.get(row.get("taxonomy_term_id"), ("", ""))
            codes += self._known(
                "taxonomy_term",
                (code, name),
                row,
                N_("%(file)s line %(line)s: unknown taxonomy term %(label)s"),
                code or name or row.get("taxonomy_term_id"),
                warnings,
            )
        return tuple(codes)

    def _known(
        self,
        column: str,
        raws: tuple[str | None, str | None],
        row: Row,
        unknown: str,
        label: str | None,
        warnings: list[str],
    ) -> tuple[str, ...]:
        """Vocabulary codes of the first of ``raws`` that maps entirely; else () and a warning
        (``unknown``, a template) naming ``row``'s file and line and ``label``."""
        for raw in raws:
            found = self._map(column, raw)
            if found:
                return found
        warnings.append(Reason(unknown, file=row.file, line=row.line, label=repr(label)))
        return ()

    def _map(self, column: str, raw: str | None) -> tuple[str, ...]:
        """Vocabulary codes for ``raw`` if all of it is known, else ()."""
        if not raw:
            return ()
        mapped = map_column(self.context, column, raw)
        return () if mapped.unknown else mapped.codes

    def _languages(self, ids: tuple[str, ...], warnings: list[str]) -> tuple[LanguageSpec, ...]:
        codes: list[str] = []
        for row in self._of("language", *ids[:2]):
            codes += self._known(
                "languages",
                (row.get("code"), row.get("name")),
                row,
                N_("%(file)s line %(line)s: unknown language %(label)s"),
                row.get("code") or row.get("name"),
                warnings,
            )
        vocabulary = self.context.vocabulary
        return tuple(LanguageSpec(c, vocabulary.get(c).label_en) for c in dict.fromkeys(codes))

    def _phones(self, ids: tuple[str, ...]) -> tuple[PhoneSpec, ...]:
        phones = []
        for row in self._of("phone", *ids):
            with _at(row):
                found = normalise_phones(row.get("number"))
                if len(found) != 1:
                    raise RowRejected(
                        Reason(
                            N_("phone: %(value)s is not one phone number"),
                            value=repr(row.get("number")),
                        )
                    )
                extension = row.get("extension")
                if extension:
                    extension = str(int(float(extension)))
                description = row.get("description") or found[0].description
                phones.append(
                    PhoneSpec(found[0].number, extension or found[0].extension, description)
                )
        return tuple(phones)

    def _schedules(self, ids: tuple[str, ...]) -> tuple[ScheduleSpec, ...]:
        schedules = []
        for row in self._of("schedule", *ids):
            with _at(row):
                byday = row.get("byday") or None
                opens, closes = _time(row, "opens_at"), _time(row, "closes_at")
                weekly = WeeklyHours(byday, opens, closes, row.get("description"))
                valid_from, valid_to = _date(row, "valid_from"), _date(row, "valid_to")
                if valid_from and valid_to and valid_to < valid_from:
                    raise RowRejected(Reason(BEFORE, valid_to=valid_to, valid_from=valid_from))
                schedules.append(
                    ScheduleSpec(
                        byday,
                        opens,
                        closes,
                        row.get("description"),
                        weekly.open_24_7,
                        valid_from,
                        valid_to,
                    )
                )
        return tuple(schedules)

    def _capacities(self, service: Row) -> tuple[CapacitySpec, ...]:
        capacities = []
        for row in self._of("service_capacity", service.get("id")):
            with _at(row):
                updated = row.get("updated")
                capacities.append(
                    CapacitySpec(
                        row.get("unit") or "beds",
                        _count(row, "maximum"),
                        _count(row, "available"),
                        row.get("description"),
                        dt.datetime.fromisoformat(updated) if updated else None,
                    )
                )
        return tuple(capacities)


def _time(row: Row, column: str) -> dt.time | None:
    raw = row.get(column)
    try:
        return dt.time.fromisoformat(raw) if raw else None
    except ValueError:
        raise RowRejected(not_a("time", column, raw)) from None


def _date(row: Row, column: str) -> dt.date | None:
    raw = row.get(column)
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise RowRejected(not_a("date", column, raw)) from None


def _count(row: Row, column: str) -> int | None:
    raw = row.get(column)
    if not raw:
        return None
    if not raw.isdigit():
        raise RowRejected(not_a("whole number", column, raw))
    return int(raw)
