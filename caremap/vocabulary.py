"""The common terminology: a bilingual controlled vocabulary and per-source value mappings.

Terms live in ``<data_dir>/vocabulary/terms.toml``. Each data source may have a mapping
from its raw column values to vocabulary codes in
``<data_dir>/vocabulary/mappings/<source>.toml``. Both are validated when loaded; the file
comments describe their format.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caremap.language import language_of
from caremap.normalise import fold

FACETS = ("service_type", "population", "capability", "language")
CODE_RE = re.compile(r"[a-z][a-z0-9_]*")
_TEXT_FIELDS = ("label_en", "label_fr", "description_en", "description_fr")
_TERM_KEYS = frozenset({"code", "parent", *_TEXT_FIELDS})
_TAXONOMY_FIELDS = ("id", "name_en", "name_fr", "description_en", "description_fr", "version")
_COLUMN_KEYS = frozenset({"split", "values", "rules"})
_RULE_KEYS = frozenset({"contains", "pattern", "codes", "note"})
_FIELD_KEYS = frozenset({"columns", "value", "blank", "newest_date"})
# An ISO date, day or month optional (2024-05-13, 2022-06, 2020), not inside a longer number.
ISO_DATE = re.compile(r"(?<!\d)\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?(?!\d)")
# A date written with an English month name, day optional ("Dec 2022", "March 10, 2025").
NAMED_DATE = re.compile(
    r"\b(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?\s+"
    r"(?:(?P<day>\d{1,2}),?\s+)?(?P<year>\d{4})(?!\d)",
    re.IGNORECASE,
)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class VocabularyError(ValueError):
    """A vocabulary or mapping file is invalid; the message names the file and the term."""


def _normalize(text: str) -> str:
    """Collapse runs of whitespace and trim."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Term:
    """One vocabulary term: a stable code with English and French labels and definitions."""

    code: str
    facet: str
    label_en: str
    label_fr: str
    description_en: str
    description_fr: str
    parent: str | None = None

    def label(self, lang: str) -> str:
        """The label in ``lang``: French for ``fr`` (also ``fr-CA``, ``fr_CA``), else English."""
        return self.label_fr if language_of(lang) == "fr" else self.label_en

    def description(self, lang: str) -> str:
        """The one-sentence definition in ``lang``, chosen like :meth:`label`."""
        return self.description_fr if language_of(lang) == "fr" else self.description_en


@dataclass(frozen=True)
class Taxonomy:
    """Metadata of the vocabulary as a whole (HSDS ``taxonomy``)."""

    id: str
    name_en: str
    name_fr: str
    description_en: str
    description_fr: str
    version: str


@dataclass(frozen=True)
class MappedValue:
    """Result of mapping one raw cell: codes found, fragments matching no rule, and notes."""

    codes: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """A free-text rule: if ``regex`` is found in a fragment, it yields ``codes`` and ``note``."""

    regex: re.Pattern[str]
    codes: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class ColumnMapping:
    """How one column is split into fragments and matched: exact values first, then rules."""

    separators: tuple[str, ...] = ()
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    def fragments(self, raw: str) -> list[str]:
        """Split ``raw`` on every separator; trimmed, non-empty fragments in order."""
        parts = [raw]
        for separator in self.separators:
            parts = [piece for part in parts for piece in part.split(separator)]
        return [_normalize(part) for part in parts if part.strip()]

    def match(self, fragment: str) -> tuple[tuple[str, ...], str | None] | None:
        """``(codes, note)`` of the exact value or first rule matching ``fragment``, else None."""
        codes = self.values.get(fragment.casefold())
        if codes is not None:
            return codes, None
        rule = next((rule for rule in self.rules if rule.regex.search(fragment)), None)
        return None if rule is None else (rule.codes, rule.note)


_UNMAPPED_COLUMN = ColumnMapping()


@dataclass(frozen=True)
class FieldSource:
    """Where a listing field's value comes from in a file of another format: the ``columns``
    whose non-blank values are joined with "; ", or a ``value`` for every row, in which
    ``{Column}`` stands for the row's value of that column; a value given as parts is their
    join with spaces, leaving out each part whose columns are all blank. Whitespace runs (line
    breaks too) become one space, and a value in ``blank`` (case ignored, e.g. the text
    "null") is blank. With ``newest_date``, the value is the newest date in the text as an ISO
    date (:func:`newest_date`: "2024-01 (release); 2021-05-05" gives "2024-01", "CTV Dec 2022"
    "2022-12"), or blank if it has none."""

    columns: tuple[str, ...] = ()
    value: str | tuple[str, ...] = ""
    blank: frozenset[str] = frozenset()
    newest_date: bool = False

    def read(self, row: Mapping[str, str]) -> str:
        if isinstance(self.value, tuple):
            cells = _Cells(row, self.blank)
            text = " ".join(part.format_map(cells) for part in self.value if _fills(part, cells))
        elif not self.columns:
            text = self.value.format_map(_Cells(row, self.blank))
        else:
            parts = (_cell(row, column, self.blank) for column in self.columns)
            text = "; ".join(part for part in parts if part)
        return newest_date(text) if self.newest_date else text


