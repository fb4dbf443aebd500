"""Turn what a person types in the one search box into a point (WGS84 latitude, longitude).

:func:`locate` reads, in this order:

1. **Coordinates**, the whole text being two numbers in decimal degrees, latitude first:
   ``43.6532, -79.3832``, ``43.6532 -79.3832``, ``43.6532;-79.3832``. French decimal commas are
   read only when the two numbers are separated by ';', whitespace or a comma *followed by*
   whitespace (``43,6532; -79,3832``, ``43,6532 -79,3832``, ``43,6532, -79,3832``): a bare
   comma between them (``43,65,-79,38``) cannot be split safely and raises
   :class:`LocateError`. Hemisphere letters may replace the signs (``43.65° N, 79.38° W``; ``O`` for
   *ouest*), in either order. The point must be a valid one (latitude -90 to 90, longitude
   -180 to 180) and lie in or near Canada; otherwise :class:`LocateError` says why, and
   suggests the swapped or west-signed pair when that one is in Canada.
2. **A full postal code** anywhere in the text (``200 King St W, Toronto ON M5V 2T6``,
   ``m5v2t6``). A code that is well formed but not in the gazetteer counts as its FSA.
3. **An FSA** (``M5V``): the whole text, or one in a longer text. A rural FSA (second
   character ``0``, e.g. ``P0V``) covers a vast area, so a place named in the same text wins
   over it; an urban FSA wins over a place (it is the smaller area).
4. **A place** with an optional province at the end (``Kenora, ON``, ``montreal qc``,
   ``Trois-Rivières (Québec)``): first the whole text as a place name, then the place name
   nearest the end of the text (``123 Main St, Kenora ON``). A name that follows a number
   (``55 Hope St``) is taken for a street and skipped. Without a province, every province is
   searched and the most populous place wins; the others go to ``alternatives``. A province
   named in the text (or implied by a postal code's first letter) is never overridden.

Matching is case-, accent- and punctuation-insensitive throughout. Text that is only numbers
but not a readable coordinate pair raises :class:`LocateError`; anything else that matches
nothing gives None. There is no street-level geocoding. Only the last :data:`MAX_TEXT`
characters of a longer text are read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from caremap.gazetteer import Gazetteer, GazetteerPoint, PlacePoint, place_key
from caremap.normalise import (
    NormaliseError,
    fold,
    normalise_postal_code,
    normalise_province,
    postal_code_province,
)
from caremap.reasons import N_, Reason

MAX_ALTERNATIVES = 5
MAX_TEXT = 300
"""Only the last this many characters of a longer text are read (a city or postal code ends an
address); this also bounds the time a call takes."""
# Generous bounds of Canada (and the border strip of its neighbours), (latitude, longitude).
CANADA_LATITUDES = (40.0, 85.0)
CANADA_LONGITUDES = (-145.0, -50.0)

# A place's name with its province or territory, one template each: French abbreviates them
# its own way (Bureau de la traduction: "Kenora (Ont.)"). Its label says what it is, "place:
# Kenora, ON" (_PLACE_KIND).
_PLACE_KIND = N_("place: %(place)s")
_PLACE_LABELS = {
    "NL": N_("%(place)s, NL"),
    "PE": N_("%(place)s, PE"),
    "NS": N_("%(place)s, NS"),
    "NB": N_("%(place)s, NB"),
    "QC": N_("%(place)s, QC"),
    "ON": N_("%(place)s, ON"),
    "MB": N_("%(place)s, MB"),
    "SK": N_("%(place)s, SK"),
    "AB": N_("%(place)s, AB"),
    "BC": N_("%(place)s, BC"),
    "YT": N_("%(place)s, YT"),
    "NT": N_("%(place)s, NT"),
    "NU": N_("%(place)s, NU"),
}

_DASHES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-"})
_NUMBER_DOT = r"[+-]?\d{1,3}(?:\.\d+)?"
_NUMBER_COMMA = r"[+-]?\d{1,3}(?:,\d+)?"
_HEMISPHERE = r"\s*°?\s*(?P<{}>[NSEWO](?![A-Z]))?"


def _pair_pattern(number: str, separator: str) -> re.Pattern[str]:
    first = f"(?P<a>{number}){_HEMISPHERE.format('ha')}"
    second = f"(?P<b>{number}){_HEMISPHERE.format('hb')}"
    return re.compile(rf"{first}\s*{separator}\s*{second}", re.IGNORECASE)


_COORDINATE_PAIRS = (
    _pair_pattern(_NUMBER_DOT, r"(?:[,;]|\s)"),
    _pair_pattern(_NUMBER_COMMA, r"(?:;|\s|,(?=\s))"),
)
# Text that can only have been meant as coordinates (or a bare number): digits, separators,
# signs, degree/minute/second marks and hemisphere letters.
_NUMERIC_TEXT = re.compile(r"(?=.*\d)[\d\s.,;:+\-°'\"′″NSEWO]+", re.IGNORECASE | re.DOTALL)
_POSTAL_CODE = re.compile(r"(?<![A-Z0-9])([A-Z]\d[A-Z])[\s-]?(\d[A-Z]\d)(?![A-Z0-9])")
# An FSA alone or starting a postal code (group 1 is the FSA).
_FSA = re.compile(r"(?<![A-Z0-9])([A-Z]\d[A-Z])(?:[\s-]?\d[A-Z]\d)?(?![A-Z0-9])")
_SEGMENTS = re.compile(r"[,;/\n]+")
# The longest span of words tried as a place name inside a longer text (the longest main
# name in the gazetteer has 9 words; longer alternate names match only as the whole text).
_MAX_NAME_WORDS = 9
# Alternate names shorter than this ("YQK", "QC") are codes, not names: never matched.
_MIN_ALTERNATE_NAME = 4
_MAX_PROVINCE_WORDS = 4  # "Île-du-Prince-Édouard", "Terre-Neuve-et-Labrador"
_ECHO_LIMIT = 40


class LocatePrecision(StrEnum):
    """What a located point stands for, most precise first.

    ``postal_code``, ``fsa`` and ``place`` have the values of
    :class:`caremap.geocoder.Precision` (``LocatePrecision.FSA == Precision.FSA``).
    """

    COORDINATES = "coordinates"  # typed by the person
    POSTAL_CODE = "postal_code"
    FSA = "fsa"
    PLACE = "place"


class LocateError(ValueError):
    """Text recognisable as coordinates but unusable. Raised with a :class:`Reason`, safe to
    show: ``str(error)`` is its English text, :func:`caremap.reasons.reason_of` the reason."""


@dataclass(frozen=True)
class Located:
    """A point for the search box's text and what was matched, for showing the person.

    ``label``, a :class:`Reason`: "postal code M5V 2T6", "FSA M5V (Downtown Toronto)",
    "place: Kenora, ON" (in French "lieu : Kenora (Ont.)"), "coordinates 43.6532, -79.3832"
    (numbers as typed, with a decimal point in both languages). ``alternatives`` names other
    places the text could mean, "Richmond, QC", at most :data:`MAX_ALTERNATIVES`; each one,
    typed back into :func:`locate`, gives that place.
    """

    latitude: float
    longitude: float
    precision: LocatePrecision
    label: Reason
    alternatives: tuple[str, ...] = ()

    @property
    def origin(self) -> Reason:
        """What a search starts from, to follow "Searching from": the label, but a place by its
        name alone ("Kenora, ON", in French "Kenora (Ont.)"), as "place:" would say it twice."""
        if self.precision is not LocatePrecision.PLACE:
            return self.label
        name: Reason = self.label.values["place"]
        return name


def locate(text: str, gazetteer: Gazetteer) -> Located | None:
    """The point for ``text`` (coordinates, postal code, FSA or place; see the module), or None.

    Raises :class:`LocateError` for coordinates that are out of range or outside Canada and
    for text made only of numbers that is not a coordinate pair. Blank text gives None.
    """
    text = text.strip()[-MAX_TEXT:].strip().translate(_DASHES)
    if not text:
        return None
    coordinates = _coordinates(text)
    if coordinates is not None:
        return coordinates
    upper = text.upper()
    postal = _by_postal_code(upper, gazetteer)
    if postal is not None:
        return postal
    fsa, fsa_point = _by_fsa(upper, gazetteer)
    if fsa_point is not None and (upper == fsa or fsa[1] != "0"):
        return fsa_point
    if _NUMERIC_TEXT.fullmatch(text) and not fsa:
        shown = text[:_ECHO_LIMIT]
        raise LocateError(
            Reason(
                N_(
                    '"%(text)s" is not a place, postal code or pair of coordinates. Type '
                    "coordinates as latitude, longitude in decimal degrees, e.g. 43.6532, "
                    "-79.3832."
                ),
                text=shown,
            )
        )
    without_codes = _FSA.sub(" ", upper)
    place = _by_place(without_codes, _implied_province(upper), gazetteer)
    return place or fsa_point


# --- coordinates ------------------------------------------------------------------------------

_LATITUDE_LETTERS = ("N", "S")
_LONGITUDE_LETTERS = ("E", "W", "O")


def _coordinates(text: str) -> Located | None:
    for pattern in _COORDINATE_PAIRS:
        match = pattern.fullmatch(text)
        if match:
            return _checked_coordinates(match)
    return None


def _checked_coordinates(match: re.Match[str]) -> Located:
    first_letter, second_letter = (match["ha"] or "").upper(), (match["hb"] or "").upper()
    if (
        first_letter
        and second_letter
        and (first_letter in _LATITUDE_LETTERS) == (second_letter in _LATITUDE_LETTERS)
    ):
        raise LocateError(Reason(N_("Give one latitude (N or S) and one longitude (E or W).")))
    first = _signed(match["a"], first_letter)
    second = _signed(match["b"], second_letter)
    if first_letter in _LONGITUDE_LETTERS or second_letter in _LATITUDE_LETTERS:
        first, second = second, first  # longitude typed first, as its letter says
    latitude, longitude = float(first), float(second)
    if not -90 <= latitude <= 90:
        problem = Reason(
            N_("Latitude %(latitude)s is out of range: it must be between -90 and 90."),
            latitude=first,
        )
        raise LocateError(_hinted(problem, first, second))
    if not -180 <= longitude <= 180:
        raise LocateError(
            Reason(
                N_("Longitude %(longitude)s is out of range: it must be between -180 and 180."),
                longitude=second,
            )
        )
    shown = f"{first}, {second}"
    if not _in_canada(latitude, longitude):
        problem = Reason(N_("%(point)s is outside Canada."), point=shown)
        raise LocateError(_hinted(problem, first, second))
    return Located(
        latitude,
        longitude,
        LocatePrecision.COORDINATES,
        Reason(N_("coordinates %(point)s"), point=shown),
    )


def _signed(number: str, letter: str) -> str:
    """The number as typed, with a decimal point, no '+', and the hemisphere letter's sign."""
    number = number.replace(",", ".").removeprefix("+")
    if not letter:
        return number
    if number.startswith("-"):
        raise LocateError(
            Reason(
                N_("Give either a minus sign or a hemisphere letter, not both: %(typed)s."),
                typed=f"{number} {letter}",
            )
        )
    return f"-{number}" if letter in ("S", "W", "O") else number


