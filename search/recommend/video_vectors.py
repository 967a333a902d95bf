"""One vector per recommendable video, kept in step with the catalog, with a vector index over them.

A video's vector is the mean of its transcript segments' text vectors (MiniLM) joined with the
mean of its keyframes' CLIP vectors, each part normalised, the whole normalised again, so two
videos compare by what is said and what is shown. Only indexed videos are recommendable.

The table is derived data: built from SQL on first use, then refreshed when the catalog's change
counter moves (only the videos named since are re-read), so a newly indexed video can be
recommended at once, before anybody has watched it. What it is built from (per video: the two
mean vectors, title, dates, transcript word counts) is kept in a file beside the FAISS index
files, so a restart reads that file and re-reads only the videos changed since it was written;
a missing, damaged or outdated file is rebuilt from SQL.
"""
from __future__ import annotations

import json
import logging
import math
import re
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from atomic_file import replaced_when_done

from catalog import (Catalog, Embedding, SaveSchedule, TranscriptSegment, Video, VideoStatus, in_chunks, latest_change,
                     videos_changed)
from ..channels import VECTOR_CHANNELS
from ..vector_index import VectorIndex

log = logging.getLogger(__name__)

# a video's vector: each vector channel's mean, weighted by its share (search/channels.py)
CHANNEL_WEIGHTS = {c.owner_kind: c.profile_weight for c in VECTOR_CHANNELS if c.profile_weight}
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

CACHE_FILE = "video_table.npz"
CACHE_FORMAT = 1
# Saving rewrites the whole file (about 10 KB a video): while it is big, at most once a minute
SAVE_EVERY_SECONDS = 60.0
ALWAYS_SAVE_BELOW = 10_000  # videos
_NO_WORDS = (np.zeros(0, np.int32), np.zeros(0, np.int32))


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
    # its transcript's words as numbers in VideoVectors' vocabulary (each once) and how often each occurs:
    # arrays, not a Counter per video, so a large catalog's words take megabytes, not a gigabyte
    word_ids: np.ndarray
    word_counts: np.ndarray


