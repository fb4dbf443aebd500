"""One-time password reset links, bound to the account's current password hash.

A reset link is a signed token (:mod:`itsdangerous`) naming the account, the
:func:`fingerprint` of its password hash and when it was issued: it stops working when it
expires or once a password is set with it (the hash, and so the fingerprint, changed). No
e-mail is needed: an administrator hands it over. (Sessions end on the server by another
means: :func:`caremap.accounts.end_sessions`.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from caremap.model import AppUser

RESET_SALT = "caremap.password-reset"
CLOCK_SKEW = dt.timedelta(minutes=5)  # a token issued "in the future" by another server


def fingerprint(password_hash: str) -> str:
    """A digest of the password hash: safe in a signed token, different after every password
    change."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:32]


class ResetError(ValueError):
    """A reset token cannot be used."""


class InvalidToken(ResetError):
    """Not a token this site issued (tampered, truncated, another key), or no such account."""


class ExpiredToken(ResetError):
    """Issued too long ago."""


class UsedToken(ResetError):
    """The password changed since the token was issued: it was used, or is superseded."""


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=RESET_SALT)


def reset_token(secret: str, user: AppUser, now: dt.datetime) -> str:
    """A token with which ``user`` may set a new password once, from ``now`` on."""
    payload = {"user": user.id, "hash": fingerprint(user.password_hash), "at": _seconds(now)}
    return str(_serializer(secret).dumps(payload))


def user_of_reset_token(
    session: Session, secret: str, token: str, now: dt.datetime, valid_for: dt.timedelta
) -> AppUser:
    """The active account a token may set the password of; a :class:`ResetError` otherwise."""
    try:
        payload: Any = _serializer(secret).loads(token)
    except BadSignature:
        raise InvalidToken("not a reset token of this site") from None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("user"), int)
        and isinstance(payload.get("hash"), str)
        and isinstance(payload.get("at"), int)
    ):
        raise InvalidToken("not a reset token of this site")
    issued = dt.datetime.fromtimestamp(payload["at"], dt.UTC)
    if now - issued > valid_for or issued - now > CLOCK_SKEW:
        raise ExpiredToken("the reset link expired")
    user = session.get(AppUser, payload["user"])
    if user is None or not user.active:
        raise InvalidToken("no active account for this reset link")
    if not hmac.compare_digest(fingerprint(user.password_hash), payload["hash"]):
        raise UsedToken("the password changed since the reset link was issued")
    return user


def _seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())
