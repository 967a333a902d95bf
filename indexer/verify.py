"""`index verify`: does the catalog agree with the files on disk and with its own embeddings?"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from catalog import Catalog, Embedding, Keyframe, TranscriptSegment, Video, VideoStatus
from settings import Settings

from .claims import claim_is_alive, content_hash


def verify(settings: Settings, catalog: Catalog, check_hashes: bool = False) -> list[dict]:
    """Each problem as {video_id, path, problem}; an empty list means all is well."""
    problems: list[dict] = []

    def problem(video: Video | None, text: str):
        problems.append({"video_id": video.id if video else None, "path": video.path if video else None,
                         "problem": text})

    known_hashes: set[str] = set()
    with catalog.session() as s:
        for video in s.scalars(select(Video).order_by(Video.id)):
            if video.content_hash:
                known_hashes.add(video.content_hash)
            if video.status == VideoStatus.INDEXING and not claim_is_alive(video.claimed_by, video.claimed_at):
                problem(video, f"interrupted while indexing (claimed by {video.claimed_by}); `index add` resumes it")
            if video.status != VideoStatus.INDEXED:
                continue
            path = Path(video.path)
            if not path.is_file():
                problem(video, "file is missing on disk; `index remove` it or put it back")
            elif path.stat().st_size != video.size_bytes:
                problem(video, "file on disk changed size since indexing; `index add --force` it")
            elif check_hashes and content_hash(path) != video.content_hash:
                problem(video, "file content changed since indexing; `index add --force` it")
            if video.has_video and not video.shots:
                problem(video, "indexed video has no shots")
            for frame in video.keyframes:
                if not (settings.thumbnails_dir / frame.thumbnail).is_file():
                    problem(video, f"thumbnail missing: {frame.thumbnail}")
                    break
            for kind, table, model_family in (("segment", TranscriptSegment, "text"), ("keyframe", Keyframe, "clip")):
                version = (video.model_versions or {}).get(model_family)
                rows = s.scalar(select(func.count()).select_from(table).where(table.video_id == video.id))
                vectors = s.scalar(select(func.count()).select_from(Embedding)
                                   .where(Embedding.video_id == video.id, Embedding.owner_kind == kind))
                expected = rows if version else 0
                if vectors != expected:
                    problem(video, f"{vectors} {kind} embeddings for {rows} {kind}s (model {version or 'none'})")
            bad_dims = s.scalar(select(func.count()).select_from(Embedding).where(
                Embedding.video_id == video.id, func.length(Embedding.vector) != Embedding.dim * 4))
            if bad_dims:
                problem(video, f"{bad_dims} embeddings whose bytes do not match their dimension")
        orphans = s.scalar(select(func.count()).select_from(Embedding).where(
            ~Embedding.video_id.in_(select(Video.id))))
        if orphans:
            problem(None, f"{orphans} embeddings belong to no video")
    thumbs = settings.thumbnails_dir
    if thumbs.is_dir():
        for prefix in thumbs.iterdir():
            for folder in prefix.iterdir() if prefix.is_dir() else ():
                if folder.name not in known_hashes:
                    problem(None, f"thumbnails of no known video: {folder} (safe to delete)")
    return problems
