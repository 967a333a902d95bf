"""The admin page (`/admin`): log in with the admin token, index a folder, retry, re-index, watch the jobs.

It does what the admin API does (`admin_api`'s functions), behind its own session login.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for

from indexer.status import status_report

from . import admin_api
from .extensions import current_catalog
from .ui_session import is_admin, token_mark


def _admin_report() -> dict:
    report = status_report(current_app.config["REELSCOPE"], current_catalog())
    del report["catalog"]
    return report


def admin_page():
    configured = bool(current_app.config["REELSCOPE"].admin_token)
    if not configured or not is_admin():
        return render_template("admin_login.html", configured=configured)
    return render_template("admin.html", report=_admin_report(), jobs=admin_api.jobs(30))


def admin_jobs_fragment():
    """The job table alone, polled by the admin page while it is open."""
    if not is_admin():
        abort(403, "log in as admin first")
    return render_template("_jobs.html", jobs=admin_api.jobs(30), report=_admin_report())


def admin_login():
    token = current_app.config["REELSCOPE"].admin_token
    if not token:
        abort(403, "admin is off: set REELSCOPE_ADMIN_TOKEN on the server")
    if not admin_api.token_matches(request.form.get("token", "").strip()):
        flash("That is not the admin token.", "error")
        return redirect(url_for("pages.admin_page"))
    session["admin"] = token_mark(token)
    return redirect(url_for("pages.admin_page"))


def admin_logout():
    session.pop("admin", None)
    return redirect(url_for("pages.admin_page"))


def admin_action(action):
    if not is_admin():
        abort(403, "log in as admin first")
    try:
        if action == "index":
            started = admin_api.index_path(request.form.get("path", ""), force=bool(request.form.get("force")))
        elif action == "retry":
            started = admin_api.retry_failed()
        else:
            started = admin_api.reindex(everything=bool(request.form.get("all")))
    except admin_api.AdminError as exc:
        flash(exc.message, "error")
        return redirect(url_for("pages.admin_page"))
    if started["files"]:
        flash(f"Queued {started['files']} file(s); progress shows below.")
    else:
        flash({"retry": "Nothing has failed: nothing to retry.",
               "reindex": "Nothing to re-index: every video was made by the current models."}.get(action, ""))
    return redirect(url_for("pages.admin_page"))
