"""Changes and history entries as people read them: field names, actions and values in the
page's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NoReturn

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from caremap import history, reasons
from caremap.fields import ChangeError, ConflictError
from caremap.helplines import CANADA
from caremap.links import RECEIVES_FROM, REFERS_TO
from caremap.normalise import PROVINCES, display_phone
from caremap.queries import PublicSchedule, service_names
from webmap import get_store, page_language
from webmap.common.filters import hours_text, moment, said

FIELD_LABELS = {
    "name": _l("Name"),
    "description": _l("Description"),
    "eligibility_description": _l("Eligibility"),
    "application_process": _l("How to get help (intake)"),
    "service_type": _l("Services"),
    "population": _l("Who it serves"),
    "capability": _l("Can accommodate"),
    "languages": _l("Languages"),
    "schedules": _l("Hours"),
    "available": _l("Available now"),
    "last_verified_at": _l("Last verified"),
    "alternate_name": _l("Other name"),
    "email": _l("E-mail"),
    "website": _l("Website"),
    "street": _l("Street address"),
    "city": _l("City or town"),
    "province": _l("Province or territory"),
    "postal_code": _l("Postal code"),
    "point": _l("Point on the map"),
    "confidential": _l("Confidential address"),
    "phones": _l("Phone numbers"),
    "service_areas": _l("Area served"),
    "next_steps": _l("Next steps"),
}
PRECISION_LABELS = {
    "source_coordinates": _l("from the source's coordinates"),
    "manual": _l("placed by hand"),
    "postal_code": _l("at the postal code"),
    "fsa": _l("at the postal area (first three characters)"),
    "place": _l("at the city or town"),
}
ACTION_LABELS = {
    "update": _l("Change"),
    "revert": _l("Revert"),
    "capacity": _l("Availability update"),
    "verify": _l("Verified: nothing changed"),
}
LINK_TYPE_LABELS = {
    REFERS_TO: _l("Refers people to"),
    RECEIVES_FROM: _l("Receives people from"),
}
PHONE_TYPE_LABELS = {
    "voice": _l("Voice"),
    "cell": _l("Mobile"),
    "text": _l("Text message (SMS)"),
    "fax": _l("Fax"),
    "textphone": _l("TTY (textphone)"),
    "video": _l("Video"),
    "pager": _l("Pager"),
}
LIST_FIELDS = {"service_type", "population", "capability", "languages"}


def area_choices(lang: str) -> list[tuple[str, str]]:
    """All of Canada, then each province and territory, named in ``lang``."""
    provinces = [(abbr, p.name_fr if lang == "fr" else p.name_en) for abbr, p in PROVINCES.items()]
    return [(CANADA, _("Canada")), *provinces]


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def value_text(field_name: str, encoded: str, labels: Mapping[str, str]) -> str:
    """A stored (JSON) value as text: term labels, hours, points, dates; "—" for none."""
    value: Any = history.decode(encoded)
    if value is None or value == []:
        return "—"
    if field_name in LIST_FIELDS:
        return ", ".join(labels.get(code, code) for code in value)
    if field_name == "schedules":
        return "; ".join(hours_text(_schedule(rule)) for rule in value)
    if field_name == "service_areas":
        names = dict(area_choices(page_language()))
        return ", ".join(names.get(code, code) for code in value)
    if field_name == "next_steps":
        return "; ".join(next_steps_text(value))
    if field_name == "point":
        return point_text(value)
    if field_name == "phones":
        return "; ".join(phone_text(phone) for phone in value)
    if field_name == "confidential":
        return _("Yes") if value else _("No")
    if field_name == "last_verified_at":
        return moment(dt.datetime.fromisoformat(value))
    return str(value)


def next_steps_text(links: list[Mapping[str, str | None]]) -> list[str]:
    """Links as people read them: "Refers people to Legal Clinic — legal help after…"."""
    with get_store().session() as session:
        names = {s.id: s.name for s in service_names(session)}
    french = page_language() == "fr"
    texts = []
    for link in links:
        kind = LINK_TYPE_LABELS.get(link["link_type"] or "", link["link_type"])
        text = f"{kind} {names.get(link['service_id'] or '', link['service_id'])}"
        reason = (
            link["description_fr"] if french and link["description_fr"] else link["description"]
        )
        texts.append(f"{text} — {reason}" if reason else text)
    return texts


def point_text(point: Mapping[str, Any]) -> str:
    """An exact point and how it was found: only for those who may read private fields."""
    precision = PRECISION_LABELS.get(point["precision"], point["precision"])
    return f"{point['latitude']:.6f}, {point['longitude']:.6f} ({precision})"


def phone_text(phone: Mapping[str, str | None]) -> str:
    """A phone as people read it: "416-555-0100 ext. 22 (Fax) — Intake"."""
    text = display_phone(phone["number"] or "")
    if phone.get("extension"):
        text += f" {_('ext.')} {phone['extension']}"
    if phone.get("type") not in (None, "voice"):
        text += f" ({PHONE_TYPE_LABELS.get(phone['type'] or '', phone['type'])})"
    if phone.get("description"):
        text += f" — {phone['description']}"
    return text


def _schedule(rule: Mapping[str, str | None]) -> PublicSchedule:
    def parse(kind: Any, name: str) -> Any:
        return kind.fromisoformat(rule[name]) if rule.get(name) else None

    return PublicSchedule(
        rule.get("byday"),
        parse(dt.time, "opens_at"),
        parse(dt.time, "closes_at"),
        parse(dt.date, "valid_from"),
        parse(dt.date, "valid_to"),
        rule.get("description"),
    )


def conflict_message(fields: list[str]) -> str:
    return _(
        "This change was not applied: %(fields)s changed since it was proposed. "
        "Reject it and ask for a new one.",
        fields=", ".join(field_label(f) for f in fields),
    )


def refuse(error: ChangeError) -> NoReturn:
    """Answer a refused change: 409 naming the fields that changed meanwhile, else 400 with the
    reason, in the page's language."""
    if isinstance(error, ConflictError):
        abort(409, description=conflict_message(error.fields))
    reason = said(reasons.reason_of(error))
    abort(400, description=_("This change cannot be made: %(reason)s", reason=reason))
