"""One vector per recommendable video, kept in step with the catalog, with a vector index over them.

A video's vector is the mean of its transcript segments' text vectors (MiniLM) joined with the
mean of its keyframes' CLIP vectors, each part normalised, the whole normalised again, so two
videos compare by what is said and what is shown. Only indexed videos are recommendable.

The table is derived data: built from SQL on first use, then refreshed when the catalog's change
counter moves (only the videos named since are re-read), so a newly indexed video can be
recommended at once, before anybody has watched it.
"""
from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select

from ..catalog import Catalog, CatalogChange, Embedding, TranscriptSegment, Video, VideoStatus
from ..vectors import VectorIndex

CHANNEL_WEIGHTS = {"segment": 1.0, "keyframe": 0.7}  # what is said tells a video's topic more than its look
KEYWORDS_PER_VIDEO = 5
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)
_STOP = frozenset("""
the and for you your are was were that this with have has had not but all any can her his its our out
their them they then there these those what when where which who whom why how will would could should
into onto from about above after again against before below between both during each few more most other
some such than too very just also only own same once here off over under until while because been being
does did doing done down upon she him one two three four five six seven eight nine ten today now every
always never really much many make makes made get gets got let lets it's i'm we're you're don't yes
""".split())


@dataclass
class VideoTable:
    """An immutable snapshot: row i describes video ids[i]."""

    ids: np.ndarray                       # int64, ascending
    vectors: np.ndarray                   # float32 (n, dim), unit rows; zero where the video has no vectors
    has_vector: np.ndarray                # bool (n,)
    added: np.ndarray                     # float64 epoch seconds (when the video entered the catalog)
    durations: np.ndarray                 # float64 seconds (nan when unknown)
    titles: list[str]
    keywords: list[dict[str, float]]      # per video: its most distinctive transcript words -> tf-idf
    index: VectorIndex | None
    change: int = 0
    row_of: dict[int, int] = field(default_factory=dict)

    def __post_init__(self):
        self.row_of = {int(v): i for i, v in enumerate(self.ids)}
        self.newest_first = np.argsort(-self.added, kind="stable")

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, video_ids) -> np.ndarray:
        return np.asarray([self.row_of[v] for v in video_ids if v in self.row_of], np.int64)

    def duration_of(self, video_id: int) -> float | None:
        row = self.row_of.get(video_id)
        if row is None or math.isnan(self.durations[row]):
            return None
        return float(self.durations[row])

    def nearest(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the k videos whose vectors are closest to `query`, and their cosine scores."""
        if self.index is None or self.index.size == 0 or not np.any(query):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, self.index.size))
        keep = ids[0] >= 0
        return self.rows(ids[0][keep].tolist()), scores[0][keep]


@dataclass
class _VideoData:
    title: str
    added: float
    duration: float
    parts: dict[str, np.ndarray]
    words: Counter


class VideoVectors:
    """The process's current VideoTable; `table()` is cheap when nothing changed (one indexed query)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._lock = threading.Lock()
        self._data: dict[int, _VideoData] = {}
        self._versions: dict[str, tuple[str, int]] = {}
        self._table: VideoTable | None = None

    def table(self) -> VideoTable:
        latest = self._latest_change()
        table = self._table
        if table is not None and latest <= table.change:
            return table
        with self._lock:
            table = self._table
            if table is not None and latest <= table.change:
                return table
            versions = self._model_versions()
            if table is None or versions != self._versions:
                self._versions, self._data = versions, {}
                self._data.update(self._load(None))
            else:
                changed = self._changed_since(table.change, latest)
                for video_id in changed:
                    self._data.pop(video_id, None)
                self._data.update(self._load(changed))
            self._table = self._build(latest)
            return self._table

    # -- reading the catalog ------------------------------------------------------------------------

    def _latest_change(self) -> int:
        with self.catalog.session() as s:
            return int(s.scalar(select(func.max(CatalogChange.id))) or 0)

    def _changed_since(self, old: int, new: int) -> list[int]:
        with self.catalog.session() as s:
            return sorted(set(s.scalars(select(CatalogChange.video_id)
                                        .where(CatalogChange.id > old, CatalogChange.id <= new))))

    def _model_versions(self) -> dict[str, tuple[str, int]]:
        """Per channel, the model version most vectors were made with (a re-index in progress mixes two)."""
        with self.catalog.session() as s:
            rows = s.execute(select(Embedding.owner_kind, Embedding.model_version, Embedding.dim, func.count())
                             .group_by(Embedding.owner_kind, Embedding.model_version, Embedding.dim)).all()
        best: dict[str, tuple[str, int, int]] = {}
        for kind, version, dim, count in rows:
            if kind in CHANNEL_WEIGHTS and (kind not in best or count > best[kind][2]):
                best[kind] = (version, dim, count)
        return {kind: (version, dim) for kind, (version, dim, _) in best.items()}

    def _load(self, video_ids: list[int] | None) -> dict[int, _VideoData]:
        data: dict[int, _VideoData] = {}
        chunks = [None] if video_ids is None else [video_ids[i:i + 500] for i in range(0, len(video_ids), 500)]
        with self.catalog.session() as s:
            for chunk in chunks:
                q = select(Video.id, Video.title, Video.added_at, Video.duration).where(
                    Video.status == VideoStatus.INDEXED)
                if chunk is not None:
                    q = q.where(Video.id.in_(chunk))
                for vid, title, added, duration in s.execute(q):
                    data[vid] = _VideoData(title, added.timestamp(), duration if duration else math.nan, {},
                                           Counter())
                if not data:
                    continue
                for kind, (version, dim) in self._versions.items():
                    q = select(Embedding.video_id, Embedding.vector).where(Embedding.owner_kind == kind,
                                                                          Embedding.model_version == version)
                    if chunk is not None:
                        q = q.where(Embedding.video_id.in_(chunk))
                    sums: dict[int, np.ndarray] = {}
                    for vid, blob in s.execute(q.execution_options(yield_per=20_000)):
                        if vid in data:
                            v = np.frombuffer(blob, np.float32)
                            sums[vid] = sums[vid] + v if vid in sums else v.astype(np.float32)
                    for vid, total in sums.items():
                        norm = float(np.linalg.norm(total))
                        if norm > 0 and math.isfinite(norm):
                            data[vid].parts[kind] = total / norm
                q = select(TranscriptSegment.video_id, TranscriptSegment.text)
                if chunk is not None:
                    q = q.where(TranscriptSegment.video_id.in_(chunk))
                for vid, text in s.execute(q.execution_options(yield_per=20_000)):
                    if vid in data:
                        data[vid].words.update(w for w in _WORD.findall(text.lower()) if w not in _STOP)
        return data

    # -- building the snapshot ----------------------------------------------------------------------

    def _build(self, change: int) -> VideoTable:
        ids = np.asarray(sorted(self._data), np.int64)
        layout = [(kind, dim) for kind, (_, dim) in sorted(self._versions.items())]
        dim = sum(d for _, d in layout) or 1
        vectors = np.zeros((len(ids), dim), np.float32)
        for row, vid in enumerate(ids.tolist()):
            offset = 0
            for kind, d in layout:
                part = self._data[vid].parts.get(kind)
                if part is not None and len(part) == d:
                    vectors[row, offset:offset + d] = part * math.sqrt(CHANNEL_WEIGHTS[kind])
                offset += d
        norms = np.linalg.norm(vectors, axis=1)
        has_vector = norms > 0
        vectors[has_vector] /= norms[has_vector, None]
        index = None
        if has_vector.any():
            index = VectorIndex(dim)
            index.add(ids[has_vector], vectors[has_vector])
        datas = [self._data[v] for v in ids.tolist()]
        return VideoTable(ids=ids, vectors=vectors, has_vector=has_vector,
                          added=np.asarray([d.added for d in datas], np.float64),
                          durations=np.asarray([d.duration for d in datas], np.float64),
                          titles=[d.title for d in datas], keywords=_keywords([d.words for d in datas]),
                          index=index, change=change)


def _keywords(counts: list[Counter]) -> list[dict[str, float]]:
    """Each video's most distinctive words (tf-idf over the catalog), the names of its topics."""
    df = Counter()
    for c in counts:
        df.update(c.keys())
    n = len(counts)
    out = []
    for c in counts:
        total = sum(c.values()) or 1
        scored = {w: (k / total) * math.log((1 + n) / (1 + df[w])) for w, k in c.items()}
        top = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:KEYWORDS_PER_VIDEO]
        out.append({w: s for w, s in top if s > 0})
    return out
