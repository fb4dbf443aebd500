"""Editing with moderation: change sets, approval, verification, stale listings and revert.

An edit maps field names of a service (:data:`SERVICE_FIELDS`) to new values: text, lists of
vocabulary codes, or weekly hours (see :func:`schedule_value`); an organization's or a
location's fields are in :mod:`caremap.record_fields`. :func:`propose` (:func:`propose_record`)
turns the fields that differ into a :class:`~caremap.model.ChangeSet` of field changes, each
with the value it replaces. Policy:

- an editor's change set is ``pending`` until a moderator approves or rejects it;
- a moderator's or an admin's own change set is approved at once (they would be approving it);
- capacity counts publish at once for anyone who may edit (:mod:`caremap.capacity`).

Applying a change set first checks that every field still holds the value it replaces
(:class:`ConflictError` otherwise: nothing is overwritten), then writes the rows, stamps the
record's ``last_verified_at``, writes the history (:mod:`caremap.history`), places an edited
location again (its public point through :mod:`caremap.privacy`, jurisdictions, time zone),
republishes the listings of the services the record shows in and forgets the stored coverage
indicators, in the caller's transaction.

When an open-data source later changes a row that was edited, the ETL reloads the row and
applies the edits again over it (:mod:`caremap.overlay`); an organization's own upload replaces
its edits. Rows an edit adds keep the service's source name, with ``#edited-…`` source record
ids.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.orm import Session

from caremap import accounts, capacity, history, record_fields
from caremap.accounts import Principal
from caremap.fields import ChangeError, ConflictError, Field, NotFound, clean_text
from caremap.helplines import CANADA, area_code, area_fields
from caremap.links import LINK_TYPES, LinkValue, link_key, read_links, write_links
from caremap.model import (
    AppUser,
    Attribute,
    Change,
    ChangeSet,
    HistoryEntry,
    Language,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceArea,
    ServiceCapacity,
    TaxonomyTerm,
)
from caremap.normalise import PROVINCES
from caremap.placement import Geography, load_geography
from caremap.privacy import reveals_address
from caremap.queries import confidential_streets
from caremap.reasons import N_, Reason
from caremap.record_fields import LOCATION_FIELDS, ORGANIZATION_FIELDS
from caremap.republish import services_changed
from caremap.settings import load_settings

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
LOCKED = {"service": Service, "organization": Organization, "location": Location}
ALREADY = {
    APPROVED: N_("this change set was already approved"),
    REJECTED: N_("this change set was already rejected"),
}
TERM_FACETS = ("service_type", "population", "capability")
# The edited text published with a record's locations (see _refuse_a_named_street).
PUBLIC_TEXT = {
    "service": ("name", "description", "eligibility_description", "application_process"),
    "organization": ("name", "alternate_name", "description"),
    "location": ("name",),
}


class RevealsAddress(ChangeError):
    """An edited text would publish the street address of a confidential location."""


# --- the fields --------------------------------------------------------------------------------


def _service(session: Session, service_id: str) -> Service:
    service = session.get(Service, service_id)
    if service is None:
        raise NotFound(f"no service has the id {service_id}")
    return service


def _text_field(name: str, required: bool = False) -> Field:
    def read(session: Session, service_id: str) -> str | None:
        value: str | None = getattr(_service(session, service_id), name)
        return value

    def write(session: Session, service_id: str, value: str | None, now: dt.datetime) -> None:
        if required and not (value or "").strip():
            raise ChangeError(Reason(N_("%(field)s may not be empty"), field=name))
        setattr(_service(session, service_id), name, value)

    return Field(read, write, clean_text)


def _code_list(codes: list[str]) -> list[str]:
    return sorted(set(codes))


def _term_ids(session: Session, facet: str, codes: list[str]) -> dict[str, str]:
    """Vocabulary code → term id, for codes of ``facet``; :class:`ChangeError` for others."""
    found = dict(
        session.execute(
            select(TaxonomyTerm.code, TaxonomyTerm.id).where(
                TaxonomyTerm.facet == facet, TaxonomyTerm.code.in_(codes)
            )
        ).all()
    )
    unknown = sorted(set(codes) - set(found))
    if unknown:
        raise ChangeError(f"not {facet} terms of the vocabulary: {', '.join(unknown)}")
    return found


def _terms_field(facet: str) -> Field:
    def facet_terms() -> Any:
        return select(TaxonomyTerm.id).where(TaxonomyTerm.facet == facet)

    def read(session: Session, service_id: str) -> list[str]:
        return sorted(
            session.scalars(
                select(TaxonomyTerm.code)
                .join(Attribute, Attribute.taxonomy_term_id == TaxonomyTerm.id)
                .where(Attribute.link_id == service_id, TaxonomyTerm.facet == facet)
            )
        )

    def write(session: Session, service_id: str, codes: list[str], now: dt.datetime) -> None:
        source = _service(session, service_id).source_name
        ids = _term_ids(session, facet, codes)
        session.execute(
            delete(Attribute).where(
                Attribute.link_id == service_id, Attribute.taxonomy_term_id.in_(facet_terms())
            )
        )
        session.add_all(
            Attribute(
                id=str(uuid.uuid4()),
                link_id=service_id,
                link_type="service",
                link_entity="service",
                taxonomy_term_id=ids[code],
                source_name=source,
            )
            for code in sorted(set(codes))
        )

    return Field(read, write, _code_list)


def _provenance(service: Service, kind: str, now: dt.datetime) -> dict[str, Any]:
    """Provenance of a row an edit adds: the service's source, marked as edited."""
    return {
        "source_name": service.source_name,
        "source_record_id": f"{service.source_record_id}#edited-{kind}",
        "source_as_of": None,
        "imported_at": now,
    }