def _in_canada(latitude: float, longitude: float) -> bool:
    return (
        CANADA_LATITUDES[0] <= latitude <= CANADA_LATITUDES[1]
        and CANADA_LONGITUDES[0] <= longitude <= CANADA_LONGITUDES[1]
    )


def _hinted(problem: Reason, first: str, second: str) -> Reason:
    """``problem`` followed by the pair probably meant, when one is in Canada."""
    negated = second if second.startswith("-") else f"-{second}"
    for latitude, longitude, hint in (
        (first, negated, N_("Longitudes in Canada are negative (west): did you mean %(meant)s?")),
        (second, first, N_("Latitude comes first: did you mean %(meant)s?")),
    ):
        if (latitude, longitude) != (first, second) and _in_canada(
            float(latitude), float(longitude)
        ):
            meant = Reason(hint, meant=f"{latitude}, {longitude}")
            return Reason(N_("%(problem)s %(hint)s"), problem=problem, hint=meant)
    return problem


# --- postal codes and FSAs --------------------------------------------------------------------


def _by_postal_code(upper: str, gazetteer: Gazetteer) -> Located | None:
    """The last postal code in the text that the gazetteer knows."""
    for match in reversed(list(_POSTAL_CODE.finditer(upper))):
        try:
            code = normalise_postal_code(match[1] + match[2])
        except NormaliseError:
            continue
        point = gazetteer.postal_code(code)
        if point is not None:
            label = Reason(N_("postal code %(code)s"), code=code)
            return _located(point, LocatePrecision.POSTAL_CODE, label)
    return None


