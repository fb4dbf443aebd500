"""Search parameters: one definition used to parse the search page's form, the JSON API's
query string, and to describe them in the OpenAPI document. A bad value raises
:class:`BadParameter` naming the parameter, never a 500."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import abort, request
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, Map

from caremap.gazetteer import Gazetteer
from caremap.listing import LonLatBox
from caremap.locate import Located, LocateError, locate
from caremap.reasons import N_, Reason, reason_of
from caremap.search import MAX_MATCHES, Filters, SearchQuery

MAX_LIMIT = 200
DEFAULT_LIMIT = 20
MAX_PAGE = MAX_MATCHES
MAX_RADIUS_KM = 5_000.0
RADIUS_CHOICES_KM = (5, 25, 50, 100, 250)
PAGE_RADIUS_KM = 25  # a page's search without radius_km: what its form shows selected
TRUE = {"1", "true", "on", "yes"}
FALSE = {"0", "false", "off", "no", ""}
# Characters no store accepts in text (PostgreSQL refuses NUL; lone surrogates are not UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,30}")
DECIMAL_NUMBER = re.compile(
    r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,3})?"
)
MAX_ROW_ID = 2**31 - 1  # a database integer
ISO_DATE_TIME = re.compile(r"[0-9T:.+Z -]{1,40}")
SHOWN_CHARACTERS = 40
# Query parameter → vocabulary facet of its codes.
FACET_PARAMETERS = {
    "service_type": "service_type",
    "population": "population",
    "capability": "capability",
    "language": "language",
}


class BadParameter(ValueError):
    """A parameter's value cannot be used; ``message`` is safe to show to the person."""

    def __init__(self, name: str, message: str, specific: bool = False) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.specific = specific  # the reason says what to type: the search form shows it


@dataclass(frozen=True)
class Parameter:
    """One query parameter, as documented in the OpenAPI document."""

    name: str
    schema: dict
    description: str
    repeatable: bool = False


def parameters(codes: Mapping[str, list[str]]) -> list[Parameter]:
    """Every search parameter; ``codes`` lists the vocabulary codes of each facet."""
    listed = [
        Parameter(
            "near",
            {"type": "string"},
            "An address with a postal code, a postal code, an FSA (M5V), a place name "
            "(Thunder Bay, Trois-Rivières) or 'lat, lon'.",
        ),
        Parameter(
            "lat",
            {"type": "number", "minimum": -90, "maximum": 90},
            "Latitude of the origin (WGS84); with lon, instead of near.",
        ),
        Parameter(
            "lon",
            {"type": "number", "minimum": -180, "maximum": 180},
            "Longitude of the origin (WGS84); with lat, instead of near.",
        ),
        Parameter(
            "radius_km",
            {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_KM},
            "Only services within this many km (any distance when absent). When none "
            "is within it, the nearest matches beyond it are returned.",
        ),
        Parameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            "How many places at most (the programmes of one organization at one address "
            "are one place).",
        ),
        Parameter(
            "page",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
            "Which page of `limit` services (the collection's `total` counts every match).",
        ),
    ]
    listed += [
        Parameter(
            name,
            {"type": "array", "items": {"type": "string", "enum": codes[facet]}},
            f"Vocabulary codes of facet {facet!r}; repeat or comma-separate. "
            + (
                "A service must have all of them."
                if name == "capability"
                else "A service must have one of them."
            ),
            repeatable=True,
        )
        for name, facet in FACET_PARAMETERS.items()
    ]
    listed += [
        Parameter("open_now", {"type": "boolean"}, "Only services open now in their local time."),
        Parameter(
            "month",
            {"type": "integer", "minimum": 1, "maximum": 12},
            "Only services running in this month (its next occurrence).",
        ),
        Parameter(
            "beds_available",
            {"type": "boolean"},
            "Only services with a bed available now, by a recent enough count.",
        ),
        Parameter(
            "include_unknown",
            {"type": "boolean"},
            "With open_now or beds_available: also services whose hours or bed counts are "
            "not known (the collection's `unknown` counts those left out without it).",
        ),
    ]
    return listed


@dataclass(frozen=True)
class ParsedSearch:
    query: SearchQuery
    located: Located | None  # what ``near`` was understood as
    given: bool  # whether any search parameter was given at all


