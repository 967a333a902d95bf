"""Progress of the file being indexed: to the caller's callback, and to its job row (which keeps the claim fresh)."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from sqlalchemy import update

from catalog import Catalog, Job, Video, utcnow

from .claims import Outcome

ProgressFn = Callable[[str, str, float], None]  # (path, stage, fraction of this file done)


class JobProgress:
    def __init__(self, catalog: Catalog, worker: str, on_progress: ProgressFn | None):
        self.catalog = catalog
        self.worker = worker
        self.on_progress = on_progress
        self._lock = threading.Lock()  # both analysis threads report
        self._last_job_write = 0.0

    def report(self, path: Path, stage: str, fraction: float, job_id: int | None) -> None:
        if self.on_progress:
            self.on_progress(str(path), stage, fraction)
        if job_id is not None:
            self._update_job(job_id, stage, fraction)

    def _update_job(self, job_id: int, stage: str, fraction: float) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_job_write < 1.0 and fraction < 1.0:
                return  # progress is for people watching; once a second is enough
            self._last_job_write = now
        with self.catalog.session() as s, s.begin():
            job = s.get(Job, job_id)
            if job is not None:
                job.stage, job.progress = stage, round(fraction, 3)
                if job.video_id is not None:  # the claim stays fresh while the work goes on
                    s.execute(update(Video).where(Video.id == job.video_id, Video.claimed_by == self.worker)
                              .values(claimed_at=utcnow()))

    def finish_job(self, job_id: int, outcome: Outcome) -> None:
        with self.catalog.session() as s, s.begin():
            job = s.get(Job, job_id)
            if job is None:
                return
            job.status = {"indexed": "done", "skipped": "done", "failed": "failed"}[outcome.status]
            job.progress = 1.0
            job.stage = outcome.status
            job.message = outcome.message
            job.video_id = outcome.video_id
            job.finished_at = utcnow()