def newest_date(text: str) -> str:
    """The newest date in ``text`` as an ISO date, day or month optional: ISO dates
    (:data:`ISO_DATE`) and dates with an English month name (:data:`NAMED_DATE`); '' if none."""
    named = (_iso_date(match) for match in NAMED_DATE.finditer(text))
    return max([*ISO_DATE.findall(text), *named], default="")


def _iso_date(match: re.Match[str]) -> str:
    """ "Dec 2022" as "2022-12", "March 10, 2025" as "2025-03-10" (an impossible day: the
    month)."""
    year, month = int(match["year"]), MONTHS.index(match["month"][:3].casefold()) + 1
    if match["day"]:
        with contextlib.suppress(ValueError):
            return dt.date(year, month, int(match["day"])).isoformat()
    return f"{year:04d}-{month:02d}"


def _fills(part: str, cells: Mapping[str, str]) -> bool:
    """Whether ``part`` names no column, or one that is not blank in ``cells``."""
    names = [name for _, name, _, _ in string.Formatter().parse(part) if name]
    return not names or any(cells[name] for name in names)


def _cell(row: Mapping[str, str], column: str, blank: frozenset[str]) -> str:
    value = _normalize(row.get(column, ""))
    return "" if value.casefold() in blank else value


class _Cells(dict[str, str]):
    """A row's cells for ``str.format_map``: normalised, and '' for a blank or missing one."""

    def __init__(self, row: Mapping[str, str], blank: frozenset[str]) -> None:
        super().__init__()
        self.row, self.blank = row, blank

    def __missing__(self, column: str) -> str:
        return _cell(self.row, column, self.blank)


@dataclass(frozen=True)
class SourceMapping:
    """Mapping of one data source's columns to vocabulary codes and, for a file not in the
    listing format, of its columns to the listing fields (``fields``, empty: the file is in
    the listing format)."""

    name: str
    columns: Mapping[str, ColumnMapping]
    fields: Mapping[str, FieldSource] = field(default_factory=dict)

    def source_columns(self) -> tuple[str, ...]:
        """The file's columns that ``fields`` reads."""
        return _unique(column for source in self.fields.values() for column in source.columns)

    def listing_values(self, row: dict[str, str]) -> dict[str, str]:
        """The row's values as listing fields (the row itself when ``fields`` is empty)."""
        if not self.fields:
            return row
        return {name: source.read(row) for name, source in self.fields.items()}

    def map(self, column: str, raw: str) -> MappedValue:
        """Map a raw cell; every fragment matching nothing is returned in ``unknown``."""
        mapping = self.columns.get(column, _UNMAPPED_COLUMN)
        codes: list[str] = []
        unknown: list[str] = []
        notes: list[str] = []
        for fragment in mapping.fragments(raw):
            matched = mapping.match(fragment)
            if matched is None:
                unknown.append(fragment)
                continue
            codes.extend(matched[0])
            if matched[1]:
                notes.append(matched[1])
        return MappedValue(_unique(codes), _unique(unknown), _unique(notes))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class Vocabulary:
    """The loaded terminology: terms by facet in file order, and the source mappings."""

    def __init__(
        self, taxonomy: Taxonomy, terms: Iterable[Term], mappings: Mapping[str, SourceMapping]
    ) -> None:
        self.taxonomy = taxonomy
        self._terms = {term.code: term for term in terms}
        self._mappings = dict(mappings)
        self.facets: tuple[str, ...] = _unique(term.facet for term in self._terms.values())
        self._by_word: dict[str, Term] | None = None

    @staticmethod
    def load(data_dir: Path) -> Vocabulary:
        """Load (once per path) the vocabulary under ``data_dir/vocabulary``."""
        return load_vocabulary(data_dir)

    def terms(self, facet: str) -> list[Term]:
        """The terms of ``facet`` in file order."""
        if facet not in self.facets:
            raise KeyError(f"unknown facet {facet!r}; facets are {', '.join(self.facets)}")
        return [term for term in self._terms.values() if term.facet == facet]

    def get(self, code: str) -> Term:
        """The term with this code, from any facet."""
        try:
            return self._terms[code]
        except KeyError:
            raise KeyError(f"unknown vocabulary code {code!r}") from None

    def is_code(self, facet: str, code: str) -> bool:
        """Whether ``code`` is a term of ``facet``."""
        term = self._terms.get(code)
        return term is not None and term.facet == facet

    def lookup(self, text: str) -> Term | None:
        """The term whose code or English/French label is ``text`` (case, accents and punctuation
        ignored; a label's parts around "(", ")" and "/" count too, so "Tagalog" finds
        "Tagalog (Filipino)"): lets a source use the vocabulary's own words without a mapping."""
        if self._by_word is None:
            self._by_word = {}
            for term in self._terms.values():
                for word in (term.code, term.label_en, term.label_fr):
                    self._by_word.setdefault(fold(word), term)
                for label in (term.label_en, term.label_fr):
                    for part in re.split(r"[()/]", label):
                        if part.strip():
                            self._by_word.setdefault(fold(part), term)
        return self._by_word.get(fold(text))

    def mapping(self, source_name: str) -> SourceMapping:
        """The mapping of a source; empty (every value unknown) if it has no mapping file."""
        return self._mappings.get(source_name) or SourceMapping(source_name, {})


