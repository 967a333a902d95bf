"""Indexing on Celery workers: the app built from settings, the index task, and its dead letters.

The catalog stays the record: a message carries only a Job id, the Job row says what to index
and ends `done` or `failed` with a message, so nothing needs a Celery result backend. Delivery is
at least once (acks late: a worker killed mid-video leaves its message unacknowledged and Redis
hands it out again after the visibility timeout), so the task must be safe to run twice:

* a finished or abandoned job is not run again;
* the video is skipped when its content hash and model versions already match (the pipeline's
  own check, plus a forced redo when the models changed since);
* a live claim by another worker means that worker is still on it: this copy comes back later
  instead of indexing the same video twice;
* the pipeline writes a video in one transaction, so a killed worker leaves only a claim that
  the next attempt takes over.

Transient errors (the database going away) are retried with exponential backoff; after the last
retry, or on an error that retrying cannot fix, the job is dead-lettered: marked failed in the
catalog with the error and attempts, and pushed onto a Redis list that admins can read even
when the catalog was the thing that failed.
"""
from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from celery import Celery
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from catalog import Catalog, Job, Video, VideoStatus, in_chunks, utcnow
from settings import Settings

from .maintenance import is_stale
from .claims import claim_is_alive, this_worker
from .pipeline import Indexer

log = logging.getLogger(__name__)

INDEX_TASK = "reelscope.index_video"
DEFAULT_QUEUE = "reelscope.index"
DEAD_LETTER_KEY = "reelscope:dead_letters"
DEAD_LETTER_KEEP = 1000
# dead letters whose Job row could not be marked (the catalog was down); the next task records them
UNRECORDED_KEY = "reelscope:dead_letters:unrecorded"
# Errors that go away on their own: the database restarting, a dropped connection, a full pool.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)
# How long asking the workers what they run takes: a broadcast does not know how many workers
# there are, so it always waits this long for their replies (and the whole of it when none is up).
WORKER_REPLY_WAIT = 1.0


class BrokerMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    # first retry after this many seconds, doubling each time (with jitter), never beyond max_delay
    first_delay: float = 10.0
    max_delay: float = 600.0
    # how long Redis waits for an acknowledgement before handing a message out again; must exceed
    # the longest retry delay (a delayed retry sits unacknowledged in a worker until it is due)
    visibility_timeout: float = 3600.0

    def delay(self, retries: int) -> float:
        ceiling = min(self.max_delay, self.first_delay * 2 ** retries)
        return random.uniform(ceiling / 2, ceiling)


def make_app(settings: Settings, policy: RetryPolicy | None = None) -> Celery:
    if not settings.broker_url:
        raise BrokerMissing("no broker configured: set REELSCOPE_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    policy = policy or RetryPolicy()
    app = Celery("reelscope", broker=settings.broker_url, set_as_current=False)
    restore_every = max(1.0, min(10.0, policy.visibility_timeout / 4))
    app.conf.update(
        task_default_queue=DEFAULT_QUEUE,
        task_acks_late=True,
        # a pool child killed mid-task (OOM, SIGKILL) puts its message back at once instead of losing it
        task_reject_on_worker_lost=True,
        task_ignore_result=True,  # the Job row is the result
        worker_prefetch_multiplier=1,  # one video per process at a time; the others stay for idle workers
        task_serializer="json", accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": policy.visibility_timeout,
                                  "unacked_restore_interval": restore_every, "unacked_restore_throttle": 1},
        worker_hijack_root_logger=False,
    )
    app.reelscope_settings = settings
    app.reelscope_policy = policy
    app.task(name=INDEX_TASK, bind=True, acks_late=True)(index_video)
    return app


# -- the task ---------------------------------------------------------------------------------------

_per_process: dict[str, object] = {}


def _indexer(settings: Settings) -> Indexer:
    """One Indexer (models, engine) per worker process, made after the fork: connections and the
    host:pid claim identity must belong to the process that uses them."""
    if _per_process.get("pid") != os.getpid():
        catalog = Catalog(settings.catalog_url)
        _per_process.clear()
        _per_process.update(pid=os.getpid(), indexer=Indexer(settings, catalog, raise_database_errors=True))
    return _per_process["indexer"]


