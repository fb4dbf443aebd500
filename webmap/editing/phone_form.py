"""The "Phone numbers" rows of the service, organization and location edit forms: each
phone's type, number, extension and description, a "Remove" box, and empty rows to add one
(no JavaScript needed). Numbers are checked with the normaliser the ETL uses."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from caremap.fields import ChangeError
from caremap.normalise import display_phone
from caremap.record_fields import EXTENSION, PHONE_TYPES, normalise_phone
from webmap.editing.change_text import PHONE_TYPE_LABELS

NANP = "+1"
MAX_PHONES = 100  # rows a form takes
EMPTY_ROWS = 2  # rows for adding numbers
PREFIX = "phones-"


def _stripped(value: str | None) -> str | None:
    return value.strip() if value else value


def _type_choices() -> list[tuple[str, str]]:
    return [(kind, str(PHONE_TYPE_LABELS[kind])) for kind in PHONE_TYPES]


class PhoneForm(Form):
    """One phone number (a row left empty is no phone)."""

    type = SelectField(_l("Type"), choices=_type_choices)
    number = StringField(_l("Number"), validators=[Length(max=40)], filters=[_stripped])
    extension = StringField(
        _l("Extension"),
        validators=[
            Optional(),
            Regexp(rf"{EXTENSION.pattern}\Z", message=_l("Enter the extension in digits only.")),
        ],
        filters=[_stripped],
    )
    description = StringField(
        _l("Description (for example: Intake, 24-hour line)"),
        validators=[Optional(), Length(max=200)],
        filters=[_stripped],
    )
    remove = BooleanField(_l("Remove this number"))

    def validate_number(self, field: StringField) -> None:
        if self.remove.data:
            return
        if not field.data:
            if self.extension.data or self.description.data:
                raise ValidationError(_("Enter the phone number, or tick Remove."))
            return
        try:
            normalise_phone({"number": field.data})
        except ChangeError:
            raise ValidationError(
                _(
                    "Enter one phone number, like 416-555-0100, or an international number "
                    "starting with +."
                )
            ) from None


def phones_field() -> FieldList:
    return FieldList(FormField(PhoneForm), max_entries=MAX_PHONES)


def phone_rows(phones: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The form's rows for a record's phones: one each, then empty rows to add more."""
    rows = [
        {name: value or "" for name, value in phone.items()} | {"number": _shown(phone["number"])}
        for phone in phones
    ]
    return [*rows, *[{"type": "voice"}] * EMPTY_ROWS][:MAX_PHONES]


def _shown(e164: str) -> str:
    """A stored number as the form shows it: "416-555-0100" in North America, else E.164."""
    return display_phone(e164) if e164.startswith(NANP) else e164


def phone_edit(rows: FieldList) -> dict[str, Any]:
    """``{"phones": […]}`` as the validated rows ask (without the removed and the empty
    ones); nothing when the form posted no phone rows (a form without them leaves the
    phones as they are)."""
    if not any(name.startswith(PREFIX) for name in request.form):
        return {}
    return {
        "phones": [
            {name: row.form[name].data for name in ("type", "number", "extension", "description")}
            for row in rows
            if row.form.number.data and not row.form.remove.data
        ]
    }
