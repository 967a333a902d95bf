"""Per-channel FAISS indexes kept in step with the catalog.

The catalog holds every vector; the index files under DATA_DIR/vectors are a cache. On open, an
index that is missing, unreadable, or made for another model version is rebuilt from SQL. While
serving, each search first compares the catalog's change counter with the one the index was
synced to and re-syncs only the videos changed since, so an added or removed video shows in
results at once, in every process, without a restart.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from sqlalchemy import func, select

from atomic_file import replaced_when_done

from catalog import (Catalog, Embedding, Keyframe, SaveSchedule, Shot, TranscriptSegment, in_chunks, latest_change,
                     videos_changed)
from .channels import TRANSCRIPT, Channel
from .vector_index import VectorIndex, VectorIndexUnreadable

log = logging.getLogger(__name__)

# Saving a big index takes a while: while it is big, at most once a minute (catalog.SaveSchedule)
SAVE_EVERY_SECONDS = 60.0
ALWAYS_SAVE_BELOW = 50_000  # vectors
# How long a search waits for another thread's sync before it goes on with the index as it is.
SEARCH_SYNC_WAIT = 0.5


class ChannelIndex:
    """One vector channel (search/channels.py) for one model version."""

    def __init__(self, catalog: Catalog, channel: Channel, model_version: str, dim: int, folder: Path,
                 tuning_queries: Callable[[], np.ndarray] | None = None):
        self.catalog = catalog
        # real query vectors (this channel's text encoder over typical queries) that an approximate index
        # tunes its search effort on
        self.tuning_queries = tuning_queries
        self.channel = channel
        self.model_version = model_version
        self.dim = dim
        # files named by what the vectors belong to, as the catalog names them: "segment.faiss"
        self.path = folder / f"{channel.owner_kind}.faiss"
        self.videos_path = folder / f"{channel.owner_kind}.videos.npz"
        self._lock = threading.RLock()
        self._index: VectorIndex | None = None
        self._owners_by_video: dict[int, np.ndarray] = {}
        self._spans = Spans.empty()
        self._synced_change = 0
        self._saves = SaveSchedule(f"the {channel.name} vector index", always_below=ALWAYS_SAVE_BELOW,
                                   every_seconds=SAVE_EVERY_SECONDS)
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
                    spans = Spans(*(saved[f"span_{name}"] for name in Spans.FIELDS)) \
                        if "span_ids" in saved else None
                if offsets[-1] != index.size or len(owners) != index.size:
                    raise VectorIndexUnreadable("video map does not match the index")
                self._owners_by_video = {int(v): owners[offsets[i]:offsets[i + 1]] for i, v in enumerate(videos)}
                if spans is None:  # written before spans were kept: read them, keep the vectors
                    with self.catalog.session() as s:
                        spans = Spans.from_rows(span_rows(s, self.channel))
                self._spans = spans
                index.vector_source = self._catalog_vectors  # re-trains read exact floats, not 8-bit codes
                index.query_source = self.tuning_queries
                self._index, self._synced_change = index, int(meta.get("synced_change", 0))
            except (VectorIndexUnreadable, OSError, KeyError, ValueError) as exc:
                self.rebuilt_reason = str(exc)
                # a first start has no file yet: only a damaged or outdated one is worth a warning
                level = logging.WARNING if self.path.exists() else logging.INFO
                log.log(level, "rebuilding the %s vector index from the catalog: %s", self.channel.name, exc)
                self.rebuild()
                return
            self.sync()

    def rebuild(self) -> None:
        with self._lock:
            started = time.perf_counter()
            latest = latest_change(self.catalog)
            with self.catalog.session() as s:  # read before the vectors: a million rows of Python tuples
                spans = Spans.from_rows(span_rows(s, self.channel))
            index = VectorIndex(self.dim)
            ids, videos, vectors = self._load_vectors(None, half_above=index.exact_limit)
            index.vector_source = self._catalog_vectors
            index.query_source = self.tuning_queries
            if len(ids):
                index.rebuild(lambda: (ids, vectors))
            self._index = index
            self._owners_by_video = _group_by_video(ids, videos)
            self._spans = spans
            self._synced_change = latest
            self.save()
            log.info("built %s index: %d vectors in %.1f s (%s)", self.channel.name, len(ids),
                     time.perf_counter() - started, self.kind)

    # -- keeping in step ----------------------------------------------------------------------------

    def sync(self, wait: bool = True) -> int:
        """Apply the catalog's changes since the last sync; returns how many videos were re-synced.

        wait=False: when another thread is syncing already, wait at most SEARCH_SYNC_WAIT for it. A
        sync of a few new videos takes milliseconds, so a search right after an `index add` shows
        them; one that grows the index past a size threshold re-trains it, seconds at 100k vectors,
        and searches meanwhile run on the index as it was (the engine drops hits of videos no longer
        indexed)."""
        latest = latest_change(self.catalog)
        if latest <= self._synced_change:
            return 0
        if not self._lock.acquire(timeout=-1 if wait else SEARCH_SYNC_WAIT):
            return 0
        try:
            return self._sync_locked(latest)
        finally:
            self._lock.release()

    def _sync_locked(self, latest: int) -> int:
        if latest <= self._synced_change:
            return 0
        changed = videos_changed(self.catalog, self._synced_change, latest)
        stale = [self._owners_by_video.pop(v) for v in changed if v in self._owners_by_video]
        if stale:
            self._index.remove(np.concatenate(stale))
        ids, videos, vectors = self._load_vectors(changed)
        if len(ids):
            self._index.add(ids, vectors)
            self._owners_by_video.update(_group_by_video(ids, videos))
        with self.catalog.session() as s:
            self._spans = self._spans.replaced(changed, Spans.from_rows(span_rows(s, self.channel, video_ids=changed)))
        self._synced_change = latest
        if self._saves.due(self._index.size):
            self.save()
        return len(changed)

    def _catalog_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        ids, _, vectors = self._load_vectors(None, half_above=self._index.exact_limit if self._index else None)
        return ids, vectors

    def _load_vectors(self, video_ids: list[int] | None, half_above: int | None = None):
        """(owner ids, video ids, vectors) of this channel's rows, for some videos or all.

        Rows are copied straight into one array that grows by doubling, so a million vectors never
        exist twice over as Python objects and then as their joined copy. All rows, more than
        `half_above` of them: float16, half the memory, for an approximate index that keeps 8 bits
        of each value anyway (1M x 512 is 1 GB instead of 2 during a build)."""
        where = (Embedding.owner_kind == self.channel.owner_kind, Embedding.model_version == self.model_version)
        query = select(Embedding.owner_id, Embedding.video_id, Embedding.vector).where(*where)
        ids = np.zeros(1024, np.int64)
        videos = np.zeros(1024, np.int64)
        vectors = np.zeros((1024, self.dim), np.float32)
        n = 0
        with self.catalog.session() as s:
            if video_ids is None:  # the final size is known: no doubling
                total = int(s.scalar(select(func.count()).select_from(Embedding).where(*where)) or 0)
                ids, videos = np.zeros(total, np.int64), np.zeros(total, np.int64)
                half = half_above is not None and total > half_above
                vectors = np.zeros((total, self.dim), np.float16 if half else np.float32)
            for chunk in in_chunks(video_ids):
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
        self._saves.save(self._write, self.path.parent)

    def _write(self) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._index.save(self.path, {"model_version": self.model_version, "channel": self.channel.owner_kind,
                                         "synced_change": self._synced_change})
            videos = np.asarray(sorted(self._owners_by_video), np.int64)
            groups = [self._owners_by_video[int(v)] for v in videos]
            offsets = np.concatenate([[0], np.cumsum([len(g) for g in groups])]).astype(np.int64)
            owners = np.concatenate(groups) if groups else np.zeros(0, np.int64)
            with replaced_when_done(self.videos_path, suffix=".npz") as tmp:
                spans = {f"span_{name}": getattr(self._spans, name) for name in Spans.FIELDS}
                np.savez(tmp, videos=videos, offsets=offsets, owners=owners, **spans)

    # -- searching ----------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._index.size if self._index else 0

    @property
    def kind(self) -> str:
        """The structure, and its fast-scan shortlist when it has one ("ivf1024-sq8+pq256x4fs")."""
        if not self._index:
            return "none"
        shortlist = self._index.tuning["shortlist"]
        return f"{self._index.kind}+{shortlist}" if shortlist else self._index.kind

    def locate(self, owner_ids: list[int]) -> dict[int, tuple[int, float, float, float]]:
        """owner id -> (video id, start, end, at) for hits: from memory, from SQL for any not there."""
        found = self._spans.locate(owner_ids)
        missing = [i for i in owner_ids if i not in found]
        if missing:
            found.update(locate_in_catalog(self.catalog, self.channel, missing))
        return found

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


@dataclass(frozen=True)
class Spans:
    """Where each owner of a vector lies in its video, by owner id: a segment's bounds (`at` is its
    start), or a keyframe's shot bounds and its time (`at`). Kept beside the index so that turning
    hits into moments reads no SQL; replaced whole on a change, so a search sees one consistent copy."""

    ids: np.ndarray     # int64, ascending
    video: np.ndarray   # int64
    start: np.ndarray   # float64
    end: np.ndarray     # float64
    at: np.ndarray      # float64

    FIELDS = ("ids", "video", "start", "end", "at")

    @classmethod
    def empty(cls) -> "Spans":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), *(np.zeros(0, np.float64) for _ in range(3)))

    @classmethod
    def from_rows(cls, rows) -> "Spans":
        """rows: (owner id, video id, start, end, at) tuples, in any order."""
        if not rows:
            return cls.empty()
        ids, video, start, end, at = (np.asarray(column) for column in zip(*rows))
        order = np.argsort(ids, kind="stable")
        return cls(ids[order].astype(np.int64), video[order].astype(np.int64), *(
            a[order].astype(np.float64) for a in (start, end, at)))

    def replaced(self, video_ids, fresh: "Spans") -> "Spans":
        """These videos' spans swapped for `fresh` (those of the videos that still exist)."""
        keep = ~np.isin(self.video, np.asarray(list(video_ids), np.int64))
        merged = [np.concatenate([getattr(self, name)[keep], getattr(fresh, name)]) for name in self.FIELDS]
        order = np.argsort(merged[0], kind="stable")
        return Spans(*(column[order] for column in merged))

    def locate(self, owner_ids: list[int]) -> dict[int, tuple[int, float, float, float]]:
        if not len(self.ids) or not owner_ids:
            return {}
        wanted = np.asarray(owner_ids, np.int64)
        pos = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        hit = self.ids[pos] == wanted
        pos = pos[hit]
        return dict(zip(wanted[hit].tolist(), zip(self.video[pos].tolist(), self.start[pos].tolist(),
                                                  self.end[pos].tolist(), self.at[pos].tolist())))


