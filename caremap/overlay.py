"""Editors' changes kept over a later load of an open-data source.

When a source record changes, the ETL replaces the rows made from it with the source's. For a
source no organization owns (open data), the edits applied to those rows since — approved
change sets and reverts (:mod:`caremap.changes`), and bed counts newer than the source's — are
applied again on top, field by field: an organization's word about its own service is newer
than the file's. Where the source changed an edited field itself (its new value is neither the
value the edit replaced nor the edit's), the edit still wins and the field is reported, so that
a moderator can look. An organization's own upload (bulk import) is its latest word: nothing is
applied over it (the caller decides; see :func:`etl.load.load_source`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from caremap import history
from caremap.changes import FIELDS, IMMEDIATE, ChangeError, Field
from caremap.model import HistoryEntry, Service, ServiceCapacity

KEPT_ACTIONS = ("update", "revert", "capacity")
VERIFYING_ACTIONS = ("update", "revert", "verify")


@dataclass
class Reapplied:
    """What :func:`reapply` did: fields written again, and those the source had changed too
    (``service id: field``)."""

    fields: int = 0
    over_source_changes: list[str] = field(default_factory=list)


def reapply(connection: Connection, service_ids: Iterable[str], now: dt.datetime) -> Reapplied:
    """Apply the latest kept edit of every field of these services (and their parts) again,
    in the connection's transaction."""
    ids = list(service_ids)
    done = Reapplied()
    if not ids:
        return done
    with Session(bind=connection, autoflush=False) as session:
        entries = _latest_entries(session, ids)
        for entry in entries:
            _reapply_entry(session, entry, now, done)
        _restore_verification(session, ids)
        session.flush()
    return done


def _latest_entries(session: Session, service_ids: list[str]) -> list[HistoryEntry]:
    """The newest kept entry of each (record, field), in the order they were made."""
    latest: dict[tuple[str, str, str], HistoryEntry] = {}
    for entry in session.scalars(
        select(HistoryEntry)
        .where(
            HistoryEntry.service_id.in_(service_ids),
            HistoryEntry.last_action_type.in_(KEPT_ACTIONS),
        )
        .order_by(HistoryEntry.last_action_date, HistoryEntry.id)
    ):
        key = (entry.resource_type, entry.resource_id, entry.field_name)
        if (entry.resource_type, entry.field_name) in FIELDS:
            latest[key] = entry
    return sorted(latest.values(), key=lambda e: (e.last_action_date, e.id))


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
            done.over_source_changes.append(f"{entry.service_id}: {entry.field_name}")
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
