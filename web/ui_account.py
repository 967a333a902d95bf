"""Signing in and out, the first admin (`/setup`), and a user's own account page (`/me`): password,
API keys, export of everything kept about them, and deleting the account."""
from __future__ import annotations

import json

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sqlalchemy import func, select

from catalog import User

from . import accounts, auth
from .extensions import current_catalog
from .hardening import sign_in_limit
from .ui_display import with_data
from .ui_session import back, flash_refusal, sign_in_redirect, viewer


def _password_mode() -> bool:
    return current_app.config["REELSCOPE"].auth == "password"


def _needs_setup() -> bool:
    with current_catalog().session() as s:
        return _password_mode() and not accounts.admin_exists(s)


def _setup_needs_token() -> bool:
    """A fresh catalog's first visitor may make the admin (as immich does); once anyone has an account or
    history, or the site has an admin token, making the first admin takes that token, so an upgraded
    server is not handed to whoever finds /setup first."""
    if current_app.config["REELSCOPE"].admin_token:
        return True
    with current_catalog().session() as s:
        return s.scalar(select(func.count()).select_from(User)) > 0


def sign_in_page():
    return render_template("sign_in.html", next=request.args.get("next", ""), proxy=not _password_mode(),
                           needs_setup=_needs_setup())


def sign_in():
    if not _password_mode():
        abort(404, _("Sign-in is done by the auth proxy in front of this server."))
    limit, address = sign_in_limit(), request.remote_addr or ""
    limit.check(address)
    with current_catalog().session() as s:
        user = accounts.authenticate(s, request.form.get("username", ""), request.form.get("password", ""))
        if user is not None:
            auth.sign_in(user)
            flash(with_data(_("Hello, %(name)s."), name=user.name))
            return redirect(back(url_for("pages.feed_page")))
    limit.failed(address)
    # one message for a wrong name and a wrong password, so the form tells no one who has an account
    flash(_("Wrong user name or password."), "error")
    return render_template("sign_in.html", next=request.form.get("next", ""), proxy=False,
                           needs_setup=_needs_setup(), username=request.form.get("username", "")), 401


def sign_out():
    auth.sign_out()
    return redirect(url_for("pages.search_page"))


def _setup_form(status: int = 200, username: str = ""):
    return render_template("setup.html", username=username, needs_token=_setup_needs_token(),
                           token_configured=bool(current_app.config["REELSCOPE"].admin_token)), status


def setup_page():
    if not _needs_setup():
        abort(404, _("This server already has an admin: sign in."))
    return _setup_form()


def setup():
    if not _needs_setup():
        abort(404, _("This server already has an admin: sign in."))
    form = request.form
    if _setup_needs_token():
        limit, address = sign_in_limit(), request.remote_addr or ""
        limit.check(address)
        if not auth.admin_token_matches(form.get("token", "").strip()):
            limit.failed(address)
            flash(_("That is not the admin token."), "error")
            return _setup_form(403, form.get("username", ""))
    if form.get("password", "") != form.get("password_again", ""):
        flash(_("The two passwords differ."), "error")
        return _setup_form(422, form.get("username", ""))
    with current_catalog().session() as s:
        try:
            user = accounts.create_account(s, form.get("username", ""), form.get("password", ""),
                                           name=form.get("name"), admin=True)
        except accounts.AccountError as exc:
            flash_refusal(exc)
            return _setup_form(422, form.get("username", ""))
        auth.sign_in(user)
    flash(_("You are this server's first admin. Index a folder below, then add accounts for the others."))
    return redirect(url_for("pages.admin_page"))


# -- the account page ----------------------------------------------------------------------------------

def _account_page(status: int = 200, new_key: str | None = None):
    caller = viewer()
    with current_catalog().session() as s:
        user = s.get(User, caller.id)
        values = {"account": accounts.account_dict(user), "has_password": user.password_hash is not None,
                  "keys": [accounts.key_dict(k) for k in accounts.keys(s, user.id)]}
    return render_template("account.html", new_key=new_key, **values), status


def account_page():
    if viewer() is None:
        return sign_in_redirect()
    return _account_page()


def _own_user(s) -> User:
    caller = viewer()
    if caller is None:
        abort(401, _("Sign in first."))
    return s.get(User, caller.id)


def change_password():
    form = request.form
    with current_catalog().session() as s:
        user = _own_user(s)
        if accounts.authenticate(s, user.username or "", form.get("current", "")) is None:
            flash(_("That is not your current password."), "error")
            return _account_page(403)
        if form.get("password", "") != form.get("password_again", ""):
            flash(_("The two new passwords differ."), "error")
            return _account_page(422)
        try:
            accounts.set_password(s, user, form.get("password", ""))
        except accounts.AccountError as exc:
            flash_refusal(exc)
            return _account_page(422)
        auth.sign_in(user)  # this session stays; every other one is signed out
    flash(_("Password changed. Your other sessions are signed out."))
    return redirect(url_for("pages.account_page"))


def create_key():
    with current_catalog().session() as s:
        user = _own_user(s)
        try:
            _, secret = accounts.create_key(s, user, request.form.get("name", ""))
        except accounts.AccountError as exc:
            flash_refusal(exc)
            return _account_page(422)
    # shown in this response only: a flash message would keep it in the cookie
    return _account_page(201, new_key=secret)


def revoke_key(key_id):
    with current_catalog().session() as s:
        if not accounts.revoke_key(s, _own_user(s).id, key_id):
            abort(404, _("There is no such key among yours."))
    flash(_("Key revoked: scripts using it are refused from now on."))
    return redirect(url_for("pages.account_page"))


def export_account():
    with current_catalog().session() as s:
        data = accounts.export(s, _own_user(s))
    body = json.dumps(data, default=str, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="reelscope-account.json"'})


def delete_account():
    with current_catalog().session() as s:
        user = _own_user(s)
        if user.password_hash is not None and \
                accounts.authenticate(s, user.username or "", request.form.get("password", "")) is None:
            flash(_("That is not your password: the account stays."), "error")
            return _account_page(403)
        try:
            accounts.delete_account(s, user)
        except accounts.AccountError as exc:
            flash_refusal(exc)
            return _account_page(409)
    auth.sign_out()
    flash(_("Your account, history and keys are deleted."))
    return redirect(url_for("pages.search_page"))