def parse_search(
    args: MultiDict, codes: Mapping[str, list[str]], gazetteer: Callable[[], Gazetteer]
) -> ParsedSearch:
    """The search ``args`` ask for. ``gazetteer`` is called only when ``near`` is given."""
    located = _near(args.get("near", "").strip(), gazetteer)
    latitude = _number(args, "lat", -90, 90)
    longitude = _number(args, "lon", -180, 180)
    if (latitude is None) != (longitude is None):
        raise BadParameter(
            "lat" if latitude is None else "lon", Reason(N_("give both lat and lon, or neither"))
        )
    if located is not None and latitude is not None:
        raise BadParameter("near", Reason(N_("give either near or lat and lon, not both")))
    if located is not None:
        latitude, longitude = located.latitude, located.longitude
    limit = _limit(args)
    query = SearchQuery(
        latitude=latitude,
        longitude=longitude,
        radius_km=_radius(args),
        limit=limit,
        offset=(_page(args) - 1) * limit,
        filters=Filters(
            service_types=_codes(args, "service_type", codes),
            populations=_codes(args, "population", codes),
            capabilities=_codes(args, "capability", codes),
            languages=_codes(args, "language", codes),
            open_now=boolean(args, "open_now"),
            month=_month(args),
            beds_available=boolean(args, "beds_available"),
            include_unknown=boolean(args, "include_unknown"),
        ),
    )
    given = any(args.get(name, "").strip() for name in parameter_names())
    return ParsedSearch(query, located, given)


@functools.cache
def parameter_names() -> frozenset[str]:
    """The names of the search parameters (whatever the vocabulary's codes)."""
    no_codes = {facet: [] for facet in FACET_PARAMETERS.values()}
    return frozenset(p.name for p in parameters(no_codes))


def _near(text: str, gazetteer: Callable[[], Gazetteer]) -> Located | None:
    if not text:
        return None
    try:
        located = locate(text, gazetteer())
    except LocateError as error:
        raise BadParameter("near", reason_of(error), specific=True) from error
    if located is None:
        reason = Reason(
            N_("no postal code, place or coordinates found in %(value)s"), value=shown(text)
        )
        raise BadParameter("near", reason)
    return located


def _number(args: MultiDict, name: str, low: float, high: float) -> float | None:
    raw = args.get(name, "").strip()
    return number(name, raw, low, high) if raw else None


def _radius(args: MultiDict) -> float | None:
    raw = args.get("radius_km", "").strip()
    if raw in ("", "any"):
        return None
    value = number("radius_km", raw, float("-inf"), MAX_RADIUS_KM)
    if value <= 0:
        raise BadParameter(
            "radius_km", Reason(N_("%(value)s is not a positive distance"), value=shown(raw))
        )
    return value


def _limit(args: MultiDict) -> int:
    return integer(args, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)


def _page(args: MultiDict) -> int:
    return integer(args, "page", 1, MAX_PAGE, 1)


def _month(args: MultiDict) -> int | None:
    return integer(args, "month", 1, 12)


def boolean(args: MultiDict, name: str) -> bool:
    raw = args.get(name, "").strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise BadParameter(name, Reason(N_("%(value)s is not true or false"), value=shown(raw)))


def _codes(args: MultiDict, name: str, codes: Mapping[str, list[str]]) -> frozenset[str]:
    given = {part.strip() for value in args.getlist(name) for part in value.split(",")}
    given.discard("")
    if not given:
        return frozenset()
    known = set(codes[FACET_PARAMETERS[name]])
    unknown = sorted(given - known)
    if unknown:
        reason = Reason(
            N_("unknown code(s) %(unknown)s; known: %(known)s"),
            unknown=shown(", ".join(unknown)),
            known=", ".join(sorted(known)),
        )
        raise BadParameter(name, reason)
    return frozenset(given)


# --- every endpoint's numbers, dates and ids ------------------------------------------------


def shown(raw: str) -> str:
    """``raw`` quoted for a message, cut to a readable length."""
    cut = raw if len(raw) <= SHOWN_CHARACTERS else raw[:SHOWN_CHARACTERS] + "…"
    return repr(cut)


