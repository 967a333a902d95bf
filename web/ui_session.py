"""Who is asking, for every page: the viewer in the signed cookie session, the admin login, CSRF.

Also the hooks every page runs through (set-up, the CSRF check, error pages), which `ui.py` registers.
"""
from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

from flask import abort, current_app, g, jsonify, render_template, request, session
from werkzeug.exceptions import HTTPException

from catalog import User

from .extensions import current_catalog

log = logging.getLogger(__name__)


def configure(state) -> None:
    app = state.app
    if not app.secret_key:
        app.secret_key = _secret_key(app.config["REELSCOPE"].data_dir)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_NAME", "reelscope_session")


def _secret_key(data_dir: Path) -> bytes:
    """Kept in the data dir so sessions survive restarts and are shared by every serving process."""
    path = Path(data_dir) / "secret_key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes()
    except OSError as exc:
        log.warning("cannot keep the session key in %s (%s): sessions end when this process does", path, exc)
    return key


def layout_values() -> dict:
    return {"csrf_token": csrf_token, "current_user": current_user, "nav": request.endpoint or ""}


# -- identity and CSRF --------------------------------------------------------------------------------

def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf():
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    if request.is_json and not sent:
        sent = str((request.get_json(silent=True) or {}).get("csrf_token") or "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "this form has expired or did not come from this site; reload the page and try again")


def current_user() -> User | None:
    if "user" not in g:
        g.user = None
        user_id = session.get("user_id")
        if isinstance(user_id, int):
            with current_catalog().session() as s:
                g.user = s.get(User, user_id)
                if g.user is not None:
                    s.expunge(g.user)
    return g.user


def is_admin() -> bool:
    token = current_app.config["REELSCOPE"].admin_token
    # the session remembers which token it logged in with: changing the token logs everyone out
    return bool(token) and hmac.compare_digest(session.get("admin", ""), token_mark(token))


def token_mark(token: str) -> str:
    return hmac.new(current_app.secret_key if isinstance(current_app.secret_key, bytes)
                    else current_app.secret_key.encode(), token.encode(), "sha256").hexdigest()


def back(default: str) -> str:
    """Where a form came from, when that is on this site (never an open redirect)."""
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


def page_error(error: HTTPException):
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return jsonify(error=error.name.lower().replace(" ", "_"), message=error.description), error.code
    return render_template("error.html", error=error), error.code