def _by_fsa(upper: str, gazetteer: Gazetteer) -> tuple[str, Located | None]:
    """(the FSA of the last FSA or postal code in the text, else ''; its point if known)."""
    found = _FSA.findall(upper)
    if not found:
        return "", None
    return found[-1], _fsa_located(found[-1], gazetteer)


def _fsa_located(fsa: str, gazetteer: Gazetteer) -> Located | None:
    point = gazetteer.fsa(fsa)
    if point is None:
        return None
    area = point.label.split(" (")[0]  # "Downtown Toronto (CN Tower / …)": the first part
    if area:
        label = Reason(N_("FSA %(fsa)s (%(area)s)"), fsa=fsa, area=area)
    else:
        label = Reason(N_("FSA %(fsa)s"), fsa=fsa)
    return _located(point, LocatePrecision.FSA, label)


def _implied_province(upper: str) -> str:
    """The province the first letter of the last postal code or FSA in the text implies."""
    for fsa in reversed(_FSA.findall(upper)):
        provinces = postal_code_province(fsa)
        if len(provinces) == 1:
            return provinces.pop()
    return ""


# --- places -----------------------------------------------------------------------------------


def _by_place(text: str, implied_province: str, gazetteer: Gazetteer) -> Located | None:
    words, segments = _words(text)
    if words[-1:] == ["canada"]:
        words, segments = words[:-1], segments[:-1]
    if not words:
        return None
    province, name_words = _trailing_province(words)
    if province:
        found = (
            _named(" ".join(name_words), province, gazetteer)
            or _named(" ".join(words), "", gazetteer)
            or _rightmost(name_words, segments, province, gazetteer)
        )
    else:
        found = _named(" ".join(words), implied_province, gazetteer) or _rightmost(
            words, segments, implied_province, gazetteer
        )
    if not found:
        return None
    best = found[0]
    label_en = _place_en(best)
    alternatives: list[str] = []
    for other in found[1:]:
        name = _place_en(other)
        if name != label_en and name not in alternatives:
            alternatives.append(name)
    name = Reason(_PLACE_LABELS[best.province_abbr], place=best.label)
    label = Reason(_PLACE_KIND, place=name)
    return _located(best, LocatePrecision.PLACE, label, tuple(alternatives[:MAX_ALTERNATIVES]))


