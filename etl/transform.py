"""Normalise and geocode one source row into a :class:`ListingRecord`, or reject it with a reason.

The listing format (CSV or GeoJSON properties) is the one of ``data/listings``; see
``docs/data-format.md``. Column values are mapped to vocabulary codes with the source's mapping
file; a value that matches no rule is kept in the row's warnings (reported, never silently dropped).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from caremap.geocoder import Geocoder, Precision
from caremap.normalise import (
    NormaliseError,
    fold,
    normalise_name,
    normalise_phones,
    normalise_postal_code,
    normalise_province,
)
from caremap.reasons import N_, Reason, reason_of
from caremap.vocabulary import MappedValue, SourceMapping, Vocabulary
from etl.extract import SourceRow
from etl.hours import parse_hours
from etl.records import CANADA, CapacitySpec, LanguageSpec, ListingRecord, PhoneSpec, ScheduleSpec

# Columns whose values are mapped to vocabulary codes (service types, populations, capabilities).
TERM_COLUMNS = (
    "service_category",
    "population_served",
    "program_type",
    "capabilities",
    "accessibility",
)
# Beds of a kind; the kind is the capacity's description (translated on pages). Beds set aside
# for a population (a vocabulary code) also mean the service serves it.
BED_COLUMNS = {"beds_temp": "temporary", "beds_yr_rnd_women": "women", "beds_yr_rnd_youth": "youth"}
POPULATION_BED_KINDS = {"women", "youth"}
# Derived from parsed opening hours rather than mapped from words.
OPEN_24_7 = "open_24_7"
MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&(?:[a-zA-Z]+|#\d+);")
TRUE_VALUES = {"true", "yes", "y", "1", "oui", "o", "t"}
FALSE_VALUES = {"false", "no", "n", "0", "non", "f", ""}
ROOM_PROGRAMS = {"room-based"}


NOT_A = {
    "number": N_("%(column)s %(value)s is not a number"),
    "whole number": N_("%(column)s %(value)s is not a whole number"),
    "yes/no": N_("%(column)s %(value)s is not yes/no"),
    "date": N_("%(column)s %(value)s is not a date (YYYY-MM-DD)"),
    "time": N_("%(column)s %(value)s is not a time (HH:MM:SS)"),
}
BEFORE = N_("valid_to %(valid_to)s is before valid_from %(valid_from)s")
REQUIRED = N_("required field %(column)s is empty")
# Columns a listings file must have (a row's other columns may be missing or empty).
REQUIRED_COLUMNS = ("source_id", "name")


def _unknown(column: str, fragment: str) -> Reason:
    return Reason(N_("%(column)s: unknown value %(value)s"), column=column, value=repr(fragment))


def not_a(kind: str, column: str, raw: str) -> Reason:
    """ "COLUMN 'RAW' is not a KIND"."""
    return Reason(NOT_A[kind], column=column, value=repr(raw))


class RowRejected(ValueError):
    """A row cannot be loaded; the message says why, in words a data steward understands, and
    ``field`` and ``value`` name the offending cell when there is one."""

    def __init__(self, reason: str, field: str = "", value: str = "") -> None:
        super().__init__(reason)
        self.field, self.value = field, value


@dataclass(frozen=True)
class TransformContext:
    """What a source's rows are transformed with; ``mapped`` caches cell mappings (values
    repeat across rows, and a mapping's result never changes during a run)."""

    geocoder: Geocoder
    vocabulary: Vocabulary
    mapping: SourceMapping
    data_dir: Path
    # The organization every row belongs to (an organization's own upload), else ''.
    organization: str = ""
    mapped: dict[tuple[str, str], MappedValue] = field(default_factory=dict, compare=False)


