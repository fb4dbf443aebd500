"""How CSV bytes are read as text: their encoding and their delimiter.

Files come from spreadsheets and databases on every platform: UTF-8 with or without a BOM,
UTF-16, cp1252 or Latin-1 (French accents), separated by ``,`` ``;`` tab or ``|``.
:func:`csv_format` finds both; the ETL (``etl.extract``) and the coverage reader
(``caremap.coverage.io``) read every CSV file with it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from typing import BinaryIO

import charset_normalizer

from caremap.reasons import N_, Reason

DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024
_SAMPLE_BYTES = 1024 * 1024  # what the encoding is guessed on
# Control characters other than tab, line feed, carriage return and form feed.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_CHUNK_BYTES = 1024 * 1024
_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"


class UnreadableFile(ValueError):
    """A whole file cannot be read (not text, not valid in its encoding, no header row …);
    the message names the file and is safe to show."""


@dataclass(frozen=True)
class CsvFormat:
    """The encoding (a Python codec name) and the delimiter of a CSV file."""

    encoding: str
    delimiter: str


def csv_format(name: str, handle: BinaryIO) -> CsvFormat:
    """The encoding (:func:`detect_encoding`) and delimiter (:func:`sniff_delimiter`) of the
    CSV bytes in ``handle``, left at its start; ``name`` is the file's name in messages."""
    encoding = detect_encoding(name, handle)
    sample = handle.read(_SNIFF_CHARS * 4).decode(encoding, errors="ignore")
    handle.seek(0)
    return CsvFormat(encoding, sniff_delimiter(sample))


# --- Encoding -----------------------------------------------------------------------------------


def detect_encoding(name: str, handle: BinaryIO) -> str:
    """The encoding of the bytes in ``handle`` (left at its start); raises
    :class:`UnreadableFile` for bytes that are not text.

    A BOM (UTF-8, UTF-16) decides. UTF-16 without a BOM is recognised by its zero bytes. Else
    UTF-8 if every byte of the file is valid UTF-8; else what charset-normalizer finds the
    bytes most plausibly are, cp1252 first when it is plausible (French accents and curly
    quotes), Latin-1 when only cp1252's five undefined bytes stand in its way.
    """
    sample = handle.read(_SAMPLE_BYTES)
    handle.seek(0)
    if sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(sample) or _guessed_encoding(name, handle)
    bad = _first_undecodable(handle, encoding)
    if bad is not None:
        raise UnreadableFile(
            Reason(
                N_("%(file)s is not valid %(encoding)s text (byte %(offset)s)"),
                file=name,
                encoding=encoding,
                offset=bad,
            )
        )
    text = sample.decode(encoding, errors="ignore")
    controls = len(_CONTROL.findall(text))
    if controls > 8 and controls > len(text) // 100:
        raise UnreadableFile(_not_text(name))
    return encoding


def _not_text(name: str) -> Reason:
    return Reason(N_("%(file)s is not a text (CSV) file"), file=name)


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when every other byte is mostly zero (text in a Latin
    script), else None."""
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 2:
        return None
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.4 * len(zeros) and others.count(0) <= 0.05 * len(others):
            return encoding
    return None


def _guessed_encoding(name: str, handle: BinaryIO) -> str:
    bad = _first_undecodable(handle, "utf-8")
    if bad is None:
        return "utf-8"
    # Guess on the bytes from the first one that is not UTF-8 (the sample may be all ASCII).
    handle.seek(max(0, bad - 1024))
    sample = handle.read(_SAMPLE_BYTES)
    handle.seek(0)
    matches = charset_normalizer.from_bytes(sample)
    best = matches.best()
    if best is None:
        raise UnreadableFile(_not_text(name))
    if _cp1252_plausible(matches):
        return "cp1252" if _first_undecodable(handle, "cp1252") is None else "latin-1"
    western = charset_normalizer.from_bytes(sample.translate(None, _CP1252_UNDEFINED))
    if not best.multi_byte_usage and _cp1252_plausible(western):
        return "latin-1"
    return best.encoding


def _cp1252_plausible(matches: charset_normalizer.CharsetMatches) -> bool:
    return any(
        codecs.lookup(encoding).name == "cp1252"
        for match in matches
        for encoding in match.could_be_from_charset
    )


def _first_undecodable(handle: BinaryIO, encoding: str) -> int | None:
    """The offset of the first byte of ``handle`` that ``encoding`` cannot decode, or None;
    ``handle`` is left at its start."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    try:
        while chunk := handle.read(_CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return offset + error.start
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset
        return None
    finally:
        handle.seek(0)


# --- Delimiter ----------------------------------------------------------------------------------


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter among ``,`` ``;`` tab ``|``.

    ``csv.Sniffer`` decides on the first 64 KiB; its answer is kept only if the header line
    contains it. Otherwise the candidate most frequent in the header (the first non-blank line)
    wins, and ``,`` when the header has none.
    """
    header = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:
        sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed and sniffed in header:
        return sniffed
    best = max(DELIMITERS, key=header.count)
    return best if best in header else ","