def whole_number(name: str, raw: str, low: int, high: int | None = None) -> int:
    """``raw`` (ASCII digits, an optional sign) as a whole number from ``low`` to ``high``."""
    if not WHOLE_NUMBER.fullmatch(raw):
        raise BadParameter(name, Reason(N_("%(value)s is not a whole number"), value=shown(raw)))
    value = int(raw)
    _check_range(name, raw, value, low, high)
    return value


def number(name: str, raw: str, low: float, high: float) -> float:
    """``raw`` (ASCII decimal digits, an optional exponent; no NaN or infinity) as a number
    from ``low`` to ``high``."""
    if not DECIMAL_NUMBER.fullmatch(raw) or not math.isfinite(value := float(raw)):
        raise BadParameter(name, Reason(N_("%(value)s is not a number"), value=shown(raw)))
    _check_range(name, raw, value, low, high)
    return value


def _check_range(name: str, raw: str, value: float, low: float, high: float | None) -> None:
    if high is None and value < low:
        reason = Reason(N_("%(value)s is less than %(low)s"), value=shown(raw), low=f"{low:g}")
        raise BadParameter(name, reason)
    if high is not None and not low <= value <= high:
        reason = Reason(
            N_("%(value)s is outside the range from %(low)s to %(high)s"),
            value=shown(raw),
            low=f"{low:g}",
            high=f"{high:g}",
        )
        raise BadParameter(name, reason)


def integer(
    args: MultiDict, name: str, low: int, high: int | None = None, default: int | None = None
) -> int | None:
    """Query parameter ``name`` as a whole number (``default`` when absent or empty)."""
    raw = args.get(name, "").strip()
    return whole_number(name, raw, low, high) if raw else default


def lon_lat_box(args: MultiDict, name: str = "bbox") -> LonLatBox | None:
    """``bbox=minx,miny,maxx,maxy`` (or with min/max heights, 6 numbers) in CRS84 degrees; a
    ``minx`` greater than ``maxx`` crosses the antimeridian. None when absent."""
    raw = args.get(name)
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise BadParameter(name, Reason(N_("must be 4 numbers: minx,miny,maxx,maxy")))
    numbers = [number(name, part.strip(), -math.inf, math.inf) for part in parts]
    minx, miny, maxx, maxy = numbers if len(numbers) == 4 else [numbers[i] for i in (0, 1, 3, 4)]
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        raise BadParameter(name, Reason(N_("longitudes must be between -180 and 180")))
    if not (-90 <= miny <= maxy <= 90):
        raise BadParameter(name, Reason(N_("latitudes must be between -90 and 90, min before max")))
    return LonLatBox(minx, miny, maxx, maxy)


def text(args: MultiDict, name: str, max_length: int) -> str:
    """Query parameter ``name`` as text without its outer spaces, at most ``max_length``
    characters ('' when absent)."""
    raw = args.get(name, "").strip()
    if len(raw) > max_length:
        reason = Reason(N_("is longer than %(max)s characters"), max=str(max_length))
        raise BadParameter(name, reason)
    return raw


def date_time(args: MultiDict, name: str) -> dt.datetime | None:
    """Query parameter ``name`` as an ISO 8601 date-time in UTC (UTC when it names no offset);
    None when absent or empty."""
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        if not ISO_DATE_TIME.fullmatch(raw):
            raise ValueError(raw)
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        reason = Reason(N_("%(value)s is not an ISO 8601 date-time"), value=shown(raw))
        raise BadParameter(name, reason) from None
    try:
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    except OverflowError:
        reason = Reason(N_("%(value)s is outside the dates this server handles"), value=shown(raw))
        raise BadParameter(name, reason) from None


def refuse_unstorable() -> None:
    """Before every request: a path variable holding a character no store accepts names
    nothing (404); a query or form value holding one is a bad parameter (400)."""
    view_args = request.view_args or {}
    if any(isinstance(v, str) and UNSTORABLE.search(v) for v in view_args.values()):
        abort(404)
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if UNSTORABLE.search(name) or UNSTORABLE.search(value):
                reason = Reason(N_("holds a character that is not allowed"))
                raise BadParameter(UNSTORABLE.sub("\ufffd", name), reason)


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in a route: a row id, ASCII digits within a database integer; anything
    else names no page (404)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=0, max=MAX_ROW_ID)
