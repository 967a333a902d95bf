"""What the service holds and can do: `/api/v1/status` (JSON; the admin page shows the same)."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from indexer.status import status_report

from . import auth
from .api import API_PREFIX
from .extensions import current_catalog, current_engine

bp = Blueprint("status", __name__, description="Service status")


class StatusSchema(ma.Schema):
    backend = ma.fields.String(required=True, metadata={"description": "catalog database: sqlite or postgresql"})
    counts = ma.fields.Dict(required=True)
    failed = ma.fields.List(ma.fields.Dict(), required=True)
    in_progress = ma.fields.List(ma.fields.Dict(), required=True)
    interrupted = ma.fields.List(ma.fields.Dict(), required=True)
    jobs = ma.fields.List(ma.fields.Dict(), required=True)
    models = ma.fields.Dict(required=True)
    channels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean(), required=True)
    visual = ma.fields.Dict(required=True)
    vectors = ma.fields.Dict(required=True, metadata={"description": "per channel: size and index kind"})
    workers = ma.fields.Dict(allow_none=True, metadata={
        "description": "null without a broker; else `workers` online with their `active_jobs` and messages "
                       "`waiting` per queue as of `checked_at` (asked in the background, again when a request "
                       "finds it over 5 s old; null until the first answer), and `error` when the broker is "
                       "unreachable"})


def _report() -> dict:
    report = status_report(current_app.config["REELSCOPE"], current_catalog())
    report["backend"] = current_catalog().engine.dialect.name
    del report["catalog"]  # the database URL is the admin's business, not every visitor's
    report["workers"] = _public_workers(report["workers"])
    if not auth.caller_is_admin():  # they name files: the admin's business
        report["failed"], report["in_progress"], report["interrupted"], report["jobs"] = [], [], [], []
    report["vectors"] = {name: {"size": index.size, "kind": index.kind}
                         for name, index in current_engine().loaded_channels().items()}
    return report


def _public_workers(queues: dict) -> dict | None:
    """Where the broker is (its URL, the host in a connection error) and the dead letters are the
    admin's business, like the catalog URL: `index status` shows them."""
    if not queues.get("broker"):
        return None
    public = {key: queues[key] for key in ("workers", "waiting", "checked_at")}
    if queues.get("error"):
        public["error"] = "broker unreachable; `reelscope index status` says why"
    return public


@bp.route(f"{API_PREFIX}/status")
class Status(MethodView):
    @bp.response(200, StatusSchema)
    def get(self):
        """Counts, models and which search channels are on (and why not); failures and jobs for admins."""
        return _report()
