"""Reports that a listing is wrong, from anyone, without an account: what is wrong (one of
:data:`KINDS`) and what the person typed, nothing about who they are. A moderator marks each
``resolved`` or ``dismissed``.

Reports are limited per client (:data:`LIMIT`): each report keeps, apart from it, a keyed
digest of the client's address (:func:`client_key`, an HMAC that the app's secret key is
needed to recompute) and the time, forgotten once older than the limit's window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from caremap.accounts import Principal, can_edit, can_moderate
from caremap.attempts import Window
from caremap.fields import ChangeError, NotFound, clean_text
from caremap.model import ProblemReport, ReportSubmission, Service

KINDS = ("closed", "phone", "hours", "address", "other")
MAX_TEXT = 2000
LIMIT = Window(5, dt.timedelta(hours=1))
OPEN, RESOLVED, DISMISSED = "open", "resolved", "dismissed"
DECISIONS = (RESOLVED, DISMISSED)


class AlreadyDecided(ChangeError):
    """The report was resolved or dismissed already."""


@dataclass(frozen=True)
class OpenReport:
    """An open report with its listing's name and organization (None: no longer listed)."""

    report: ProblemReport
    service_name: str | None
    organization_id: str | None


def client_key(secret: str, address: str) -> str:
    """The digest kept for a client's address: not reversible without ``secret``."""
    return hmac.new(secret.encode("utf-8"), address.encode("utf-8"), hashlib.sha256).hexdigest()


def too_many(session: Session, client: str, now: dt.datetime) -> bool:
    """Whether the client has sent :data:`LIMIT`'s count of reports within its window."""
    count = session.scalar(
        select(func.count())
        .select_from(ReportSubmission)
        .where(ReportSubmission.client == client, ReportSubmission.at >= now - LIMIT.span)
    )
    return (count or 0) >= LIMIT.count


def file_report(
    session: Session, service_id: str, kind: str, text: str, client: str, now: dt.datetime
) -> ProblemReport:
    """Record a report on a service and the client's submission; forget submissions older
    than the window (flushed, not committed). ChangeError for an unknown kind or a text
    empty or too long; NotFound for no such service."""
    described = clean_text(text)
    if kind not in KINDS:
        raise ChangeError(f"unknown kind of problem: {kind!r}")
    if described is None or len(described) > MAX_TEXT:
        raise ChangeError(f"the description must have 1 to {MAX_TEXT} characters")
    if session.get(Service, service_id) is None:
        raise NotFound(service_id)
    session.execute(delete(ReportSubmission).where(ReportSubmission.at < now - LIMIT.span))
    session.add(ReportSubmission(client=client, at=now))
    report = ProblemReport(
        service_id=service_id, kind=kind, text=described, created_at=now, status=OPEN
    )
    session.add(report)
    session.flush()
    return report


def open_reports(session: Session, principal: Principal) -> list[OpenReport]:
    """The open reports the principal may see (every one for a moderator; those on their
    organizations' services for an editor), oldest first."""
    rows = session.execute(
        select(ProblemReport, Service.name, Service.organization_id)
        .outerjoin(Service, Service.id == ProblemReport.service_id)
        .where(ProblemReport.status == OPEN)
        .order_by(ProblemReport.created_at, ProblemReport.id)
    ).all()
    return [
        OpenReport(report, name, organization)
        for report, name, organization in rows
        if can_moderate(principal) or can_edit(principal, organization)
    ]


def decide(
    session: Session, principal: Principal, report_id: int, status: str, now: dt.datetime
) -> None:
    """Mark an open report ``resolved`` or ``dismissed`` (moderators only: PermissionError).
    NotFound for no such report, AlreadyDecided when it is not open."""
    if not can_moderate(principal):
        raise PermissionError("only moderators decide reports")
    if status not in DECISIONS:
        raise ChangeError(f"unknown decision: {status!r}")
    report = session.get(ProblemReport, report_id, with_for_update=True)
    if report is None:
        raise NotFound(str(report_id))
    if report.status != OPEN:
        raise AlreadyDecided(str(report_id))
    report.status, report.resolved_by, report.resolved_at = status, principal.id, now
    session.flush()
