"""The library page (`/library`): every video with its status, sortable, and how far indexing has got."""
from __future__ import annotations

from pathlib import Path

from flask import render_template, request
from sqlalchemy import func, select

from catalog import Job, Video, VideoStatus

from . import auth
from .api import first_keyframes, thumbnail_url
from .extensions import current_catalog
from .videos_api import VIDEO_SORTS

LIBRARY_SORTS = {**VIDEO_SORTS, "status": (Video.status, Video.id)}


def _skipped(video: Video) -> list[dict]:
    tracks = video.tracks if isinstance(video.tracks, dict) else {}
    return [t for t in tracks.get("skipped") or [] if isinstance(t, dict)]


def library_page():
    admin = auth.caller_is_admin()
    sort = request.args.get("sort", "added")
    sort = sort if sort in LIBRARY_SORTS else "added"
    status = request.args.get("status", "")
    status = status if status in VideoStatus.ALL else ""
    with current_catalog().session() as s:
        q = select(Video)
        if status:
            q = q.where(Video.status == status)
        if not admin:
            q = q.where(Video.status != VideoStatus.FAILED)
        videos = s.scalars(q.order_by(*LIBRARY_SORTS[sort]).limit(1000)).all()
        ids = [v.id for v in videos]
        firsts = first_keyframes(s, ids)
        # the newest job per video says how far an index run has got
        latest = dict(s.execute(select(Job.video_id, func.max(Job.id)).where(Job.video_id.in_(ids))
                                .group_by(Job.video_id)).all())
        jobs = {j.video_id: j for j in s.scalars(select(Job).where(Job.id.in_(latest.values())))}
        rows = [{"id": v.id, "title": v.title, "status": v.status, "error": v.error, "duration": v.duration,
                 "added_at": v.added_at, "file_name": Path(v.path).name, "audio_only": v.has_video is False,
                 "warnings": [str(w) for w in v.warnings or []], "skipped": _skipped(v),
                 "thumbnail_url": thumbnail_url(firsts.get(v.id)),
                 "progress": jobs[v.id].progress if v.id in jobs and jobs[v.id].status == "running" else None,
                 "stage": jobs[v.id].stage if v.id in jobs else None} for v in videos]
    counts = current_catalog().counts()["by_status"]
    statuses = VideoStatus.ALL
    if not admin:
        counts = {**counts, VideoStatus.FAILED: 0}
        statuses = tuple(s for s in statuses if s != VideoStatus.FAILED)
    return render_template("library.html", videos=rows, sort=sort, status=status, counts=counts,
                           statuses=statuses)
