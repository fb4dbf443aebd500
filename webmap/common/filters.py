"""Jinja filters that turn public read models into bilingual text."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping

import babel.dates
import babel.numbers
from babel.dates import get_month_names
from flask import Flask
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    format_time,
    format_timedelta,
    get_locale,
    to_user_timezone,
)
from flask_babel import gettext as _

from caremap.geocoder import Precision
from caremap.geodesy import metres_to_km
from caremap.privacy import PublicLocation
from caremap.queries import PublicCapacity, PublicSchedule
from caremap.reasons import say
from caremap.search import Clock, community_distance
from caremap.source_dates import SourceDate, parse_source_date
from webmap.common.params import BadParameter

DAY_NAMES = {
    "MO": lambda: _("Mon"),
    "TU": lambda: _("Tue"),
    "WE": lambda: _("Wed"),
    "TH": lambda: _("Thu"),
    "FR": lambda: _("Fri"),
    "SA": lambda: _("Sat"),
    "SU": lambda: _("Sun"),
}
KINDS = {
    "temporary": lambda text: _("Temporary: %(text)s", text=text),
    "women": lambda text: _("For women: %(text)s", text=text),
    "youth": lambda text: _("For youth: %(text)s", text=text),
}
UNITS = {"beds": lambda n: _("%(num)d beds", num=n), "rooms": lambda n: _("%(num)d rooms", num=n)}


def term_label(code: str, labels: Mapping[str, str]) -> str:
    """The label of a vocabulary code in the page's language (the code itself if unknown)."""
    return labels.get(code, code)


def hours_text(schedule: PublicSchedule) -> str:
    """ "Mon–Fri 9:00 a.m.–5:00 p.m." in the page's language (the source's words when
    unparsed), with its season ("1 Dec 2026 – 31 Mar 2027") when it has one."""
    text = _weekly_text(schedule)
    season = season_text(schedule)
    return f"{text} ({season})" if text and season else text or season


def season_text(schedule: PublicSchedule) -> str:
    start, end = schedule.valid_from, schedule.valid_to
    if start and end:
        return _(
            "%(start)s to %(end)s",
            start=format_date(start, "medium"),
            end=format_date(end, "medium"),
        )
    if start:
        return _("from %(start)s", start=format_date(start, "medium"))
    if end:
        return _("until %(end)s", end=format_date(end, "medium"))
    return ""


def _weekly_text(schedule: PublicSchedule) -> str:
    if not schedule.byday or schedule.opens_at is None or schedule.closes_at is None:
        return schedule.description or ""
    if _round_the_clock(schedule):
        return _("Open 24 hours, 7 days a week")
    days = schedule.byday.split(",")
    day_text = (
        DAY_NAMES[days[0]]()
        if len(days) == 1
        else f"{DAY_NAMES[days[0]]()}–{DAY_NAMES[days[-1]]()}"
    )
    times = f"{format_time(schedule.opens_at, 'short')}–{format_time(schedule.closes_at, 'short')}"
    return f"{day_text} {times}"


def _round_the_clock(schedule: PublicSchedule) -> bool:
    return (
        schedule.byday is not None
        and len(schedule.byday.split(",")) == 7
        and schedule.opens_at is not None
        and schedule.opens_at.hour == 0
        and schedule.closes_at is not None
        and schedule.closes_at.minute == 59
    )


def line_hours(schedule: PublicSchedule) -> str:
    """A help line's hours: "Open 24 hours, 7 days a week" in the page's language when it never
    closes; otherwise the source's words, which may qualify them (by region, by channel)."""
    if _round_the_clock(schedule) or not schedule.description:
        return hours_text(schedule)
    return schedule.description


def capacity_text(capacity: PublicCapacity, clock: Clock | None = None) -> str:
    """ "12 available of 40 beds (as of …)", "40 beds", or the source's words ("VARIES").
    With a ``clock``, an availability count older than it allows is not shown as current."""
    if capacity.maximum is None:
        text = capacity.description or _("not stated")
    else:
        text = UNITS.get(capacity.unit, UNITS["beds"])(capacity.maximum)
        if capacity.available is not None and not _stale(capacity, clock):
            text = _(
                "%(available)d available of %(total)s", available=capacity.available, total=text
            )
        if capacity.description in KINDS:
            text = KINDS[capacity.description](text)
    if capacity.updated is not None:
        text = _(
            "%(text)s (as of %(when)s)", text=text, when=format_date(capacity.updated, "medium")
        )
    if _stale(capacity, clock):
        text = _("%(text)s — current availability unknown", text=text)
    return text


def capacity_total(capacity: PublicCapacity) -> str:
    """What a count is out of: "40 beds", "For women: 12 rooms"."""
    text = UNITS.get(capacity.unit, UNITS["beds"])(capacity.maximum or 0)
    kind = KINDS.get(capacity.description or "")
    return kind(text) if kind else text


def last_reported(capacity: PublicCapacity, now: dt.datetime) -> str:
    """The last count and when: "Last reported: 3 at 10:04, 2 days ago"."""
    if capacity.available is None or capacity.updated is None:
        return _("No count reported yet.")
    return _(
        "Last reported: %(available)d at %(time)s, %(ago)s",
        available=capacity.available,
        time=format_time(capacity.updated, "short"),
        ago=format_timedelta(capacity.updated - now, add_direction=True),
    )


