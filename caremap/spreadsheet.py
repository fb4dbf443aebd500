"""CSV files a spreadsheet may open: no cell of them starts a formula (CSV injection).

As the OWASP guidance says, a text cell starting with ``=`` ``+`` ``-`` ``@``, tab or carriage
return is written with a ``'`` in front, which spreadsheets read as "this is text". Numbers are
written as they are, and so is a text made only of digits, spaces and ``. , : ; / + - ( )``
(a negative number, a phone number, a pair of coordinates): without letters or ``=``, ``@``,
``|`` or ``!`` it can call no function. A text that starts with ``'`` before one of those
characters gets one more, so that :func:`restore` gives back exactly what was written.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_INERT = re.compile(r"[-+0-9 .,:;/()]+")


def neutralise(value: Any) -> Any:
    """``value`` as a cell no spreadsheet reads as a formula (see the module docstring)."""
    return f"'{value}" if isinstance(value, str) and _is_formula_like(value) else value


def restore(text: str) -> str:
    """The text :func:`neutralise` was given, from what it returned."""
    return text[1:] if text.startswith("'") and _is_formula_like(text[1:]) else text


def _is_formula_like(text: str) -> bool:
    return text.lstrip("'")[:1] in FORMULA_STARTS and not _INERT.fullmatch(text)


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`neutralise`."""

    def __init__(self, handle: IO[str], **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