def _read_languages(session: Session, service_id: str) -> list[str]:
    return sorted(
        code
        for code in session.scalars(select(Language.code).where(Language.service_id == service_id))
        if code
    )


def _write_languages(session: Session, service_id: str, codes: list[str], now: dt.datetime) -> None:
    service = _service(session, service_id)
    _term_ids(session, "language", codes)
    names = dict(
        session.execute(
            select(TaxonomyTerm.code, TaxonomyTerm.name).where(
                TaxonomyTerm.facet == "language", TaxonomyTerm.code.in_(codes)
            )
        ).all()
    )
    session.execute(delete(Language).where(Language.service_id == service_id))
    session.add_all(
        Language(
            id=str(uuid.uuid4()),
            service_id=service_id,
            code=code,
            name=names[code],
            **_provenance(service, f"language{i}", now),
        )
        for i, code in enumerate(sorted(set(codes)))
    )


def _read_areas(session: Session, service_id: str) -> list[str]:
    """The service's areas (:func:`caremap.helplines.area_code`), in order."""
    pruids = session.scalars(select(ServiceArea.pruid).where(ServiceArea.service_id == service_id))
    return sorted(area_code(pruid) for pruid in pruids)


def _write_areas(session: Session, service_id: str, codes: list[str], now: dt.datetime) -> None:
    service = _service(session, service_id)
    session.execute(delete(ServiceArea).where(ServiceArea.service_id == service_id))
    session.add_all(
        ServiceArea(
            id=str(uuid.uuid4()),
            service_id=service_id,
            **area_fields(code),
            **_provenance(service, f"area{i}", now),
        )
        for i, code in enumerate(codes)
    )


def _area_list(codes: list[str]) -> list[str]:
    """Area codes, each :data:`caremap.helplines.CANADA` or a province's or territory's
    abbreviation, once each in order; :class:`ChangeError` for anything else."""
    if not isinstance(codes, list):
        raise ChangeError(Reason(N_("service_areas: give a list of areas")))
    for code in codes:
        if code != CANADA and code not in PROVINCES:
            raise ChangeError(
                Reason(
                    N_("service_areas: %(value)s is not Canada or a province or territory"),
                    value=repr(code),
                )
            )
    return sorted(set(codes))


def _write_next_steps(
    session: Session, service_id: str, values: list[LinkValue], now: dt.datetime
) -> None:
    service = _service(session, service_id)
    for value in values:
        if value["service_id"] == service_id:
            raise ChangeError(Reason(N_("next_steps: a service is not its own next step")))
        _service(session, value["service_id"] or "")
    write_links(session, service_id, values, _provenance(service, "link", now), now)


