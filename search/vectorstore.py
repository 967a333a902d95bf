"""Per-channel FAISS indexes kept in step with the catalog.

The catalog holds every vector; the index files under DATA_DIR/vectors are a cache. On open, an
index that is missing, unreadable, or made for another model version is rebuilt from SQL. While
serving, each search first compares the catalog's change counter with the one the index was
synced to and re-syncs only the videos changed since, so an added or removed video shows in
results at once, in every process, without a restart.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
from sqlalchemy import func, select

from .catalog import Catalog, CatalogChange, Embedding
from .vectors import VectorIndex, VectorIndexUnreadable

log = logging.getLogger(__name__)

# Saving a big index takes a while; a process that dies before saving re-syncs the same changes
# from the catalog on its next start, so saving is only a matter of start-up time.
SAVE_EVERY_SECONDS = 60.0
ALWAYS_SAVE_BELOW = 50_000


class ChannelIndex:
    """One channel ("segment" or "keyframe") for one model version."""

    def __init__(self, catalog: Catalog, channel: str, model_version: str, dim: int, folder: Path,
                 tuning_queries: Callable[[], np.ndarray] | None = None):
        self.catalog = catalog
        # real query vectors (this channel's text encoder over typical queries) that an approximate index
        # tunes its search effort on
        self.tuning_queries = tuning_queries
        self.channel = channel
        self.model_version = model_version
        self.dim = dim
        self.path = folder / f"{channel}.faiss"
        self.videos_path = folder / f"{channel}.videos.npz"
        self._lock = threading.RLock()
        self._index: VectorIndex | None = None
        self._owners_by_video: dict[int, np.ndarray] = {}
        self._synced_change = 0
        self._last_save = 0.0
        self.rebuilt_reason: str | None = None

    # -- opening ----------------------------------------------------------------------------------

    def open(self) -> None:
        with self._lock:
            try:
                index, meta = VectorIndex.load(self.path)
                if meta.get("model_version") != self.model_version:
                    raise VectorIndexUnreadable(f"made by {meta.get('model_version')}, need {self.model_version}")
                if index.dim != self.dim:
                    raise VectorIndexUnreadable(f"dimension {index.dim}, need {self.dim}")
                with np.load(self.videos_path) as saved:
                    videos, offsets, owners = saved["videos"], saved["offsets"], saved["owners"]
                if offsets[-1] != index.size or len(owners) != index.size:
                    raise VectorIndexUnreadable("video map does not match the index")
                self._owners_by_video = {int(v): owners[offsets[i]:offsets[i + 1]] for i, v in enumerate(videos)}
                index.vector_source = self._catalog_vectors  # re-trains read exact floats, not 8-bit codes
                index.query_source = self.tuning_queries
                self._index, self._synced_change = index, int(meta.get("synced_change", 0))
            except (VectorIndexUnreadable, OSError, KeyError, ValueError) as exc:
                self.rebuilt_reason = str(exc)
                # a first start has no file yet: only a damaged or outdated one is worth a warning
                level = logging.WARNING if self.path.exists() else logging.INFO
                log.log(level, "rebuilding the %s vector index from the catalog: %s", self.channel, exc)
                self.rebuild()
                return
            self.sync()

    def rebuild(self) -> None:
        with self._lock:
            started = time.perf_counter()
            latest = self._latest_change()
            ids, videos, vectors = self._load_vectors(None)
            index = VectorIndex(self.dim)
            index.vector_source = self._catalog_vectors
            index.query_source = self.tuning_queries
            if len(ids):
                index.rebuild(lambda: (ids, vectors))
            self._index = index
            self._owners_by_video = _group_by_video(ids, videos)
            self._synced_change = latest
            self.save()
            log.info("built %s index: %d vectors in %.1f s (%s)", self.channel, len(ids),
                     time.perf_counter() - started, index.kind)

    # -- keeping in step ----------------------------------------------------------------------------

    def _latest_change(self) -> int:
        with self.catalog.session() as s:
            return int(s.scalar(select(func.max(CatalogChange.id))) or 0)

    def sync(self, wait: bool = True) -> int:
        """Apply the catalog's changes since the last sync; returns how many videos were re-synced.

        wait=False: when another thread is syncing already, return at once. A sync that grows the
        index past a size threshold re-trains it, seconds at 100k vectors; searches meanwhile run
        on the index as it was (the engine drops hits of videos no longer indexed)."""
        latest = self._latest_change()
        if latest <= self._synced_change:
            return 0
        if not self._lock.acquire(blocking=wait):
            return 0
        try:
            return self._sync_locked(latest)
        finally:
            self._lock.release()

    def _sync_locked(self, latest: int) -> int:
        if latest <= self._synced_change:
            return 0
        with self.catalog.session() as s:
            changed = sorted(set(s.scalars(select(CatalogChange.video_id)
                                           .where(CatalogChange.id > self._synced_change,
                                                  CatalogChange.id <= latest))))
        stale = [self._owners_by_video.pop(v) for v in changed if v in self._owners_by_video]
        if stale:
            self._index.remove(np.concatenate(stale))
        ids, videos, vectors = self._load_vectors(changed)
        if len(ids):
            self._index.add(ids, vectors)
            self._owners_by_video.update(_group_by_video(ids, videos))
        self._synced_change = latest
        if self._index.size < ALWAYS_SAVE_BELOW or time.monotonic() - self._last_save > SAVE_EVERY_SECONDS:
            self.save()
        return len(changed)

    def _catalog_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        ids, _, vectors = self._load_vectors(None)
        return ids, vectors

    def _load_vectors(self, video_ids: list[int] | None):
        """(owner ids, video ids, vectors) of this channel's rows, for some videos or all.

        Rows are copied straight into one array that grows by doubling, so a million vectors never
        exist twice over as Python objects and then as their joined copy."""
        where = (Embedding.owner_kind == self.channel, Embedding.model_version == self.model_version)
        query = select(Embedding.owner_id, Embedding.video_id, Embedding.vector).where(*where)
        ids = np.zeros(1024, np.int64)
        videos = np.zeros(1024, np.int64)
        vectors = np.zeros((1024, self.dim), np.float32)
        n = 0
        with self.catalog.session() as s:
            if video_ids is None:  # the final size is known: no doubling
                total = int(s.scalar(select(func.count()).select_from(Embedding).where(*where)) or 0)
                ids, videos = np.zeros(total, np.int64), np.zeros(total, np.int64)
                vectors = np.zeros((total, self.dim), np.float32)
            for chunk in _chunks(video_ids):
                q = query if chunk is None else query.where(Embedding.video_id.in_(chunk))
                for owner_id, video_id, blob in s.execute(q.execution_options(yield_per=10_000)):
                    if n == len(ids):
                        size = max(1024, 2 * n)
                        ids, videos = np.resize(ids, size), np.resize(videos, size)
                        vectors = np.resize(vectors, (size, self.dim))
                    ids[n], videos[n] = owner_id, video_id
                    vectors[n] = np.frombuffer(blob, dtype=np.float32)
                    n += 1
        return ids[:n], videos[:n], vectors[:n]

    def save(self) -> None:
        """Write the cache files; a failure (a full disk) is logged and searches go on from memory:
        the files are only a faster start, and a later save or the next start makes them again."""
        try:
            self._save()
        except (OSError, RuntimeError) as exc:  # faiss reports a failed write as RuntimeError
            log.warning("could not save the %s vector index to %s (%s); serving it from memory", self.channel,
                        self.path.parent, exc)

    def _save(self) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._index.save(self.path, {"model_version": self.model_version, "channel": self.channel,
                                         "synced_change": self._synced_change})
            videos = np.asarray(sorted(self._owners_by_video), np.int64)
            groups = [self._owners_by_video[int(v)] for v in videos]
            offsets = np.concatenate([[0], np.cumsum([len(g) for g in groups])]).astype(np.int64)
            owners = np.concatenate(groups) if groups else np.zeros(0, np.int64)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp.npz")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, videos=videos, offsets=offsets, owners=owners)
                os.replace(tmp, self.videos_path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._last_save = time.monotonic()

    # -- searching ----------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._index.size if self._index else 0

    @property
    def kind(self) -> str:
        return self._index.kind if self._index else "none"

    def allowed_ids(self, video_ids) -> np.ndarray:
        groups = [self._owners_by_video[v] for v in video_ids if v in self._owners_by_video]
        return np.unique(np.concatenate(groups)) if groups else np.zeros(0, np.int64)

    def search(self, query: np.ndarray, k: int, video_ids: list[int] | None = None) -> list[tuple[int, float]]:
        self.sync(wait=False)
        # No lock of ours here: VectorIndex lets searches run side by side and waits out writers.
        index = self._index
        if index is None or index.size == 0:
            return []
        allowed = None
        if video_ids is not None:
            allowed = self.allowed_ids(video_ids)
            if allowed.size == 0:
                return []
        scores, ids = index.search(query.reshape(1, -1).astype(np.float32), k, allowed=allowed)
        return [(int(i), float(sc)) for i, sc in zip(ids[0], scores[0]) if i >= 0]


def _group_by_video(ids: np.ndarray, videos: np.ndarray) -> dict[int, np.ndarray]:
    if len(ids) == 0:
        return {}
    order = np.argsort(videos, kind="stable")
    ids, videos = ids[order], videos[order]
    bounds = np.flatnonzero(np.diff(videos)) + 1
    return {int(group_videos[0]): group_ids for group_ids, group_videos in
            zip(np.split(ids, bounds), np.split(videos, bounds))}


def _chunks(video_ids: list[int] | None, size: int = 500):
    if video_ids is None:
        yield None
        return
    for i in range(0, len(video_ids), size):
        yield video_ids[i:i + size]
