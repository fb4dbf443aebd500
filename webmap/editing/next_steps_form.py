"""The "Next steps" rows of the service edit form: each linked service (chosen by name among
the public ones), whether this service refers people to it or receives them from it, the reason
in English and in French, a "Remove" box, and an empty row to add one (no JavaScript needed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from caremap.links import REFERS_TO
from caremap.queries import ServiceName
from webmap.editing.change_text import LINK_TYPE_LABELS

MAX_STEPS = 50  # rows a form takes
PREFIX = "next_steps-"


def _stripped(value: str | None) -> str | None:
    return value.strip() if value else value


def _type_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in LINK_TYPE_LABELS.items()]


class NextStepForm(Form):
    """One linked service (a row without a service is none)."""

    service_id = SelectField(_l("Service"), choices=[], validate_choice=True)
    link_type = SelectField(_l("Link"), choices=_type_choices)
    description = StringField(
        _l("Reason, in English (for example: medical exam after a sexual assault)"),
        validators=[Optional(), Length(max=300)],
        filters=[_stripped],
    )
    description_fr = StringField(
        _l("Reason, in French"), validators=[Optional(), Length(max=300)], filters=[_stripped]
    )
    remove = BooleanField(_l("Remove this next step"))

    def validate_service_id(self, field: SelectField) -> None:
        if (
            not field.data
            and not self.remove.data
            and (self.description.data or self.description_fr.data)
        ):
            raise ValidationError(_("Choose the service, or tick Remove."))


def next_steps_field() -> FieldList:
    return FieldList(FormField(NextStepForm), max_entries=MAX_STEPS)


def next_step_rows(
    links: list[dict[str, Any]], entries: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The form's rows for a service's links: one each, then an empty row to add one. A link
    to a service merged into another entry shows that entry (``entries``: merged service id →
    its entry's id)."""
    entries = entries or {}
    rows = [
        {name: value or "" for name, value in link.items()}
        | {"service_id": entries.get(link["service_id"], link["service_id"])}
        for link in links
    ]
    return [*rows, {"service_id": "", "link_type": REFERS_TO}][:MAX_STEPS]


def set_service_choices(rows: FieldList, names: list[ServiceName], service_id: str) -> None:
    """Every row chooses among the public services other than this one ("" for none)."""
    choices = [("", _("— choose a service —"))]
    choices += [(s.id, s.name) for s in names if s.id != service_id]
    for row in rows:
        row.form.service_id.choices = choices


def next_step_edit(rows: FieldList) -> dict[str, Any]:
    """``{"next_steps": […]}`` as the validated rows ask (without the removed and the empty
    ones); nothing when the form posted no next-step rows."""
    if not any(name.startswith(PREFIX) for name in request.form):
        return {}
    fields = ("service_id", "link_type", "description", "description_fr")
    return {
        "next_steps": [
            {name: row.form[name].data or None for name in fields}
            for row in rows
            if row.form.service_id.data and not row.form.remove.data
        ]
    }