def _next_step_list(values: list[Mapping[str, Any]]) -> list[LinkValue]:
    """Links as :func:`caremap.links.read_links` gives them, once each by (service, type);
    :class:`ChangeError` for a type that is not one of :data:`caremap.links.LINK_TYPES`."""
    if not isinstance(values, list):
        raise ChangeError(Reason(N_("next_steps: give a list of linked services")))
    links: dict[tuple[str, str], LinkValue] = {}
    for value in values:
        if value.get("link_type") not in LINK_TYPES:
            raise ChangeError(
                Reason(
                    N_("next_steps: %(value)s is not a type of link"),
                    value=repr(value.get("link_type")),
                )
            )
        link: LinkValue = {
            "service_id": str(value.get("service_id") or ""),
            "link_type": value["link_type"],
            "description": clean_text(value.get("description")),
            "description_fr": clean_text(value.get("description_fr")),
        }
        links[link_key(link)] = link
    return [links[key] for key in sorted(links)]


def schedule_value(schedule: Schedule) -> dict[str, str | None]:
    """A schedule row as change sets and history hold it (times HH:MM, dates ISO)."""

    def iso(value: dt.date | dt.time | None) -> str | None:
        if isinstance(value, dt.time):
            return value.isoformat(timespec="minutes")
        return value.isoformat() if value else None

    return {
        "byday": schedule.byday,
        "opens_at": iso(schedule.opens_at),
        "closes_at": iso(schedule.closes_at),
        "valid_from": iso(schedule.valid_from),
        "valid_to": iso(schedule.valid_to),
        "description": schedule.description,
    }


def _schedule_key(value: Mapping[str, str | None]) -> tuple[str, ...]:
    return tuple(value.get(k) or "" for k in ("valid_from", "byday", "opens_at", "closes_at"))


def _read_schedules(session: Session, service_id: str) -> list[dict[str, str | None]]:
    rows = session.scalars(select(Schedule).where(Schedule.service_id == service_id))
    return sorted((schedule_value(s) for s in rows), key=_schedule_key)


def _write_schedules(
    session: Session, service_id: str, values: list[dict[str, str | None]], now: dt.datetime
) -> None:
    service = _service(session, service_id)
    rows = [_schedule_row(value) for value in values]
    session.execute(delete(Schedule).where(Schedule.service_id == service_id))
    session.add_all(
        Schedule(
            id=str(uuid.uuid4()),
            service_id=service_id,
            **row,
            **_provenance(service, f"schedule{i}", now),
        )
        for i, row in enumerate(rows)
    )


def _schedule_row(value: Mapping[str, str | None]) -> dict[str, Any]:
    def parse(kind: Callable[[str], Any], name: str) -> Any:
        text = value.get(name)
        try:
            return kind(text) if text else None
        except ValueError:
            raise ChangeError(
                Reason(N_("%(field)s: %(value)s is not valid"), field=name, value=repr(text))
            ) from None

    row = {
        "byday": value.get("byday") or None,
        "freq": "WEEKLY" if value.get("byday") else None,
        "opens_at": parse(dt.time.fromisoformat, "opens_at"),
        "closes_at": parse(dt.time.fromisoformat, "closes_at"),
        "valid_from": parse(dt.date.fromisoformat, "valid_from"),
        "valid_to": parse(dt.date.fromisoformat, "valid_to"),
        "description": value.get("description") or None,
    }
    if row["valid_from"] and row["valid_to"] and row["valid_from"] > row["valid_to"]:
        raise ChangeError(Reason(N_("valid_from is after valid_to")))
    return row


def _read_available(session: Session, capacity_id: str) -> int | None:
    row = session.get(ServiceCapacity, capacity_id)
    if row is None:
        raise NotFound(f"no capacity has the id {capacity_id}")
    return row.available


def _write_available(session: Session, capacity_id: str, value: int, now: dt.datetime) -> None:
    row = session.get(ServiceCapacity, capacity_id)
    if row is None:
        raise NotFound(f"no capacity has the id {capacity_id}")
    try:
        capacity.assign(row, value, now)
    except capacity.CapacityError as error:
        raise ChangeError(f"available: {error}") from None


