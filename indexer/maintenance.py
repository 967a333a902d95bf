"""Which indexed videos need indexing again: one rule for the CLI, the admin API and the workers."""
from __future__ import annotations

from sqlalchemy import select

from catalog import Catalog, Video, VideoStatus


def is_stale(video: Video, versions: dict[str, str]) -> bool:
    """Rows made by another version of a model in use now, or a channel on now that the video lacks
    (CLIP weights imported after it was indexed: its keyframes have no vectors yet)."""
    used = video.model_versions or {}
    if any(used.get(family) not in (None, versions.get(family)) for family in used):
        return True
    return "clip" in versions and bool(video.has_video) and "clip" not in used


def stale_videos(catalog: Catalog, versions: dict[str, str]) -> list[Video]:
    """Indexed videos that `is_stale`, by id."""
    with catalog.session() as s:
        return [video for video in s.scalars(select(Video).where(Video.status == VideoStatus.INDEXED)
                                             .order_by(Video.id)) if is_stale(video, versions)]
