"""A source's "as of" date, as the data writes it: "2014-04-24", "2014/04/24", "2012-02",
"2017", "snapshot before 2017-05". :func:`parse_source_date` reads these shapes so that pages can
say them in words ("24 avril 2014", "before May 2017"); any other text is kept as it is."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_SHAPE = re.compile(
    r"(?P<before>(?:snapshot\s+)?before\s+)?"
    r"(?P<year>\d{4})(?:[-/.](?P<month>\d{1,2})(?:[-/.](?P<day>\d{1,2}))?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SourceDate:
    """A day, a month (``day`` None) or a year (``month`` None too); ``before``: the data was
    taken some time before it."""

    year: int
    month: int | None = None
    day: int | None = None
    before: bool = False

    @property
    def first_day(self) -> dt.date:
        """The first day it covers (the day itself for a full date)."""
        return dt.date(self.year, self.month or 1, self.day or 1)


def parse_source_date(text: str | None) -> SourceDate | None:
    """The date ``text`` names, or None when it is none of the shapes (or no real date)."""
    match = _SHAPE.fullmatch((text or "").strip())
    if match is None:
        return None
    year, month, day = int(match["year"]), _number(match["month"]), _number(match["day"])
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError:
        return None
    return SourceDate(year, month, day, before=bool(match["before"]))


def _number(digits: str | None) -> int | None:
    return int(digits) if digits else None