SERVICE_FIELDS: dict[str, Field] = {
    "name": _text_field("name", required=True),
    "description": _text_field("description"),
    "eligibility_description": _text_field("eligibility_description"),
    "application_process": _text_field("application_process"),
    **{facet: _terms_field(facet) for facet in TERM_FACETS},
    "languages": Field(_read_languages, _write_languages, _code_list),
    "schedules": Field(
        _read_schedules, _write_schedules, lambda rows: sorted(rows, key=_schedule_key)
    ),
    "phones": record_fields.phones_field("service"),
    "service_areas": Field(_read_areas, _write_areas, _area_list),
    "next_steps": Field(read_links, _write_next_steps, _next_step_list),
}
RECORD_FIELDS: dict[str, dict[str, Field]] = {
    "service": SERVICE_FIELDS,
    "organization": ORGANIZATION_FIELDS,
    "location": LOCATION_FIELDS,
}
FIELDS: dict[tuple[str, str], Field] = {
    **{(kind, name): f for kind, fields in RECORD_FIELDS.items() for name, f in fields.items()},
    ("service_capacity", "available"): Field(_read_available, _write_available),
}
IMMEDIATE = {("service_capacity", "available")}  # published at once, whoever changes them


@dataclass(frozen=True)
class Record:
    """What a change set changes: a service, an organization or a location."""

    type: str
    id: str
    organization_id: str


def record_of(session: Session, record_type: str, record_id: str) -> Record:
    """The record and the organization it belongs to; :class:`NotFound` for none."""
    if record_type == "service":
        organization_id = _service(session, record_id).organization_id
    elif record_type == "organization":
        organization_id = record_fields.organization(session, record_id).id
    elif record_type == "location":
        organization_id = record_fields.location(session, record_id).organization_id
    else:
        raise ChangeError(f"{record_type} records are not editable")
    return Record(record_type, record_id, organization_id)


def current_values(session: Session, service_id: str) -> dict[str, Any]:
    """Every editable field of the service as it is now (what an edit form starts from)."""
    return record_values(session, "service", service_id)


def record_values(session: Session, record_type: str, record_id: str) -> dict[str, Any]:
    """Every editable field of the record as it is now. For a location this holds its exact
    point: only for those who may read the organization's private fields."""
    return {name: f.read(session, record_id) for name, f in RECORD_FIELDS[record_type].items()}


# --- proposing and deciding ----------------------------------------------------------------


def propose(
    session: Session,
    principal: Principal,
    service_id: str,
    edits: Mapping[str, Any],
    now: dt.datetime,
) -> ChangeSet | None:
    """Record the edited fields that differ from the service's as a change set: pending for
    an editor, applied at once for a moderator or admin. None when nothing differs.
    :class:`PermissionError` for someone who may not edit the service."""
    return propose_record(session, principal, "service", service_id, edits, now)


def propose_record(
    session: Session,
    principal: Principal,
    record_type: str,
    record_id: str,
    edits: Mapping[str, Any],
    now: dt.datetime,
    geography: Geography | None = None,
) -> ChangeSet | None:
    """:func:`propose` for any record (``service``, ``organization``, ``location``);
    ``geography`` places an edited location (the bundled data when None)."""
    fields = RECORD_FIELDS.get(record_type, {})
    unknown = sorted(set(edits) - set(fields))
    if unknown:
        raise ChangeError(f"not editable: {', '.join(unknown)}")
    record = record_of(session, record_type, record_id)
    _check_may_edit(principal, record.organization_id)
    if record_type == "service":
        edits = _with_derived_terms(session, record_id, edits)
    changes = [
        (record_type, record_id, name, old, new)
        for name, edit in edits.items()
        if (old := fields[name].read(session, record_id)) != (new := fields[name].normalise(edit))
    ]
    if not changes:
        return None
    return _submit(session, principal, record, "update", changes, now, geography)


OPEN_24_7 = "open_24_7"
EVERY_DAY = "MO,TU,WE,TH,FR,SA,SU"


def _open_24_7(schedules: Sequence[Mapping[str, str | None]]) -> bool:
    """Some weekly rule is 00:00–23:59 on all seven days (as the ETL reads "24/7")."""
    return any(
        r.get("byday") == EVERY_DAY
        and r.get("opens_at") == "00:00"
        and r.get("closes_at") == "23:59"
        for r in schedules
    )


def _with_derived_terms(
    session: Session, service_id: str, edits: Mapping[str, Any]
) -> Mapping[str, Any]:
    """Edited hours that start or stop being round the clock add or remove ``open_24_7``."""
    if "schedules" not in edits:
        return edits
    was_24_7 = _open_24_7(_read_schedules(session, service_id))
    is_24_7 = _open_24_7(edits["schedules"])
    if was_24_7 == is_24_7:
        return edits
    capability = set(
        edits.get("capability", SERVICE_FIELDS["capability"].read(session, service_id))
    )
    capability = capability | {OPEN_24_7} if is_24_7 else capability - {OPEN_24_7}
    return {**edits, "capability": sorted(capability)}