def span_rows(session, channel: Channel, video_ids: list[int] | None = None, owner_ids: list[int] | None = None):
    """(owner id, video id, start, end, at) of a channel's owners: all, or of some videos, or some owners."""
    if channel == TRANSCRIPT:
        query = select(TranscriptSegment.id, TranscriptSegment.video_id, TranscriptSegment.start,
                       TranscriptSegment.end, TranscriptSegment.start)
        owner, video = TranscriptSegment.id, TranscriptSegment.video_id
    else:  # a keyframe stands for its shot around its time; one without a shot row is not searchable
        query = select(Keyframe.id, Keyframe.video_id, Shot.start, Shot.end, Keyframe.time).join(
            Shot, (Shot.video_id == Keyframe.video_id) & (Shot.index == Keyframe.shot_index))
        owner, video = Keyframe.id, Keyframe.video_id
    if video_ids is None and owner_ids is None:
        return [tuple(row) for row in session.execute(query.execution_options(yield_per=50_000))]
    column, values = (video, video_ids) if owner_ids is None else (owner, owner_ids)
    rows = []
    for chunk in in_chunks(values):
        rows += [tuple(row) for row in session.execute(query.where(column.in_(chunk)))]
    return rows


def locate_in_catalog(catalog: Catalog, channel: Channel, owner_ids: list[int]) -> dict[int, tuple[int, float, float, float]]:
    """ChannelIndex.locate for a channel with no index in memory (on-screen text without CLIP)."""
    with catalog.session() as s:
        return {row[0]: tuple(row[1:]) for row in span_rows(s, channel, owner_ids=owner_ids)}


def _group_by_video(ids: np.ndarray, videos: np.ndarray) -> dict[int, np.ndarray]:
    if len(ids) == 0:
        return {}
    order = np.argsort(videos, kind="stable")
    ids, videos = ids[order], videos[order]
    bounds = np.flatnonzero(np.diff(videos)) + 1
    return {int(group_videos[0]): group_ids for group_ids, group_videos in
            zip(np.split(ids, bounds), np.split(videos, bounds))}

