"""Failed attempts at the forms that check a secret (signing in, changing a password, using a
reset link), counted in the database so that every serving process shares the counts.

Two limits, each one or more windows written as ``limits`` writes them (``10 per minute;50 per
hour``):

- per client address, over every account and form (one address guessing many accounts);
- per account from one client address (one address guessing one account).

Nothing is limited per account over every address: anyone could then lock an account by
failing on purpose. The right password from another address always gets in. An account is kept
as a digest of what was tried (an e-mail address, an account id, a reset link), and one that
does not exist counts like one that does: the limits tell nothing about which accounts exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from limits import parse_many
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from caremap.model import FailedAttempt

MAX_ADDRESS_LENGTH = 45  # the longest textual IPv6 address (with an IPv4 tail)


@dataclass(frozen=True)
class Window:
    """At most ``count`` failures within ``span``."""

    count: int
    span: dt.timedelta


@dataclass(frozen=True)
class Limits:
    """The windows per client address, and per account from one address."""

    per_address: tuple[Window, ...]
    per_account: tuple[Window, ...]

    @classmethod
    def parse(cls, per_address: str, per_account: str) -> Limits:
        """From ``limits`` notation: ``10 per minute;50 per hour``; ValueError if it is not."""
        return cls(_windows(per_address), _windows(per_account))

    @property
    def longest(self) -> dt.timedelta:
        """How long a failure counts at most."""
        return max((w.span for w in self.per_address + self.per_account), default=dt.timedelta())


def _windows(text: str) -> tuple[Window, ...]:
    return tuple(
        Window(item.amount, dt.timedelta(seconds=item.get_expiry())) for item in parse_many(text)
    )


def account_key(tried: str) -> str:
    """The digest kept for what was tried: ``login:someone@example.org``, ``password:12`` …"""
    return hashlib.sha256(tried.encode("utf-8")).hexdigest()


def blocked(session: Session, limits: Limits, address: str, account: str, now: dt.datetime) -> bool:
    """Whether the address has used up a window of its own, or one for this account."""
    address = address[:MAX_ADDRESS_LENGTH]
    checks = [(w, FailedAttempt.at >= now - w.span) for w in limits.per_address] + [
        (w, (FailedAttempt.account == account) & (FailedAttempt.at >= now - w.span))
        for w in limits.per_account
    ]
    if not checks:
        return False
    counts = session.execute(
        select(*(func.count().filter(condition) for _window, condition in checks)).where(
            FailedAttempt.address == address, FailedAttempt.at >= now - limits.longest
        )
    ).one()
    return any(
        count >= window.count for count, (window, _condition) in zip(counts, checks, strict=True)
    )


def record_failure(
    session: Session, limits: Limits, address: str, account: str, now: dt.datetime
) -> None:
    """Count a failure, and forget those older than the longest window (flushed, not
    committed)."""
    session.execute(delete(FailedAttempt).where(FailedAttempt.at < now - limits.longest))
    session.add(FailedAttempt(address=address[:MAX_ADDRESS_LENGTH], account=account, at=now))
    session.flush()
