"""Who indexes which file: claiming a video row, what a dead claim is, and handing a video back.

A claim is the row's status "indexing" with this worker's host:pid and a time; a process killed
mid-video leaves only that, and the next run sees it is dead and redoes the video.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select

from catalog import (Catalog, Embedding, Face, Job, Keyframe, ScreenText, Shot, SpeakerTurn, Tag, TranscriptSegment,
                     Video, VideoStatus, Voice, record_change, utcnow)
from people import library as people
from settings import Settings

from .errors import MediaError

# A claim not refreshed for this long by another host is presumed dead (same host: the pid is
# checked). Workers refresh their claim with each job progress write, at least every few seconds.
FOREIGN_CLAIM_TTL = 15 * 60


@dataclass
class Outcome:
    path: str
    status: str  # "indexed" | "skipped" | "failed"
    video_id: int | None = None
    message: str = ""
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"path": self.path, "status": self.status, "video_id": self.video_id, "message": self.message,
                "seconds": round(self.seconds, 3), "stages": {k: round(v, 3) for k, v in self.stages.items()}}


def content_hash(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except FileNotFoundError:
        raise MediaError("file not found (moved or deleted?)") from None
    except IsADirectoryError:
        raise MediaError("is a folder, not a file") from None
    except PermissionError:
        raise MediaError("permission denied") from None


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_is_alive(claimed_by: str | None, claimed_at) -> bool:
    if not claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    if host == socket.gethostname():
        try:
            os.kill(int(pid), 0)
        except (ProcessLookupError, ValueError):
            return False
        except PermissionError:
            return True
        return not _is_zombie(int(pid))
    if claimed_at is None:
        return False
    return (utcnow() - claimed_at).total_seconds() < FOREIGN_CLAIM_TTL


def _is_zombie(pid: int) -> bool:
    """A killed process stays a zombie until its parent reaps it, and still answers kill(pid, 0)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux), or gone meanwhile: kill(pid, 0) already said it lived
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


class Superseded(Exception):
    """The video was removed, or claimed by another worker, while this one was indexing it."""


@dataclass(frozen=True)
class Claim:
    video_id: int
    replaced_hash: str | None  # the content the row held before, when the file's bytes changed


class Claims:
    """One worker's claims on video rows."""

    def __init__(self, catalog: Catalog, worker: str):
        self.catalog = catalog
        self.worker = worker

    def claim(self, path: Path, digest: str, force: bool, job_id: int | None) -> Claim | Outcome:
        """The video row for this file, marked as being indexed by this worker; an Outcome when there
        is nothing to do (already indexed, a twin, a move) or another live worker has it."""
        key = str(path)
        with self.catalog.session() as s, s.begin():
            video = s.scalar(select(Video).where(Video.path == key).with_for_update())
            if video is not None and video.status == VideoStatus.INDEXING and video.claimed_by != self.worker \
                    and claim_is_alive(video.claimed_by, video.claimed_at):
                return Outcome(key, "skipped", video.id, f"being indexed by {video.claimed_by}")
            if not force and video is not None and video.status == VideoStatus.INDEXED and video.content_hash == digest:
                return Outcome(key, "skipped", video.id, "already indexed")
            if not force:
                twin = s.scalar(select(Video).where(Video.content_hash == digest, Video.path != key,
                                                    Video.status == VideoStatus.INDEXED))
                if twin is not None:
                    if not Path(twin.path).exists():
                        # the same bytes under a new name: a move, not a new video
                        old = twin.path
                        if video is not None:
                            seen = people.people_of_video(s, video.id)
                            record_change(s, video.id)
                            s.delete(video)
                            s.flush()
                            people.forget_unseen(s, seen)
                        twin.path, twin.title = key, title_from_path(path)
                        return Outcome(key, "skipped", twin.id, f"moved from {old}; index entry updated")
                    return Outcome(key, "skipped", twin.id, f"same content as video {twin.id} ({twin.path})")
            if video is None:
                video = Video(path=key, title=title_from_path(path), model_versions={})
                s.add(video)
            # the replaced content's thumbnails go once the new ones are in
            replaced = video.content_hash if video.content_hash and video.content_hash != digest else None
            video.status = VideoStatus.INDEXING
            video.claimed_by, video.claimed_at = self.worker, utcnow()
            video.content_hash = digest
            video.error = None
            s.flush()
            if job_id is not None:
                job = s.get(Job, job_id)
                job.video_id, job.status, job.started_at = video.id, "running", utcnow()
                job.attempts += 1
            return Claim(video.id, replaced)

    def fail_without_hash(self, path: Path, message: str) -> Outcome:
        """A file we cannot even read: record it so `index status` lists it with its reason."""
        with self.catalog.session() as s, s.begin():
            video = s.scalar(select(Video).where(Video.path == str(path)))
            if video is None:
                video = Video(path=str(path), title=title_from_path(path), model_versions={})
                s.add(video)
            else:
                drop_results(s, video.id)
            video.status, video.error = VideoStatus.FAILED, message
            video.claimed_by = video.claimed_at = None
            s.flush()
            return Outcome(str(path), "failed", video.id, message)

    def fail(self, video_id: int, message: str) -> None:
        with self.catalog.session() as s, s.begin():
            video = s.get(Video, video_id)
            if video is None or video.claimed_by != self.worker:
                return  # removed or taken over meanwhile: not ours to mark
            drop_results(s, video_id)
            video.status, video.error = VideoStatus.FAILED, message
            video.claimed_by = video.claimed_at = None

    def release(self, video_id: int) -> None:
        """Interrupted: hand the video back as pending so the next run picks it up."""
        with self.catalog.session() as s, s.begin():
            video = s.get(Video, video_id)
            if video is not None and video.claimed_by == self.worker:
                drop_results(s, video_id)
                video.status, video.error = VideoStatus.PENDING, "interrupted; run `index add` again to resume"
                video.claimed_by = video.claimed_at = None


def drop_results(s, video_id: int) -> None:
    for table in (Tag, ScreenText, Face, SpeakerTurn, Voice, Embedding, Keyframe, Shot, TranscriptSegment):
        s.execute(delete(table).where(table.video_id == video_id))
    record_change(s, video_id)  # search processes re-sync this video's vectors


def remove_unused_thumbnails(settings: Settings, catalog: Catalog, digest: str) -> None:
    """Delete the thumbnails made from this content unless a video in the catalog still has it."""
    with catalog.session() as s:
        if s.scalar(select(Video.id).where(Video.content_hash == digest).limit(1)) is not None:
            return
    shutil.rmtree(settings.thumbnails_dir / digest[:2] / digest, ignore_errors=True)


def title_from_path(path: Path) -> str:
    return Path(path).stem.replace("_", " ").strip() or Path(path).name