@functools.cache
def load_vocabulary(data_dir: Path) -> Vocabulary:
    """Read and validate ``terms.toml`` and every mapping file; cached per ``data_dir``."""
    root = Path(data_dir) / "vocabulary"
    terms_path = root / "terms.toml"
    document = _read_toml(terms_path)
    taxonomy = _parse_taxonomy(terms_path, document.get("taxonomy"))
    terms = _parse_terms(terms_path, document)
    mappings = {
        path.stem: _parse_mapping(path, _read_toml(path), terms)
        for path in sorted((root / "mappings").glob("*.toml"))
    }
    return Vocabulary(taxonomy, terms.values(), mappings)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise VocabularyError(f"{path}: cannot read: {exc}") from exc


def _text(where: str, table: Mapping[str, Any], name: str) -> str:
    value = table.get(name)
    if not isinstance(value, str) or not value.strip():
        raise VocabularyError(f"{where}: {name} is missing or empty")
    return value.strip()


def _table(where: str, value: Any, expected: str) -> Any:
    if not isinstance(value, dict):
        raise VocabularyError(f"{where}: expected {expected}")
    return value


def _no_extra_keys(where: str, table: Mapping[str, Any], allowed: Iterable[str]) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        known = ", ".join(sorted(allowed))
        raise VocabularyError(f"{where}: unknown field(s) {', '.join(extra)} (known: {known})")


def _parse_taxonomy(path: Path, table: Any) -> Taxonomy:
    where = f"{path}: [taxonomy]"
    table = _table(where, table, "a [taxonomy] table")
    return Taxonomy(**{name: _text(where, table, name) for name in _TAXONOMY_FIELDS})


def _parse_terms(path: Path, document: Mapping[str, Any]) -> dict[str, Term]:
    _no_extra_keys(f"{path}: top level", document, ("taxonomy", *FACETS))
    terms: dict[str, Term] = {}
    for facet in (key for key in document if key in FACETS):
        entries = document[facet]
        if not isinstance(entries, list):
            raise VocabularyError(f"{path}: write each {facet} term as a [[{facet}]] block")
        for number, entry in enumerate(entries, start=1):
            term = _parse_term(path, facet, number, entry)
            if term.code in terms:
                first = terms[term.code].facet
                raise VocabularyError(
                    f"{path}: term {term.code!r} ({facet}): duplicate code, already used in {first}"
                )
            terms[term.code] = term
    _check_parents(path, terms)
    return terms


def _parse_term(path: Path, facet: str, number: int, entry: Any) -> Term:
    entry = _table(f"{path}: {facet} term #{number}", entry, f"a [[{facet}]] block")
    code = entry.get("code")
    if not isinstance(code, str) or not CODE_RE.fullmatch(code):
        raise VocabularyError(
            f"{path}: {facet} term #{number}: code {code!r} must be lower-case letters, "
            "digits and '_', starting with a letter"
        )
    where = f"{path}: term {code!r} ({facet})"
    _no_extra_keys(where, entry, _TERM_KEYS)
    parent = entry.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise VocabularyError(f"{where}: parent must be a code in quotes")
    texts = {name: _text(where, entry, name) for name in _TEXT_FIELDS}
    return Term(code=code, facet=facet, parent=parent, **texts)


def _check_parents(path: Path, terms: Mapping[str, Term]) -> None:
    """Every parent is a term of the same facet, and no parent chain loops."""
    for term in terms.values():
        seen = {term.code}
        parent = term.parent
        while parent is not None:
            target = terms.get(parent)
            where = f"{path}: term {term.code!r} ({term.facet})"
            if target is None or target.facet != term.facet:
                raise VocabularyError(f"{where}: parent {parent!r} is not a {term.facet} term")
            if parent in seen:
                raise VocabularyError(f"{where}: parent chain loops through {parent!r}")
            seen.add(parent)
            parent = target.parent


