"""Search parameters: one definition used to parse the search page's form, the JSON API's
query string, and to describe them in the OpenAPI document. A bad value raises
:class:`BadParameter` naming the parameter, never a 500."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from caremap.gazetteer import Gazetteer
from caremap.locate import Located, LocateError, locate
from caremap.search import Filters, SearchQuery

MAX_LIMIT = 200
DEFAULT_LIMIT = 20
MAX_RADIUS_KM = 5_000.0
RADIUS_CHOICES_KM = (5, 25, 50, 100, 250)
TRUE = {"1", "true", "on", "yes"}
FALSE = {"0", "false", "off", "no", ""}
# Query parameter → vocabulary facet of its codes.
FACET_PARAMETERS = {
    "service_type": "service_type",
    "population": "population",
    "capability": "capability",
    "language": "language",
}


class BadParameter(ValueError):
    """A parameter's value cannot be used; ``message`` is safe to show to the person."""

    def __init__(self, name: str, message: str, message_fr: str | None = None) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.message_fr = message_fr  # when the reason is specific enough to show in French


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
            "How many services at most.",
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
            "lat" if latitude is None else "lon", "give both lat and lon, or neither"
        )
    if located is not None and latitude is not None:
        raise BadParameter("near", "give either near or lat and lon, not both")
    if located is not None:
        latitude, longitude = located.latitude, located.longitude
    query = SearchQuery(
        latitude=latitude,
        longitude=longitude,
        radius_km=_radius(args),
        limit=_limit(args),
        filters=Filters(
            service_types=_codes(args, "service_type", codes),
            populations=_codes(args, "population", codes),
            capabilities=_codes(args, "capability", codes),
            languages=_codes(args, "language", codes),
            open_now=_boolean(args, "open_now"),
            month=_month(args),
            beds_available=_boolean(args, "beds_available"),
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
        raise BadParameter("near", str(error), error.message_fr) from error
    if located is None:
        raise BadParameter("near", f"no postal code, place or coordinates found in {text!r}")
    return located


def _number(args: MultiDict, name: str, low: float, high: float) -> float | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadParameter(name, f"{raw!r} is not a number") from None
    if not low <= value <= high:
        raise BadParameter(name, f"{raw} is outside {low:g} to {high:g}")
    return value


def _radius(args: MultiDict) -> float | None:
    raw = args.get("radius_km", "").strip()
    if raw in ("", "any"):
        return None
    value = _number(args, "radius_km", float("-inf"), MAX_RADIUS_KM)
    if value is None or value <= 0:
        raise BadParameter("radius_km", f"{raw} is not a positive distance")
    return value


def _integer(args: MultiDict, name: str, low: int, high: int) -> int | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    if not raw.lstrip("-").isdigit():
        raise BadParameter(name, f"{raw!r} is not a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(name, f"{raw} is outside {low} to {high}")
    return value


def _limit(args: MultiDict) -> int:
    value = _integer(args, "limit", 1, MAX_LIMIT)
    return DEFAULT_LIMIT if value is None else value


def _month(args: MultiDict) -> int | None:
    return _integer(args, "month", 1, 12)


def _boolean(args: MultiDict, name: str) -> bool:
    raw = args.get(name, "").strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise BadParameter(name, f"{raw!r} is not true or false")


def _codes(args: MultiDict, name: str, codes: Mapping[str, list[str]]) -> frozenset[str]:
    given = {part.strip() for value in args.getlist(name) for part in value.split(",")}
    given.discard("")
    if not given:
        return frozenset()
    known = set(codes[FACET_PARAMETERS[name]])
    unknown = sorted(given - known)
    if unknown:
        raise BadParameter(
            name, f"unknown code(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return frozenset(given)
