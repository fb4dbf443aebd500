"""The normalised form of one source row, between transform and load, and row problems."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING

from caremap import helplines

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@dataclass(frozen=True, slots=True)
class PhoneSpec:
    number: str  # E.164 (+14165551234), a short number (211) or a local one as printed
    extension: str
    description: str


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    byday: str | None
    opens_at: dt.time | None
    closes_at: dt.time | None
    description: str
    open_24_7: bool = False
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class CapacitySpec:
    unit: str
    maximum: int | None
    available: int | None
    description: str
    updated: dt.datetime | None


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    code: str
    name: str


CANADA = helplines.CANADA  # the service area "all of Canada"
# Fields that describe the row's reading, not the record: they never make a record "changed".
VOLATILE = frozenset({"file", "line", "warnings", "raw_hash"})


@dataclass(slots=True)
class ListingRecord:
    """One service at one location, or one without a location that serves the areas
    ``service_areas`` (province abbreviations, or :data:`CANADA`), normalised. Coordinates are
    (lat, lon) EPSG:4326 degrees, None for a service without a location: ``latitude``/
    ``longitude`` exact, ``public_*`` the published point (see caremap.privacy)."""

    source_record_id: str
    line: int
    organization_name: str
    service_name: str
    location_name: str
    description: str
    street_address: str
    city: str
    province: str
    postal_code: str
    latitude: float | None
    longitude: float | None
    geocode_precision: str
    geocode_matched: str
    confidential: bool
    as_of: str
    term_codes: tuple[str, ...]
    phones: tuple[PhoneSpec, ...]
    schedules: tuple[ScheduleSpec, ...]
    languages: tuple[LanguageSpec, ...]
    language_note: str
    accessibility: tuple[str, ...]
    capacities: tuple[CapacitySpec, ...]
    email: str = ""
    url: str = ""
    application_process: str = ""
    eligibility_description: str = ""
    alternate_name: str = ""  # the service's name in the other official language
    service_areas: tuple[str, ...] = ()
    pruid: str | None = None
    cduid: str | None = None
    public_latitude: float | None = None
    public_longitude: float | None = None
    public_point_rule: str = ""
    timezone: str = ""
    raw_hash: str = ""
    warnings: list[str] = field(default_factory=list)
    file: str = ""  # the file of ``line`` inside a multi-file source (an HSDS package)

    def point(self) -> tuple[float, float]:
        """(lat, lon) of the record's location; a service without one has none."""
        if self.latitude is None or self.longitude is None:
            raise ValueError(f"{self.source_record_id}: a service without a location has no point")
        return self.latitude, self.longitude

    def content_hash(self) -> str:
        """A digest of everything that is loaded; equal digests mean nothing to write."""
        content = {k: v for k, v in _fields(self).items() if k not in VOLATILE}
        payload = json.dumps(content, sort_keys=True, default=_jsonable, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()


def _jsonable(value: object) -> object:
    """Nested specs as dicts, dates and times as text (what ``dataclasses.asdict`` would give,
    without its deep copies)."""
    if is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    return str(value)


def _fields(value: DataclassInstance) -> dict[str, object]:
    """A dataclass instance's fields by name (its slots hold them: it has no ``__dict__``)."""
    return {name: getattr(value, name) for name in _names(type(value))}


@functools.cache
def _names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    """The names of a dataclass's fields (``fields`` builds them anew on every call)."""
    return tuple(f.name for f in fields(cls))


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that was not loaded: where it is (``file`` inside a multi-file source such as an
    HSDS package, else ''), why, its original values, and the offending ``field`` and its
    ``value`` when one cell is to blame (else '')."""

    line: int
    reason: str
    values: dict[str, str]
    file: str = ""
    field: str = ""
    value: str = ""

    @property
    def where(self) -> str:
        """ "line 7" or "locations.csv line 7"."""
        return f"{self.file} line {self.line}" if self.file else f"line {self.line}"
