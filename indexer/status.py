"""What the catalog holds and what is running: `index status`, `/api/v1/status` and the admin page."""
from __future__ import annotations

from sqlalchemy import select

import models
from catalog import Catalog, Video, VideoStatus
from settings import Settings

from .jobs import recent_jobs
from .claims import claim_is_alive


def selected_models(settings: Settings) -> dict[str, str]:
    return {"speech": settings.speech_model, "text": settings.text_model, "clip": settings.clip_model}


def status_report(settings: Settings, catalog: Catalog) -> dict:
    availability = models.clip_availability(settings.clip_model, settings.models_dir)
    with catalog.session() as s:
        failed = [{"video_id": v.id, "path": v.path, "error": v.error}
                  for v in s.scalars(select(Video).where(Video.status == VideoStatus.FAILED).order_by(Video.id))]
        in_progress, interrupted = [], []
        for v in s.scalars(select(Video).where(Video.status == VideoStatus.INDEXING)):
            alive = claim_is_alive(v.claimed_by, v.claimed_at)
            (in_progress if alive else interrupted).append({"video_id": v.id, "path": v.path, "by": v.claimed_by})
    return {
        "catalog": catalog.safe_url,
        "counts": catalog.counts(),
        "failed": failed,
        "in_progress": in_progress,
        "interrupted": interrupted,
        "jobs": recent_jobs(catalog, 10),
        "workers": _worker_report(settings),
        "models": selected_models(settings),
        "channels": {"transcript": True, "visual": availability.enabled},
        "visual": {"enabled": availability.enabled, "test_only": availability.test_only,
                   "message": availability.reason},
    }


def _worker_report(settings: Settings) -> dict:
    from .tasks import watched_queue_report

    return watched_queue_report(settings)
