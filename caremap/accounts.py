"""Accounts and permissions, without the web: who may sign in, and who may do what.

Roles, from most to least powerful:

- ``admin``: manages users and their organizations; may do anything a moderator may;
- ``moderator``: approves changes and verifies listings of every organization, and may edit them;
- ``editor``: edits only the organizations attached to the account (``user_organization``).

Every permission question is a function of a :class:`Principal` (a signed-in person, read once
per request) so that web routes, the API and later bulk tools all decide alike. Passwords are
hashed with Argon2id (``argon2-cffi``'s current parameters; older hashes are upgraded at sign-in).

A session names the account, its ``session_generation`` and a fingerprint of its password hash
(:attr:`Principal.session_key`); :func:`end_sessions` adds one to the generation, so every
session of the account ends on the server (a copied cookie too): signing out and every password
change do. The fingerprint keeps a session from opening another account that comes to have the
same id and generation (a store rebuilt, an id used again).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caremap.credentials import fingerprint
from caremap.model import AppUser, Organization, Service, UserOrganization

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing a huge "password" is a denial of service
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_hasher = PasswordHasher()


class Role(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    EDITOR = "editor"


RANK = {Role.EDITOR: 0, Role.MODERATOR: 1, Role.ADMIN: 2}


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message is safe to show."""


@dataclass(frozen=True)
class Principal:
    """A signed-in person as permission checks see them."""

    id: int
    email: str
    display_name: str
    role: Role
    organization_ids: frozenset[str]
    active: bool = True
    session_key: str = ""  # "generation.fingerprint": sessions made with another have ended


# --- permissions -------------------------------------------------------------------------------


def has_role(principal: Principal | None, role: Role) -> bool:
    """Whether the principal is active and has ``role`` or a more powerful one."""
    return principal is not None and principal.active and RANK[principal.role] >= RANK[role]


def can_administer(principal: Principal | None) -> bool:
    """Manage users and organizations."""
    return has_role(principal, Role.ADMIN)


def can_moderate(principal: Principal | None) -> bool:
    """Approve changes and verify listings, of any organization."""
    return has_role(principal, Role.MODERATOR)


def can_edit(principal: Principal | None, organization_id: str | None) -> bool:
    """Change an organization's listings (its services, locations, capacity …)."""
    if principal is None or not principal.active or organization_id is None:
        return False
    return can_moderate(principal) or organization_id in principal.organization_ids


def can_read_private(principal: Principal | None, organization_id: str | None) -> bool:
    """See an organization's private fields (a confidential location's exact point and
    street address): whoever may edit it."""
    return can_edit(principal, organization_id)


# --- passwords ---------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An Argon2id hash of a password that meets :func:`check_password_policy`."""
    check_password_policy(password)
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    """Long enough to resist guessing; the only rule (NIST SP 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"A password may have at most {MAX_PASSWORD_LENGTH} characters.")


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so that a wrong address takes as long as a
    wrong password and does not reveal which addresses have accounts."""
    return _hasher.hash("not anyone's password")


