"""What every editable field shares: how it is read, written and normalised, and the errors
an edit can meet (see :mod:`caremap.changes`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session


class ChangeError(ValueError):
    """A change cannot be made as asked; the message says why."""


class NotFound(ChangeError):
    """No such record, change set or history entry."""


class ConflictError(ChangeError):
    """The record changed since the change set was proposed: these fields no longer hold the
    values it replaces."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(
            "changed since this was proposed, so it was not applied: " + ", ".join(fields)
        )
        self.fields = fields


@dataclass(frozen=True)
class Field:
    """How to read and write one editable field of a record."""

    read: Callable[[Session, str], Any]
    write: Callable[[Session, str, Any, dt.datetime], None]
    normalise: Callable[[Any], Any] = lambda value: value  # an edit, as read would return it


def clean_text(value: str | None) -> str | None:
    """Trimmed, with plain line ends; None for nothing."""
    return (value or "").replace("\r\n", "\n").strip() or None
