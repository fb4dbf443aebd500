"""What the public may see of a location. Every public output goes through this module.

A **confidential** location (a safe house, a VAW shelter) keeps its exact point and street
address in private columns. The public sees a community-level point and city + province only,
and names and other text without the street address (see "names and other text" below).

The public point rule (deterministic, so it cannot be averaged away like random jitter):

1. ``fsa``: the published centroid of its Forward Sortation Area (first three characters of the
   postal code), from the bundled gazetteer; an FSA is a community-level area shared by
   thousands of addresses;
2. ``place``: else the gazetteer point of its city/town in its province;
3. ``census_division``: else a representative point of its census division.

Non-confidential locations are public as they are (``exact``).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from caremap.normalise import fold, fsa_of
from caremap.reasons import N_, Reason

if TYPE_CHECKING:
    from caremap.gazetteer import Gazetteer
    from caremap.jurisdictions import Boundaries


class LocationRow(Protocol):
    """The ``location`` columns read here (an ORM object or a Core row)."""

    id: str
    name: str | None
    latitude: float
    longitude: float
    confidential: bool
    geocode_precision: str
    pruid: str | None
    cduid: str | None
    timezone: str | None


class AddressRow(Protocol):
    address_1: str
    address_2: str | None
    city: str
    state_province: str
    postal_code: str


class PublicPointRule(StrEnum):
    EXACT = "exact"
    FSA = "fsa"
    PLACE = "place"
    CENSUS_DIVISION = "census_division"


@dataclass(frozen=True)
class PublicPoint:
    """A point the public may see, (lat, lon) in EPSG:4326, and the rule that produced it."""

    latitude: float
    longitude: float
    rule: PublicPointRule


def public_point(
    *,
    latitude: float,
    longitude: float,
    confidential: bool,
    postal_code: str,
    city: str,
    province_abbr: str,
    cduid: str | None,
    gazetteer: Gazetteer,
    boundaries: Boundaries,
) -> PublicPoint:
    """The point published for a location at exact (lat, lon); see the module's rule."""
    if not confidential:
        return PublicPoint(latitude, longitude, PublicPointRule.EXACT)
    fsa = gazetteer.fsa(fsa_of(postal_code)) if postal_code else None
    if fsa is not None:
        return PublicPoint(fsa.latitude, fsa.longitude, PublicPointRule.FSA)
    place = gazetteer.place(city, province_abbr) if city else None
    if place is not None:
        return PublicPoint(place.latitude, place.longitude, PublicPointRule.PLACE)
    if cduid is None:
        raise ValueError(
            Reason(
                N_(
                    "a confidential location needs a postal code, a known place or a "
                    "census division to be published"
                )
            )
        )
    division = boundaries.census_divisions
    polygon = division.tree.geometries[list(division.codes).index(cduid)]
    point = polygon.representative_point()  # shapely: x = lon, y = lat
    return PublicPoint(point.y, point.x, PublicPointRule.CENSUS_DIVISION)


@dataclass(frozen=True)
class PublicAddress:
    """Street and postal code are empty for a confidential location."""

    street: str
    city: str
    province: str
    postal_code: str


@dataclass(frozen=True)
class PublicLocation:
    """A location as anyone may see it: (lat, lon) is the public point."""

    id: str
    name: str | None
    latitude: float
    longitude: float
    confidential: bool
    address: PublicAddress | None
    geocode_precision: str
    pruid: str | None
    cduid: str | None
    timezone: str | None
    accessibility: tuple[str, ...]


def public_location(
    location: LocationRow, address: AddressRow | None, accessibility: list[str]
) -> PublicLocation:
    """The only way a location (a ``location`` row, its address and accessibility notes)
    becomes public; a confidential one's name and notes without its address."""
    lines = private_lines(location, address)
    return PublicLocation(
        id=location.id,
        name=public_name(location.name, lines) if location.name else location.name,
        latitude=location.latitude,
        longitude=location.longitude,
        confidential=location.confidential,
        address=_public_address(address, location.confidential) if address else None,
        geocode_precision="community" if location.confidential else location.geocode_precision,
        pruid=location.pruid,
        cduid=location.cduid,
        timezone=location.timezone,
        accessibility=tuple(
            note for text in accessibility if (note := without_address(text, lines))
        ),
    )