def index_video(task, job_id: int) -> str:
    settings: Settings = task.app.reelscope_settings
    policy: RetryPolicy = task.app.reelscope_policy
    attempt = task.request.retries + 1
    try:
        indexer = _indexer(settings)
        _record_pending_dead_letters(settings, indexer.catalog)
        _release_own_claims(indexer)
        path, force, wait = _prepare(indexer, job_id, retrying=task.request.retries > 0)
        if path is None:
            return "nothing to do"
        if wait:
            # another live worker holds the video (a duplicate delivery): look again later, without
            # spending a retry, so this copy survives if that worker dies before finishing
            task.apply_async((job_id,), countdown=policy.delay(0), queue=_queue_of(task))
            return f"waiting: {wait}"
        return indexer.index_path(path, force=force, job_id=job_id).status
    except TRANSIENT_ERRORS as exc:
        error = _describe(exc)
        if task.request.retries >= policy.max_retries:
            dead_letter(settings, job_id, f"gave up after {attempt} attempts: {error}", attempt, task.request.id)
            return "dead-lettered"
        delay = policy.delay(task.request.retries)
        log.warning("job %s attempt %d failed (%s); retrying in %.1f s", job_id, attempt, error, delay)
        _mark_retrying(settings, job_id, f"attempt {attempt} failed ({error}); retrying in {delay:.0f} s")
        raise task.retry(countdown=delay, max_retries=policy.max_retries) from None
    except Exception as exc:  # a bug, not the weather: retrying would fail the same way
        log.error("job %s failed:\n%s", job_id, traceback.format_exc())
        dead_letter(settings, job_id, f"internal error: {_describe(exc)}", attempt, task.request.id)
        return "dead-lettered"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"{type(exc).__name__}: {str(exc.orig).strip().splitlines()[0]}"
    return f"{type(exc).__name__}: {exc}"


def _queue_of(task) -> str:
    return (task.request.delivery_info or {}).get("routing_key") or DEFAULT_QUEUE


def _prepare(indexer: Indexer, job_id: int, retrying: bool) -> tuple[Path | None, bool, str]:
    """(path, force, why to wait) for a job worth running; path None when it is not."""
    with indexer.catalog.session() as s:
        job = s.get(Job, job_id)
        # a retry may find its job marked failed by the attempt that hit the database error
        runnable = job is not None and (job.status in ("queued", "running") or
                                        (retrying and job.status == "failed" and job.stage != "dead-lettered"))
        if not runnable:
            return None, False, ""  # done, failed or cancelled: a duplicate or a stale message
        path, force = Path(job.path), job.force
        video = s.scalar(select(Video).where(Video.path == str(path)))
        if video is not None and video.status == VideoStatus.INDEXING and video.claimed_by != indexer.worker \
                and claim_is_alive(video.claimed_by, video.claimed_at):
            return path, force, f"being indexed by {video.claimed_by}"
        # same bytes but other models made the rows (or a channel is on that it lacks): the
        # content hash alone would skip it
        if not force and video is not None and video.status == VideoStatus.INDEXED and \
                is_stale(video, indexer.models.versions()):
            force = True
    return path, force, ""


def _mark_retrying(settings: Settings, job_id: int, message: str) -> None:
    """Back to queued, so the retry runs it and `index status` shows why it waits; best effort,
    since the catalog may be what failed (the retry itself does not depend on this)."""
    try:
        indexer = _indexer(settings)
        with indexer.catalog.session() as s, s.begin():
            job = s.get(Job, job_id)
            if job is not None and job.status in ("queued", "running", "failed"):
                job.status, job.stage, job.message, job.finished_at = "queued", "retrying", message, None
    except TRANSIENT_ERRORS:
        pass


def _release_own_claims(indexer: Indexer) -> None:
    """A worker process runs one video at a time, so a claim it still holds as a task starts is left
    over from an attempt that died on a database error: hand the video back."""
    with indexer.catalog.session() as s, s.begin():
        s.execute(update(Video).where(Video.claimed_by == indexer.worker, Video.status == VideoStatus.INDEXING)
                  .values(status=VideoStatus.PENDING, claimed_by=None, claimed_at=None,
                          error="interrupted by a database error; retried"))


