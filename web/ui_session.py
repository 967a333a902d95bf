"""The hooks every page runs through (set-up, the CSRF check, error pages), which `ui.py` registers.

Who is asking is `auth`'s business; this module asks it for the pages.
"""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from . import auth
from .ui_messages import refusal

log = logging.getLogger(__name__)


def configure(state) -> None:
    app = state.app
    if not app.secret_key:
        app.secret_key = _secret_key(app.config["REELSCOPE"].data_dir)


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
    return {"csrf_token": auth.csrf_token, "current_user": auth.current_caller, "nav": request.endpoint or "",
            "auth_mode": current_app.config["REELSCOPE"].auth}


def check_csrf():
    """Every form and page script POST carries the session's token, signed in or not."""
    if request.method not in auth.SAFE_METHODS and not auth.csrf_sent_matches():
        abort(400, _("This form has expired or did not come from this site; reload the page and try again."))


def viewer():
    """The signed-in user whose feed and likes these are; None for no one, or for the bare admin token."""
    caller = auth.current_caller()
    return caller if caller is not None and caller.id is not None else None


def sign_in_redirect():
    return redirect(url_for("pages.sign_in_page", next=request.full_path.rstrip("?")))


def flash_refusal(exc: Exception) -> None:
    """An AccountError's message as the page's error line."""
    flash(refusal(exc, str(exc).capitalize() + "."), "error")


def back(default: str) -> str:
    """Where a form came from, when that is on this site (never an open redirect)."""
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


# What the error page calls each error; werkzeug's English name for the rest.
ERROR_TITLES = {400: _l("Bad request"), 401: _l("Sign-in needed"), 403: _l("Not allowed"), 404: _l("Not found"),
                405: _l("Not allowed here"), 409: _l("Conflict"), 413: _l("Too large"), 422: _l("Cannot be done"),
                429: _l("Too many tries"), 500: _l("Something went wrong"), 503: _l("Not available right now")}
# werkzeug's own descriptions, for an abort() that gave none: said in the page's words instead
ERROR_DESCRIPTIONS = {404: _l("There is no page at this address. Check the link, or search for what you want."),
                      405: _l("This page cannot be used that way."),
                      500: _l("The server could not answer this request. Try again in a while.")}


def page_error(error: HTTPException):
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return jsonify(error=error.name.lower().replace(" ", "_"), message=error.description), error.code
    description = error.description
    if description == type(error).description and error.code in ERROR_DESCRIPTIONS:
        description = ERROR_DESCRIPTIONS[error.code]
    else:  # another module's message (the sign-in limit's, ...) in the page's words where it has them
        description = refusal(description)
    return render_template("error.html", error=error, title=ERROR_TITLES.get(error.code, error.name),
                           description=description), error.code


def vary_by_language(response):
    """Pages differ by the visitor's language: a shared cache must key them by what chose it."""
    response.vary.update(("Accept-Language", "Cookie"))
    return response