class VideoVectors:
    """The process's current VideoTable; `table()` is cheap when nothing changed (one indexed query)."""

    def __init__(self, catalog: Catalog, folder: Path | None = None):
        """folder: where the cache file lives (DATA_DIR/vectors); None keeps the table in memory only."""
        self.catalog = catalog
        self.path = Path(folder) / CACHE_FILE if folder is not None else None
        self._lock = threading.Lock()
        self._data: dict[int, _VideoData] = {}
        self._versions: dict[str, tuple[str, int]] = {}
        self._vocab: dict[str, int] = {}  # word -> its number, in the order numbered
        self._table: VideoTable | None = None
        self._saves = SaveSchedule("the recommender's video table", always_below=ALWAYS_SAVE_BELOW,
                                   every_seconds=SAVE_EVERY_SECONDS)

    def table(self) -> VideoTable:
        latest = latest_change(self.catalog)
        table = self._table
        if table is not None and latest <= table.change:
            return table
        with self._lock:
            table = self._table
            if table is not None and latest <= table.change:
                return table
            synced = table.change if table is not None else self._open(latest)
            # Every write of a video's vectors is a recorded change, so a file saved at the current
            # counter was made with the current models: no scan of every embedding row to check that.
            changed = videos_changed(self.catalog, synced, latest) if synced is not None and synced < latest else []
            if synced == latest or (changed and self._versions_hold(changed)):
                versions = self._versions
            else:
                versions = self._model_versions()
            if synced is None or versions != self._versions:
                if synced is not None:
                    log.info("rebuilding the recommender's video table: the catalog's models changed from %s to %s",
                             self._versions, versions)
                self._versions, self._data, self._vocab = versions, {}, {}
                self._data.update(self._load(None))
                self._table = self._build(latest)
                self.save()
            elif synced < latest:
                for video_id in changed:
                    self._data.pop(video_id, None)
                self._data.update(self._load(changed))
                self._table = self._build(latest)
                if self._saves.due(len(self._data)):
                    self.save()
            else:
                self._table = self._build(latest)
            return self._table

    # -- reading the catalog ------------------------------------------------------------------------

    def _versions_hold(self, changed: list[int]) -> bool:
        """Whether the changed videos' vectors were all made by the models the table uses. Then which
        model most vectors come from has not moved, and `_model_versions`, a scan of every embedding
        row (seconds at a million), is not needed; a re-index to another model fails this and scans."""
        with self.catalog.session() as s:
            for chunk in in_chunks(changed):
                rows = s.execute(select(Embedding.owner_kind, Embedding.model_version, Embedding.dim).distinct()
                                 .where(Embedding.video_id.in_(chunk))).all()
                if any(kind in CHANNEL_WEIGHTS and self._versions.get(kind) != (version, dim)
                       for kind, version, dim in rows):
                    return False
        return True

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
        words: dict[int, Counter] = {}
        with self.catalog.session() as s:
            for chunk in in_chunks(video_ids):
                q = select(Video.id, Video.title, Video.added_at, Video.duration).where(
                    Video.status == VideoStatus.INDEXED)
                if chunk is not None:
                    q = q.where(Video.id.in_(chunk))
                for vid, title, added, duration in s.execute(q):
                    data[vid] = _VideoData(title, added.timestamp(), duration if duration else math.nan, {},
                                           *_NO_WORDS)
                    words[vid] = Counter()
                if not data:
                    continue
                for kind, (version, dim) in self._versions.items():
                    if chunk is None:
                        q = select(Embedding.video_id, Embedding.vector).where(Embedding.owner_kind == kind,
                                                                              Embedding.model_version == version)
                    else:
                        # `owner_kind || ''`, not the bare column: given that, SQLite walks the channel's index
                        # and reads every vector of the channel (seconds at 1M) to find a few videos' rows
                        q = select(Embedding.video_id, Embedding.vector).where(
                            Embedding.video_id.in_(chunk), Embedding.owner_kind.concat("") == kind,
                            Embedding.model_version == version)
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
                    if vid in words:
                        words[vid].update(w for w in _WORD.findall(text.lower()) if w not in _STOP)
        for vid, counts in words.items():
            data[vid].word_ids = np.fromiter((self._vocab.setdefault(w, len(self._vocab)) for w in counts),
                                             np.int32, len(counts))
            data[vid].word_counts = np.fromiter(counts.values(), np.int32, len(counts))
        return data

    # -- the cache file -------------------------------------------------------------------------------

    def _open(self, latest: int) -> int | None:
        """Fill the data from the cache file; returns the change counter it was saved at, or None
        when there is no usable file (the caller then reads everything from SQL)."""
        if self.path is None:
            return None
        try:
            change, versions, data, vocab = _read(self.path)
            if change > latest:  # the catalog was made anew since: the file describes another one
                raise ValueError(f"saved at change {change}, the catalog is at {latest}")
        except FileNotFoundError:
            return None
        except (OSError, KeyError, ValueError, IndexError, TypeError, AttributeError, EOFError,
                zipfile.BadZipFile) as exc:
            log.warning("rebuilding the recommender's video table from the catalog: %s is unusable (%s)",
                        self.path, exc)
            return None
        self._versions, self._data, self._vocab = versions, data, vocab
        return change

    def save(self) -> None:
        """Write the cache file; a failure (a full disk) is logged and the table goes on from memory:
        the file is only a faster start, and a later save or the next start makes it again."""
        if self.path is not None:
            self._saves.save(self._write, self.path)

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with replaced_when_done(self.path, suffix=".npz") as tmp:
            np.savez(tmp, **_pack(self._table.change, self._versions, self._data, list(self._vocab)))

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
                          titles=[d.title for d in datas], keywords=_keywords(datas, list(self._vocab)),
                          index=index, change=change)


def _pack(change: int, versions: dict[str, tuple[str, int]], data: dict[int, _VideoData],
          vocab: list[str]) -> dict[str, np.ndarray]:
    """The arrays of the cache file: flat arrays and offsets, no pickled objects, so loading it runs
    no code and takes about as long as reading it."""
    ids = np.asarray(sorted(data), np.int64)
    datas = [data[v] for v in ids.tolist()]
    meta = {"format": CACHE_FORMAT, "change": change, "versions": versions}
    arrays = {"meta": np.asarray(json.dumps(meta)), "ids": ids,
              "added": np.asarray([d.added for d in datas], np.float64),
              "durations": np.asarray([d.duration for d in datas], np.float64)}
    arrays["title_bytes"], arrays["title_offsets"] = _pack_strings([d.title for d in datas])
    for kind, (_, dim) in versions.items():
        rows = [i for i, d in enumerate(datas) if kind in d.parts and len(d.parts[kind]) == dim]
        arrays[f"rows_{kind}"] = np.asarray(rows, np.int64)
        arrays[f"vectors_{kind}"] = (np.stack([datas[i].parts[kind] for i in rows]).astype(np.float32)
                                     if rows else np.zeros((0, dim), np.float32))
    word_ids = np.concatenate([d.word_ids for d in datas] or [_NO_WORDS[0]])
    # only the words some video still has (the vocabulary keeps those of removed videos too), renumbered
    used = np.bincount(word_ids, minlength=len(vocab)) > 0
    arrays["word_ids"] = (np.cumsum(used, dtype=np.int64) - 1).astype(np.int32)[word_ids]
    used = np.flatnonzero(used)
    arrays["word_counts"] = np.concatenate([d.word_counts for d in datas] or [_NO_WORDS[1]])
    arrays["word_offsets"] = _offsets([len(d.word_ids) for d in datas])
    arrays["vocab_bytes"], arrays["vocab_offsets"] = _pack_strings([vocab[i] for i in used.tolist()])
    return arrays