def transform_row(row: SourceRow, context: TransformContext) -> ListingRecord:
    """The normalised record for ``row``; raises :class:`RowRejected`."""
    values = row.values
    record_id = _required(values, "source_id")
    name = _clean_name(_required(values, "name"), "name")
    organization = owning_organization(values.get("organization", ""), name, context)
    warnings: list[str] = []
    postal_code = _postal_code(values.get("postal_code", ""))
    service_areas = _service_areas(values.get("area_served", ""))
    if service_areas:
        province, latitude, longitude, precision, matched = "", None, None, "", ""
    else:
        province = _province(values.get("province", ""), postal_code, context.geocoder)
        latitude, longitude, precision, matched = _locate(values, postal_code, province, context)
    city = normalise_name(values.get("city", "")) or _city_from_postal_code(postal_code, context)
    schedules = _schedules(values)
    capacities = _capacities(values, warnings)
    term_codes = tuple(
        dict.fromkeys(
            _terms(values, context, warnings)
            + _schedule_terms(schedules)
            + _capacity_terms(capacities)
        )
    )
    languages, language_note = _languages(values, context, warnings)
    return ListingRecord(
        source_record_id=record_id,
        line=row.line,
        organization_name=organization,
        service_name=name,
        location_name=normalise_name(values.get("facility", "")) or name,
        description=values.get("description", ""),
        street_address=values.get("street_address", ""),
        city=city,
        province=province,
        postal_code=postal_code,
        latitude=latitude,
        longitude=longitude,
        geocode_precision=precision,
        geocode_matched=matched,
        confidential=_boolean(values.get("address_confidential", ""), "address_confidential"),
        as_of=values.get("as_of", ""),
        term_codes=term_codes,
        phones=_phones(values.get("phone", "")),
        schedules=schedules,
        languages=languages,
        language_note=language_note,
        accessibility=_fragments(values.get("accessibility", "")),
        capacities=capacities,
        email=values.get("email", ""),
        url=values.get("website", "") or values.get("url", ""),
        application_process=values.get("intake", ""),
        eligibility_description=values.get("eligibility", ""),
        alternate_name=_clean_name(values.get("alternate_name", ""), "alternate_name"),
        service_areas=service_areas,
        warnings=warnings,
    )


def _required(values: dict[str, str], column: str) -> str:
    value = values.get(column, "").strip()
    if not value:
        raise RowRejected(Reason(REQUIRED, column=repr(column)), column)
    return value


def _clean_name(raw: str, column: str) -> str:
    if MARKUP.search(raw):
        raise RowRejected(
            Reason(
                N_("%(column)s contains HTML markup: %(value)s"), column=column, value=repr(raw)
            ),
            column,
            raw,
        )
    return normalise_name(raw)


def owning_organization(
    raw: str, service_name: str, context: TransformContext, column: str = "organization"
) -> str:
    """The row's organization: the one the source belongs to, if any (a row naming another is
    rejected), else the one the row names, else the service's own name."""
    named = _clean_name(raw, column)
    owner = context.organization
    if owner and named and fold(named) != fold(owner):
        raise RowRejected(
            Reason(
                N_("the row names the organization %(named)s, but this file is for %(owner)s"),
                named=repr(named),
                owner=repr(owner),
            ),
            column,
            raw,
        )
    return owner or named or service_name


def _postal_code(raw: str) -> str:
    try:
        return normalise_postal_code(raw)
    except NormaliseError as error:
        raise RowRejected(
            Reason("postal_code: %(error)s", error=reason_of(error)), "postal_code", raw
        ) from error


def _province(raw: str, postal_code: str, geocoder: Geocoder) -> str:
    if not raw.strip():
        point = geocoder.gazetteer.postal_code(postal_code) if postal_code else None
        if point is None:
            raise RowRejected(Reason(REQUIRED, column="'province'"), "province")
        return point.province_abbr
    try:
        return normalise_province(raw)
    except NormaliseError as error:
        raise RowRejected(
            Reason("province: %(error)s", error=reason_of(error)), "province", raw
        ) from error


def _service_areas(raw: str) -> tuple[str, ...]:
    """The areas a service without a location serves: ``national`` (all of Canada) or
    province/territory codes or names, separated by ";"."""
    areas = []
    for part in (part.strip() for part in raw.split(";")):
        if part.casefold() == "national":
            areas.append(CANADA)
        elif part:
            try:
                areas.append(normalise_province(part))
            except NormaliseError as error:
                raise RowRejected(
                    Reason("area_served: %(error)s", error=reason_of(error)), "area_served", raw
                ) from error
    return tuple(dict.fromkeys(areas))


