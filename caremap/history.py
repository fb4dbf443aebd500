"""Field-level history: who changed which field of which record, when, from what to what.

Entries are shaped like HSDS 3.0's ``metadata`` object (:class:`caremap.model.HistoryEntry`);
values are JSON text. Every applied change writes one — moderated edits and reverts
(:mod:`caremap.changes`), capacity updates (:mod:`caremap.capacity`) and verifications.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caremap.accounts import Principal
from caremap.model import AppUser, HistoryEntry


def encode(value: Any) -> str:
    """A value as history and change sets store it."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def decode(text: str) -> Any:
    return json.loads(text)


def record(
    session: Session,
    *,
    resource_type: str,
    resource_id: str,
    service_id: str | None,
    field_name: str,
    previous: Any,
    replacement: Any,
    action: str,
    by: Principal | AppUser | None,
    now: dt.datetime,
    change_set_id: int | None = None,
) -> HistoryEntry:
    """Add one entry (flushed, not committed); ``by`` made the change (an approved change
    set's author, not its moderator)."""
    entry = HistoryEntry(
        resource_type=resource_type,
        resource_id=resource_id,
        service_id=service_id,
        field_name=field_name,
        previous_value=encode(previous),
        replacement_value=encode(replacement),
        last_action_type=action,
        last_action_date=now,
        updated_by=(by.display_name or by.email) if by else "",
        user_id=by.id if by else None,
        change_set_id=change_set_id,
    )
    session.add(entry)
    session.flush()
    return entry


def of_service(session: Session, service_id: str) -> list[HistoryEntry]:
    """The history of a service and its parts, newest first."""
    return list(
        session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.service_id == service_id)
            .order_by(HistoryEntry.last_action_date.desc(), HistoryEntry.id.desc())
        )
    )


def of_record(session: Session, resource_type: str, resource_id: str) -> list[HistoryEntry]:
    """The history of an organization's or a location's own fields, newest first."""
    return list(
        session.scalars(
            select(HistoryEntry)
            .where(
                HistoryEntry.resource_type == resource_type,
                HistoryEntry.resource_id == resource_id,
            )
            .order_by(HistoryEntry.last_action_date.desc(), HistoryEntry.id.desc())
        )
    )