def _submit(
    session: Session,
    principal: Principal,
    record: Record,
    action: str,
    changes: list[tuple[str, str, str, Any, Any]],
    now: dt.datetime,
    geography: Geography | None,
) -> ChangeSet:
    """A new change set of ``changes`` (resource type, id, field, old, new), applied at once
    when the principal moderates or every field publishes at once."""
    change_set = ChangeSet(
        organization_id=record.organization_id,
        record_type=record.type,
        record_id=record.id,
        service_id=record.id if record.type == "service" else None,
        author_id=principal.id,
        action=action,
        created_at=now,
        status=PENDING,
        comment="",
        changes=[
            Change(
                resource_type=kind,
                resource_id=rid,
                field_name=name,
                old_value=history.encode(old),
                new_value=history.encode(new),
            )
            for kind, rid, name, old, new in changes
        ],
    )
    _refuse_a_named_street(session, record, {name: new for _, _, name, _, new in changes})
    session.add(change_set)
    session.flush()
    immediate = all((c[0], c[2]) in IMMEDIATE for c in changes)
    if accounts.can_moderate(principal) or immediate:
        _apply(session, principal, change_set, now, geography)
    return change_set


def approve(
    session: Session,
    principal: Principal,
    change_set_id: int,
    now: dt.datetime,
    comment: str = "",
    geography: Geography | None = None,
) -> ChangeSet:
    """Apply a pending change set (see the module's description of applying);
    :class:`AlreadyDecided` when it is not pending, :class:`RevealsAddress` when it would now
    publish a confidential location's street (the decision is then rolled back)."""
    change_set = _decide(session, principal, change_set_id, APPROVED, comment, now)
    record = record_of(session, change_set.record_type, change_set.record_id)
    edited = {c.field_name: history.decode(c.new_value) for c in change_set.changes}
    _refuse_a_named_street(session, record, edited)
    _apply(session, principal, change_set, now, geography)
    return change_set


def _refuse_a_named_street(session: Session, record: Record, edited: Mapping[str, Any]) -> None:
    """:class:`RevealsAddress` when an edited text published with the record (its phones'
    descriptions too) holds the street address of a confidential location it concerns (its
    own, for a location; its locations' and its organization's, for a service; its own and its
    services', for an organization), as the record will be once ``edited``: the address may
    not be published, under any name (:mod:`caremap.privacy`)."""
    texts = {n: edited[n] for n in PUBLIC_TEXT.get(record.type, ()) if edited.get(n)}
    descriptions = [p["description"] for p in edited.get("phones") or () if p["description"]]
    if descriptions:
        texts["phones"] = "\n".join(descriptions)
    reasons = [
        text
        for link in edited.get("next_steps") or ()
        for text in (link["description"], link["description_fr"])
        if text
    ]
    if reasons:
        texts["next_steps"] = "\n".join(reasons)
    if not texts:
        return
    lines = _confidential_lines(session, record, edited)
    linked = _linked_lines(session, edited.get("next_steps") or ())
    for name, text in texts.items():
        found = reveals_address(text, lines + linked if name == "next_steps" else lines)
        if found is not None:
            raise RevealsAddress(
                Reason(
                    N_(
                        "%(field)s: it contains the street address of a confidential location "
                        "(%(found)s), which may not be published"
                    ),
                    field=name,
                    found=repr(found),
                )
            )


def _linked_lines(session: Session, links: Sequence[LinkValue]) -> tuple[str | None, ...]:
    """The confidential address lines of the services the links lead to: a reason published
    with a link must not hold them either."""
    streets = confidential_streets(session.connection())
    lines: tuple[str | None, ...] = ()
    for link in links:
        service = session.get(Service, link["service_id"] or "")
        if service is not None:
            lines += streets.of_service(service.id, service.organization_id)
    return lines


def _confidential_lines(
    session: Session, record: Record, edited: Mapping[str, Any]
) -> tuple[str | None, ...]:
    """The confidential address lines the record's text must not hold, once ``edited``."""
    if record.type == "location":
        location = record_fields.location(session, record.id)
        if not edited.get("confidential", location.confidential):
            return ()
        address = record_fields.address_of(session, record.id)
        street = edited.get("street", address and address.address_1)
        return (street, address.address_2 if address else None)
    streets = confidential_streets(session.connection())
    if record.type == "service":
        return streets.of_service(record.id, record.organization_id)
    return streets.of_organization(record.id)