def _locate(
    values: dict[str, str], postal_code: str, province: str, context: TransformContext
) -> tuple[float, float, str, str]:
    """(lat, lon, precision, matched): the source's coordinates if given, else geocoded."""
    latitude = _coordinate(values.get("latitude", ""), "latitude")
    longitude = _coordinate(values.get("longitude", ""), "longitude")
    if (latitude is None) != (longitude is None):
        raise RowRejected(
            Reason(N_("latitude and longitude must be given together")),
            "latitude" if latitude is None else "longitude",
        )
    if latitude is not None and longitude is not None:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise RowRejected(
                Reason(
                    N_("coordinates (%(latitude)s, %(longitude)s) are not a place on Earth"),
                    latitude=latitude,
                    longitude=longitude,
                ),
                "latitude, longitude",
                f"{values.get('latitude', '')}, {values.get('longitude', '')}",
            )
        return latitude, longitude, Precision.SOURCE_COORDINATES.value, "source coordinates"
    result = context.geocoder.geocode(
        street_address=values.get("street_address", ""),
        city=values.get("city", ""),
        province=province,
        postal_code=postal_code,
    )
    if (
        result.precision == Precision.UNMATCHED
        or result.latitude is None
        or result.longitude is None
    ):
        raise RowRejected(
            Reason(
                N_(
                    "no coordinates, and the postal code, city and province match nothing "
                    "in the gazetteer"
                )
            ),
            "postal_code" if postal_code else "city",
            postal_code or values.get("city", ""),
        )
    return result.latitude, result.longitude, result.precision.value, result.matched


def _coordinate(raw: str, column: str) -> float | None:
    if not raw.strip():
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError as error:
        raise RowRejected(not_a("number", column, raw), column, raw) from error
    if not math.isfinite(value):
        raise RowRejected(not_a("number", column, raw), column, raw)
    return value


def _city_from_postal_code(postal_code: str, context: TransformContext) -> str:
    point = context.geocoder.gazetteer.postal_code(postal_code) if postal_code else None
    return point.label if point else ""


def _boolean(raw: str, column: str) -> bool:
    folded = raw.strip().lower()
    if folded in TRUE_VALUES:
        return True
    if folded in FALSE_VALUES:
        return False
    raise RowRejected(not_a("yes/no", column, raw), column, raw)


def _terms(
    values: dict[str, str], context: TransformContext, warnings: list[str]
) -> tuple[str, ...]:
    codes: list[str] = []
    for column in TERM_COLUMNS:
        mapped = map_column(context, column, values.get(column, ""))
        codes += [c for c in mapped.codes if c not in codes]
        warnings += [_unknown(column, fragment) for fragment in mapped.unknown]
    return tuple(codes)


def map_column(context: TransformContext, column: str, raw: str) -> MappedValue:
    """Map a cell with the source's mapping; fragments it does not know may still be the
    vocabulary's own codes or labels (EN/FR), as in files made from the caremap template."""
    key = (column, raw)
    if key not in context.mapped:
        context.mapped[key] = _map_column(context, column, raw)
    return context.mapped[key]


def _map_column(context: TransformContext, column: str, raw: str) -> MappedValue:
    mapped = context.mapping.map(column, raw)
    codes, unknown = list(mapped.codes), []
    for fragment in (part.strip() for text in mapped.unknown for part in text.split(";")):
        term = context.vocabulary.lookup(fragment) if fragment else None
        if term is not None:
            codes.append(term.code)
        elif fragment:
            unknown.append(fragment)
    return MappedValue(tuple(dict.fromkeys(codes)), tuple(unknown), mapped.notes)


def _languages(
    values: dict[str, str], context: TransformContext, warnings: list[str]
) -> tuple[tuple[LanguageSpec, ...], str]:
    mapped = map_column(context, "languages", values.get("languages", ""))
    warnings += [_unknown("languages", fragment) for fragment in mapped.unknown]
    specs = tuple(
        LanguageSpec(code, context.vocabulary.get(code).label_en) for code in mapped.codes
    )
    # HSDS interpretation_services is free text: keep the source's own words when it offers any.
    return specs, values.get("languages", "") if mapped.notes else ""


