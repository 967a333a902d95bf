"""The admin page (`/admin`): index a folder under the library roots, retry, re-index, watch the jobs,
and manage accounts. Open to admin accounts, and to a session logged in with the site's admin token.

It does what the admin API does (`admin_api`'s functions).
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, ngettext
from sqlalchemy import select

from catalog import User
from indexer.status import status_report

from . import accounts, admin_api, auth
from .extensions import current_catalog
from .hardening import sign_in_limit
from .ui_display import with_data
from .ui_messages import refusal
from .ui_session import flash_refusal


def _admin_report() -> dict:
    report = status_report(current_app.config["REELSCOPE"], current_catalog())
    del report["catalog"]
    return report


def _require_admin() -> None:
    if not auth.caller_is_admin():
        abort(403, _("Only an admin may do this: sign in with an admin account."))


def _users() -> list[dict]:
    with current_catalog().session() as s:
        return [accounts.account_dict(u) for u in s.scalars(select(User).order_by(User.id).limit(1000))]


def admin_page():
    if not auth.caller_is_admin():
        status = 403 if auth.current_caller() is not None else 401
        return render_template("admin_login.html", token_configured=bool(current_app.config["REELSCOPE"].admin_token),
                               signed_in=auth.current_caller() is not None), status
    return render_template("admin.html", report=_admin_report(), jobs=admin_api.jobs(30), users=_users(),
                           roots=[str(r) for r in admin_api.library_roots()],
                           token_login=bool(session.get("admin")), me=auth.current_caller())


def admin_jobs_fragment():
    """The job table alone, polled by the admin page while it is open."""
    _require_admin()
    return render_template("_jobs.html", jobs=admin_api.jobs(30), report=_admin_report())


def admin_login():
    if not current_app.config["REELSCOPE"].admin_token:
        abort(403, _("Token login is off: set %(var)s on the server, or sign in with an admin account.",
                     var="REELSCOPE_ADMIN_TOKEN"))
    limit, address = sign_in_limit(), request.remote_addr or ""
    limit.check(address)
    if not auth.admin_token_matches(request.form.get("token", "").strip()):
        limit.failed(address)
        flash(_("That is not the admin token."), "error")
        return redirect(url_for("pages.admin_page"))
    session["admin"] = auth.token_mark(current_app.config["REELSCOPE"].admin_token)
    return redirect(url_for("pages.admin_page"))


def admin_logout():
    session.pop("admin", None)
    return redirect(url_for("pages.admin_page"))


def admin_action(action):
    _require_admin()
    try:
        if action == "index":
            started = admin_api.index_path(request.form.get("path", ""), force=bool(request.form.get("force")))
        elif action == "retry":
            started = admin_api.retry_failed()
        else:
            started = admin_api.reindex(everything=bool(request.form.get("all")))
    except admin_api.AdminError as exc:
        flash(refusal(exc.message), "error")
        return redirect(url_for("pages.admin_page"))
    if started["files"]:
        flash(ngettext("Queued %(num)s file(s); progress shows below.", "Queued %(num)s file(s); progress shows below.",
                       started["files"]))
    else:
        flash({"retry": _("Nothing has failed: nothing to retry."),
               "reindex": _("Nothing to re-index: every video was made by the current models.")}.get(action, ""))
    for note in started.get("notes", []):
        flash(refusal(note), "error")
    return redirect(url_for("pages.admin_page"))


# -- accounts ------------------------------------------------------------------------------------------

def create_user():
    _require_admin()
    form = request.form
    with current_catalog().session() as s:
        try:
            user = accounts.create_account(s, form.get("username", ""), form.get("password", ""),
                                           name=form.get("name"), admin=bool(form.get("admin")))
        except accounts.AccountError as exc:
            flash_refusal(exc)
            return redirect(url_for("pages.admin_page"))
        flash(with_data(_("Account %(name)s made: tell them their user name and password."), name=user.username))
    return redirect(url_for("pages.admin_page"))


def user_action(user_id, action):
    """claim (a user from before accounts gets a user name and password), admin / viewer, remove."""
    _require_admin()
    form = request.form
    with current_catalog().session() as s:
        user = auth.user_acted_for(s, user_id)
        label = user.username or user.name
        try:
            if action == "claim":
                accounts.claim(s, user, form.get("username", ""), form.get("password", ""))
                flash(with_data(_("%(name)s is now the account %(username)s, with their history."),
                                name=user.name, username=user.username))
            elif action in ("admin", "viewer"):
                accounts.set_admin(s, user, action == "admin")
                flash(with_data(_("%(name)s is an admin now.") if action == "admin" else _("%(name)s is a viewer now."),
                                name=label))
            else:
                accounts.delete_account(s, user)
                flash(with_data(_("%(name)s and their history are removed."), name=label))
        except accounts.AccountError as exc:
            flash_refusal(exc)
    return redirect(url_for("pages.admin_page"))
