"""Parse free-text opening hours ("Mon-Fri 9 am-5 pm", "Mon-Sun 24 hours") into weekly rules.

Segments are separated by ``*`` or ``;``; a segment may start with a label
("residence -- Mon-Sun 24 hours", "assessments Mon-Fri 9 am-5 pm") and end with a note
("… for referrals"). A segment naming no day that says "24/7" (or "24 hours", "any time, any
day") is every day, 24 hours. A segment that does not parse is kept as a description-only schedule,
never dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
DAY_NAMES = {
    name: code
    for code, name in zip(DAYS, ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], strict=True)
}
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_TIME = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
SEGMENT = re.compile(
    rf"^(?P<label>.*?)(?:\s*--)?\s*\b(?P<d1>{_DAY})(?:\s*-\s*(?P<d2>{_DAY}))?\s+"
    rf"(?:(?P<allday>24\s*hours?|24/7)|(?P<t1>{_TIME})\s*-\s*(?P<t2>{_TIME}))"
    r"(?P<note>.*)$",
    re.IGNORECASE,
)
# A segment naming no day that says "around the clock" ("24/7", "24/7/365", "24 hours",
# "24-hour line", "Phone 24/7", "any time, any day"): every day, 24 hours.
AROUND_THE_CLOCK = re.compile(
    r"(?<![\d:])(24\s*/\s*7(\s*/\s*365)?|24[\s-]hours?)(?![\d:])|\bany (time|hour),? any day\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class WeeklyHours:
    """One weekly rule (HSDS schedule: freq WEEKLY, byday, opens_at, closes_at)."""

    byday: str | None
    opens_at: dt.time | None
    closes_at: dt.time | None
    description: str

    @property
    def open_24_7(self) -> bool:
        """Open around the clock on all seven days."""
        every_day = self.byday == ",".join(DAYS)
        return every_day and self.opens_at == dt.time(0, 0) and self.closes_at == dt.time(23, 59)


def parse_hours(text: str) -> list[WeeklyHours]:
    """Weekly rules for each segment of ``text``; unparsed segments keep only their text."""
    segments = [s.strip() for s in re.split(r"[*;]", text) if s.strip()]
    return [_parse_segment(segment) for segment in segments]


def _parse_segment(segment: str) -> WeeklyHours:
    match = SEGMENT.match(segment)
    if not match:
        if AROUND_THE_CLOCK.search(segment):
            return WeeklyHours(",".join(DAYS), dt.time(0, 0), dt.time(23, 59), segment)
        return WeeklyHours(None, None, None, segment)
    byday = _day_range(match.group("d1"), match.group("d2") or match.group("d1"))
    if match.group("allday"):
        return WeeklyHours(byday, dt.time(0, 0), dt.time(23, 59), segment)
    opens = _time(match.group("t1"))
    closes = _time(match.group("t2"))
    if opens is None or closes is None:
        return WeeklyHours(None, None, None, segment)
    return WeeklyHours(byday, opens, closes, segment)


def _day_range(first: str, last: str) -> str:
    start = DAYS.index(DAY_NAMES[first[:3].lower()])
    end = DAYS.index(DAY_NAMES[last[:3].lower()])
    span = DAYS[start : end + 1] if start <= end else DAYS[start:] + DAYS[: end + 1]
    return ",".join(span)


def _time(text: str) -> dt.time | None:
    match = re.fullmatch(_TIME, text.strip(), re.IGNORECASE)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    meridiem = (match.group(3) or "").replace(".", "").lower()
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)
