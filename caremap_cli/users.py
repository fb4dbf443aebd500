"""``caremap users``: the accounts of the people who sign in."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from caremap.settings import load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@click.group()
def users() -> None:
    """Accounts of the people who sign in: admins, moderators, and editors of organizations."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "moderator", "editor"]),
    help="admin: manages accounts; moderator: approves and verifies every organization's "
    "listings; editor: edits only the organizations given with --organization.",
)
@click.option(
    "--organization",
    "organization_ids",
    multiple=True,
    metavar="ID",
    help="An organization id the account edits (repeat for several; editors need one).",
)
@click.option("--name", "display_name", default="", help="The person's name, as shown to admins.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def users_add(
    email: str,
    role: str,
    organization_ids: tuple[str, ...],
    display_name: str,
    password_stdin: bool,
) -> None:
    """Add an account for EMAIL (the password is asked for, or read with --password-stdin)."""
    from caremap import accounts

    password = _read_password(password_stdin)
    with _store_session() as session:
        try:
            user = accounts.create_user(
                session,
                email=email,
                password=password,
                role=role,
                organization_ids=organization_ids,
                display_name=display_name,
            )
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"added {role} {user.email}")


@users.command("list")
def users_list() -> None:
    """Every account: e-mail, role, status and the organizations it edits."""
    from caremap import accounts

    with _store_session() as session:
        for user in accounts.list_users(session):
            status = "active" if user.active else "deactivated"
            organizations = ",".join(accounts.organization_ids_of(session, user.id)) or "-"
            click.echo(f"{user.email}\t{user.role}\t{status}\t{organizations}")


@users.command("set-password")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def users_set_password(email: str, password_stdin: bool) -> None:
    """Give the account of EMAIL a new password."""
    from caremap import accounts

    password = _read_password(password_stdin)
    with _store_session() as session:
        user = accounts.user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no account for {email}")
        try:
            accounts.set_password(session, user.id, password)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"new password set for {user.email}")


@users.command("reset-link")
@click.argument("email")
@click.option(
    "--base-url",
    help="The site's address as its users reach it (default: CAREMAP_BASE_URL).",
)
def users_reset_link(email: str, base_url: str | None) -> None:
    """Print a one-time link with which the account of EMAIL sets a new password (it expires
    after CAREMAP_PASSWORD_RESET_HOURS, 24 by default). Hand it over by a safe channel."""
    import datetime as dt

    from caremap import accounts, credentials
    from caremap.settings import secret_key

    settings = load_settings()
    with _store_session() as session:
        user = accounts.user_by_email(session, email)
        if user is None or not user.active:
            raise click.ClickException(f"no active account for {email}")
        token = credentials.reset_token(secret_key(settings), user, dt.datetime.now(dt.UTC))
    click.echo(f"{(base_url or settings.base_url).rstrip('/')}/account/reset/{token}")


@contextlib.contextmanager
def _store_session() -> Iterator[Session]:
    """A session on the configured store, committed if the block succeeds."""
    from caremap.store import open_store

    store = open_store(load_settings().database_url)
    try:
        if not store.is_current():
            raise click.ClickException("the store is not up to date: run 'caremap db upgrade'")
        with store.session() as session, session.begin():
            yield session
    finally:
        store.dispose()