def _read(path: Path) -> tuple[int, dict[str, tuple[str, int]], dict[int, _VideoData], dict[str, int]]:
    """(change, model versions, data, vocabulary) from a cache file; ValueError when its parts do not fit."""
    with np.load(path, allow_pickle=False) as saved:
        meta = json.loads(str(saved["meta"]))
        if meta.get("format") != CACHE_FORMAT:
            raise ValueError(f"format {meta.get('format')}, need {CACHE_FORMAT}")
        versions = {str(kind): (str(version), int(dim)) for kind, (version, dim) in meta["versions"].items()}
        ids, added, durations = saved["ids"], saved["added"], saved["durations"]
        n = len(ids)
        titles = _unpack_strings(saved["title_bytes"], saved["title_offsets"], n)
        if len(added) != n or len(durations) != n or len(np.unique(ids)) != n:
            raise ValueError("the video columns do not fit together")
        parts: list[dict[str, np.ndarray]] = [{} for _ in range(n)]
        for kind, (_, dim) in versions.items():
            rows, vectors = saved[f"rows_{kind}"], saved[f"vectors_{kind}"]
            if vectors.shape != (len(rows), dim) or (len(rows) and (rows.min() < 0 or rows.max() >= n)):
                raise ValueError(f"{kind} vectors do not fit the table")
            for row, vector in zip(rows.tolist(), vectors.astype(np.float32, copy=False)):
                parts[row][kind] = vector
        word_ids = saved["word_ids"].astype(np.int32, copy=False)
        counts = saved["word_counts"].astype(np.int32, copy=False)
        offsets = saved["word_offsets"]
        vocab = _unpack_strings(saved["vocab_bytes"], saved["vocab_offsets"], None)
        if len(offsets) != n + 1 or offsets[-1] != len(word_ids) or len(counts) != len(word_ids):
            raise ValueError("word counts do not fit the table")
        if len(word_ids) and (word_ids.min() < 0 or word_ids.max() >= len(vocab)):
            raise ValueError("word counts name words the file does not have")
        numbers = {w: i for i, w in enumerate(vocab)}
        if len(numbers) != len(vocab):
            raise ValueError("a word is in the vocabulary twice")
        offsets = offsets.tolist()
        data = {vid: _VideoData(titles[i], a, d, parts[i], word_ids[offsets[i]:offsets[i + 1]],
                                counts[offsets[i]:offsets[i + 1]])
                for i, (vid, a, d) in enumerate(zip(ids.tolist(), added.tolist(), durations.tolist()))}
        return int(meta["change"]), versions, data, numbers


def _offsets(lengths: list[int]) -> np.ndarray:
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _pack_strings(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    # one UTF-8 blob and offsets: numpy's own string arrays pad every entry to the longest one
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    return np.frombuffer(b"".join(encoded), np.uint8), _offsets([len(e) for e in encoded])


def _unpack_strings(blob: np.ndarray, offsets: np.ndarray, n: int | None) -> list[str]:
    if (n is not None and len(offsets) != n + 1) or len(offsets) == 0 or offsets[-1] != len(blob):
        raise ValueError("strings do not fit their offsets")
    raw, offsets = blob.tobytes(), offsets.tolist()
    return [raw[a:b].decode("utf-8", "surrogatepass") for a, b in pairwise(offsets)]


def _keywords(datas: list[_VideoData], vocab: list[str]) -> list[dict[str, float]]:
    """Each video's most distinctive words (tf-idf over the catalog), the names of its topics.

    Array arithmetic per video, not a Python loop over every word: that took seconds at ten thousand
    videos, on every refresh and every start."""
    n = len(datas)
    df = np.bincount(np.concatenate([d.word_ids for d in datas] or [_NO_WORDS[0]]), minlength=len(vocab))
    # math.log once per word, not np.log per pair: the same floats as scoring word by word
    idf = np.asarray([math.log((1 + n) / (1 + f)) for f in df.tolist()], np.float64)
    out = []
    for d in datas:
        scores = d.word_counts / (int(d.word_counts.sum()) or 1) * idf[d.word_ids]
        keep = np.arange(len(scores))
        if len(scores) > KEYWORDS_PER_VIDEO:  # only those that can be among the top (ties at the edge included)
            edge = len(scores) - KEYWORDS_PER_VIDEO
            keep = np.flatnonzero(scores >= np.partition(scores, edge)[edge])
        scored = zip((vocab[i] for i in d.word_ids[keep].tolist()), scores[keep].tolist())
        top = sorted(scored, key=lambda kv: (-kv[1], kv[0]))[:KEYWORDS_PER_VIDEO]
        out.append({w: sc for w, sc in top if sc > 0})
    return out