# -- dead letters -------------------------------------------------------------------------------------

def _redis(settings: Settings):
    import redis

    return redis.Redis.from_url(settings.broker_url, socket_timeout=5, socket_connect_timeout=5)


def dead_letter(settings: Settings, job_id: int, error: str, attempts: int, task_id: str | None = None) -> None:
    """Record a job given up on, in Redis first (it works while the catalog is down), then on its Job row."""
    record = {"job_id": job_id, "error": error, "attempts": attempts, "task_id": task_id,
              "at": utcnow().isoformat(), "worker": this_worker(), "path": None}
    try:
        catalog = Catalog(settings.catalog_url)
        try:
            record["path"] = _mark_dead(catalog, record)
        finally:
            catalog.dispose()
    except TRANSIENT_ERRORS as exc:
        record["catalog_error"] = _describe(exc)
    log.error("job %s dead-lettered: %s", job_id, error)
    try:
        client = _redis(settings)
        client.lpush(DEAD_LETTER_KEY, json.dumps(record))
        client.ltrim(DEAD_LETTER_KEY, 0, DEAD_LETTER_KEEP - 1)
        if "catalog_error" in record:
            client.sadd(UNRECORDED_KEY, json.dumps(record))
    except Exception as exc:  # both stores down: the worker log above is all that is left
        log.error("could not record dead letter for job %s in Redis: %s", job_id, exc)


def _mark_dead(catalog: Catalog, record: dict) -> str | None:
    with catalog.session() as s, s.begin():
        job = s.get(Job, record["job_id"])
        if job is None or job.status in ("done", "cancelled"):
            return job.path if job else None
        job.status, job.stage, job.message = "failed", "dead-lettered", record["error"]
        job.attempts = max(job.attempts or 0, record["attempts"])
        job.finished_at = utcnow()
        return job.path


def _record_pending_dead_letters(settings: Settings, catalog: Catalog) -> None:
    try:
        client = _redis(settings)
        pending = client.smembers(UNRECORDED_KEY)
    except Exception:  # Redis trouble must not stop indexing; the list itself keeps the record
        return
    for raw in pending:
        _mark_dead(catalog, json.loads(raw))
        client.srem(UNRECORDED_KEY, raw)


def dead_letters(settings: Settings, limit: int = 50) -> list[dict]:
    """Newest first, as recorded by `dead_letter`."""
    return [json.loads(raw) for raw in _redis(settings).lrange(DEAD_LETTER_KEY, 0, limit - 1)]


# -- producing and watching ------------------------------------------------------------------------

def send_jobs(settings: Settings, job_ids: list[int], queue: str = DEFAULT_QUEUE) -> None:
    app = make_app(settings)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=2, interval_start=0.2, interval_step=0.5)
            for job_id in job_ids:
                app.send_task(INDEX_TASK, args=(job_id,), queue=queue, connection=conn)
    finally:
        app.close()


def open_jobs_for(catalog: Catalog, paths: list[Path]) -> dict[str, int]:
    """Jobs already waiting or running for these paths, so enqueuing twice re-sends instead of doubling."""
    keys = [str(Path(p).absolute()) for p in paths]
    found: dict[str, int] = {}
    with catalog.session() as s:
        for chunk in in_chunks(keys):
            rows = s.execute(select(Job.path, Job.id).where(Job.path.in_(chunk),
                                                            Job.status.in_(("queued", "running")),
                                                            Job.kind == "index"))
            for path, job_id in rows:
                found.setdefault(path, job_id)
    return found


def queue_report(settings: Settings, queues: tuple[str, ...] = (DEFAULT_QUEUE,),
                 timeout: float = WORKER_REPLY_WAIT) -> dict:
    """Workers online, messages waiting and recent dead letters; `error` says when the broker is unreachable.
    Takes `timeout` seconds at least (the workers' replies); a server reads `watched_queue_report`."""
    if not settings.broker_url:
        return {"broker": None}
    app = make_app(settings)
    report = _empty_report(settings, utcnow().isoformat())
    try:
        client = _redis(settings)
        report["waiting"] = {q: int(client.llen(q)) for q in queues}
        report["dead_letters"] = dead_letters(settings, 10)
        replies = app.control.inspect(timeout=timeout).active() or {}
        report["workers"] = [{"name": name, "active_jobs": [t["args"][0] if t.get("args") else None for t in tasks]}
                             for name, tasks in sorted(replies.items())]
    except Exception as exc:  # a status command must still show the catalog part
        report["error"] = f"broker unreachable: {exc}"
    finally:
        app.close()
    return report