def _verify(password_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- users -------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased; :class:`AccountError` if it does not look like an address."""
    email = email.strip().lower()
    if not EMAIL_PATTERN.fullmatch(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not an e-mail address.")
    return email


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role | str,
    organization_ids: Iterable[str] = (),
    display_name: str = "",
    now: dt.datetime | None = None,
) -> AppUser:
    """Add an active account (flushed, not committed). Editors need at least one organization."""
    role = _role(role)
    organizations = _known_organizations(session, organization_ids)
    if role is Role.EDITOR and not organizations:
        raise AccountError("An editor needs at least one organization.")
    user = AppUser(
        email=normalise_email(email),
        password_hash=hash_password(password),
        display_name=display_name.strip(),
        role=role.value,
        active=True,
        created_at=now or dt.datetime.now(dt.UTC),
        failed_logins=0,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as error:
        raise AccountError(f"There is already an account for {user.email}.") from error
    session.add_all(UserOrganization(user_id=user.id, organization_id=o) for o in organizations)
    session.flush()
    return user


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"{role!r} is not a role (admin, moderator, editor).") from None


def _known_organizations(session: Session, organization_ids: Iterable[str]) -> list[str]:
    wanted = sorted(set(organization_ids))
    if not wanted:
        return []
    found = set(session.scalars(select(Organization.id).where(Organization.id.in_(wanted))))
    unknown = [o for o in wanted if o not in found]
    if unknown:
        raise AccountError(f"No organization has the id {', '.join(unknown)}.")
    return wanted


def set_password(session: Session, user_id: int, password: str) -> None:
    """Replace the account's password and end its sessions (flushed, not committed)."""
    get_user(session, user_id).password_hash = hash_password(password)
    end_sessions(session, user_id)


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of the account: one more ``session_generation``, counted by the
    database itself so that two at once both count (flushed, not committed)."""
    get_user(session, user_id).session_generation = AppUser.session_generation + 1
    session.flush()


class WrongPassword(AccountError):
    """The current password given is not the account's."""


def change_password(session: Session, user_id: int, current: str, new: str) -> Principal:
    """Replace the account's password, given the current one (:class:`WrongPassword`
    otherwise), ending every session of the account; the principal, for the session to go on
    with (flushed, not committed)."""
    user = get_user(session, user_id)
    if not _verify(user.password_hash, current):
        raise WrongPassword("The current password is not right.")
    set_password(session, user_id, new)
    return _principal(user, organization_ids_of(session, user.id))


def user_by_email(session: Session, email: str) -> AppUser | None:
    return session.scalars(select(AppUser).where(AppUser.email == email.strip().lower())).first()


def get_user(session: Session, user_id: int) -> AppUser:
    user = session.get(AppUser, user_id)
    if user is None:
        raise AccountError(f"No account has the id {user_id}.")
    return user


def attach_organizations(session: Session, user_id: int, organization_ids: Iterable[str]) -> None:
    """Let the account edit these organizations too."""
    get_user(session, user_id)
    have = set(organization_ids_of(session, user_id))
    new = [o for o in _known_organizations(session, organization_ids) if o not in have]
    session.add_all(UserOrganization(user_id=user_id, organization_id=o) for o in new)
    session.flush()


def detach_organization(session: Session, user_id: int, organization_id: str) -> None:
    session.execute(
        delete(UserOrganization).where(
            UserOrganization.user_id == user_id,
            UserOrganization.organization_id == organization_id,
        )
    )


def set_role(session: Session, user_id: int, role: Role | str) -> None:
    get_user(session, user_id).role = _role(role).value


def set_active(session: Session, user_id: int, active: bool) -> None:
    """Deactivate (or reactivate) an account; a deactivated account is signed out at once,
    for good (its sessions do not come back with it)."""
    get_user(session, user_id).active = active
    if not active:
        end_sessions(session, user_id)


def organization_ids_of(session: Session, user_id: int) -> list[str]:
    return list(
        session.scalars(
            select(UserOrganization.organization_id)
            .where(UserOrganization.user_id == user_id)
            .order_by(UserOrganization.organization_id)
        )
    )


def list_users(session: Session) -> list[AppUser]:
    return list(session.scalars(select(AppUser).order_by(func.lower(AppUser.email))))


def principal_of(session: Session, user_id: int) -> Principal | None:
    """The active account's principal, or None (unknown or deactivated)."""
    user = session.get(AppUser, user_id)
    if user is None or not user.active:
        return None
    return _principal(user, organization_ids_of(session, user.id))


def _principal(user: AppUser, organization_ids: Iterable[str]) -> Principal:
    return Principal(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=Role(user.role),
        organization_ids=frozenset(organization_ids),
        active=user.active,
        session_key=f"{user.session_generation}.{fingerprint(user.password_hash)[:16]}",
    )


def authenticate(
    session: Session, email: str, password: str, now: dt.datetime | None = None
) -> Principal | None:
    """The principal if the e-mail and password match an active account, else None. Counts
    failed attempts, stamps the sign-in, upgrades an outdated hash (flushed, not committed)."""
    user = user_by_email(session, email)
    if user is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password) or not user.active:
        user.failed_logins += 1
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.last_login_at = now or dt.datetime.now(dt.UTC)
    session.flush()
    return _principal(user, organization_ids_of(session, user.id))


def organization_of_service(session: Session, service_id: str) -> str | None:
    """The organization a service belongs to (None for an unknown service)."""
    return session.scalar(select(Service.organization_id).where(Service.id == service_id))


def organization_names(session: Session) -> list[tuple[str, str]]:
    """Every organization's (id, name), by name: for choosing which ones an editor edits."""
    rows = session.execute(select(Organization.id, Organization.name).order_by(Organization.name))
    return [(row.id, row.name) for row in rows]
