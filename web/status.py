"""What the service holds and can do: `/api/v1/status` (JSON) and a plain page at `/`."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from indexer.commands import status_report

bp = Blueprint("status", __name__)


def _report() -> dict:
    return status_report(current_app.config["REELSCOPE"], current_app.extensions["catalog"])


@bp.get("/api/v1/status")
def status_json():
    return jsonify(_report())


@bp.get("/")
def status_page():
    return render_template("status.html", report=_report())
