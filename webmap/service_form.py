"""The service edit form: texts, vocabulary terms, weekly hours and their season, turned into
an edit for :func:`caremap.changes.propose`."""

from __future__ import annotations

import datetime as dt
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
from wtforms.widgets import CheckboxInput, ListWidget

from caremap.queries import TermChoice

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
Hours = tuple[tuple[tuple[str | None, str | None], ...], str | None, str | None]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
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
    hours = FieldList(FormField(DayForm), min_entries=7, max_entries=7)
    valid_from = DateField(_l("Hours valid from"), validators=[Optional()])
    valid_to = DateField(_l("Hours valid until"), validators=[Optional()])

    def validate_valid_to(self, field: DateField) -> None:
        if self.valid_from.data and field.data and field.data < self.valid_from.data:
            raise ValidationError(_("The end of the season is before its start."))


def build_form(
    values: dict[str, Any], choices: dict[str, list[TermChoice]], lang: str, formdata: bool
) -> ServiceForm:
    """The form for a service whose fields are ``values`` (see
    :func:`caremap.changes.current_values`); ``formdata``: read the submitted form."""
    days, valid_from, valid_to = hours_of(values["schedules"])
    data = {
        **{name: values[name] for name in TEXT_FIELDS},
        **{name: values[name] for name in TERM_FIELDS},
        "hours": [{"opens_at": _time(o), "closes_at": _time(c)} for o, c in days],
        "valid_from": _date(valid_from),
        "valid_to": _date(valid_to),
    }
    form = ServiceForm(data=data) if formdata else ServiceForm(formdata=None, data=data)
    for name, facet in TERM_FIELDS.items():
        getattr(form, name).choices = [(c.code, c.label(lang)) for c in choices.get(facet, [])]
    return form


def hours_of(schedules: list[dict[str, str | None]]) -> Hours:
    """Weekly hours as the form shows them: per day (opens, closes), and the season of the
    first rule that has one."""
    days: dict[str, tuple[str | None, str | None]] = {}
    for rule in schedules:
        if rule["opens_at"] and rule["closes_at"]:
            for day in (rule["byday"] or "").split(","):
                days.setdefault(day, (rule["opens_at"], rule["closes_at"]))
    season = next((r for r in schedules if r["valid_from"] or r["valid_to"]), None)
    return (
        tuple(days.get(day, (None, None)) for day in DAYS),
        season["valid_from"] if season else None,
        season["valid_to"] if season else None,
    )


def edits_of(form: ServiceForm, values: dict[str, Any]) -> dict[str, Any]:
    """The edit the validated form asks for. Hours are in it only when they differ from what
    the form showed (a schedule the form cannot show is kept as it is)."""
    edits: dict[str, Any] = {name: getattr(form, name).data for name in TEXT_FIELDS}
    edits |= {name: getattr(form, name).data or [] for name in TERM_FIELDS}
    hours: Hours = (
        tuple(
            (_hhmm(day.form.opens_at.data), _hhmm(day.form.closes_at.data)) for day in form.hours
        ),
        _iso(form.valid_from.data),
        _iso(form.valid_to.data),
    )
    if hours != hours_of(values["schedules"]):
        edits["schedules"] = schedule_rules(hours)
    return edits


def schedule_rules(hours: Hours) -> list[dict[str, str | None]]:
    """One weekly rule per distinct (opens, closes), over the days that have it."""
    days, valid_from, valid_to = hours
    groups: dict[tuple[str, str], list[str]] = {}
    for day, (opens, closes) in zip(DAYS, days, strict=True):
        if opens and closes:
            groups.setdefault((opens, closes), []).append(day)
    return [
        {
            "byday": ",".join(group),
            "opens_at": opens,
            "closes_at": closes,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "description": None,
        }
        for (opens, closes), group in groups.items()
    ]


def _hhmm(value: dt.time | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _time(text: str | None) -> dt.time | None:
    return dt.time.fromisoformat(text) if text else None


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None
