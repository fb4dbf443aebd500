"""Editors' changes kept over a later load of an open-data source.

When a source record changes, the ETL replaces the rows made from it with the source's. For a
source no organization owns (open data), the edits applied to those rows since — approved
change sets and reverts of the service and of its location (:mod:`caremap.changes`; the
location is then placed again), and bed counts newer than the source's — are applied again on
top, field by field: an organization's word about its own service is newer than the file's.
Where the source changed an edited field itself (its new value is neither the value the edit
replaced nor the edit's), the edit still wins and the field is reported, so that a moderator
can look. An organization's own upload (bulk import) is its latest word: nothing is applied
over it (the caller decides; see :func:`etl.load.load_source`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.orm import Session

from caremap import history
from caremap.changes import FIELDS, IMMEDIATE, ChangeError, Field
from caremap.model import HistoryEntry, Location, Service, ServiceCapacity
from caremap.placement import Geography, PlacementError, load_geography, place
from caremap.record_fields import address_of
from caremap.settings import load_settings

KEPT_ACTIONS = ("update", "revert", "capacity")
VERIFYING_ACTIONS = ("update", "revert", "verify")


@dataclass
class Reapplied:
    """What :func:`reapply` did: fields written again, and those the source had changed too
    (``record id: field``)."""

    fields: int = 0
    over_source_changes: list[str] = field(default_factory=list)


def reapply(
    connection: Connection,
    service_ids: Iterable[str],
    location_ids: Iterable[str],
    now: dt.datetime,
    geography: Geography | None = None,
) -> Reapplied:
    """Apply the latest kept edit of every field of these services (and their parts) and
    locations again, in the connection's transaction."""
    services, locations = list(service_ids), list(location_ids)
    done = Reapplied()
    if not services and not locations:
        return done
    with Session(bind=connection, autoflush=False) as session:
        entries = _latest_entries(session, services, locations)
        for entry in entries:
            if entry.resource_type != "location":
                _reapply_entry(session, entry, now, done)
        located = [e for e in entries if e.resource_type == "location"]
        if located:
            geography = geography or load_geography(load_settings().data_dir)
            _reapply_locations(session, located, now, done, geography)
        _restore_verification(session, services)
        session.flush()
    return done


def _latest_entries(
    session: Session, service_ids: list[str], location_ids: list[str]
) -> list[HistoryEntry]:
    """The newest kept entry of each (record, field), in the order they were made."""
    of_services = HistoryEntry.service_id.in_(service_ids)
    of_locations = and_(
        HistoryEntry.resource_type == "location", HistoryEntry.resource_id.in_(location_ids)
    )
    latest: dict[tuple[str, str, str], HistoryEntry] = {}
    for entry in session.scalars(
        select(HistoryEntry)
        .where(or_(of_services, of_locations), HistoryEntry.last_action_type.in_(KEPT_ACTIONS))
        .order_by(HistoryEntry.last_action_date, HistoryEntry.id)
    ):
        if (entry.resource_type, entry.field_name) in FIELDS:
            latest[(entry.resource_type, entry.resource_id, entry.field_name)] = entry
    return sorted(latest.values(), key=lambda e: (e.last_action_date, e.id))


def _reapply_locations(
    session: Session,
    entries: list[HistoryEntry],
    now: dt.datetime,
    done: Reapplied,
    geography: Geography,
) -> None:
    """Each location's edits again, then the location placed again — all or nothing: one
    that cannot be placed so keeps the source's version, reported."""
    by_location: dict[str, list[HistoryEntry]] = {}
    for entry in entries:
        by_location.setdefault(entry.resource_id, []).append(entry)
    for location_id, edits in by_location.items():
        kept = Reapplied()
        try:
            with session.begin_nested():
                for entry in edits:
                    _reapply_entry(session, entry, now, kept)
                session.flush()
                location = session.get(Location, location_id)
                if kept.fields and location is not None:
                    place(location, address_of(session, location_id), geography)
        except (PlacementError, ChangeError):
            done.over_source_changes.append(f"{location_id}: the edited place was not kept")
            continue
        done.fields += kept.fields
        done.over_source_changes += kept.over_source_changes


def _reapply_entry(
    session: Session, entry: HistoryEntry, now: dt.datetime, done: Reapplied
) -> None:
    key = (entry.resource_type, entry.field_name)
    edit: Field = FIELDS[key]
    try:
        current = edit.read(session, entry.resource_id)
    except ChangeError:  # the record is gone from the source
        return
    wanted = history.decode(entry.replacement_value)
    if current == wanted:
        return
    if key in IMMEDIATE:
        if _source_is_newer(session, entry):
            return
        edit.write(session, entry.resource_id, wanted, entry.last_action_date)
    else:
        edit.write(session, entry.resource_id, wanted, now)
        if current != history.decode(entry.previous_value):
            record = entry.service_id or entry.resource_id
            done.over_source_changes.append(f"{record}: {entry.field_name}")
    done.fields += 1


def _source_is_newer(session: Session, entry: HistoryEntry) -> bool:
    """A count-like field (beds): the source's stamp is later than the edit's."""
    row = session.get(ServiceCapacity, entry.resource_id)
    return row is not None and row.updated is not None and row.updated > entry.last_action_date


def _restore_verification(session: Session, service_ids: list[str]) -> None:
    """A reloaded service keeps the latest time its editors verified it."""
    for service in session.scalars(select(Service).where(Service.id.in_(service_ids))):
        verified = session.scalars(
            select(HistoryEntry.last_action_date)
            .where(
                HistoryEntry.service_id == service.id,
                HistoryEntry.last_action_type.in_(VERIFYING_ACTIONS),
            )
            .order_by(HistoryEntry.last_action_date.desc())
            .limit(1)
        ).first()
        if verified and (service.last_verified_at is None or verified > service.last_verified_at):
            service.last_verified_at = verified
