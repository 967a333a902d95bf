"""Indexing jobs, run in this process: one job per file, recorded in the catalog so anyone can watch."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from sqlalchemy import select

from catalog import Catalog, Job, Video, VideoStatus, utcnow

from .errors import Cancelled
from .claims import Outcome, claim_is_alive, this_worker
from .pipeline import Indexer


def enqueue(catalog: Catalog, paths: list[Path], force: bool = False) -> list[int]:
    with catalog.session() as s, s.begin():
        jobs = [Job(kind="index", path=str(Path(p).absolute()), status="queued", force=force) for p in paths]
        s.add_all(jobs)
        s.flush()
        return [job.id for job in jobs]


def run_jobs(indexer: Indexer, job_ids: list[int], on_result: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Runs queued jobs in order; a failed file never stops the batch. Ctrl-C marks the rest cancelled."""
    outcomes: list[Outcome] = []
    try:
        for job_id in job_ids:
            if indexer.cancel.is_set():
                raise Cancelled()
            with indexer.catalog.session() as s:
                job = s.get(Job, job_id)
                if job is None or job.status != "queued":
                    continue
                path, force = Path(job.path), job.force
            outcome = indexer.index_path(path, force=force, job_id=job_id)
            outcomes.append(outcome)
            if on_result:
                on_result(outcome)
    finally:
        # whatever did not run (Ctrl-C, a crash) says so instead of sitting "queued" forever
        with indexer.catalog.session() as s, s.begin():
            for job in s.scalars(select(Job).where(Job.id.in_(job_ids), Job.status.in_(("queued", "running")))):
                job.status, job.message, job.finished_at = "cancelled", "interrupted before it finished", utcnow()
    return outcomes


def leftover_jobs(catalog: Catalog) -> list[int]:
    """Index jobs a stopped process left behind, oldest first, ready for `run_jobs`: those still
    queued, and those running whose video claim is dead (set back to queued here).

    Meant for a process that is starting, before it runs anything: a claim in its own host:pid is
    then from an earlier process that had the same pid (a restarted container), not its own work.
    """
    me = this_worker()
    with catalog.session() as s, s.begin():
        rows = s.execute(select(Job, Video).outerjoin(Video, Video.id == Job.video_id)
                         .where(Job.kind == "index", Job.status.in_(("queued", "running"))).order_by(Job.id)).all()
        ids = []
        for job, video in rows:
            if job.status == "running":
                # no video: it was removed meanwhile, and running the job again would bring it back
                if video is None or _held_elsewhere(video, me):
                    continue
                job.status, job.stage, job.progress = "queued", None, 0.0
                job.message = "interrupted by a restart; resumed"
            ids.append(job.id)
        return ids


def _held_elsewhere(video: Video, me: str) -> bool:
    return video.status == VideoStatus.INDEXING and video.claimed_by != me and \
        claim_is_alive(video.claimed_by, video.claimed_at)


def recent_jobs(catalog: Catalog, limit: int = 20) -> list[dict]:
    with catalog.session() as s:
        rows = s.scalars(select(Job).order_by(Job.id.desc()).limit(limit)).all()
        return [{"id": j.id, "path": j.path, "status": j.status, "stage": j.stage, "progress": j.progress,
                 "message": j.message, "video_id": j.video_id,
                 "created_at": j.created_at.isoformat() if j.created_at else None,
                 "finished_at": j.finished_at.isoformat() if j.finished_at else None} for j in rows]