def _phones(raw: str) -> tuple[PhoneSpec, ...]:
    try:
        phones = normalise_phones(raw) if raw.strip() else []
    except NormaliseError as error:
        raise RowRejected(
            Reason("phone: %(error)s", error=reason_of(error)), "phone", raw
        ) from error
    return tuple(PhoneSpec(p.number, p.extension, p.description) for p in phones)


def _schedules(values: dict[str, str]) -> tuple[ScheduleSpec, ...]:
    """Weekly hours from ``hours``, each valid from ``valid_from`` to ``valid_to`` (a season,
    e.g. a winter respite programme); a season without hours is a schedule of its own."""
    valid_from = _iso_date(values, "valid_from")
    valid_to = _iso_date(values, "valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise RowRejected(
            Reason(BEFORE, valid_to=valid_to, valid_from=valid_from), "valid_to", str(valid_to)
        )
    hours = parse_hours(values.get("hours", ""))
    if not hours and (valid_from or valid_to):
        return (ScheduleSpec(None, None, None, "", False, valid_from, valid_to),)
    return tuple(
        ScheduleSpec(
            h.byday, h.opens_at, h.closes_at, h.description, h.open_24_7, valid_from, valid_to
        )
        for h in hours
    )


def _iso_date(values: dict[str, str], column: str) -> dt.date | None:
    raw = values.get(column, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as error:
        raise RowRejected(not_a("date", column, raw), column, raw) from error


def _schedule_terms(schedules: tuple[ScheduleSpec, ...]) -> tuple[str, ...]:
    """``open_24_7`` when some weekly rule is 24 hours on all seven days."""
    return (OPEN_24_7,) if any(s.open_24_7 for s in schedules) else ()


def _fragments(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in re.split(r"[;*]", raw) if part.strip())


def _integer(values: dict[str, str], column: str) -> int | None:
    raw = values.get(column, "").strip()
    if not raw:
        return None
    try:
        number = int(float(raw))
    except ValueError as error:
        raise RowRejected(not_a("whole number", column, raw), column, raw) from error
    if number < 0:
        raise RowRejected(
            Reason(N_("%(column)s %(value)s is negative"), column=column, value=repr(raw)),
            column,
            raw,
        )
    return number


def _capacities(values: dict[str, str], warnings: list[str]) -> tuple[CapacitySpec, ...]:
    """Beds or rooms (``capacity``, less ``occupancy_population`` when known), then beds of a
    kind (:data:`BED_COLUMNS`). A capacity in words ("VARIES") is kept as its description."""
    updated = _date(values.get("as_of", ""))
    unit = "rooms" if values.get("program_type", "").strip().lower() in ROOM_PROGRAMS else "beds"
    raw_capacity = values.get("capacity", "").strip()
    if raw_capacity and not re.fullmatch(r"\d+(\.0*)?", raw_capacity):
        warnings.append(
            Reason(N_("capacity %(value)s is not a number; kept as text"), value=repr(raw_capacity))
        )
        return (CapacitySpec(unit, None, None, raw_capacity, updated),)
    maximum = _integer(values, "capacity")
    occupied = _integer(values, "occupancy_population")
    capacities = []
    if maximum is not None:
        available = max(maximum - occupied, 0) if occupied is not None and unit == "beds" else None
        capacities.append(CapacitySpec(unit, maximum, available, "", updated))
    for column, kind in BED_COLUMNS.items():
        beds = _integer(values, column)
        if beds:
            capacities.append(CapacitySpec("beds", beds, None, kind, updated))
    return tuple(capacities)


def _capacity_terms(capacities: tuple[CapacitySpec, ...]) -> tuple[str, ...]:
    """Populations served, from beds set aside for them."""
    return tuple(c.description for c in capacities if c.description in POPULATION_BED_KINDS)


def _date(raw: str) -> dt.datetime | None:
    """A full date in the as-of field (2025-10-14, 2016/01/28) as midnight UTC; else None."""
    match = re.fullmatch(r"(\d{4})[-/](\d{2})[-/](\d{2})", raw.strip())
    if not match:
        return None
    try:
        year, month, day = map(int, match.groups())
        return dt.datetime(year, month, day, tzinfo=dt.UTC)
    except ValueError:
        return None
