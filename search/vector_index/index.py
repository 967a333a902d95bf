"""`VectorIndex`: one channel's vectors, the facade over structure, tuning, filtering, files and GPU.

What the caller must do
-----------------------
* Hand in L2-normalised float32 vectors with non-negative int64 ids (the catalog row ids). Vectors not of
  unit length are normalised on the way in (a zero or non-finite one is a `ValueError`); queries are used as given,
  so a score is the inner product with the query (the cosine when the query is normalised too).
* Mirror the catalog: `add` what was inserted or re-embedded (an id already held is replaced, never
  duplicated) and `remove` what was deleted. Both are cheap and keep the trained structure.
* `save` after changes worth keeping and `load` at start-up. On `VectorIndexUnreadable` (missing,
  truncated, corrupt, or the sidecar disagrees with the file) build a fresh index from the catalog:
  ``ix = VectorIndex(dim); ix.rebuild(lambda: (ids, vectors))`` (or ``ix.add(ids, vectors)``).
  Record what the index was synced to (e.g. the catalog change version) in `save`'s `meta`; `load`
  gives it back, so the caller can replay only the changes made since.
* Nothing else: the structure is chosen, trained, tuned and re-trained here. `add` re-chooses and
  re-trains by itself (blocking that `add` call, not searches) when the index crosses `exact_limit`
  or has doubled since it was trained; `remove` does when it falls well below what it was trained for.
  Those automatic re-trains read the vectors back from the index unless `vector_source` is set: exact
  for "flat", 8-bit decoded for IVF, which loses a little each time (at 200k, the exhaustive-scan recall
  ceiling went 0.984 -> 0.982 -> 0.983 -> 0.977 over three such generations). So either set
  ``ix.vector_source = lambda: (ids, vectors)`` (the catalog's rows for this channel; called from inside
  the `add`/`remove` that triggers a re-train, whose own rows are applied on top of what it returns) or
  call ``ix.rebuild(lambda: (ids, vectors))`` now and then (e.g. at start-up when the index is old).
  Optionally `rebuild(queries=...)` with a sample of real query vectors tunes the search effort on the
  queries users actually make (tuning.py).

Thread safety: any number of concurrent `search` calls; `add`/`remove`/`rebuild`/`save` are serialised
among themselves. Searches wait only while an add/remove edits the structure in place (milliseconds)
and while a rebuilt structure is swapped in, not during the (re)training itself.

GPU: with ``use_gpu`` (default: when ``faiss.get_num_gpus() > 0``) unfiltered searches run on a GPU copy
(gpu.py).
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

from . import files
from .filtering import search_allowed
from .gpu import GpuCopy, gpus_available
from .structure import Structure, checked_rows, flat_structure, normalise, trained_ivf
from .tuning import TUNING_QUERIES, attach_shortlist, omp_threads, tune, tuning_sets

log = logging.getLogger(__name__)

GROWTH_REBUILD = 2.0         # add() re-trains when the size reaches this multiple of the trained size
SHRINK_REBUILD = 0.25        # remove() re-trains when the size falls to this fraction of it
FEW_QUERIES = 4              # searches of this many queries or fewer run on one OpenMP thread (see search)

Rows = Callable[[], tuple[np.ndarray, np.ndarray]]


class VectorIndex:
    """One channel's vectors: ids (int64, the catalog row ids) -> L2-normalised float32 vectors; inner-product search.

    See the module docstring for what the caller must do, and thread safety.
    """

    def __init__(self, dim: int, *, exact_limit: int = files.Settings.exact_limit,
                 target_recall: float = files.Settings.target_recall, use_gpu: bool | None = None,
                 shortlist: bool | None = None):
        if dim <= 0:
            raise ValueError(f"dim must be positive, not {dim}")
        if exact_limit < 0:
            raise ValueError(f"exact_limit must be >= 0, not {exact_limit}")
        if not 0.0 < target_recall <= 1.0:
            raise ValueError(f"target_recall must be in (0, 1], not {target_recall}")
        self.dim = int(dim)
        self.settings = files.Settings(int(exact_limit), float(target_recall))
        if use_gpu and gpus_available() <= 0:
            raise RuntimeError("use_gpu=True but this faiss has no GPU (faiss.get_num_gpus() == 0)")
        self._use_gpu = bool(gpus_available() > 0 if use_gpu is None else use_gpu)
        self.shortlist = shortlist  # None: keep a fast-scan shortlist where it is measured to be faster
        self._rw = _RWLock()
        self._mutex = threading.RLock()       # serialises add / remove / rebuild / save
        self._structure = flat_structure(self.dim, np.empty(0, np.int64), np.empty((0, self.dim), np.float32))
        self._tuning_queries: np.ndarray | None = None
        # optional: where automatic re-trains read the vectors from (see the module docstring)
        self.vector_source: Rows | None = None
        # called on the first (re)train that needs them, if no tuning queries were set: encoding them costs
        # seconds, which a start on a saved index file should not pay
        self.query_source: Callable[[], np.ndarray] | None = None
        self._gpu = GpuCopy()

    @property
    def exact_limit(self) -> int:
        return self.settings.exact_limit

    @property
    def target_recall(self) -> float:
        return self.settings.target_recall

    @property
    def use_gpu(self) -> bool:
        return self._use_gpu and not self._gpu.failed

    @property
    def size(self) -> int:
        return len(self._structure.ids)

    @property
    def kind(self) -> str:
        return self._structure.kind

    @property
    def tuning(self) -> dict:
        """What is in use: kind, nlist, nprobe, estimated recall@10, size trained for, build seconds."""
        s = self._structure
        return {"kind": s.kind, "nlist": s.nlist, "nprobe": s.nprobe, "recall_at_10": s.recall,
                "trained_size": s.trained_size, "build_s": round(s.build_s, 3), "shortlist": s.shortlist_kind,
                "shortlist_nprobe": s.shortlist_nprobe}

    @property
    def nbytes(self) -> int:
        """Approximate RAM held: FAISS codes, ids and centroids plus the bookkeeping arrays here."""
        return self._structure.nbytes(self.dim)

    def ids(self) -> np.ndarray:
        """All ids currently held, sorted (a copy)."""
        with self._rw.read():
            return self._structure.ids.copy()

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"VectorIndex(dim={self.dim}, kind={self.kind!r}, size={self.size})"

    # -- changes --------------------------------------------------------------------------------------

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors under ids; an id already held is replaced (upsert). Within one call the last row
        of a repeated id wins. May re-train the structure (see the module docstring)."""
        ids, x = checked_rows(self.dim, ids, vectors)
        if not len(ids):
            return
        with self._mutex:
            s = self._structure
            if not s.is_ivf and len(s.ids) + len(ids) > self.exact_limit:
                held = np.isin(ids, s.ids, assume_unique=True)
                if len(s.ids) + np.count_nonzero(~held) > self.exact_limit:
                    # crossing exact_limit: train on what is held plus these rows, without growing the flat
                    # index first (a first sync of a million rows never builds a 2 GB flat copy)
                    started = time.perf_counter()
                    old_ids, old_x = s.snapshot(self.dim)
                    keep = ~np.isin(old_ids, ids, assume_unique=True)
                    self._install(np.concatenate([old_ids[keep], ids]), np.concatenate([old_x[keep], x]), started)
                    return
            with self._rw.write():
                if s.remove(ids):
                    self._gpu.drop()
                self._gpu.add(ids, x)
                s.add(ids, x)
            if s.is_ivf and (self.size >= GROWTH_REBUILD * s.trained_size or s.worn):
                self._rebuild_locked(self.vector_source, upsert=(ids, x))

    def remove(self, ids: np.ndarray) -> int:
        """Delete these ids; returns how many were held. Unknown ids are ignored."""
        ids = np.unique(np.asarray(ids, dtype=np.int64).ravel())
        if not len(ids):
            return 0
        with self._mutex:
            s = self._structure
            with self._rw.write():
                removed = s.remove(ids)
                if removed:
                    self._gpu.drop()
            if removed and s.is_ivf and (self.size <= self.exact_limit // 2
                                         or self.size <= SHRINK_REBUILD * s.trained_size or s.worn):
                self._rebuild_locked(self.vector_source, drop=ids)
            return removed

    def set_tuning_queries(self, queries: np.ndarray) -> None:
        """Real query vectors that re-trains of this object tune nprobe on, besides perturbed stored
        vectors: recall must reach the target for both (not saved with the index)."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim or not len(q) or not np.all(np.isfinite(q)):
            raise ValueError(f"queries must be a finite (m, {self.dim}) array with m >= 1")
        self._tuning_queries = normalise(q[:TUNING_QUERIES].copy(), own=True)

    def rebuild(self, vectors_by_id: Rows | None = None, *, queries: np.ndarray | None = None) -> None:
        """Re-choose the structure for the current size, re-train and re-tune it.

        vectors_by_id: optional callable returning (ids, vectors) -- the catalog's rows for this channel.
            When given, the index afterwards holds exactly those rows (the catalog is the truth) and is
            trained on the exact float values. When None, `vector_source` if set, else the vectors are
            reconstructed from the index (exact for "flat", 8-bit decoded for IVF).
        queries: optional (m, dim) sample of real query vectors to tune nprobe on as well (see
            `set_tuning_queries`).
        Searches keep running on the old structure while the new one is built.
        """
        if queries is not None:
            self.set_tuning_queries(queries)
        with self._mutex:
            self._rebuild_locked(vectors_by_id or self.vector_source)

    # -- search ---------------------------------------------------------------------------------------

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product: (scores (n, k) float32, ids (n, k) int64); -1 / -inf where fewer than k.

        allowed: optional int64 ids (sorted or not) to restrict the results to; done inside FAISS with an
        IDSelector, exact for "flat", list-aware for IVF (filtering.py).

        A search of a few queries runs on one OpenMP thread (set for the calling thread only): a parallel
        region gains little for one query and, on a 2-core machine that is busy (indexing, the other
        channel's search), waiting for the second thread made a 100k flat search 2.6x slower (p50
        55 ms vs 21 ms). Batches use FAISS's threads.
        """
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must be (n, {self.dim}), not {np.shape(queries)}")
        q = np.ascontiguousarray(q)
        k = int(k)
        if k <= 0:
            raise ValueError(f"k must be >= 1, not {k}")
        nq = len(q)
        D = np.full((nq, k), -np.inf, dtype=np.float32)
        I = np.full((nq, k), -1, dtype=np.int64)
        if not nq:
            return D, I
        with self._rw.read(), omp_threads(1 if nq <= FEW_QUERIES else None):
            s = self._structure
            if not len(s.ids):
                return D, I
            if allowed is not None:
                D, I = search_allowed(s, q, k, allowed)
            else:
                found = self._gpu.search(s, q, k) if self.use_gpu else None
                if found is not None:
                    D, I = found
                elif s.shortlist is not None:
                    D, I = s.search_shortlist(q, k)
                else:
                    D, I = s.scan(q, k)
        D = np.ascontiguousarray(D, dtype=np.float32)
        D[I < 0] = -np.inf
        return D, I

    # -- files ----------------------------------------------------------------------------------------

    def save(self, path: Path, meta: dict) -> None:
        """Write the index and its sidecar holding `meta` (files.write: atomic, CRC-checked on load)."""
        with self._mutex:
            files.write(path, self._structure, self.settings, meta)

    @classmethod
    def load(cls, path: Path, *, use_gpu: bool | None = None) -> tuple["VectorIndex", dict]:
        """Read an index written by `save`: (index, meta). Raises VectorIndexUnreadable when the file or its
        sidecar is missing, the file is truncated or corrupt, or they do not match (dim, size, kind, CRC)."""
        structure, settings, meta = files.read(path)
        obj = cls(int(structure.index.d), exact_limit=settings.exact_limit, target_recall=settings.target_recall,
                  use_gpu=use_gpu)
        obj._structure = structure
        return obj, meta

    # -- re-training ----------------------------------------------------------------------------------

    def _rebuild_locked(self, vectors_by_id: Rows | None, upsert: tuple[np.ndarray, np.ndarray] | None = None,
                        drop: np.ndarray | None = None) -> None:
        """Re-train from vectors_by_id() or, when None, from the index itself. `upsert` / `drop`: rows the
        triggering add/remove just changed, applied on top of vectors_by_id()'s rows in case the caller's
        source does not show them yet (e.g. not committed)."""
        started = time.perf_counter()
        if vectors_by_id is None:
            ids, x = self._structure.snapshot(self.dim)
            if len(ids):
                x = normalise(x, own=True)
        else:
            ids, x = checked_rows(self.dim, *vectors_by_id())
            if drop is not None:
                keep = ~np.isin(ids, drop)
                ids, x = ids[keep], x[keep]
            if upsert is not None:
                keep = ~np.isin(ids, upsert[0])
                ids, x = np.concatenate([ids[keep], upsert[0]]), np.concatenate([x[keep], upsert[1].astype(x.dtype)])
        self._install(ids, x, started)

    def _install(self, ids: np.ndarray, x: np.ndarray, started: float) -> None:
        """Build a structure for these rows and swap it in (caller holds the mutex)."""
        new = self._build(ids, x)
        new.build_s = time.perf_counter() - started
        with self._rw.write():
            self._structure = new
            self._gpu.drop()
        log.info("vector index (%d-d) built: %s, %d vectors, nprobe %s, shortlist %s (nprobe %s), recall@10 ~%s, "
                 "%.1f s", self.dim, new.kind, len(ids), new.nprobe, new.shortlist_kind, new.shortlist_nprobe,
                 None if new.recall is None else round(new.recall, 3), new.build_s)

    def _build(self, ids: np.ndarray, x: np.ndarray) -> Structure:
        """A new structure for these rows (ids unique, any order; x normalised)."""
        if len(ids) <= self.exact_limit:
            return flat_structure(self.dim, ids, x)
        s = trained_ivf(self.dim, ids, x)
        if self._tuning_queries is None and self.query_source is not None:
            self.set_tuning_queries(self.query_source())
        sets = tuning_sets(ids, x, self._tuning_queries)
        s.nprobe, s.recall = tune(s, sets, self.target_recall)
        if self.shortlist is not False and self.dim % 2 == 0:
            attach_shortlist(s, ids, x, sets, self.target_recall, forced=self.shortlist,
                             timing_queries=self._tuning_queries)
        return s


class _RWLock:
    """Many readers or one writer; a waiting writer holds new readers back (no writer starvation)."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self):
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self):
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()