def _named(name: str, province: str, gazetteer: Gazetteer) -> list[PlacePoint]:
    """Places called ``name``; alternate names count only from 4 characters ("QC" is no city)."""
    return gazetteer.places_named(name, province, alternate_names=len(name) >= _MIN_ALTERNATE_NAME)


def _words(text: str) -> tuple[list[str], list[int]]:
    """The folded words of the text and, for each, the index of its comma-separated segment."""
    words: list[str] = []
    segments: list[int] = []
    for index, segment in enumerate(_SEGMENTS.split(text)):
        for word in fold(segment).split():
            words.append(word)
            segments.append(index)
    return words, segments


def _trailing_province(words: list[str]) -> tuple[str, list[str]]:
    """(province named by the last words, the words before it), else ('', words).

    At least one word must remain before it. Numeric province codes ("24") are not read here:
    they are more likely house numbers.
    """
    for count in range(min(_MAX_PROVINCE_WORDS, len(words) - 1), 0, -1):
        tail = words[-count:]
        if any(_has_digit(word) for word in tail):
            continue
        province = _province_named(" ".join(tail))
        if province:
            return province, words[:-count]
    return "", words


@functools.lru_cache(maxsize=4096)
def _province_named(words: str) -> str:
    try:
        return normalise_province(words)
    except NormaliseError:
        return ""


@functools.lru_cache(maxsize=16384)
def _word_key(word: str) -> str:
    return place_key(word)


def _rightmost(
    words: list[str], segments: list[int], province: str, gazetteer: Gazetteer
) -> list[PlacePoint]:
    """The places named by the span of words ending nearest the end (longest span first)."""
    keys = [_word_key(word) for word in words]  # "st" → "saint", as in the gazetteer's keys
    known = gazetteer.place_keys
    for start, end in _spans(words, segments):
        key = " ".join(keys[start:end])
        if key in known and (found := _named(key, province, gazetteer)):
            return found
    return []


def _spans(words: list[str], segments: list[int]) -> Iterator[tuple[int, int]]:
    """(start, end) spans of up to 9 words within one segment, holding no number and not just
    after one ("55 Hope St": a street); by end, last first, then by length, longest first."""
    numbers = [_has_digit(word) for word in words]
    for end in range(len(words), 0, -1):
        if numbers[end - 1]:
            continue
        start = end - 1
        while (
            start > 0
            and end - start < _MAX_NAME_WORDS
            and segments[start - 1] == segments[end - 1]
            and not numbers[start - 1]
        ):
            start -= 1
        after_number = start > 0 and segments[start - 1] == segments[start] and numbers[start - 1]
        for first in range(start + after_number, end):
            yield first, end


def _has_digit(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


def _place_en(point: GazetteerPoint) -> str:
    return f"{point.label}, {point.province_abbr}"


def _located(
    point: GazetteerPoint,
    precision: LocatePrecision,
    label: Reason,
    alternatives: tuple[str, ...] = (),
) -> Located:
    return Located(point.latitude, point.longitude, precision, label, alternatives)