def private_lines(location: LocationRow, address: AddressRow | None) -> tuple[str | None, ...]:
    """The address lines a confidential location's public text must not reveal."""
    if not location.confidential or address is None:
        return ()
    return (address.address_1, address.address_2)


def _public_address(address: AddressRow, confidential: bool) -> PublicAddress:
    if confidential:
        return PublicAddress("", address.city, address.state_province, "")
    street = ", ".join(part for part in (address.address_1, address.address_2) if part)
    return PublicAddress(street, address.city, address.state_province, address.postal_code)


# --- names and other text of a confidential location -----------------------------------------
#
# The rule: a text published with a confidential location (its name, its service's and its
# organization's names, descriptions, notes) must not say where it is. A text **reveals the
# address** when it holds, in any case, accents, punctuation or order, one of the location's
# address lines (``address_1``, ``address_2``) as a street address:
#
# - the street's name next to a street type, in any form ("Yates St", "Yates Street",
#   "rue Yates", "Lake Shore Blvd. E"), or next to a number ("1240 Yates", "1240, rue Yates");
# - the civic number on its own ("Our Place 1240", "1240 St."): with the public city and
#   postal area it leaves a handful of doors. Digits inside a longer number (a phone number,
#   "1240-1250") do not count on their own.
#
# A street's name alone, without a type or a number ("Yates House"), is not a street address:
# street names are also places, saints and people's names (Victoria, Kingston, Davenport).
#
# Editors are refused such a text (caremap.changes); the ETL and bulk import load the row and
# warn (etl.validate); every public output publishes the text without the address
# (:func:`without_address`), a name that is then empty giving way to a fallback
# (:func:`public_name`).