def _parse_mapping(
    path: Path, document: Mapping[str, Any], terms: Mapping[str, Term]
) -> SourceMapping:
    _no_extra_keys(f"{path}: top level", document, ("source", "fields", "columns"))
    source = _table(f"{path}: [source]", document.get("source"), "a [source] table")
    if source.get("name") != path.stem:
        raise VocabularyError(f"{path}: [source] name must be {path.stem!r}, the file name")
    columns = _table(f"{path}: [columns]", document.get("columns", {}), "[columns.NAME] tables")
    fields = _table(f"{path}: [fields]", document.get("fields", {}), "a [fields] table")
    return SourceMapping(
        path.stem,
        {
            name: _parse_column(f"{path}: column {name!r}", table, terms)
            for name, table in columns.items()
        },
        {name: _parse_field(f"{path}: field {name!r}", table) for name, table in fields.items()},
    )


def _parse_field(where: str, table: Any) -> FieldSource:
    """``"Column"``, ``["Column", ...]`` or ``{columns = [...], blank = [...]}`` or
    ``{value = "constant"}`` or ``{value = ["part", ...]}``, either with ``newest_date = true``."""
    if isinstance(table, str | list):
        table = {"columns": table}
    table = _table(where, table, 'a column name, a list of them, or {value = "..."}')
    _no_extra_keys(where, table, _FIELD_KEYS)
    columns = table.get("columns", [])
    columns = [columns] if isinstance(columns, str) else columns
    blank = table.get("blank", [])
    value = table.get("value", "")
    value = tuple(value) if isinstance(value, list) else value
    newest_date = table.get("newest_date", False)
    texts = [*columns, *blank, *(value if isinstance(value, tuple) else [value])]
    if not all(isinstance(text, str) for text in texts) or bool(columns) == bool(value):
        raise VocabularyError(f"{where}: give either columns (names of the file) or a value")
    if not isinstance(newest_date, bool):
        raise VocabularyError(f"{where}: newest_date is true or false")
    blank = frozenset(text.casefold() for text in blank)
    return FieldSource(tuple(columns), value, blank, newest_date)


def _parse_column(where: str, table: Any, terms: Mapping[str, Term]) -> ColumnMapping:
    table = _table(where, table, "a [columns.NAME] table")
    _no_extra_keys(where, table, _COLUMN_KEYS)
    split = table.get("split", [])
    if not isinstance(split, list) or not all(isinstance(s, str) and s for s in split):
        raise VocabularyError(f'{where}: split must be a list of separators, e.g. [";"]')
    rules = table.get("rules", [])
    if not isinstance(rules, list):
        raise VocabularyError(f"{where}: write each rule as a [[columns.NAME.rules]] block")
    return ColumnMapping(
        tuple(split),
        _parse_values(where, table.get("values", {}), terms),
        tuple(_parse_rule(f"{where}: rule #{n}", rule, terms) for n, rule in enumerate(rules, 1)),
    )


def _parse_values(where: str, table: Any, terms: Mapping[str, Term]) -> dict[str, tuple[str, ...]]:
    """Exact values keyed by their case- and space-normalized text."""
    values: dict[str, tuple[str, ...]] = {}
    for raw, codes in _table(where, table, "a values table").items():
        key = _normalize(raw).casefold()
        if key in values:
            raise VocabularyError(f"{where}: value {raw!r} is listed twice (case, spaces ignored)")
        values[key] = _codes(f"{where}: value {raw!r}", codes, terms)
    return values


def _parse_rule(where: str, rule: Any, terms: Mapping[str, Term]) -> Rule:
    rule = _table(where, rule, "a [[columns.NAME.rules]] block")
    _no_extra_keys(where, rule, _RULE_KEYS)
    kinds = [kind for kind in ("contains", "pattern") if kind in rule]
    if len(kinds) != 1:
        raise VocabularyError(f"{where}: give exactly one of contains or pattern")
    text = _text(where, rule, kinds[0])
    source = re.escape(_normalize(text)) if kinds[0] == "contains" else text
    try:
        regex = re.compile(source, re.IGNORECASE)
    except re.error as exc:
        raise VocabularyError(f"{where}: invalid pattern {text!r}: {exc}") from exc
    note = rule.get("note")
    if note is not None and not (isinstance(note, str) and CODE_RE.fullmatch(note)):
        raise VocabularyError(f"{where}: note {note!r} must be lower-case letters, digits and '_'")
    return Rule(regex, _codes(where, rule.get("codes", []), terms), note)


def _codes(where: str, codes: Any, terms: Mapping[str, Term]) -> tuple[str, ...]:
    if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
        raise VocabularyError(f'{where}: codes must be a list such as ["women"] or []')
    for code in codes:
        if code not in terms:
            raise VocabularyError(f"{where}: unknown code {code!r} (not in terms.toml)")
    return tuple(codes)
