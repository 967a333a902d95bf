"""Who is asking, for every request, pages and JSON alike, and what they may touch.

In order: an `Authorization: Bearer` key (the site's admin token, or a user's personal API key),
then, with `REELSCOPE_AUTH=proxy`, the header an auth proxy sets (believed only from the trusted
addresses), then the signed session cookie (a user who signed in here, or the admin page's token
login). A cookie (or a proxy's header, which a browser sends along by itself) may be ridden by
another site, so every state change made with one carries the session's CSRF token; a bearer key
cannot be, so it needs none.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass

from flask import abort, current_app, g, redirect, request, session, url_for
from werkzeug.exceptions import Unauthorized

from catalog import User

from . import accounts
from .extensions import current_catalog

log = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Caller:
    id: int | None  # None: the site's admin token, which is no one's account
    name: str
    is_admin: bool
    via: str  # "key", "admin_token", "proxy" or "session"

    @property
    def rides_cookies(self) -> bool:
        return self.via in ("session", "proxy")


def _caller(user: User, via: str, admin: bool = False) -> Caller:
    return Caller(id=user.id, name=user.name, is_admin=bool(user.is_admin) or admin, via=via)


def current_caller() -> Caller | None:
    if "caller" not in g:
        g.caller = None  # a refused key is refused once: the error page then renders for no one
        g.caller = _identify()
    return g.caller


def _identify() -> Caller | None:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        return _from_key(given.strip())
    settings = current_app.config["REELSCOPE"]
    if settings.auth == "proxy":
        # without the proxy's header, only the admin page's token login can be in the session:
        # there is no password sign-in in this mode
        return _from_proxy(settings.auth_header) or _from_session()
    return _from_session()


def _from_key(secret: str) -> Caller:
    """A key that is sent but opens nothing is an error, never a fall-back to the cookie."""
    if admin_token_matches(secret):
        return Caller(id=None, name="admin", is_admin=True, via="admin_token")
    with current_catalog().session() as s:
        user = accounts.user_for_key(s, secret)
        if user is not None:
            return _caller(user, "key")
    raise Unauthorized("that API key is not valid: it was revoked, or mistyped")


def _from_proxy(header: str) -> Caller | None:
    name = request.headers.get(header, "").strip()
    if not name:
        return None
    if not _from_trusted_proxy():
        log.warning("ignored %s from %s, which is not in REELSCOPE_TRUSTED_PROXIES", header, request.remote_addr)
        return None
    with current_catalog().session() as s:
        try:
            return _caller(accounts.proxy_user(s, name), "proxy")
        except accounts.AccountError as exc:
            abort(403, f"the auth proxy's user name {name!r} cannot be an account here: {exc}")


def _from_trusted_proxy() -> bool:
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in current_app.extensions["trusted_proxies"])


def trusted_networks(text: str) -> list:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def _from_session() -> Caller | None:
    user_id = session.get("user_id")
    admin = token_login_valid()
    if isinstance(user_id, int):
        with current_catalog().session() as s:
            user = s.get(User, user_id)
            if user is not None and user.username and session.get("epoch") == user.session_epoch:
                return _caller(user, "session", admin=admin)
        session.pop("user_id", None)  # deleted, or signed out everywhere meanwhile
    return Caller(id=None, name="admin", is_admin=True, via="session") if admin else None


def sign_in(user: User) -> None:
    """The session now belongs to `user`; a new CSRF token too, so one planted before sign-in is useless."""
    session.clear()
    session["user_id"], session["epoch"] = user.id, user.session_epoch or 0
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    g.pop("caller", None)


def sign_out() -> None:
    session.clear()
    g.pop("caller", None)


# -- the admin token ---------------------------------------------------------------------------------

def admin_token_matches(given: str) -> bool:
    token = current_app.config["REELSCOPE"].admin_token
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def token_mark(token: str) -> str:
    key = current_app.secret_key
    return hmac.new(key if isinstance(key, bytes) else key.encode(), token.encode(), "sha256").hexdigest()


def token_login_valid() -> bool:
    """The admin page's token login; the session keeps a mark of the token, so a new token logs it out."""
    token = current_app.config["REELSCOPE"].admin_token
    return bool(token) and hmac.compare_digest(session.get("admin", ""), token_mark(token))


# -- what the caller may do --------------------------------------------------------------------------

def signed_in() -> Caller:
    caller = current_caller()
    if caller is None:
        raise Unauthorized("sign in first (a session, or Authorization: Bearer <your API key>)")
    return caller


def acting_for(user_id: int) -> Caller:
    """The caller, if they may read and change `user_id`'s data: that user, or an admin.

    Another user's id answers 403 whether or not it exists, so ids tell a viewer nothing."""
    caller = signed_in()
    if caller.id != user_id and not caller.is_admin:
        abort(403, "that is another user's data: you may read and change only your own")
    return caller


def user_acted_for(s, user_id: int) -> User:
    """The user whose data the caller asks for (acting_for), then 404 for an admin asking of no one."""
    acting_for(user_id)
    user = s.get(User, user_id)
    if user is None:
        abort(404, f"no user with id {user_id}")
    return user


def signed_in_user() -> Caller:
    """A caller who is a user (an account), not the site's admin token."""
    caller = signed_in()
    if caller.id is None:
        abort(403, "the admin token is no one's account: sign in as a user, or use a user's API key")
    return caller


def caller_is_admin() -> bool:
    """Also who sees failed index runs: they name files and say why they failed, the admin's business."""
    caller = current_caller()
    return caller is not None and caller.is_admin


def admin() -> Caller:
    caller = signed_in()
    if not caller.is_admin:
        abort(403, "only an admin may do this")
    return caller


OPEN_ENDPOINTS = {"pages.sign_in_page", "pages.sign_in", "pages.setup_page", "pages.setup", "pages.switch_language",
                  "static"}


def check_signed_in_everywhere(api_prefix: str):
    """With REELSCOPE_SIGN_IN_REQUIRED: before every request but signing in and the API's own document."""
    if request.endpoint in OPEN_ENDPOINTS or request.path == f"{api_prefix}/openapi.json":
        return None
    if current_caller() is None:
        if request.path.startswith(api_prefix + "/"):
            raise Unauthorized("this server's library is for signed-in users: sign in, or send "
                               "Authorization: Bearer <your API key>")
        return redirect(url_for("pages.sign_in_page", next=request.full_path.rstrip("?")))
    return None


# -- CSRF --------------------------------------------------------------------------------------------

def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_sent_matches() -> bool:
    sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token") or ""
    if request.is_json and not sent:
        sent = str((request.get_json(silent=True) or {}).get("csrf_token") or "")
    expected = session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def check_api_csrf():
    """Before every JSON API request: a state change made with a cookie needs the session's token."""
    if request.method in SAFE_METHODS:
        return
    caller = current_caller()
    if caller is not None and caller.rides_cookies and not csrf_sent_matches():
        abort(403, f"a change made with a browser session needs the {CSRF_HEADER} header from the page "
                   "(scripts: send Authorization: Bearer <API key> instead)")