# A name published instead of one that says nothing once its address is taken out (stored
# data is the same in both languages, so the label says it in both).
CONFIDENTIAL_NAME = "Confidential location / Lieu confidentiel"
STREET_TYPES = frozenset(
    {
        "st", "street", "rue", "ave", "av", "avenue", "blvd", "boul", "boulevard", "bd", "rd",
        "road", "dr", "drive", "pl", "place", "ct", "court", "cres", "crescent", "cr", "way",
        "lane", "ln", "ch", "chemin", "gdns", "gardens", "pkwy", "parkway", "hwy", "highway",
        "terr", "terrace", "tr", "trail", "sq", "square", "cir", "circle", "crt", "rte",
        "route", "rang", "montee", "cote", "allee", "promenade", "prom", "impasse", "imp",
        "ruelle", "carre", "croissant", "sentier", "autoroute", "aut", "quai", "esplanade",
        "row", "gate", "grove", "hill", "hts", "heights", "mews", "walk", "close", "line",
    }
)  # fmt: skip
DIRECTIONS = frozenset(
    {"n", "s", "e", "w", "o", "ne", "nw", "se", "sw", "no", "so", "north", "south", "east",
     "west", "nord", "sud", "est", "ouest"}
)  # fmt: skip
UNIT_WORDS = frozenset(
    {"unit", "suite", "apt", "apartment", "app", "appt", "appartement", "bureau", "local",
     "room", "rm", "floor", "fl", "etage", "bldg", "building", "batiment", "porte"}
)  # fmt: skip
PARTICLES = frozenset({"de", "du", "des", "la", "le", "l", "d", "of", "the"})
SAINTS = frozenset({"st", "ste", "saint", "sainte"})
_WORD = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"(\d+)[a-z]?")
_LETTER = re.compile(r"[^\W\d_]")
_SEPARATOR = r"[\s,;:./|@#\-–—]"
_EMPTY_BRACKETS = re.compile(rf"\(\s*{_SEPARATOR}*\s*\)|\[\s*{_SEPARATOR}*\s*\]")
_BEFORE_BRACKET = re.compile(r"\s*[,;:/|@\-–—]+\s*(?=[(\[])")
_DANGLING_WORD = re.compile(
    r"\s*\b(?:at|on|au|aux|à|sur|near|pres|près)\s*(?=[,;:)\]\-–—]|$)", re.IGNORECASE
)
_REPEATED_SEPARATORS = re.compile(rf"\s*([,;:/|@\-–—])(?:{_SEPARATOR}*[,;:/|@\-–—])+\s*")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,;:])")
_LOOSE_ENDS = re.compile(
    rf"^(?:{_SEPARATOR}|\b(?:at|on|au|aux|à|sur|near|pres|près)\b)+"
    rf"|(?:{_SEPARATOR}|\b(?:at|on|au|aux|à|sur|near|pres|près|de|du|des)\b)+$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Token:
    word: str  # folded: lower case, no accents
    start: int
    end: int


@dataclass(frozen=True)
class Street:
    """A street address line as compared: its civic number's digits and its name's words
    (folded, a saint's abbreviation written "saint")."""

    civic: str | None
    name: tuple[str, ...]


def _tokens(text: str) -> list[_Token]:
    return [
        _Token(_folded(match.group()), match.start(), match.end()) for match in _WORD.finditer(text)
    ]


def _folded(word: str) -> str:
    """A word as compared: folded, without spaces (an ASCII word, letters and digits only, is
    only lower-cased by folding)."""
    return word.lower() if word.isascii() else fold(word).replace(" ", "")


def _same(word: str) -> str:
    return "saint" if word in SAINTS else word


def _is_number(word: str) -> bool:
    return _NUMBER.fullmatch(word) is not None


@functools.lru_cache(maxsize=4096)
def street_of(line: str) -> Street | None:
    """The street of an address line ("Suite 2, 1240 Yates St W", "5-1240, rue Yates"), or
    None for a line without one ("Suite 200")."""
    words = [t.word for t in _tokens(line)]
    kept: list[str] = []
    for index, word in enumerate(words):
        unit_number = index > 0 and words[index - 1] in UNIT_WORDS
        if word not in UNIT_WORDS and not unit_number:
            kept.append(word)
    numbers = list(itertools.takewhile(_is_number, kept))
    rest = kept[len(numbers) :]
    while rest and rest[-1] in DIRECTIONS:
        rest.pop()
    if len(rest) > 1 and rest[-1] in STREET_TYPES:
        rest.pop()
    elif rest and rest[0] in STREET_TYPES:
        rest = rest[1:]
    rest = list(itertools.dropwhile(lambda w: w in PARTICLES, rest))
    if not rest and len(numbers) > 1:  # "1240 3e Avenue": the last number is the name
        rest = [numbers.pop()]
    civic_match = _NUMBER.fullmatch(numbers[-1]) if numbers else None
    civic = civic_match.group(1) if civic_match else None
    if not rest and civic is None:
        return None
    return Street(civic, tuple(_same(w) for w in rest))


def _streets(lines: Iterable[str | None]) -> list[Street]:
    return [s for line in lines if line and (s := street_of(line)) is not None]


def address_spans(text: str, lines: Iterable[str | None]) -> list[tuple[int, int]]:
    """Where ``text`` reveals one of the address ``lines`` (see the rule above): sorted,
    non-overlapping (start, end) character spans; none when it does not."""
    streets = _streets(lines)
    if not streets:
        return []
    tokens = _tokens(text)
    spans = []
    for street in streets:
        spans += _street_spans(tokens, street) + _civic_spans(text, tokens, street)
    return _merged(text, tokens, sorted(spans))


def _street_spans(tokens: list[_Token], street: Street) -> list[tuple[int, int]]:
    """Token spans of the street's name next to a street type (after it, else before it:
    "Yates St", "rue Yates") or a number before it ("1240 Yates", "1240, rue Yates")."""
    words = [_same(t.word) for t in tokens]
    size = len(street.name)
    found = []
    for first in range(len(words) - size + 1) if size else ():
        if tuple(words[first : first + size]) != street.name:
            continue
        left, right, before, after = first, first + size - 1, first - 1, first + size
        marked = after < len(tokens) and tokens[after].word in STREET_TYPES
        if marked:
            right, after = after, after + 1
        else:
            while before >= 0 and tokens[before].word in PARTICLES:
                before -= 1
            if before >= 0 and tokens[before].word in STREET_TYPES:
                left, marked, before = before, True, before - 1
        while before >= 0 and (
            _is_number(tokens[before].word) or tokens[before].word in UNIT_WORDS
        ):
            left, marked, before = before, True, before - 1
        while marked and after < len(tokens) and tokens[after].word in DIRECTIONS:
            right, after = after, after + 1
        if marked:
            found.append((left, right))
    return found


def _civic_spans(text: str, tokens: list[_Token], street: Street) -> list[tuple[int, int]]:
    """Token spans of the civic number standing on its own, with a street type after it."""
    found = []
    for index, token in enumerate(tokens):
        number = _NUMBER.fullmatch(token.word)
        if number is None or number.group(1) != street.civic or _in_longer_number(text, token):
            continue
        right = index
        while right + 1 < len(tokens) and tokens[right + 1].word in STREET_TYPES | DIRECTIONS:
            right += 1
        found.append((index, right))
    return found


def _in_longer_number(text: str, token: _Token) -> bool:
    """The token is a part of "416-555-1240", "1240-1250", "12.40" …"""
    before, after = text[: token.start], text[token.end :]
    return bool(re.search(r"\d[-.]$", before) or re.match(r"[-.]\d", after))


def _merged(text: str, tokens: list[_Token], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token spans as character spans, overlapping ones merged; an abbreviation's full stop
    ("St.") goes with it."""
    merged: list[tuple[int, int]] = []
    for first, last in spans:
        start, end = tokens[first].start, tokens[last].end
        if text[end : end + 1] == "." and tokens[last].word in STREET_TYPES | DIRECTIONS:
            end += 1
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def reveals_address(text: str | None, lines: Iterable[str | None]) -> str | None:
    """The part of ``text`` that reveals one of the address ``lines`` (e.g. "1240 Yates St"),
    or None when it reveals none. The one test of this rule."""
    spans = address_spans(text or "", lines)
    return " … ".join(text[start:end] for start, end in spans) if text and spans else None


def without_address(text: str | None, lines: Iterable[str | None]) -> str | None:
    """``text`` with what reveals the address ``lines`` taken out and the punctuation left
    around it tidied ("Our Place Society - 1240 Yates St" → "Our Place Society"); None when
    nothing is left."""
    if not text:
        return text
    lines = tuple(lines)
    spans = address_spans(text, lines)
    if not spans:
        return text
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    tidy = _tidy(" ".join(pieces))
    if not _LETTER.search(tidy) or address_spans(tidy, lines):
        return None
    return tidy


def _tidy(text: str) -> str:
    """Text whose address was taken out without the brackets, separators and connecting
    words ("at", "au" …) left around the hole."""
    text = _EMPTY_BRACKETS.sub(" ", text)
    text = _DANGLING_WORD.sub("", " ".join(text.split()))
    text = _REPEATED_SEPARATORS.sub(lambda m: f" {m.group(1)} ", text)
    text = _BEFORE_BRACKET.sub(" ", text)
    text = " ".join(_LOOSE_ENDS.sub("", " ".join(text.split())).split())
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


def public_name(name: str, lines: Iterable[str | None], fallback: str = CONFIDENTIAL_NAME) -> str:
    """The name published for a name that may reveal the address ``lines``: itself, else
    itself without the address, else ``fallback``."""
    return without_address(name, lines) or fallback