def reject(
    session: Session, principal: Principal, change_set_id: int, comment: str, now: dt.datetime
) -> ChangeSet:
    """Refuse a pending change set, saying why (the comment is required);
    :class:`AlreadyDecided` when it is not pending."""
    if not comment.strip():
        raise ChangeError(Reason(N_("say why the change is rejected")))
    return _decide(session, principal, change_set_id, REJECTED, comment, now)


class AlreadyDecided(ChangeError):
    """The change set was approved or rejected already (perhaps a moment ago, by another
    moderator)."""


def _decide(
    session: Session,
    principal: Principal,
    change_set_id: int,
    status: str,
    comment: str,
    now: dt.datetime,
) -> ChangeSet:
    """Mark a pending change set decided, in one conditional UPDATE: of two moderators deciding
    at once, on either store, exactly one finds it pending (the row's write lock makes the other
    wait, then find it decided: :class:`AlreadyDecided`); the first statement of the unit of
    work, so that SQLite's write lock covers every read that follows too."""
    if not accounts.can_moderate(principal):
        raise PermissionError("only moderators decide on changes")
    decided = session.execute(
        update(ChangeSet)
        .where(ChangeSet.id == change_set_id, ChangeSet.status == PENDING)
        .values(status=status, comment=comment.strip(), decided_by=principal.id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    change_set = session.get(ChangeSet, change_set_id, populate_existing=True)
    if change_set is None:
        raise NotFound(f"no change set has the id {change_set_id}")
    if cast("CursorResult[Any]", decided).rowcount != 1:
        raise AlreadyDecided(Reason(ALREADY[change_set.status]))
    return change_set


def _apply(
    session: Session,
    principal: Principal,
    change_set: ChangeSet,
    now: dt.datetime,
    geography: Geography | None,
) -> None:
    # The record is locked (PostGIS) and re-read, so that two change sets applied at once see
    # each other's values: the second finds its old values gone (a conflict), not overwritten.
    session.get(
        LOCKED[change_set.record_type],
        change_set.record_id,
        with_for_update=True,
        populate_existing=True,
    )
    conflicts = [
        c.field_name
        for c in change_set.changes
        if _field(c).read(session, c.resource_id) != history.decode(c.old_value)
    ]
    if conflicts:
        raise ConflictError(conflicts)
    author = session.get(AppUser, change_set.author_id) if change_set.author_id else None
    for c in change_set.changes:
        _field(c).write(session, c.resource_id, history.decode(c.new_value), now)
        history.record(
            session,
            resource_type=c.resource_type,
            resource_id=c.resource_id,
            service_id=change_set.service_id,
            field_name=c.field_name,
            previous=history.decode(c.old_value),
            replacement=history.decode(c.new_value),
            action=change_set.action,
            by=author,
            now=now,
            change_set_id=change_set.id,
        )
    service_ids = _settle(session, change_set, now, geography)
    change_set.status, change_set.decided_by, change_set.decided_at = APPROVED, principal.id, now
    session.flush()
    services_changed(session.connection(), service_ids)


def _settle(
    session: Session, change_set: ChangeSet, now: dt.datetime, geography: Geography | None
) -> list[str]:
    """Stamp the changed record verified and derive what follows from it (a location's
    public point …); the services whose listings must be republished."""
    if change_set.record_type == "location":
        geography = geography or load_geography(load_settings().data_dir)
        return record_fields.settle_location(session, change_set.record_id, geography, now)
    if change_set.record_type == "organization":
        return record_fields.settle_organization(session, change_set.record_id, now)
    _service(session, change_set.record_id).last_verified_at = now
    return [change_set.record_id]


def _field(change: Change) -> Field:
    return FIELDS[(change.resource_type, change.field_name)]


def _check_may_edit(principal: Principal, organization_id: str) -> None:
    if not accounts.can_edit(principal, organization_id):
        raise PermissionError("you may not edit this organization's listings")


# --- verification, history, stale listings -----------------------------------------------------


def verify(session: Session, principal: Principal, service_id: str, now: dt.datetime) -> None:
    """Nothing changed: stamp the service's ``last_verified_at``, and log it."""
    service = _service(session, service_id)
    _check_may_edit(principal, service.organization_id)
    previous = service.last_verified_at
    service.last_verified_at = now
    history.record(
        session,
        resource_type="service",
        resource_id=service_id,
        service_id=service_id,
        field_name="last_verified_at",
        previous=previous.isoformat() if previous else None,
        replacement=now.isoformat(),
        action="verify",
        by=principal,
        now=now,
    )
    services_changed(session.connection(), [service_id], coverage=False)


def record_of_entry(session: Session, entry: HistoryEntry) -> Record:
    """The record a history entry belongs to: its service, else its own record."""
    if entry.service_id is not None:
        return record_of(session, "service", entry.service_id)
    return record_of(session, entry.resource_type, entry.resource_id)


def revert(
    session: Session,
    principal: Principal,
    entry_id: int,
    now: dt.datetime,
    geography: Geography | None = None,
) -> ChangeSet:
    """Put a history entry's previous value back, as a new change set (``revert``) that
    follows :func:`propose`'s policy; see :func:`revert_changes` for what it changes and
    refuses."""
    entry = session.get(HistoryEntry, entry_id)
    if entry is None:
        raise NotFound(f"no history entry has the id {entry_id}")
    record = record_of_entry(session, entry)
    _check_may_edit(principal, record.organization_id)
    reverted = revert_changes(session, entry)
    return _submit(session, principal, record, "revert", reverted, now, geography)


def revert_changes(session: Session, entry: HistoryEntry) -> list[tuple[str, str, str, Any, Any]]:
    """What reverting a history entry changes, as (resource type, id, field, now, after): its
    field back to the previous value, and for a service's hours the ``open_24_7`` capability
    that follows them. :class:`ChangeError` for a field that cannot be reverted,
    :class:`ConflictError` when it no longer holds the entry's value (a later change would be
    lost)."""
    key = (entry.resource_type, entry.field_name)
    if key not in FIELDS:
        raise ChangeError(Reason(N_("%(field)s cannot be reverted"), field=entry.field_name))
    current = FIELDS[key].read(session, entry.resource_id)
    if current != history.decode(entry.replacement_value):
        raise ConflictError([entry.field_name])
    previous = history.decode(entry.previous_value)
    reverted = [(entry.resource_type, entry.resource_id, entry.field_name, current, previous)]
    if key == ("service", "schedules"):
        derived = _with_derived_terms(session, entry.resource_id, {"schedules": previous})
        capability = SERVICE_FIELDS["capability"]
        now_terms = capability.read(session, entry.resource_id)
        after = capability.normalise(derived.get("capability", now_terms))
        if after != now_terms:
            reverted.append(("service", entry.resource_id, "capability", now_terms, after))
    return reverted


def pending_change_sets(session: Session) -> list[ChangeSet]:
    """Change sets awaiting a moderator, oldest first."""
    return list(
        session.scalars(
            select(ChangeSet).where(ChangeSet.status == PENDING).order_by(ChangeSet.created_at)
        )
    )


def change_sets_of(
    session: Session, record_id: str, record_type: str = "service"
) -> list[ChangeSet]:
    """A record's change sets, newest first (what its editors see of their proposals)."""
    return list(
        session.scalars(
            select(ChangeSet)
            .where(ChangeSet.record_type == record_type, ChangeSet.record_id == record_id)
            .order_by(ChangeSet.created_at.desc(), ChangeSet.id.desc())
        )
    )


@dataclass(frozen=True)
class StaleService:
    id: str
    name: str
    organization: str
    last_verified_at: dt.datetime | None


def months_before(now: dt.datetime, months: int) -> dt.datetime:
    """The same day and time ``months`` calendar months earlier (clamped to the month's end)."""
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (following - dt.timedelta(days=1)).day
    return now.replace(year=year, month=month, day=min(now.day, last_day))


def stale_services(session: Session, months: int, now: dt.datetime) -> list[StaleService]:
    """Services not verified in the last ``months`` months (or never), the oldest first."""
    cutoff = months_before(now, months)
    rows = session.execute(
        select(Service.id, Service.name, Organization.name, Service.last_verified_at)
        .join(Organization, Organization.id == Service.organization_id)
        .where(or_(Service.last_verified_at.is_(None), Service.last_verified_at < cutoff))
        .order_by(Service.last_verified_at.is_not(None), Service.last_verified_at, Service.name)
    ).all()
    return [StaleService(*row) for row in rows]
