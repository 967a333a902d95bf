"""`reelscope users ...`: accounts from the shell of the server (no sign-in: whoever runs it owns the data dir)."""
from __future__ import annotations

import json

import click
from sqlalchemy import select

from catalog import User
from indexer.cli_catalog import open_catalog
from settings import get_settings

from . import accounts


@click.group("users")
def users_group():
    """Make, claim, list and remove accounts; make API keys for scripts."""


def _user(s, who: str) -> User:
    """By id, or by user name."""
    user = s.get(User, int(who)) if who.isdigit() else s.scalar(select(User).where(User.username == who.lower()))
    if user is None:
        raise click.ClickException(f"no user {who}")
    return user


def _password(given: str | None, none_allowed: bool) -> str | None:
    if given is not None:
        return given
    if none_allowed:
        return None
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@users_group.command("create")
@click.argument("username")
@click.option("--name", default=None, help="Shown in the UI (default: the user name).")
@click.option("--admin", is_flag=True, help="May index, manage accounts and see failures.")
@click.option("--password", default=None, envvar="REELSCOPE_NEW_PASSWORD",
              help="Default: asked for (or REELSCOPE_NEW_PASSWORD).")
@click.option("--no-password", is_flag=True, help="For proxy sign-in or API keys only.")
def create_command(username, name, admin, password, no_password):
    """Make an account."""
    with open_catalog(get_settings()).session() as s:
        try:
            user = accounts.create_account(s, username, _password(password, no_password), name=name, admin=admin)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"made {'admin' if user.is_admin else 'viewer'} {user.username} (id {user.id})")


@users_group.command("claim")
@click.argument("who")
@click.argument("username")
@click.option("--password", default=None, envvar="REELSCOPE_NEW_PASSWORD")
def claim_command(who, username, password):
    """Give a user from before accounts (WHO: its id) a user name and password; its history stays."""
    with open_catalog(get_settings()).session() as s:
        try:
            user = accounts.claim(s, _user(s, who), username, _password(password, False))
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{user.name} (id {user.id}) signs in as {user.username} now")


@users_group.command("password")
@click.argument("who")
@click.option("--password", default=None, envvar="REELSCOPE_NEW_PASSWORD")
def password_command(who, password):
    """Set a new password (every session of the user is signed out)."""
    with open_catalog(get_settings()).session() as s:
        user = _user(s, who)
        try:
            accounts.set_password(s, user, _password(password, False))
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"new password for {user.username or user.name}")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json):
    """Every user: accounts, and users from before accounts waiting to be claimed."""
    with open_catalog(get_settings()).session() as s:
        rows = [accounts.account_dict(u) for u in s.scalars(select(User).order_by(User.id))]
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    for row in rows:
        role = "admin" if row["is_admin"] else ("viewer" if row["claimed"] else "unclaimed")
        click.echo(f"{row['id']:5d}  {row['username'] or '-':24s} {role:9s} {row['name']}")


@users_group.command("remove")
@click.argument("who")
def remove_command(who):
    """Delete a user with their history and keys."""
    with open_catalog(get_settings()).session() as s:
        user = _user(s, who)
        label = user.username or user.name
        try:
            accounts.delete_account(s, user)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"removed {label}")


@users_group.command("key")
@click.argument("who")
@click.option("--name", default="script", show_default=True, help="What the key is for.")
def key_command(who, name):
    """Make an API key for a user; it is printed once (send it as Authorization: Bearer <key>)."""
    with open_catalog(get_settings()).session() as s:
        try:
            _, secret = accounts.create_key(s, _user(s, who), name)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(secret)