def _stale(capacity: PublicCapacity, clock: Clock | None) -> bool:
    if clock is None or capacity.available is None:
        return False
    return capacity.updated is None or capacity.updated < clock.now - clock.stale_after


def km(distance_m: float | None) -> str:
    """ "1.2 km" ("1,2 km" in French), one decimal."""
    if distance_m is None:
        return ""
    return _("%(km)s km", km=format_decimal(metres_to_km(distance_m), format="#,##0.0"))


def distance(distance_m: float | None, location: PublicLocation) -> str:
    """A search hit's distance as it may be said: to 0.1 km for a located address; for a
    listing placed at its community (the source gives no address), "in Kenora" when the
    origin is in that community, else "about 40 km"."""
    if distance_m is None or location.geocode_precision != Precision.PLACE:
        return km(distance_m)
    rounded = community_distance(distance_m)
    city = location.address.city if location.address else ""
    if rounded is None and city:
        return _("in %(place)s", place=city)
    whole_km = format_decimal(metres_to_km(rounded or distance_m), format="#,##0")
    return _("about %(km)s km", km=whole_km)


def month_name(month: int) -> str:
    """The month's name in the page's language."""
    return get_month_names("wide", locale=get_locale())[month]


PARAMETER_MESSAGES = {
    "near": lambda: _(
        "We could not find that place. Try a postal code (A1A 1A1), a town and "
        "its province, or “latitude, longitude”."
    ),
    "lat": lambda: _("The point chosen on the map is not valid. Please choose again."),
    "lon": lambda: _("The point chosen on the map is not valid. Please choose again."),
    "radius_km": lambda: _("Choose a distance from the list."),
    "month": lambda: _("Choose a month from the list."),
}


def error_message(error: BadParameter) -> str:
    """A search-form error, in the page's language: the specific reason when it says what to
    type, else a general hint for the field."""
    if error.specific:
        return said(error.message)
    message = PARAMETER_MESSAGES.get(error.name)
    return message() if message else _("One of the search choices is not valid.")


def said(text: str) -> str:
    """A reason (:mod:`caremap.reasons`) in the page's language, its numbers in its format."""
    return say(text, _, format_decimal)


FRENCH_ELIDING_INITIALS = "aeiouyàâäéèêëîïôöùûüœæ"


def elided(text: str, place: str) -> str:
    """``text`` with French "de <place>" elided to "d’<place>" where ``place`` starts with a
    vowel ("à moins de 25 km d’Iqaluit"); unchanged in English. A mute or aspirated *h* cannot be
    told apart by spelling, so a place in *h* keeps "de"."""
    if get_locale().language != "fr" or place[:1].lower() not in FRENCH_ELIDING_INITIALS:
        return text
    return text.replace(f" de {place}", f" d’{place}")


@functools.cache
def _pattern(text: str) -> babel.numbers.NumberPattern:
    """A number pattern, parsed once (babel parses a text pattern on every call)."""
    return babel.numbers.parse_pattern(text)


def number(value: int | None) -> str:
    return "" if value is None else format_decimal(value, format=_pattern("#,##0"))


def significant(value: float, digits: int = 4) -> str:
    """A number to at most ``digits`` significant digits in the page's format ("0.9912",
    "0,9912"); from 10^digits up, a whole number with grouping ("12,345")."""
    if abs(value) >= 10**digits:
        return format_decimal(round(value), format=_pattern("#,##0"))
    return format_decimal(value, format=_pattern("@" + "#" * (digits - 1)))


def decimal(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return format_decimal(value, format=_pattern("#,##0." + "0" * digits))


def percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, format=_pattern("#,##0%"))


def moment(value: dt.datetime) -> str:
    """A date and time a person reads: in the page's language and the display time zone
    (setting ``display_timezone``), with the zone's abbreviation, "Jan 15, 2026, 11:08:38 AM
    EST" / "15 janv. 2026, 11:08:38 HNE" (Canadian names of the zones)."""
    zone = babel.dates.format_datetime(
        to_user_timezone(value), "z", locale=f"{get_locale().language}_CA"
    )
    return f"{format_datetime(value, 'medium')} {zone}"


def source_date(text: str | None) -> str:
    """A source's "as of" in words in the page's language: "April 24, 2014", "février 2012",
    "2017", "before May 2017"; text of another shape as it is."""
    found = parse_source_date(text)
    if found is None:
        return text or ""
    words = _source_date_words(found)
    return _("before %(date)s", date=words) if found.before else words


def _source_date_words(found: SourceDate) -> str:
    if found.day:
        return format_date(found.first_day, "long")
    if found.month:
        return babel.dates.format_skeleton("yMMMM", found.first_day, locale=get_locale())
    return str(found.year)


def register(app: Flask) -> None:
    app.add_template_filter(moment)
    app.add_template_filter(source_date)
    app.add_template_filter(said)
    app.add_template_filter(elided)
    app.add_template_filter(number)
    app.add_template_filter(decimal)
    app.add_template_filter(significant)
    app.add_template_filter(percent)
    app.add_template_global(month_name)
    app.add_template_global(error_message)
    app.add_template_filter(km)
    app.add_template_filter(distance)
    app.add_template_filter(term_label)
    app.add_template_filter(hours_text)
    app.add_template_filter(line_hours)
    app.add_template_filter(capacity_text)
    app.add_template_filter(capacity_total)
    app.add_template_filter(last_reported)