def _empty_report(settings: Settings, checked_at: str | None) -> dict:
    return {"broker": _safe_broker(settings), "workers": [], "waiting": {}, "dead_letters": [],
            "checked_at": checked_at}


class QueueWatch:
    """The queue report of one broker, for a server: requests read the last one and never wait for
    the workers' replies; one older than `max_age` is asked again in the background meanwhile."""

    def __init__(self, settings: Settings, max_age: float = 5.0):
        self.settings, self.max_age = settings, max_age
        self._report: dict | None = None
        self._checked = float("-inf")
        self._refreshing = False
        self._lock = threading.Lock()

    def report(self) -> dict:
        with self._lock:
            report = self._report
            if time.monotonic() - self._checked >= self.max_age and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="reelscope-queue-watch", daemon=True).start()
        # None: the first answer is still on its way (a second or so after start)
        return dict(report) if report else _empty_report(self.settings, None)

    def _refresh(self) -> None:
        try:
            report = queue_report(self.settings)
        except Exception as exc:  # queue_report catches broker trouble; anything else must not stop refreshing
            report = dict(_empty_report(self.settings, utcnow().isoformat()), error=f"cannot ask the workers: {exc}")
        with self._lock:
            self._report, self._checked, self._refreshing = report, time.monotonic(), False


# Per process, not per Flask app: the admin page builds its report with `status_report`, which has
# settings but no app at hand, and one watch per broker is all a process needs.
_watches: dict[str, QueueWatch] = {}
_watches_lock = threading.Lock()


def watch_queues(settings: Settings) -> QueueWatch:
    """The server's watch of its broker (one per broker URL in a process), asked once right away."""
    with _watches_lock:
        watch = _watches.get(settings.broker_url)
        if watch is None:
            watch = _watches[settings.broker_url] = QueueWatch(settings)
    watch.report()
    return watch


def watched_queue_report(settings: Settings) -> dict:
    """From the watch where this process has one (a server), else asked now (a command: `index status`)."""
    watch = _watches.get(settings.broker_url) if settings.broker_url else None
    return watch.report() if watch else queue_report(settings)


def queue_files(settings: Settings, catalog: Catalog, files: list[Path], force: bool,
                queue: str = DEFAULT_QUEUE) -> list[dict]:
    """Send files to the workers: one job each, or the job already open for it sent again (a lost
    message is replaced; a duplicate is harmless). Jobs whose message could not be sent are cancelled."""
    from .jobs import enqueue

    if not settings.broker_url:
        raise BrokerMissing("no broker configured: set REELSCOPE_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    keys = [str(Path(f).absolute()) for f in files]
    open_jobs = {} if force else open_jobs_for(catalog, files)
    new = [key for key in keys if key not in open_jobs]
    created = dict(zip(new, enqueue(catalog, [Path(key) for key in new], force)))
    rows = [{"path": key, "job_id": open_jobs.get(key) or created[key], "status": "queued",
             "message": "already queued; sent again" if key in open_jobs else ""} for key in keys]
    try:
        send_jobs(settings, [r["job_id"] for r in rows], queue)
    except Exception as exc:
        with catalog.session() as s, s.begin():
            for job in s.scalars(select(Job).where(Job.id.in_(list(created.values())))):
                job.status, job.message, job.finished_at = "cancelled", f"broker unreachable: {exc}", utcnow()
        raise BrokerMissing(f"cannot reach the broker at {_safe_broker(settings)}: {exc}") from None
    return rows


def _safe_broker(settings: Settings) -> str:
    from kombu.utils.url import maybe_sanitize_url

    return maybe_sanitize_url(settings.broker_url)
