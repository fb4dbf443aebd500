"""Pure normalisation of raw directory fields: provinces, postal codes, phones, names, folding.

Nothing here does I/O. Every ``normalise_*`` function returns a canonical form or raises
:class:`NormaliseError` with a message that is safe to show to the person who supplied the data.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import phonenumbers

from caremap.reasons import N_, Reason


class NormaliseError(ValueError):
    """A raw value that cannot be turned into its canonical form."""


# --- text folding -----------------------------------------------------------------------------

# Letters that NFKD does not decompose into a base letter plus accents.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d"})
_NON_ALNUM = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Fold text for accent- and punctuation-insensitive matching.

    Lower-cases, strips accents (NFKD), turns punctuation, hyphens and apostrophes into spaces
    and collapses whitespace: ``fold("Trois-Rivières") == fold("trois rivieres")``.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", bare).strip()


def _compact(text: str) -> str:
    """``fold`` without any spaces: ``"B.C."`` and ``"b c"`` both give ``"bc"``."""
    return fold(text).replace(" ", "")


# --- provinces and territories ----------------------------------------------------------------


@dataclass(frozen=True)
class Province:
    """A province or territory: postal abbreviation, Statistics Canada PRUID and both names."""

    abbr: str
    pruid: str
    name_en: str
    name_fr: str


PROVINCES: Mapping[str, Province] = MappingProxyType(
    {
        p.abbr: p
        for p in (
            Province("NL", "10", "Newfoundland and Labrador", "Terre-Neuve-et-Labrador"),
            Province("PE", "11", "Prince Edward Island", "Île-du-Prince-Édouard"),
            Province("NS", "12", "Nova Scotia", "Nouvelle-Écosse"),
            Province("NB", "13", "New Brunswick", "Nouveau-Brunswick"),
            Province("QC", "24", "Quebec", "Québec"),
            Province("ON", "35", "Ontario", "Ontario"),
            Province("MB", "46", "Manitoba", "Manitoba"),
            Province("SK", "47", "Saskatchewan", "Saskatchewan"),
            Province("AB", "48", "Alberta", "Alberta"),
            Province("BC", "59", "British Columbia", "Colombie-Britannique"),
            Province("YT", "60", "Yukon", "Yukon"),
            Province("NT", "61", "Northwest Territories", "Territoires du Nord-Ouest"),
            Province("NU", "62", "Nunavut", "Nunavut"),
        )
    }
)
"""The 13 provinces and territories, keyed by 2-letter postal abbreviation."""

# Common English and French abbreviations and short forms, already compacted.
_PROVINCE_ALIASES = {
    "NL": ("nf", "nfld", "newfoundland", "newfoundlandlabrador", "tnl", "terreneuve"),
    "PE": ("pei", "ipe"),
    "NS": ("ne",),
    "NB": (),
    "QC": ("que", "pq"),
    "ON": ("ont",),
    "MB": ("man",),
    "SK": ("sask",),
    "AB": ("alta", "alb"),
    "BC": ("cb",),
    "YT": ("yk", "yuk", "yukonterritory"),
    "NT": ("nwt", "tno"),
    "NU": ("nvt",),
}


def _province_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for abbr, province in PROVINCES.items():
        spellings = (abbr, province.pruid, province.name_en, province.name_fr)
        for key in (*map(_compact, spellings), *_PROVINCE_ALIASES[abbr]):
            keys[key] = abbr
    return keys


_PROVINCE_KEYS = _province_keys()


def normalise_province(raw: str) -> str:
    """Return the 2-letter abbreviation of a province or territory, or '' for a blank value.

    Accepts abbreviations in any case and with dots ("on", "B.C.", "Qué", "PEI", "T.N.-O."),
    English and French names with or without accents and hyphens ("quebec",
    "Colombie Britannique", "Terre-Neuve-et-Labrador") and PRUID codes ("24").
    """
    if not raw.strip():
        return ""
    try:
        return _PROVINCE_KEYS[_compact(raw)]
    except KeyError:
        raise NormaliseError(
            Reason(N_("%(value)s is not a Canadian province or territory"), value=repr(raw.strip()))
        ) from None


# --- postal codes -----------------------------------------------------------------------------

_POSTAL_CODE = re.compile(r"[ABCEGHJKLMNPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d")
_FSA = re.compile(r"[ABCEGHJKLMNPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]")
_SEPARATORS = re.compile(r"[\s\-]+")

# First letter of a postal code → the provinces it can belong to (X is shared by NT and NU).
_FIRST_LETTER_PROVINCES = {
    "A": {"NL"}, "B": {"NS"}, "C": {"PE"}, "E": {"NB"},
    "G": {"QC"}, "H": {"QC"}, "J": {"QC"},
    "K": {"ON"}, "L": {"ON"}, "M": {"ON"}, "N": {"ON"}, "P": {"ON"},
    "R": {"MB"}, "S": {"SK"}, "T": {"AB"}, "V": {"BC"}, "X": {"NT", "NU"}, "Y": {"YT"},
}  # fmt: skip


def _squash(raw: str) -> str:
    return _SEPARATORS.sub("", raw).upper()


def normalise_postal_code(raw: str) -> str:
    """Return a postal code as ``A1A 1A1``, or '' for a blank value.

    Spaces and hyphens are ignored (" m5v-2t6 " → "M5V 2T6"). Canada Post rules are checked:
    the first letter is one of ABCEGHJKLMNPRSTVXY and D, F, I, O, Q, U never occur.
    """
    squashed = _squash(raw)
    if not squashed:
        return ""
    if not _POSTAL_CODE.fullmatch(squashed):
        raise NormaliseError(
            Reason(N_("%(value)s is not a Canadian postal code"), value=repr(raw.strip()))
        )
    return f"{squashed[:3]} {squashed[3:]}"


def normalise_fsa(raw: str) -> str:
    """Return the forward sortation area (first three characters) of a full or partial code.

    "m5v", "M5V 2T6" and even the damaged "M5V 2TX" give "M5V"; raises when those three
    characters are not a valid FSA.
    """
    fsa = _squash(raw)[:3]
    if not _FSA.fullmatch(fsa):
        raise NormaliseError(
            Reason(N_("%(value)s does not start with a Canadian FSA"), value=repr(raw.strip()))
        )
    return fsa


def fsa_of(postal: str) -> str:
    """Return the FSA of a valid postal code ("M5V 2T6" → "M5V"), or '' for a blank value."""
    return normalise_postal_code(postal)[:3]


def postal_code_province(postal: str) -> set[str]:
    """Return the province abbreviations a postal code or FSA can belong to (X → {NT, NU}).

    Only the first letter is used; an empty set means blank or not a Canadian first letter.
    """
    squashed = _squash(postal)
    return set(_FIRST_LETTER_PROVINCES.get(squashed[:1], ()))


# --- phone numbers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    """One phone number found in free text.

    ``number`` is E.164 ("+14169698510"); ``display`` is the national format written the way
    Canadian directories do ("416-969-8510 ext. 22"); ``description`` is the text that came
    before the number in its segment ("Intake").
    """

    number: str
    extension: str
    description: str
    display: str


# A separator of numbers: ";", "|" or a line break, not within parentheses.
_PHONE_SEGMENTS = re.compile(r"[;|\n](?![^()]*\))")
# "poste" (French for extension) is swapped for an English marker of the same length, so the
# match offsets still point into the original text.
_POSTE = re.compile(r"\bposte\b", re.IGNORECASE)
_LONG_DIGIT_RUN = re.compile(r"\d(?:[\s().\-]*\d){6,}")
_DESCRIPTION_TRIM = " \t:-–—,."
_LEADING_CONJUNCTION = re.compile(r"^(?:or|ou|and|et)\b\W*", re.IGNORECASE)
_AREA_CODE_PARENS = re.compile(r"^\((\d{3})\) ")
_PARENTHESIS = re.compile(r"\(([^()]*)\)")
# A segment that is only a ten-digit number ("416-555-0142", "(416) 555 0142") needs no matcher.
_BARE_NUMBER = re.compile(r"(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}")
# Numbers dialled as they are anywhere in a province, with no area code: N-1-1 services
# ("2-1-1"), the suicide crisis line "9-8-8" and 310- numbers ("310-1818").
_SHORT_NUMBER = re.compile(r"[2-9][\s-]?1[\s-]?1|9[\s-]?8[\s-]?8|310[\s-]?\d{4}")
# A local number printed without its area code ("422-4240"): kept as printed, never dialled
# (an area code would be a guess).
_LOCAL_NUMBER = re.compile(r"(?<![\d-])[2-9]\d{2}-\d{4}(?![\d-])")
# A toll-free number written with letters ("1-833-MMI-FIND", "1-833-577-SANE").
_LETTERED_NUMBER = re.compile(r"(?<![\w-])1?[\s-]?8\d\d[\s-][\dA-Z-]*[A-Z][\dA-Z-]*(?![\w-])")
_KEYPAD = str.maketrans(
    {
        letter: digit
        for digit, letters in zip(
            "23456789", ("ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV", "WXYZ"), strict=True
        )
        for letter in letters
    }
)


def normalise_phones(raw: str) -> list[Phone]:
    """Find every Canadian phone number in free text, e.g. "Admin 416-969-8510 ; Intake …".

    The text is split into segments on ';', '|' and newlines outside parentheses. Each segment
    must hold at least one number, and no run of 7 or more digits may remain in the text before
    a number; otherwise :class:`NormaliseError` names the offending fragment. A number's
    description is the text before it ("or"/"ou"/"and"/"et" dropped) and, after it, the text up
    to the next number ("main office 250-953-4970 (2009)" gives "main office (2009)"); a
    number inside the parentheses after another is part of that one's description, and
    parentheses that restate the number ("(8477)" after "1-800-222-TIPS") are dropped. "poste"
    is read as an extension marker. A short number ("2-1-1", "9-8-8", "310-1818") is kept as
    dialled ("211"), a local number without its area code ("422-4240") as printed, a lettered
    toll-free number as its digits. Blank text gives [].
    """
    phones: list[Phone] = []
    for segment in _segments(raw):
        phones.extend(_segment_phones(segment))
    return phones


def _segments(raw: str) -> list[str]:
    """``raw`` split on ';', '|' and newlines outside parentheses, stripped, blanks left out."""
    return [segment.strip() for segment in _PHONE_SEGMENTS.split(raw) if segment.strip()]


@functools.lru_cache(maxsize=4096)
def _segment_phones(segment: str) -> tuple[Phone, ...]:
    """The numbers in one segment (cached: an intake line repeats across many sites)."""
    if _SHORT_NUMBER.fullmatch(segment):
        return (_short_phone(segment),)
    if _BARE_NUMBER.fullmatch(segment):
        number = phonenumbers.parse(segment, "CA")
        if phonenumbers.is_valid_number_for_region(number, "CA"):
            return (_phone(number),)
    found = _numbers(segment)
    if not found:
        raise NormaliseError(Reason(N_("no valid phone number in %(value)s"), value=repr(segment)))
    phones: list[Phone] = []
    cursor = 0
    for start, end, phone in found:
        between, through = segment[cursor:start], segment[cursor:end]
        if phones and through.count("(") > through.count(")"):
            continue  # within the parentheses after the previous number: part of its note
        before = between
        if phones:
            note, before = _leading_note(between)
            phones[-1] = _with_note(phones[-1], note)
        _reject_digits(before)
        description = _LEADING_CONJUNCTION.sub("", _trim(before))
        phones.append(dataclasses.replace(phone, description=description))
        cursor = end
    tail = segment[cursor:]
    _reject_digits(_PARENTHESIS.sub("", tail))
    phones[-1] = _with_note(phones[-1], tail)
    return tuple(phones)


def _numbers(segment: str) -> list[tuple[int, int, Phone]]:
    """The numbers in ``segment`` by position: (start, end, phone without description)."""
    text = _POSTE.sub("ext. ", segment)
    found = [
        (match.start, match.end, _phone(match.number))
        for match in phonenumbers.PhoneNumberMatcher(text, "CA")
    ]
    for match in _LETTERED_NUMBER.finditer(text):
        number = phonenumbers.parse(match.group(), "CA")
        if phonenumbers.is_valid_number_for_region(number, "CA"):
            found.append((match.start(), match.end(), _phone(number)))
    found += [
        (match.start(), match.end(), _local_phone(match.group()))
        for match in _LOCAL_NUMBER.finditer(text)
    ]
    found.sort(key=lambda item: (item[0], -item[1]))
    kept: list[tuple[int, int, Phone]] = []
    for item in found:
        if not kept or item[0] >= kept[-1][1]:
            kept.append(item)
    return kept


def _leading_note(text: str) -> tuple[str, str]:
    """(the parenthesised note at the start of ``text``, the rest), or ("", text)."""
    stripped = text.lstrip()
    if not stripped.startswith("("):
        return "", text
    depth = 0
    for index, char in enumerate(stripped):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return stripped[: index + 1], stripped[index + 1 :]
    return "", text


def _with_note(phone: Phone, text: str) -> Phone:
    """``phone`` with ``text`` (what follows it) added to its description, less parentheses
    that restate the number."""
    note = _PARENTHESIS.sub(
        lambda group: "" if _restates(group[1], phone.number) else group[0], text
    ).strip(_DESCRIPTION_TRIM)
    if not note:
        return phone
    if _PARENTHESIS.fullmatch(note):
        note = note[1:-1].strip()
    description = f"{phone.description} ({note})" if phone.description else note
    return dataclasses.replace(phone, description=description)


def _trim(text: str) -> str:
    """``text`` without surrounding punctuation, nor a parenthesis that it does not open or
    close ("(toll-free " gives "toll-free", "outreach (Sackville) " stays whole)."""
    text = text.strip(_DESCRIPTION_TRIM)
    if text.startswith("(") and text.count("(") > text.count(")"):
        text = text[1:].strip(_DESCRIPTION_TRIM)
    if text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].strip(_DESCRIPTION_TRIM)
    return text


def _restates(text: str, number: str) -> bool:
    """Whether ``text`` ("8477", "1-855-554-HEAL") spells the end of ``number``."""
    digits = re.sub(r"\D", "", text.upper().translate(_KEYPAD))
    return len(digits) >= 4 and number.endswith(digits)


def _short_phone(segment: str) -> Phone:
    """A number dialled without an area code: stored as dialled ("211"), shown as written."""
    digits = re.sub(r"\D", "", segment)
    display = "-".join(digits) if len(digits) == 3 else f"{digits[:3]}-{digits[3:]}"
    return Phone(number=digits, extension="", description="", display=display)


def _local_phone(printed: str) -> Phone:
    """A local number without its area code: stored and shown as printed ("422-4240")."""
    return Phone(number=printed, extension="", description="", display=printed)


def is_dialable(number: str) -> bool:
    """Whether a stored number can be dialled as it is (a ``tel:`` link): not a local number
    printed without its area code."""
    return not _LOCAL_NUMBER.fullmatch(number)


def _reject_digits(leftover: str) -> None:
    if found := _LONG_DIGIT_RUN.search(leftover):
        raise NormaliseError(
            Reason(N_("%(value)s is not a valid phone number"), value=repr(found.group()))
        )


def _phone(number: phonenumbers.PhoneNumber) -> Phone:
    extension = number.extension or ""
    return Phone(
        number=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        extension=extension,
        description="",
        display=_national(number) + (f" ext. {extension}" if extension else ""),
    )


@functools.lru_cache(maxsize=8192)
def display_phone(e164: str) -> str:
    """A stored E.164 number ("+14169698510") or short number ("211") as people write it
    here ("416-969-8510", "2-1-1")."""
    if _SHORT_NUMBER.fullmatch(e164):
        return _short_phone(e164).display
    if not is_dialable(e164):
        return e164
    return _national(phonenumbers.parse(e164, "CA"))


def _national(number: phonenumbers.PhoneNumber) -> str:
    """National format without the extension, area code not in parentheses."""
    bare = phonenumbers.PhoneNumber(
        country_code=number.country_code, national_number=number.national_number
    )
    national = phonenumbers.format_number(bare, phonenumbers.PhoneNumberFormat.NATIONAL)
    return _AREA_CODE_PARENS.sub(r"\1-", national)


# --- organisation and site names --------------------------------------------------------------

# Short linking words written in lower case inside a recased name (except as its first word).
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
    | {"à", "au", "aux", "de", "des", "du", "en", "et", "la", "le", "les", "par", "pour", "sur"}
)
# Letters before an apostrophe that are French elisions: "D'HÉBERGEMENT" → "d'Hébergement".
_ELISIONS = frozenset({"c", "d", "j", "l", "m", "n", "qu", "s", "t"})
# Acronyms common in Canadian social-service names that contain vowels (see _keeps_capitals).
_ACRONYMS = frozenset(
    {"AIDS", "BIPOC", "CAMH", "CAS", "CAVAC", "CALACS", "CISSS", "CIUSSS"}
    | {"CMHA", "COSTI", "HIV", "PEI", "SOS", "VAW", "YMCA", "YWCA"}
)
_APOSTROPHES = ("'", "’")
_ABBREVIATIONS = frozenset({"DR", "JR", "MR", "MRS", "MS", "MT", "SR", "ST", "STE"})
_VOWELS = frozenset("AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŸ")
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_WHITESPACE = re.compile(r"\s+")


def normalise_name(raw: str) -> str:
    """Tidy an organisation or site name: NFC, trimmed, single spaces; recase it if ALL CAPS.

    Names with any lower-case letter keep their casing. An all-caps name is recased word by
    word: each letter run is capitalised ("TROIS-RIVIÈRES" → "Trois-Rivières"), except that
    small English/French linking words and French elisions become lower case unless they start
    the name, and a word keeps its capitals when it contains a digit, is a listed acronym
    (YMCA, YWCA, CAMH …) or has no vowel (CLSC, LGBTQ+, TSSS) and is not an abbreviation
    such as ST or DR.
    """
    name = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    if name.upper() != name or name.lower() == name:
        return name
    return " ".join(_recase_word(word, first=i == 0) for i, word in enumerate(name.split(" ")))


def _keeps_capitals(word: str) -> bool:
    letters = "".join(_LETTER_RUN.findall(word))
    if any(ch.isdigit() for ch in word) or letters in _ACRONYMS:
        return True
    return len(letters) >= 2 and letters not in _ABBREVIATIONS and not _VOWELS & set(letters)


def _recase_word(word: str, *, first: bool) -> str:
    if _keeps_capitals(word):
        return word

    def recase(run: re.Match[str]) -> str:
        lower = run.group().lower()
        starts_name = first and run.start() == 0
        elided = lower in _ELISIONS and word[run.end() : run.end() + 1] in _APOSTROPHES
        possessive = lower == "s" and word[run.start() - 1 : run.start()] in _APOSTROPHES
        if possessive or (not starts_name and (elided or lower in _SMALL_WORDS)):
            return lower
        return lower.capitalize()

    return _LETTER_RUN.sub(recase, word)
