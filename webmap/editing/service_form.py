"""The service edit form: texts, vocabulary terms, and weekly hours in seasons (each with the
dates it applies), turned into an edit for :func:`caremap.changes.propose`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput

from caremap.queries import ServiceName, TermChoice
from webmap.editing.change_text import area_choices
from webmap.editing.next_steps_form import (
    next_step_edit,
    next_step_rows,
    next_steps_field,
    set_service_choices,
)
from webmap.editing.phone_form import phone_edit, phone_rows, phones_field

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_LABELS = {
    "MO": _l("Monday"),
    "TU": _l("Tuesday"),
    "WE": _l("Wednesday"),
    "TH": _l("Thursday"),
    "FR": _l("Friday"),
    "SA": _l("Saturday"),
    "SU": _l("Sunday"),
}
TERM_FIELDS = {"service_type": "service_type", "population": "population",
               "capability": "capability", "languages": "language"}  # fmt: skip
TEXT_FIELDS = ("name", "description", "eligibility_description", "application_process")
MAX_SEASONS = 12
# Per-day (opens, closes) as HH:MM, Monday first, then the dates they apply (ISO; None: open-ended)
Season = tuple[tuple[tuple[str | None, str | None], ...], str | None, str | None]
EMPTY_SEASON: Season = (((None, None),) * 7, None, None)


class CheckboxesField(SelectMultipleField):
    """Several choices, each a checkbox (the template lays them out: ``_forms.checkboxes``)."""

    option_widget = CheckboxInput()


class DayForm(Form):
    """One day's opening and closing times (both empty: closed)."""

    opens_at = TimeField(_l("Opens"), validators=[Optional()])
    closes_at = TimeField(_l("Closes"), validators=[Optional()])

    def validate(self, extra_validators: dict | None = None) -> bool:
        """The times, then both or neither (an empty field skips its own validators)."""
        if not super().validate(extra_validators):
            return False
        if (self.opens_at.data is None) != (self.closes_at.data is None):
            message = _("Enter both the opening and the closing time, or neither.")
            self.closes_at.errors.append(message)
            return False
        return True


class SeasonForm(Form):
    """Weekly hours and the dates they apply (both dates empty: all year)."""

    hours = FieldList(FormField(DayForm), min_entries=7, max_entries=7)
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_to = DateField(_l("Valid until"), validators=[Optional()])

    def validate_valid_to(self, field: DateField) -> None:
        if self.valid_from.data and field.data and field.data < self.valid_from.data:
            raise ValidationError(_("The end of the season is before its start."))


class ServiceForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Enter the service's name.")), Length(max=300)],
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    eligibility_description = TextAreaField(
        _l("Eligibility"), validators=[Optional(), Length(max=5000)]
    )
    application_process = TextAreaField(
        _l("How to get help (intake)"), validators=[Optional(), Length(max=5000)]
    )
    service_type = CheckboxesField(_l("Services"), choices=[])
    population = CheckboxesField(_l("Who it serves"), choices=[])
    capability = CheckboxesField(_l("Can accommodate"), choices=[])
    languages = CheckboxesField(_l("Languages"), choices=[])
    service_areas = CheckboxesField(_l("Area served"), choices=[])
    seasons = FieldList(FormField(SeasonForm), min_entries=1, max_entries=MAX_SEASONS)
    phones = phones_field()
    next_steps = next_steps_field()


def build_form(
    values: dict[str, Any],
    choices: dict[str, list[TermChoice]],
    lang: str,
    formdata: bool,
    services: tuple[str, list[ServiceName]] = ("", []),
    entries: Mapping[str, str] | None = None,
) -> ServiceForm:
    """The form for a service whose fields are ``values`` (see
    :func:`caremap.changes.current_values`), with one empty season more for adding one;
    ``formdata``: read the submitted form. ``services``: the service's id and the services
    its next steps choose from; ``entries``: the entry a next step to a merged service
    shows (merged service id → entry id)."""
    shown = hours_of(values["schedules"]).seasons
    data = {
        **{name: values[name] for name in TEXT_FIELDS},
        **{name: values[name] for name in TERM_FIELDS},
        "seasons": [_season_data(season) for season in [*shown, EMPTY_SEASON][:MAX_SEASONS]],
        "phones": phone_rows(values["phones"]),
        "service_areas": values["service_areas"],
        "next_steps": next_step_rows(values["next_steps"], entries),
    }
    form = ServiceForm(data=data) if formdata else ServiceForm(formdata=None, data=data)
    for name, facet in TERM_FIELDS.items():
        getattr(form, name).choices = [(c.code, c.label(lang)) for c in choices.get(facet, [])]
    form.service_areas.choices = area_choices(lang)
    service_id, names = services
    set_service_choices(form.next_steps, names, service_id)
    return form


