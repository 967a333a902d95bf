"""Admin: index a folder, watch jobs, retry failures, re-index; behind `REELSCOPE_ADMIN_TOKEN`.

Jobs run in this process on one background thread (one file at a time, so indexing never takes
more than its share of the CPU from searches); their rows in the catalog are what anyone watches.
Without a broker, jobs a stopped server left queued or half done run again when the next one starts.
The web UI's admin page calls the same functions after its own login.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

import models
from indexer.jobs import enqueue, leftover_jobs, recent_jobs, run_jobs
from indexer.library import discover
from indexer.maintenance import stale_videos
from indexer.pipeline import Indexer
from catalog import Catalog, Video, VideoStatus, current_revision
from settings import Settings

from .api import API_PREFIX, needs_caller
from . import auth
from .extensions import current_catalog

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix=f"{API_PREFIX}/admin",
               description="Indexing administration: an admin's API key or session, or Authorization: Bearer "
                           "REELSCOPE_ADMIN_TOKEN")
MAX_PATH_CHARS = 4096


# -- the background runner --------------------------------------------------------------------------

class JobRunner:
    """Runs batches of queued jobs in order on one daemon thread, started when there is work."""

    def __init__(self, settings: Settings, catalog: Catalog):
        self.settings, self.catalog = settings, catalog
        self._batches: list[list[int]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._indexer: Indexer | None = None

    def submit(self, job_ids: list[int]) -> None:
        with self._lock:
            self._batches.append(job_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._drain, name="reelscope-jobs", daemon=True)
                self._thread.start()

    def resume(self) -> None:
        """Runs what a server stopped earlier left unfinished; slow catalogs make it wait, not the caller."""
        try:
            if current_revision(self.catalog.url) is None:
                return  # a new data dir: `reelscope init` has not made the catalog yet, so nothing was left
            job_ids = leftover_jobs(self.catalog)
        except Exception:  # a catalog not reachable yet must not stop the server; `index add` still works
            log.exception("could not look for index jobs left unfinished")
            return
        if job_ids:
            log.warning("resuming %d index job(s) left unfinished by an earlier server", len(job_ids))
            self.submit(job_ids)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._batches) or (self._thread is not None and self._thread.is_alive())

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._batches:
                    self._thread = None
                    return
                batch = self._batches.pop(0)
            try:
                if self._indexer is None:  # models load once, on the first job, not at start-up
                    self._indexer = Indexer(self.settings, self.catalog)
                run_jobs(self._indexer, batch)
            except Exception:  # the jobs are marked cancelled by run_jobs; keep serving the next batch
                log.exception("index jobs %s stopped", batch)


def runner(app=None) -> JobRunner:
    app = app or current_app
    if "job_runner" not in app.extensions:
        app.extensions["job_runner"] = JobRunner(app.config["REELSCOPE"], app.extensions["catalog"])
    return app.extensions["job_runner"]


def resume_jobs(app) -> threading.Thread | None:
    """At start, run the jobs an earlier server left queued or running (its claims dead), in the background.

    Not with a broker: then workers own the jobs, and a queued one is a message waiting for them.
    """
    if app.config["REELSCOPE"].broker_url:
        return None
    thread = threading.Thread(target=runner(app).resume, name="reelscope-resume", daemon=True)
    thread.start()
    return thread


# -- what the admin can do (shared with the admin page) ---------------------------------------------

class AdminError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def library_roots() -> list[Path]:
    """The folders an admin may index from the web, symlinks resolved: REELSCOPE_LIBRARY_ROOTS, or
    else the folders of what is indexed already (not of failures: a failed try is no library)."""
    configured = current_app.config["REELSCOPE"].library_roots
    if configured:
        candidates = {Path(p.strip()).expanduser() for p in configured.split(os.pathsep) if p.strip()}
    else:
        with current_catalog().session() as s:
            candidates = {Path(p).parent for p in s.scalars(
                select(Video.path).where(Video.status == VideoStatus.INDEXED).distinct())}
    roots = {Path(os.path.realpath(c)) for c in candidates if c.is_absolute()}
    # the topmost of nested folders is enough
    return sorted(r for r in roots if not any(r != o and r.is_relative_to(o) for o in roots))


def _inside(path: Path, roots: list[Path]) -> bool:
    real = Path(os.path.realpath(path))  # every link on the way followed
    return any(real.is_relative_to(root) for root in roots)


def check_path(raw: str) -> Path:
    """The path an admin typed, if it lies inside the library roots and this server can read it;
    AdminError says why not. The roots are checked first, so nothing is said of what lies outside."""
    text = (raw or "").strip()
    if not text:
        raise AdminError(400, "give the path of a folder or video file on the server")
    if "\x00" in text or len(text) > MAX_PATH_CHARS:
        raise AdminError(400, "that is not a valid path")
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise AdminError(400, f"give an absolute path (starting with /), not {text!r}")
    roots = library_roots()
    if not roots:
        raise AdminError(403, "no library folders are set: start the server with REELSCOPE_LIBRARY_ROOTS "
                              "(folders separated by ':'), or add a first folder with `reelscope index add`")
    if not _inside(path, roots):
        raise AdminError(403, f"{text} is outside the library folders ({', '.join(map(str, roots))}); "
                              "REELSCOPE_LIBRARY_ROOTS on the server says which folders may be indexed")
    try:
        exists = path.exists()
    except OSError as exc:
        raise AdminError(400, f"cannot look at {text}: {exc.strerror or exc}") from None
    if not exists:
        raise AdminError(404, f"{text} does not exist on the server")
    if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
        raise AdminError(403, f"the server may not read {text} (permission denied)")
    return path


def index_path(raw: str, force: bool = False) -> dict:
    path = check_path(raw)
    files = discover([path])
    if not files:
        raise AdminError(422, f"no video files found under {path}")
    return _start(files, force)


def retry_failed() -> dict:
    with current_catalog().session() as s:
        paths = list(s.scalars(select(Video.path).where(Video.status == VideoStatus.FAILED).order_by(Video.id)))
    return _start([Path(p) for p in paths], force=True)


def reindex(everything: bool = False) -> dict:
    if everything:
        with current_catalog().session() as s:
            paths = list(s.scalars(select(Video.path).where(Video.status == VideoStatus.INDEXED).order_by(Video.id)))
    else:
        s = current_app.config["REELSCOPE"]
        versions = models.model_versions(s.speech_model, s.text_model, s.clip_model, s.models_dir)
        paths = [v.path for v in stale_videos(current_catalog(), versions)]
    return _start([Path(p) for p in paths], force=True)


def _start(files: list[Path], force: bool) -> dict:
    """Queues what lies inside the library roots; a link inside a root that leads out of them is skipped."""
    roots = library_roots()
    inside = [f for f in files if _inside(f, roots)]
    skipped = len(files) - len(inside)
    notes = [f"{skipped} file(s) skipped: they lie outside the library folders, or are links leading out of "
             "them"] if skipped else []
    if not inside:
        return {"jobs": [], "files": 0, "skipped": skipped, "notes": notes}
    job_ids = enqueue(current_catalog(), inside, force)
    runner().submit(job_ids)
    return {"jobs": job_ids, "files": len(inside), "skipped": skipped, "notes": notes}


def jobs(limit: int = 50) -> dict:
    return {"jobs": recent_jobs(current_catalog(), limit),
            "running": current_app.extensions.get("job_runner") is not None and runner().busy()}


# -- HTTP --------------------------------------------------------------------------------------------

@bp.before_request
def _require_admin():
    auth.admin()


class IndexArgs(ma.Schema):
    path = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=MAX_PATH_CHARS),
                                                     ma.validate.Regexp(r"^\s*[/~]", error="give an absolute path")],
                            metadata={"description": "absolute path on the server of a folder (walked "
                                                     "recursively) or a file"})
    force = ma.fields.Boolean(load_default=False, metadata={"description": "index again what is already indexed"})


class ReindexArgs(ma.Schema):
    all = ma.fields.Boolean(load_default=False,
                            metadata={"description": "every indexed video, not only those older models made"})


class JobsArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 500))


class JobSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    path = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "queued, running, done, failed, cancelled"})
    stage = ma.fields.String(allow_none=True)
    progress = ma.fields.Float(required=True, metadata={"description": "0..1 for the current file"})
    message = ma.fields.String(allow_none=True)
    video_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.String(allow_none=True)
    finished_at = ma.fields.String(allow_none=True)


class JobList(ma.Schema):
    jobs = ma.fields.List(ma.fields.Nested(JobSchema), required=True)
    running = ma.fields.Boolean(required=True, metadata={"description": "the background runner has work"})


class Started(ma.Schema):
    jobs = ma.fields.List(ma.fields.Integer(), required=True, metadata={"description": "ids of the queued jobs"})
    files = ma.fields.Integer(required=True)
    skipped = ma.fields.Integer(required=True, metadata={"description": "files left out: outside the library "
                                                                        "roots, or links leading out of them"})
    notes = ma.fields.List(ma.fields.String(), required=True)


def _run(action, *args):
    try:
        return action(*args)
    except AdminError as exc:
        abort(exc.status, message=exc.message)


def _auth_responses(view):
    return needs_caller(bp, view, forbidden="not an admin, or a path outside the library roots")


@bp.route("/index")
class IndexFolder(MethodView):
    @bp.arguments(IndexArgs)
    @bp.response(202, Started)
    @bp.alt_response(404, schema=None, description="no such path on the server")
    @bp.alt_response(422, schema=None, description="no video files there")
    @_auth_responses
    def post(self, args):
        """Queue a folder (recursively) or a file for indexing; it runs in the background."""
        return _run(index_path, args["path"], args["force"])


@bp.route("/jobs")
class Jobs(MethodView):
    @bp.arguments(JobsArgs, location="query", as_kwargs=True)
    @bp.response(200, JobList)
    @_auth_responses
    def get(self, limit):
        """Recent index jobs, newest first, with stage and progress."""
        return jobs(limit)


@bp.route("/jobs/retry-failed")
class RetryFailed(MethodView):
    @bp.response(202, Started)
    @_auth_responses
    def post(self):
        """Index every failed video again."""
        return _run(retry_failed)


@bp.route("/reindex")
class Reindex(MethodView):
    @bp.arguments(ReindexArgs)
    @bp.response(202, Started)
    @_auth_responses
    def post(self, args):
        """Re-index what older or other models made (or everything, with `all`)."""
        return _run(reindex, args["all"])
