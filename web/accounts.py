"""Accounts: user names and passwords, admins, personal API keys, export and deletion.

Plain functions over a catalog session, shared by the sign-in pages, the JSON API and the
`reelscope users` commands. Passwords are kept as werkzeug scrypt hashes; API keys as SHA-256
digests (a key is 32 random bytes, so a slow hash would buy nothing and cost every request).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from catalog import ApiKey, Event, User, utcnow
from search.recommend import events as user_events

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,63}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_KEY_NAME = 64
KEY_PREFIX = "rsk_"
# a key's last use is written at most this often, not on every request it makes
KEY_USE_RESOLUTION = dt.timedelta(minutes=5)


class AccountError(Exception):
    """Something asked of an account that cannot be: the message says why, for people."""


def user_name(text: str) -> str:
    """The sign-in name as stored: lower case, no spaces; AccountError when it cannot be one."""
    name = (text or "").strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError("a user name is 1 to 64 letters, digits or . _ @ + -, starting with a letter or digit")
    return name


def _password_hash(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")
    return generate_password_hash(password, method="scrypt")


def _display_name(name: str | None, fallback: str) -> str:
    name = " ".join((name or "").split()) or fallback
    if len(name) > user_events.MAX_NAME:
        raise AccountError(f"a name has at most {user_events.MAX_NAME} characters")
    return name


def _commit_name(session: Session, username: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AccountError(f"the user name {username} is taken") from None


def create_account(session: Session, username: str, password: str | None, name: str | None = None,
                   admin: bool = False) -> User:
    """A new account. No password (None) is for proxy sign-in, where the proxy checked who it is."""
    username = user_name(username)
    user = User(username=username, name=_display_name(name, username), is_admin=admin,
                password_hash=None if password is None else _password_hash(password))
    session.add(user)
    _commit_name(session, username)
    return user


def claim(session: Session, user: User, username: str, password: str) -> User:
    """Give a user from before accounts (history, no sign-in) a user name and password."""
    if user.username is not None:
        raise AccountError(f"{user.name} is already an account ({user.username})")
    user.username, user.password_hash = user_name(username), _password_hash(password)
    _commit_name(session, user.username)
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """A new password signs the user's other sessions out."""
    user.password_hash = _password_hash(password)
    user.session_epoch = _next_epoch(user)
    session.commit()


def _next_epoch(user: User) -> int:
    return ((user.session_epoch or 0) + 1) % 2**31


@functools.cache
def _no_such_user_hash() -> str:
    """Checked against when the user name is unknown, so a wrong name takes as long as a wrong
    password; made on first need (scrypt takes ~0.1 s), not on every import."""
    return generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The account these credentials open, or None; the same work is done whether or not the name exists."""
    try:
        name = user_name(username)
    except AccountError:
        name = None
    user = session.scalar(select(User).where(User.username == name)) if name else None
    known = user is not None and user.password_hash is not None
    matches = check_password_hash(user.password_hash if known else _no_such_user_hash(), password or "")
    return user if matches and known else None


def proxy_user(session: Session, username: str) -> User:
    """The account an auth proxy names: made on first sight, as a viewer."""
    name = user_name(username)
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        try:
            user = create_account(session, name, None)
        except AccountError:  # another request made it first
            user = session.scalar(select(User).where(User.username == name))
    return user


def admin_exists(session: Session) -> bool:
    return _admin_count(session) > 0


def set_admin(session: Session, user: User, admin: bool) -> None:
    if not admin and user.is_admin and _admin_count(session) == 1:
        raise AccountError("this is the last admin: make another admin first")
    user.is_admin = admin
    session.commit()


def _admin_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User).where(User.is_admin.is_(True))) or 0)


def delete_account(session: Session, user: User) -> None:
    """The user, their history (searches included) and their keys; the rows cascade."""
    if user.is_admin and _admin_count(session) == 1:
        raise AccountError("this is the last admin: make another admin first")
    session.delete(user)
    session.commit()


# -- API keys ----------------------------------------------------------------------------------------

def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, user: User, name: str) -> tuple[ApiKey, str]:
    """A new key and its secret, which is shown this once and kept nowhere."""
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_KEY_NAME:
        raise AccountError(f"name the key (1 to {MAX_KEY_NAME} characters), e.g. after the script that uses it")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(user_id=user.id, name=name, prefix=secret[:len(KEY_PREFIX) + 6], digest=_digest(secret))
    session.add(key)
    session.commit()
    return key, secret


def user_for_key(session: Session, secret: str) -> User | None:
    if not secret.startswith(KEY_PREFIX):
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.digest == _digest(secret)))
    if key is None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > KEY_USE_RESOLUTION:
        key.last_used_at = now
        session.commit()
    return session.get(User, key.user_id)


def keys(session: Session, user_id: int) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)))


def revoke_key(session: Session, user_id: int, key_id: int) -> bool:
    key = session.get(ApiKey, key_id)
    if key is None or key.user_id != user_id:
        return False
    session.delete(key)
    session.commit()
    return True


# -- what a user may take with them ------------------------------------------------------------------

def key_dict(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "prefix": key.prefix, "created_at": key.created_at,
            "last_used_at": key.last_used_at}


def account_dict(user: User) -> dict:
    return {"id": user.id, "name": user.name, "username": user.username, "is_admin": bool(user.is_admin),
            "created_at": user.created_at, "claimed": user.username is not None}


def export(session: Session, user: User) -> dict:
    """Everything kept about the user: the account, every event (searches included), the keys' names."""
    events = session.scalars(select(Event).where(Event.user_id == user.id).order_by(Event.at, Event.id))
    return {
        "account": account_dict(user),
        "events": [{"id": e.id, "video_id": e.video_id, "type": e.type, "position": e.position,
                    "watch_seconds": e.watch_seconds, "query": e.query, "client_event_id": e.client_event_id,
                    "at": e.at, "received_at": e.received_at} for e in events],
        "api_keys": [key_dict(k) for k in keys(session, user.id)],
        "exported_at": utcnow(),
    }