def _season_data(season: Season) -> dict[str, Any]:
    days, valid_from, valid_to = season
    return {
        "hours": [{"opens_at": _time(o), "closes_at": _time(c)} for o, c in days],
        "valid_from": _date(valid_from),
        "valid_to": _date(valid_to),
    }


@dataclass(frozen=True)
class ShownHours:
    """A service's schedule rules as the form shows them: seasons of weekly hours, and the
    rules it cannot show (kept as they are: text only, or a second opening on the same day)."""

    seasons: list[Season]
    not_shown: list[dict[str, str | None]]


def hours_of(schedules: list[dict[str, str | None]]) -> ShownHours:
    """Seasons (rules grouped by their dates, in order) of per-day (opens, closes)."""
    seasons: dict[tuple[str | None, str | None], dict[str, tuple[str, str]]] = {}
    not_shown = []
    for rule in schedules:
        dates = (rule["valid_from"], rule["valid_to"])
        timed = bool(rule["opens_at"] and rule["closes_at"] and rule["byday"])
        if not timed and not any(dates):
            not_shown.append(rule)
            continue
        days = seasons.setdefault(dates, {})
        rule_days = (rule["byday"] or "").split(",") if timed else []
        if any(day in days for day in rule_days):
            not_shown.append(rule)
            continue
        days |= dict.fromkeys(rule_days, (rule["opens_at"], rule["closes_at"]))
    return ShownHours(
        [
            (tuple(days.get(day, (None, None)) for day in DAYS), *dates)
            for dates, days in seasons.items()
        ],
        not_shown,
    )


def edits_of(form: ServiceForm, values: dict[str, Any]) -> dict[str, Any]:
    """The edit the validated form asks for. Hours are in it only when they differ from what
    the form showed; the rules it could not show are kept."""
    edits: dict[str, Any] = {name: getattr(form, name).data for name in TEXT_FIELDS}
    edits |= {name: getattr(form, name).data or [] for name in TERM_FIELDS}
    edits |= phone_edit(form.phones)
    edits |= next_step_edit(form.next_steps)
    edits["service_areas"] = form.service_areas.data or []
    shown = hours_of(values["schedules"])
    submitted = [s for s in map(_season_of, form.seasons) if s != EMPTY_SEASON]
    if submitted != shown.seasons:
        edits["schedules"] = [rule for s in submitted for rule in schedule_rules(s)]
        edits["schedules"] += shown.not_shown
    return edits


def _season_of(entry: FormField) -> Season:
    season = entry.form
    return (
        tuple((_hhmm(d.form.opens_at.data), _hhmm(d.form.closes_at.data)) for d in season.hours),
        _iso(season.valid_from.data),
        _iso(season.valid_to.data),
    )


def schedule_rules(season: Season) -> list[dict[str, str | None]]:
    """One weekly rule per distinct (opens, closes), over the days that have it; a season
    with dates and no hours is one rule of dates only (open then, hours not given)."""
    days, valid_from, valid_to = season
    groups: dict[tuple[str, str], list[str]] = {}
    for day, (opens, closes) in zip(DAYS, days, strict=True):
        if opens and closes:
            groups.setdefault((opens, closes), []).append(day)
    rules = [(",".join(group), opens, closes) for (opens, closes), group in groups.items()]
    return [
        {
            "byday": byday or None,
            "opens_at": opens,
            "closes_at": closes,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "description": None,
        }
        for byday, opens, closes in rules or [("", None, None)]
    ]


def _hhmm(value: dt.time | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _time(text: str | None) -> dt.time | None:
    return dt.time.fromisoformat(text) if text else None


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None
