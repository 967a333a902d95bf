"""Vector search for one channel: a FAISS index derived from the catalog's embeddings.

The catalog (SQL) is the source of truth: every embedding lives there as float32 bytes keyed by an integer
row id. A `VectorIndex` is a cache built from those rows, one per channel ("segment" MiniLM text vectors,
"keyframe" CLIP vectors...), kept up to date in place as videos come and go, saved under the data dir and
rebuilt from the catalog whenever it is missing, unreadable or out of date.

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
  Optionally `rebuild(queries=...)` with a sample of real query vectors (e.g. CLIP *text* embeddings for
  the keyframe channel, whose queries do not look like the stored image vectors) tunes the search
  effort on the queries users actually make.

Structures ("kind")
-------------------
* ``"flat"``: exact inner-product search (``IndexIDMap(IndexFlatIP)``) while size <= exact_limit.
* ``"ivf{nlist}-sq8"``: above it, an inverted file with 8-bit scalar-quantised vectors
  (``IndexIVFScalarQuantizer``, QT_8bit, residual encoding, IP metric, spherical k-means on a sample of
  ``_TRAIN_PER_LIST * nlist`` vectors; nlist a power of two near ``_NLIST_PER_SQRT * sqrt(n)``). 1 byte
  per dimension: 1M x 512-d is ~0.5 GB (float32 flat would be 2 GB). After training, `nprobe` is raised
  step by step until recall@10 against exact float search reaches `target_recall` -- its one-sided 95%
  lower confidence bound does -- on perturbed copies of stored vectors used as queries, with the
  originals' own ids left out of both the truth and the answers (or on the real queries given to
  `rebuild`). IVF-SQ8 was chosen over HNSW32-SQ8 by measurement on the 2-core machine (bench/RESULTS.md):
  at 1M x 384-d the same sub-millisecond latency at recall@10 >= 0.95, a 17 s build instead of 320 s,
  0.4 GB instead of 0.6 GB, native removal (HNSW cannot delete: tombstones and compaction) and a
  filtered search that stays exact for narrow filters. nlist ~ sqrt(n) rather than 4 * sqrt(n): at 1M,
  4096 lists took 116 s to build, 2048 43 s, 1024 17 s, for 0.5 / 0.6 / 0.9 ms per query.

Shortlist (IVF only, CPU, unfiltered searches): beside the IVF-SQ8 lists, a 4-bit fast-scan PQ
inverted file over the same centroids (``IndexIVFPQFastScan``, dim/2 sub-quantisers, about a third of
the SQ8 codes' size) can pick ``max(_SHORTLIST_MIN, _SHORTLIST_PER_K * k)`` candidates, which are then
scored exactly as the SQ8 scan scores them (their 8-bit codes decoded by id, ``reconstruct_batch``).
It has its own nprobe, tuned like the SQ8 one, and is kept only if, timed on the tuning queries at
the recall target, it is at least ``_SHORTLIST_GAIN`` times faster: fast-scan wins where the CPU has
AVX2 (1M x 512 on the 2-core machine: 21.1 -> 9.1 ms at the same recall, bench/fastscan_probe.py) and
loses where FAISS falls back to its generic build. ``VectorIndex(shortlist=True/False)`` forces it.
Removed (and replaced) ids' old codes stay in the shortlist and are skipped as no longer held; when
they pass ``_SHORTLIST_LEFTOVERS`` of the size, the index re-trains, as it does when it grows or shrinks.

Removal: ``IndexIVF.remove_ids`` and ``IndexIDMap.remove_ids`` both delete for real (no tombstones, no
compaction). The IVF index keeps a hash-table direct map (id -> list, offset; ~48 B per id, ~50 MB per
million), so a removal looks each id up instead of scanning every list, and a narrow filter can decode
just the allowed vectors. The list each id lives in is also tracked here (ids are assigned to lists
here and added with ``add_core``): upserts find what to replace without asking FAISS, and a broad
filter probes only lists that hold allowed ids.

Filtered search (`allowed`), always on the allowed ids only, never a post-filter of an unfiltered top-k:
* "flat": FAISS search with an ``IDSelector`` in the search parameters (``IDSelectorBitmap`` over the
  id range when ids are dense, ``IDSelectorBatch`` otherwise); exact.
* IVF, at most ``_SUBSET_MAX`` allowed vectors held (a few videos): those vectors are decoded
  (``reconstruct_batch``) and all scored (``faiss.knn``): exhaustive over the subset, exact up to 8-bit
  quantisation, ~1 ms per thousand; scanning the lists instead costs a selector test per stored vector
  (6-20 ms at 1M on the 2-core machine, with its load) however few are allowed.
* IVF, more: ``search_preassigned`` with the ``IDSelector``, probing only lists that hold allowed ids,
  nearest first, until they hold ``_FILTER_SCAN_FACTOR * nprobe * n / nlist`` allowed vectors (and at
  least `nprobe` lists): about the work of an unfiltered search, and the same recall (measured >= 0.97
  for 1%..50% random filters and for filters on whole clusters far from the query).

Thread safety: any number of concurrent `search` calls; `add`/`remove`/`rebuild`/`save` are serialised
among themselves. Searches wait only while an add/remove edits the structure in place (milliseconds)
and while a rebuilt structure is swapped in, not during the (re)training itself.

GPU: with ``use_gpu`` (default: when ``faiss.get_num_gpus() > 0``) unfiltered searches run on a GPU copy
of the CPU index (``index_cpu_to_gpu``), kept in step by adds and re-copied after other changes; the
CPU index stays the one that is edited, saved and used for filtered searches.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import uuid
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import faiss
import numpy as np

__all__ = ["VectorIndex", "VectorIndexUnreadable"]

log = logging.getLogger(__name__)

FORMAT = "reelscope-vector-index"
FORMAT_VERSION = 1

# Structure parameters, chosen by measurement (bench/vector_index.py, bench/RESULTS.md).
_NLIST_PER_SQRT = 1          # nlist ~ sqrt(n), a power of two
_MIN_PER_LIST = 39           # FAISS wants >= 39 training points per centroid
_TRAIN_PER_LIST = 64         # k-means sample: 64 vectors per list
_KMEANS_ITERATIONS = 10
_TUNING_QUERIES = 300        # queries for the recall estimate
_TUNING_COS = 0.9            # perturbed copies: cosine to the stored vector they come from
_NPROBE_STEPS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
                 3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 49152, 65536)
_GROWTH_REBUILD = 2.0        # add() re-trains when the size reaches this multiple of the trained size
_SHRINK_REBUILD = 0.25       # remove() re-trains when the size falls to this fraction of it
_FILTER_SCAN_FACTOR = 2.0    # filtered IVF search scans this multiple of an unfiltered search's vectors
_SUBSET_MAX = 4096           # ... or, for this many allowed vectors or fewer, scores each of them
_BITMAP_MAX_BITS = 1 << 24   # IDSelectorBitmap while ids < 16M (2 MB bitmap), IDSelectorBatch beyond
_BATCH_SELECTOR_MAX = 4096   # ... and for small sets
_GPU_MAX_K = 2048            # FAISS GPU k-selection limit; larger k searches on the CPU
_FEW_QUERIES = 4             # searches of this many queries or fewer run on one OpenMP thread (see search)
_CHUNK = 1 << 16
_EXACT_CHUNK = 1 << 14       # rows per block where a block's temporaries set the start's peak RSS: the exact
                             # top-k that tuning measures against (~0.4 GB a block at 1 << 16), shortlist adds
_SHORTLIST_MIN = 1000        # candidates the fast-scan shortlist hands to the 8-bit re-scoring, at least...
_SHORTLIST_PER_K = 5         # ... and this many per result asked for
_SHORTLIST_GAIN = 1.3        # kept only when the tuned search gets at least this much faster with it
_SHORTLIST_TRAIN = 16_384    # its training rows: 16 centroids per 2-d sub-quantiser need few (more only raised the peak RSS)
_SHORTLIST_LEFTOVERS = 0.1   # re-train when removed ids' codes left in the shortlist pass this share of the size
_TIMING_QUERIES = 60         # single queries timed for that choice, at k = _TIMING_K
_TIMING_K = 200


class VectorIndexUnreadable(Exception):
    """A saved index cannot be used: missing, truncated, corrupt, or its sidecar does not match it."""


@contextmanager
def _omp_threads(n: int | None):
    """FAISS's OpenMP thread count for the calling thread only (libgomp keeps it per thread)."""
    if n is None:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


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


class _Structure:
    """One built FAISS structure with the bookkeeping that goes with it (swapped in as a whole)."""

    def __init__(self, index: faiss.Index, kind: str, ids: np.ndarray, lists: np.ndarray | None,
                 nprobe: int | None, trained_size: int, recall: float | None, build_s: float = 0.0):
        self.index = index
        self.kind = kind
        self.ids = ids            # sorted int64, every id held
        self.lists = lists        # IVF: int32 list number of each id in `ids`; None for flat
        self.nprobe = nprobe
        self.trained_size = trained_size
        self.recall = recall      # recall@10 estimated when tuned (1.0 for flat)
        self.build_s = build_s
        self.shortlist: faiss.IndexIVFPQFastScan | None = None  # IVF: see "Shortlist" above
        self.shortlist_nprobe: int | None = None
        self.centroids: np.ndarray | None = None
        if isinstance(index, faiss.IndexIVF):
            self.centroids = index.quantizer.reconstruct_n(0, index.nlist)

    @property
    def is_ivf(self) -> bool:
        return self.lists is not None


def _empty_flat(dim: int) -> faiss.IndexIDMap:
    return faiss.IndexIDMap(faiss.IndexFlatIP(dim))


def _nlist_for(n: int) -> int:
    nlist = 2 ** round(math.log2(max(1.0, _NLIST_PER_SQRT * math.sqrt(n))))
    while nlist > 1 and nlist * _MIN_PER_LIST > n:
        nlist //= 2
    return max(1, min(nlist, 65536))


def _normalise(vectors: np.ndarray, *, own: bool = False) -> np.ndarray:
    """Unit-length rows, float32 or (as given, for building from a million rows in half the memory)
    float16. Rows already of unit length are used as they are (no copy of the caller's array);
    otherwise a normalised copy, or the array itself normalised in place when `own`."""
    x = np.asarray(vectors)
    if x.dtype != np.float16:
        x = np.asarray(x, dtype=np.float32)
    norms = np.empty(len(x), np.float32)
    for a in range(0, len(x), _CHUNK):  # np.linalg.norm would square a full copy
        chunk = np.asarray(x[a:a + _CHUNK], dtype=np.float32)
        norms[a:a + _CHUNK] = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise ValueError("vectors must be finite and non-zero")
    # float16 keeps 11 bits: a unit row rounds to a norm within ~1e-3 of 1
    if np.all(np.abs(norms - 1.0) <= (2e-3 if x.dtype == np.float16 else 1e-5)):
        return np.ascontiguousarray(x)
    out = x if own and x.flags.c_contiguous and x.flags.writeable else np.empty(x.shape, x.dtype)
    for a in range(0, len(x), _CHUNK):
        out[a:a + _CHUNK] = np.asarray(x[a:a + _CHUNK], dtype=np.float32) / norms[a:a + _CHUNK, None]
    return out


def _float32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def _file_crc(path: Path) -> tuple[int, int]:
    crc, size = 0, 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return crc, size


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class VectorIndex:
    """One channel's vectors: ids (int64, the catalog row ids) -> L2-normalised float32 vectors; inner-product search.

    See the module docstring for the structures, what the caller must do, and thread safety.
    """

    def __init__(self, dim: int, *, exact_limit: int = 100_000, target_recall: float = 0.95,
                 use_gpu: bool | None = None, shortlist: bool | None = None):
        if dim <= 0:
            raise ValueError(f"dim must be positive, not {dim}")
        if exact_limit < 0:
            raise ValueError(f"exact_limit must be >= 0, not {exact_limit}")
        if not 0.0 < target_recall <= 1.0:
            raise ValueError(f"target_recall must be in (0, 1], not {target_recall}")
        self.dim = int(dim)
        self.exact_limit = int(exact_limit)
        self.target_recall = float(target_recall)
        gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
        if use_gpu and gpus <= 0:
            raise RuntimeError("use_gpu=True but this faiss has no GPU (faiss.get_num_gpus() == 0)")
        self.use_gpu = bool(gpus > 0 if use_gpu is None else use_gpu)
        self.shortlist = shortlist  # None: keep a fast-scan shortlist where it is measured to be faster
        self._rw = _RWLock()
        self._mutex = threading.RLock()       # serialises add / remove / rebuild / save
        self._s = _Structure(_empty_flat(self.dim), "flat", np.empty(0, np.int64), None, None, 0, 1.0)
        self._tuning_queries: np.ndarray | None = None
        # optional: where automatic re-trains read the vectors from (see the module docstring)
        self.vector_source: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None
        # called on the first (re)train that needs them, if no tuning queries were set: encoding them costs
        # seconds, which a start on a saved index file should not pay
        self.query_source: Callable[[], np.ndarray] | None = None
        self._gpu_lock = threading.Lock()
        self._gpu_res = None
        self._gpu_index = None                # copy of self._s.index on the GPU, or None when stale

    # ------------------------------------------------------------------ properties

    @property
    def size(self) -> int:
        return len(self._s.ids)

    @property
    def kind(self) -> str:
        return self._s.kind

    @property
    def tuning(self) -> dict:
        """What is in use: kind, nlist, nprobe, estimated recall@10, size trained for, build seconds."""
        s = self._s
        return {"kind": s.kind, "nlist": int(s.index.nlist) if s.is_ivf else None, "nprobe": s.nprobe,
                "recall_at_10": s.recall, "trained_size": s.trained_size, "build_s": round(s.build_s, 3),
                "shortlist": _shortlist_kind(s.shortlist), "shortlist_nprobe": s.shortlist_nprobe}

    @property
    def nbytes(self) -> int:
        """Approximate RAM held: FAISS codes, ids and centroids plus the bookkeeping arrays here."""
        s = self._s
        n = len(s.ids)
        extra = s.ids.nbytes + (s.lists.nbytes if s.lists is not None else 0)
        if s.shortlist is not None:
            extra += n * (s.shortlist.code_size + 8) + s.index.nlist * self.dim * 4
        if s.is_ivf:   # codes and ids in the lists, ~48 B per id in the direct map's hash table, centroids
            return n * (s.index.code_size + 8 + 48) + s.index.nlist * self.dim * 4 * 2 + extra
        return n * (self.dim * 4 + 8) + extra

    def ids(self) -> np.ndarray:
        """All ids currently held, sorted (a copy)."""
        with self._rw.read():
            return self._s.ids.copy()

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"VectorIndex(dim={self.dim}, kind={self.kind!r}, size={self.size})"

    # ------------------------------------------------------------------ changes

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors under ids; an id already held is replaced (upsert). Within one call the last row
        of a repeated id wins. May re-train the structure (see the module docstring)."""
        ids, x = self._check_rows(ids, vectors)
        if not len(ids):
            return
        with self._mutex:
            s = self._s
            if not s.is_ivf and len(s.ids) + len(ids) > self.exact_limit:
                held = np.isin(ids, s.ids, assume_unique=True)
                if len(s.ids) + np.count_nonzero(~held) > self.exact_limit:
                    # crossing exact_limit: train on what is held plus these rows, without growing the flat
                    # index first (a first sync of a million rows never builds a 2 GB flat copy)
                    started = time.perf_counter()
                    old_ids, old_x = self._snapshot()
                    keep = ~np.isin(old_ids, ids, assume_unique=True)
                    self._install(np.concatenate([old_ids[keep], ids]), np.concatenate([old_x[keep], x]), started)
                    return
            with self._rw.write():
                self._remove_locked(s, ids)
                self._add_locked(s, ids, x)
            if s.is_ivf and (self.size >= _GROWTH_REBUILD * s.trained_size or _shortlist_worn(s)):
                self._rebuild_locked(self.vector_source, upsert=(ids, x))

    def remove(self, ids: np.ndarray) -> int:
        """Delete these ids; returns how many were held. Unknown ids are ignored."""
        ids = np.unique(np.asarray(ids, dtype=np.int64).ravel())
        if not len(ids):
            return 0
        with self._mutex:
            s = self._s
            with self._rw.write():
                removed = self._remove_locked(s, ids)
            if removed and s.is_ivf and (self.size <= self.exact_limit // 2
                                         or self.size <= _SHRINK_REBUILD * s.trained_size or _shortlist_worn(s)):
                self._rebuild_locked(self.vector_source, drop=ids)
            return removed

    def set_tuning_queries(self, queries: np.ndarray) -> None:
        """Real query vectors that re-trains of this object tune nprobe on, besides perturbed stored
        vectors: recall must reach the target for both (not saved with the index)."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim or not len(q) or not np.all(np.isfinite(q)):
            raise ValueError(f"queries must be a finite (m, {self.dim}) array with m >= 1")
        self._tuning_queries = _normalise(q[:_TUNING_QUERIES].copy(), own=True)

    def rebuild(self, vectors_by_id: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None, *,
                queries: np.ndarray | None = None) -> None:
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

    # ------------------------------------------------------------------ search

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product: (scores (n, k) float32, ids (n, k) int64); -1 / -inf where fewer than k.

        allowed: optional int64 ids (sorted or not) to restrict the results to; done inside FAISS with an
        IDSelector, exact for "flat", list-aware for IVF (see the module docstring).

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
        with self._rw.read(), _omp_threads(1 if nq <= _FEW_QUERIES else None):
            s = self._s
            if not len(s.ids):
                return D, I
            if allowed is None:
                D, I = self._search_all(s, q, k)
            else:
                D, I = self._search_allowed(s, q, k, allowed)
        D = np.ascontiguousarray(D, dtype=np.float32)
        D[I < 0] = -np.inf
        return D, I

    def _search_all(self, s: _Structure, q: np.ndarray, k: int):
        if self.use_gpu and k <= _GPU_MAX_K:
            gpu = self._gpu(s)
            if gpu is not None:
                with self._gpu_lock:
                    return gpu.search(q, k)
        if s.shortlist is not None:
            return self._search_shortlist(s, q, k, s.shortlist_nprobe)
        return self._scan(s, q, k)

    @staticmethod
    def _scan(s: _Structure, q: np.ndarray, k: int):
        """Every vector (flat), or every vector in the nearest lists (IVF, at the tuned nprobe)."""
        params = faiss.SearchParametersIVF(nprobe=s.nprobe) if s.is_ivf else None
        return s.index.search(q, k, params=params)

    @staticmethod
    def _search_shortlist(s: _Structure, q: np.ndarray, k: int, nprobe: int):
        """Candidates from the fast-scan lists, scored by their 8-bit codes as the SQ8 scan would."""
        wanted = max(_SHORTLIST_MIN, _SHORTLIST_PER_K * k)
        _, candidates = s.shortlist.search(q, wanted, params=faiss.SearchParametersIVF(nprobe=nprobe))
        D = np.full((len(q), k), -np.inf, np.float32)
        I = np.full((len(q), k), -1, np.int64)
        for row, found in enumerate(candidates):
            found = np.unique(found[found >= 0])  # a re-added id can be there twice
            pos = np.minimum(np.searchsorted(s.ids, found), len(s.ids) - 1)
            found = found[s.ids[pos] == found]    # not ids removed since the shortlist was built
            if not len(found):
                continue
            # faiss.knn scores one query on this thread; numpy's `@` woke BLAS threads that spun for as
            # long again on the other core (CPU per search 16.5 ms against 9.7, same wall time)
            scores, top = faiss.knn(q[row:row + 1], s.index.reconstruct_batch(found), min(k, len(found)),
                                    metric=faiss.METRIC_INNER_PRODUCT)
            D[row, :top.shape[1]], I[row, :top.shape[1]] = scores[0], found[top[0]]
        return D, I

    def _search_allowed(self, s: _Structure, q: np.ndarray, k: int, allowed: np.ndarray):
        nq = len(q)
        empty = (np.full((nq, k), -np.inf, np.float32), np.full((nq, k), -1, np.int64))
        pos, sel = self._filter(s, allowed)
        if not len(pos):
            return empty
        if not s.is_ivf:
            return s.index.search(q, k, params=faiss.SearchParameters(sel=sel))
        ivf = s.index
        if len(pos) <= _SUBSET_MAX:
            # few allowed vectors: decode exactly those (direct map) and score them all, an exhaustive search
            # of the subset instead of a scan of every list that holds one of them
            members = s.ids[pos]
            kk = min(k, len(members))
            D0, P = faiss.knn(q, ivf.reconstruct_batch(members), kk, metric=faiss.METRIC_INNER_PRODUCT)
            D, I = empty
            D[:, :kk] = D0
            I[:, :kk] = np.where(P >= 0, members[np.maximum(P, 0)], -1)
            return D, I
        nlist = ivf.nlist
        counts = np.bincount(s.lists[pos], minlength=nlist)
        nonzero = np.flatnonzero(counts)
        scores = q @ s.centroids[nonzero].T                    # (nq, L) coarse inner products
        order = np.argsort(-scores, axis=1, kind="stable")
        c = counts[nonzero][order]                            # allowed vectors per list, nearest list first
        budget = max(_FILTER_SCAN_FACTOR * s.nprobe * len(s.ids) / nlist, 4.0 * k)
        before = np.cumsum(c, axis=1) - c                     # allowed vectors in the nearer lists
        take = (before < budget) | (np.arange(len(nonzero))[None, :] < s.nprobe)
        width = int(take.sum(axis=1).max())
        rows = np.arange(nq)[:, None]
        Iq = np.where(take, nonzero[order], -1)[:, :width].astype(np.int64)
        Dq = np.ascontiguousarray(scores[rows, order][:, :width], dtype=np.float32)
        Iq = np.ascontiguousarray(Iq)
        D = np.empty((nq, k), np.float32)
        I = np.empty((nq, k), np.int64)
        params = faiss.SearchParametersIVF(nprobe=width, sel=sel)
        ivf.search_preassigned_c(nq, faiss.swig_ptr(q), k, faiss.swig_ptr(Iq), faiss.swig_ptr(Dq),
                                 faiss.swig_ptr(D), faiss.swig_ptr(I), False, params)
        return D, I

    @staticmethod
    def _filter(s: _Structure, allowed: np.ndarray) -> tuple[np.ndarray, faiss.IDSelector | None]:
        """(positions in s.ids of the allowed ids that are held, sorted; an IDSelector for them)."""
        a = np.asarray(allowed, dtype=np.int64).ravel()
        n = len(s.ids)
        if not len(a) or not n:
            return np.empty(0, np.int64), None
        top = int(s.ids[-1])
        dense = top < _BITMAP_MAX_BITS
        mask = None
        if dense and len(a) * 16 > n:
            # a large allowed set: one pass over a bitmap of the id range (O(n), no per-id binary search)
            mask = np.zeros(top + 1, dtype=bool)
            mask[a[(a >= 0) & (a <= top)]] = True
            pos = np.flatnonzero(mask[s.ids])
        else:
            pos = np.searchsorted(s.ids, a)
            ok = pos < n
            pos = pos[ok]
            pos = pos[s.ids[pos] == a[ok]]
            if len(pos) > 1 and not np.all(pos[1:] > pos[:-1]):   # `allowed` was not sorted and unique
                pos = np.unique(pos)
        if not len(pos):
            return pos, None
        # IDSelectorBatch (a hash set) is cheap to build for a few thousand ids but costs ~1 us per id to
        # build and free; a bitmap over the id range costs ~0.3 ms per million ids and tests faster
        if len(pos) <= _BATCH_SELECTOR_MAX or not dense:
            return pos, faiss.IDSelectorBatch(np.ascontiguousarray(s.ids[pos]))
        if mask is None:
            mask = np.zeros(top + 1, dtype=bool)
            mask[s.ids[pos]] = True
        return pos, faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little"))

    # ------------------------------------------------------------------ persistence

    def save(self, path: Path, meta: dict) -> None:
        """Write the index to `path` (its shortlist, if any, to `path + ".shortlist"`) and a JSON sidecar to
        `path + ".json"` (meta, kind, size, dim, tuning, each file's length and CRC-32), each atomically
        (temp file, fsync, os.replace), the sidecar last. A crash between the replacements leaves files
        that `load` refuses (CRC mismatch), never a wrong index."""
        path = Path(path)
        sidecar = path.with_name(path.name + ".json")
        shortlist_path = path.with_name(path.name + ".shortlist")
        path.parent.mkdir(parents=True, exist_ok=True)
        json.dumps(meta)                                      # not JSON-able: fail before writing anything
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp = path.with_name(f".{path.name}.{tag}.tmp")
        tmp_side = path.with_name(f".{sidecar.name}.{tag}.tmp")
        tmp_short = path.with_name(f".{shortlist_path.name}.{tag}.tmp")
        with self._mutex:
            s = self._s
            try:
                crc, nbytes = _written_index(s.index, tmp)
                side = {"format": FORMAT, "format_version": FORMAT_VERSION, "dim": self.dim, "size": len(s.ids),
                        "kind": s.kind, "nlist": int(s.index.nlist) if s.is_ivf else None, "nprobe": s.nprobe,
                        "recall_at_10": s.recall, "trained_size": s.trained_size,
                        "exact_limit": self.exact_limit, "target_recall": self.target_recall,
                        "file_bytes": nbytes, "crc32": crc, "faiss_version": faiss.__version__,
                        "saved_at": time.time(), "meta": meta}
                if s.shortlist is not None:
                    short_crc, short_bytes = _written_index(s.shortlist, tmp_short)
                    side["shortlist"] = {"kind": _shortlist_kind(s.shortlist), "nprobe": s.shortlist_nprobe,
                                         "file_bytes": short_bytes, "crc32": short_crc}
                with open(tmp_side, "w", encoding="utf-8") as f:
                    json.dump(side, f, indent=1)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
                if s.shortlist is not None:
                    os.replace(tmp_short, shortlist_path)
                os.replace(tmp_side, sidecar)
                if s.shortlist is None:
                    shortlist_path.unlink(missing_ok=True)
                _fsync_dir(path.parent)
            finally:
                for t in (tmp, tmp_side, tmp_short):
                    t.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path, *, use_gpu: bool | None = None) -> tuple["VectorIndex", dict]:
        """Read an index written by `save`: (index, meta). Raises VectorIndexUnreadable when the file or its
        sidecar is missing, the file is truncated or corrupt, or they do not match (dim, size, kind, CRC)."""
        path = Path(path)
        sidecar = path.with_name(path.name + ".json")

        def bad(why: str) -> VectorIndexUnreadable:
            return VectorIndexUnreadable(f"vector index {path}: {why}; rebuild it from the catalog")

        if not path.is_file():
            raise bad("index file is missing")
        if not sidecar.is_file():
            raise bad(f"sidecar {sidecar.name} is missing")
        try:
            side = json.loads(sidecar.read_text(encoding="utf-8"))
            if side.get("format") != FORMAT:
                raise ValueError("not a reelscope vector index sidecar")
            if side.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format version {side.get('format_version')}, this code reads {FORMAT_VERSION}")
            dim, size, kind = int(side["dim"]), int(side["size"]), str(side["kind"])
            nbytes, crc = int(side["file_bytes"]), int(side["crc32"])
            meta = side["meta"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise bad(f"sidecar {sidecar.name} is unreadable ({exc})") from exc
        actual_crc, actual_bytes = _file_crc(path)
        if actual_bytes != nbytes:
            raise bad(f"file is {actual_bytes} bytes, the sidecar says {nbytes} (truncated or replaced)")
        if actual_crc != crc:
            raise bad("file content does not match the sidecar's CRC-32 (corrupt or replaced)")
        try:
            index = faiss.read_index(str(path))
        except (RuntimeError, MemoryError, ValueError) as exc:
            why = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise bad(f"faiss cannot read it ({why})") from exc
        if index.d != dim:
            raise bad(f"index dimension {index.d}, the sidecar says {dim}")
        if index.ntotal != size:
            raise bad(f"index holds {index.ntotal} vectors, the sidecar says {size}")
        if index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise bad("index metric is not inner product")
        try:
            obj = cls(dim, exact_limit=int(side.get("exact_limit", 100_000)),
                      target_recall=float(side.get("target_recall", 0.95)), use_gpu=use_gpu)
            if kind == "flat":
                if not isinstance(index, faiss.IndexIDMap) or not isinstance(
                        faiss.downcast_index(index.index), faiss.IndexFlatIP):
                    raise bad(f"kind 'flat' but the file holds a {type(index).__name__}")
                ids = faiss.vector_to_array(index.id_map).astype(np.int64)
                lists = None
                nprobe = None
            else:
                if not isinstance(index, faiss.IndexIVFScalarQuantizer) or kind != f"ivf{index.nlist}-sq8":
                    raise bad(f"kind {kind!r} does not match the structure in the file")
                if index.direct_map.type != faiss.DirectMap.Hashtable:
                    index.set_direct_map_type(faiss.DirectMap.Hashtable)
                ids, lists = _ivf_ids_and_lists(index)
                nprobe = int(side["nprobe"])
                if not 1 <= nprobe <= index.nlist:
                    raise bad(f"nprobe {nprobe} out of range")
            trained_size = int(side.get("trained_size") or 0)
            recall = side.get("recall_at_10")
            recall = None if recall is None else float(recall)
        except (KeyError, TypeError, ValueError) as exc:
            raise bad(f"sidecar {sidecar.name} does not describe the file ({exc!r})") from exc
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        if len(ids) > 1 and np.any(ids[1:] == ids[:-1]):
            raise bad("the file holds duplicate ids")
        if len(ids) and ids[0] < 0:
            raise bad("the file holds negative ids")
        if lists is not None:
            lists = lists[order]
        obj._s = _Structure(index, kind, ids, lists, nprobe, trained_size, recall)
        if side.get("shortlist"):
            obj._s.shortlist, obj._s.shortlist_nprobe = _read_shortlist(path.with_name(path.name + ".shortlist"),
                                                                        side["shortlist"], index, bad)
        return obj, meta

    # ------------------------------------------------------------------ internals: changes

    def _check_rows(self, ids, vectors) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(ids)
        if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or len(ids) == 0):
            raise ValueError("ids must be a 1-d integer array")
        ids = ids.astype(np.int64)
        x = np.asarray(vectors)  # _normalise below makes it float32, or keeps float16
        if len(ids) == 0 and x.size == 0:
            return ids, np.empty((0, self.dim), np.float32)
        if x.ndim != 2 or x.shape != (len(ids), self.dim):
            raise ValueError(f"vectors must be ({len(ids)}, {self.dim}), not {x.shape}")
        if np.any(ids < 0):
            raise ValueError("ids must be >= 0")
        # a repeated id: the last row wins
        rev_unique, rev_first = np.unique(ids[::-1], return_index=True)
        if len(rev_unique) != len(ids):
            keep = np.sort(len(ids) - 1 - rev_first)
            ids, x = ids[keep], x[keep]
        return ids, _normalise(x)

    @staticmethod
    def _assign(ivf: faiss.IndexIVF, x: np.ndarray) -> np.ndarray:
        """The inverted list of each row (its nearest centroid), as FAISS's own add would choose."""
        lists = np.empty(len(x), np.int64)
        for a in range(0, len(x), _CHUNK):
            lists[a:a + _CHUNK] = ivf.quantizer.search(_float32(x[a:a + _CHUNK]), 1)[1][:, 0]
        return lists

    def _add_locked(self, s: _Structure, ids: np.ndarray, x: np.ndarray, lists: np.ndarray | None = None) -> None:
        """Add rows whose ids are not held (caller holds the write lock); IVF: `lists` = _assign(x) if known."""
        if self._gpu_index is not None and s is self._s:
            try:
                with self._gpu_lock:
                    self._gpu_index.add_with_ids(_float32(x), ids)
            except Exception:  # noqa: BLE001 -- the copy is only a cache: re-copy on the next search
                self._gpu_index = None
        if s.is_ivf:
            if lists is None:
                lists = self._assign(s.index, x)
            for a in range(0, len(ids), _CHUNK):
                xa = _float32(x[a:a + _CHUNK])
                ia = np.ascontiguousarray(ids[a:a + _CHUNK])
                la = np.ascontiguousarray(lists[a:a + _CHUNK])
                s.index.add_core(len(xa), faiss.swig_ptr(xa), faiss.swig_ptr(ia), faiss.swig_ptr(la))
                if s.shortlist is not None:
                    s.shortlist.add_with_ids(xa, ia)
        else:
            s.index.add_with_ids(_float32(x), ids)
        order = np.argsort(ids)
        at = np.searchsorted(s.ids, ids[order])
        s.ids = np.insert(s.ids, at, ids[order])
        if s.is_ivf:
            s.lists = np.insert(s.lists, at, lists[order].astype(np.int32))

    def _remove_locked(self, s: _Structure, ids: np.ndarray) -> int:
        """Remove held ids among `ids` (unique int64); caller holds the write lock. Returns how many."""
        if not len(s.ids):
            return 0
        pos = np.searchsorted(s.ids, ids)
        ok = pos < len(s.ids)
        pos = pos[ok]
        pos = pos[s.ids[pos] == ids[ok]]
        if not len(pos):
            return 0
        present = np.ascontiguousarray(s.ids[pos])
        # IVF with a hash-table direct map removes by looking each id up (it takes only IDSelectorArray);
        # IndexIDMap tests every stored id against the selector, so a hash set there
        sel = faiss.IDSelectorArray(present) if s.is_ivf else faiss.IDSelectorBatch(present)
        removed = s.index.remove_ids(sel)
        if removed != len(present):   # cannot happen unless the bookkeeping is wrong: fail loudly
            raise RuntimeError(f"faiss removed {removed} vectors, expected {len(present)}")
        # removed ids stay in the shortlist (see "Shortlist" above): fast-scan lists answered wrongly after
        # a removal and a later add in FAISS 1.15.1
        s.ids = np.delete(s.ids, pos)
        if s.is_ivf:
            s.lists = np.delete(s.lists, pos)
        self._gpu_index = None
        return len(present)

    def _snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors) reconstructed from the current structure, in the structure's order."""
        s = self._s
        if not len(s.ids):
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        if s.is_ivf:
            ivf = s.index
            ids = np.empty(ivf.ntotal, np.int64)
            x = np.empty((ivf.ntotal, self.dim), np.float32)
            at = 0
            for l in range(ivf.nlist):
                list_ids, codes = _invlist(ivf.invlists, l)
                if not len(list_ids):
                    continue
                end = at + len(list_ids)
                ids[at:end] = list_ids
                x[at:end] = ivf.sq.decode(codes)
                if ivf.by_residual:
                    x[at:end] += s.centroids[l]
                at = end
        else:
            ids = faiss.vector_to_array(s.index.id_map).astype(np.int64)
            x = s.index.index.reconstruct_n(0, s.index.ntotal)
        return ids, x

    def _rebuild_locked(self, vectors_by_id, *, upsert: tuple[np.ndarray, np.ndarray] | None = None,
                        drop: np.ndarray | None = None) -> None:
        """Re-train from vectors_by_id() or, when None, from the index itself. `upsert` / `drop`: rows the
        triggering add/remove just changed, applied on top of vectors_by_id()'s rows in case the caller's
        source does not show them yet (e.g. not committed)."""
        started = time.perf_counter()
        if vectors_by_id is None:
            ids, x = self._snapshot()
            if len(ids):
                x = _normalise(x, own=True)
        else:
            ids, x = self._check_rows(*vectors_by_id())
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
            self._s = new
            self._gpu_index = None
        log.info("vector index (%d-d) built: %s, %d vectors, nprobe %s, shortlist %s (nprobe %s), recall@10 ~%s, "
                 "%.1f s", self.dim, new.kind, len(ids), new.nprobe, _shortlist_kind(new.shortlist),
                 new.shortlist_nprobe, None if new.recall is None else round(new.recall, 3), new.build_s)

    def _build(self, ids: np.ndarray, x: np.ndarray) -> _Structure:
        """A new structure for these rows (ids unique, any order; x normalised)."""
        n = len(ids)
        if n <= self.exact_limit:
            index = _empty_flat(self.dim)
            if n:
                index.add_with_ids(_float32(x), ids)
            return _Structure(index, "flat", np.sort(ids), None, None, n, 1.0)
        nlist = _nlist_for(n)
        rng = np.random.default_rng(n)
        sample = _float32(x[np.sort(rng.choice(n, min(n, _TRAIN_PER_LIST * nlist), replace=False))])
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                            faiss.METRIC_INNER_PRODUCT, True)
        ivf.cp.niter = _KMEANS_ITERATIONS
        ivf.cp.max_points_per_centroid = _TRAIN_PER_LIST
        ivf.cp.seed = 1234
        ivf.train(sample)
        del sample
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        s = _Structure(ivf, f"ivf{nlist}-sq8", np.empty(0, np.int64), np.empty(0, np.int32), 1, n, None)
        lists = self._assign(ivf, x)
        # reserve each list's exact final size: appending would grow them by doubling (~20% more RAM, for good)
        for l, count in enumerate(np.bincount(lists, minlength=nlist).tolist()):
            ivf.invlists.resize(l, count)
            ivf.invlists.resize(l, 0)
        self._add_locked(s, ids, x, lists)
        tuning_sets = self._tuning_sets(ids, x)
        s.nprobe, s.recall = self._tune(s, tuning_sets)
        if self.shortlist is not False and self.dim % 2 == 0:
            self._add_shortlist(s, ids, x, tuning_sets)
        return s

    def _add_shortlist(self, s: _Structure, ids: np.ndarray, x: np.ndarray, tuning_sets: list) -> None:
        """Build the fast-scan shortlist over s's centroids, tune its nprobe, and keep it if it is
        forced or measured faster than the SQ8 scan at the recall target (see "Shortlist" above)."""
        started = time.perf_counter()
        quantizer = faiss.IndexFlatIP(self.dim)
        quantizer.add(s.centroids)
        shortlist = faiss.IndexIVFPQFastScan(quantizer, self.dim, s.index.nlist, self.dim // 2, 4,
                                             faiss.METRIC_INNER_PRODUCT)
        shortlist.own_fields = True
        quantizer.this.disown()  # the shortlist frees it
        rng = np.random.default_rng(len(ids) + 2)
        shortlist.train(_float32(x[np.sort(rng.choice(len(ids), min(len(ids), _SHORTLIST_TRAIN), replace=False))]))
        for a in range(0, len(ids), _EXACT_CHUNK):  # small blocks: FAISS makes a float32 residual copy of each
            shortlist.add_with_ids(_float32(x[a:a + _EXACT_CHUNK]), np.ascontiguousarray(ids[a:a + _EXACT_CHUNK]))
        s.shortlist = shortlist
        nprobe, recall = self._tune(s, tuning_sets, start=s.nprobe, via_shortlist=True)
        if recall < self.target_recall and not self.shortlist:
            log.info("vector index (%d-d): shortlist dropped (recall@10 %.3f even probing every list)", self.dim, recall)
            s.shortlist = None
            return
        if self.shortlist is None:
            plain_ms = self._time_search(s, lambda q: self._scan(s, q, _TIMING_K))
            short_ms = self._time_search(s, lambda q: self._search_shortlist(s, q, _TIMING_K, nprobe))
            keep = short_ms * _SHORTLIST_GAIN <= plain_ms
            log.info("vector index (%d-d): shortlist %s (%.2f ms against %.2f ms a query at recall@10 ~%.3f / "
                     "~%.3f; built in %.1f s)", self.dim, "kept" if keep else "dropped", short_ms, plain_ms, recall,
                     s.recall, time.perf_counter() - started)
            if not keep:
                s.shortlist = None
                return
        s.shortlist_nprobe, s.recall = nprobe, recall

    def _time_search(self, s: _Structure, search) -> float:
        """Median ms of single-query searches as the engine makes them (one OpenMP thread)."""
        queries = self._tuning_queries if self._tuning_queries is not None else \
            _normalise(np.random.default_rng(3).standard_normal((_TIMING_QUERIES, self.dim)).astype(np.float32))
        times = []
        with _omp_threads(1):
            for q in queries[:_TIMING_QUERIES]:
                started = time.perf_counter()
                search(q[None])
                times.append(time.perf_counter() - started)
        return 1000 * float(np.median(times))

    def _tuning_sets(self, ids: np.ndarray, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None, np.ndarray]]:
        """(queries, their own ids or None, exact top-10 ids) to tune on: queries like the stored vectors
        (query by example) and, when given, real text queries, which can lie far from every cluster and
        need many more lists probed. The exact truth is computed once, for the scan and the shortlist."""
        n = len(ids)
        rng = np.random.default_rng(n + 1)
        pick = rng.choice(n, min(n, _TUNING_QUERIES), replace=False)
        own = ids[pick]
        # perturbed copies at cosine ~_TUNING_COS of the originals; the originals' own ids are left out of
        # both the truth and the answers, so finding a query's own source vector does not count
        noise = rng.standard_normal((len(pick), self.dim)).astype(np.float32)
        noise *= math.tan(math.acos(_TUNING_COS)) / np.linalg.norm(noise, axis=1, keepdims=True)
        sets = [(_normalise(x[pick] + noise), own)]
        if self._tuning_queries is None and self.query_source is not None:
            self.set_tuning_queries(self.query_source())
        if self._tuning_queries is not None:
            sets.append((self._tuning_queries, None))
        return [(q, own, _drop_own(ids[_exact_top(q, x, 10 if own is None else 11)], own, 10)) for q, own in sets]

    def _tune(self, s: _Structure, tuning_sets: list, start: int = 1, via_shortlist: bool = False) -> tuple[int, float]:
        """Smallest nprobe whose recall@10 against exact float search reaches target_recall (lower 95%
        bound) on every tuning set (see _tuning_sets), searching by the scan or the shortlist."""
        nprobe, recall = start, None
        for q, own, truth in tuning_sets:
            found = self._tune_on(s, q, own, truth, nprobe, via_shortlist)
            if recall is None or found[0] > nprobe:
                nprobe, recall = found
        return nprobe, recall

    def _tune_on(self, s: _Structure, q: np.ndarray, own: np.ndarray | None, truth: np.ndarray, start: int,
                 via_shortlist: bool) -> tuple[int, float]:
        extra = 0 if own is None else 1
        best = (s.index.nlist, 0.0)
        for nprobe in [p for p in _NPROBE_STEPS if start <= p < s.index.nlist] + [s.index.nlist]:
            if via_shortlist:
                _, got = self._search_shortlist(s, q, 10 + extra, nprobe)
            else:
                _, got = s.index.search(q, 10 + extra, params=faiss.SearchParametersIVF(nprobe=nprobe))
            got = _drop_own(got, own, 10)
            per_query = np.array([len(np.intersect1d(g[g >= 0], t)) for g, t in zip(got, truth)]) / 10
            recall = float(per_query.mean())
            # the estimate must clear the target with 95% confidence (one-sided), not just on average
            lower = recall - 1.645 * float(per_query.std(ddof=1)) / math.sqrt(len(per_query)) if len(q) > 1 else recall
            if lower >= self.target_recall:
                return nprobe, recall
            best = (nprobe, recall)
        if not via_shortlist:  # a shortlist that falls short is dropped, and _add_shortlist says so
            log.warning("vector index (%d-d): recall@10 %.3f < target %.3f even scanning every list (8-bit "
                        "quantisation limits it); using nprobe=nlist", self.dim, best[1], self.target_recall)
        return best

    # ------------------------------------------------------------------ internals: GPU

    def _gpu(self, s: _Structure):
        """The GPU copy of s.index, made on first use after a change; None when it cannot be made."""
        with self._gpu_lock:
            if self._gpu_index is not None:
                return self._gpu_index
            try:
                if self._gpu_res is None:
                    self._gpu_res = faiss.StandardGpuResources()
                gpu = faiss.index_cpu_to_gpu(self._gpu_res, 0, s.index)
                if s.is_ivf:
                    faiss.GpuParameterSpace().set_index_parameter(gpu, "nprobe", s.nprobe)
            except Exception as exc:  # noqa: BLE001 -- fall back to the CPU, loudly, once
                log.warning("vector index: GPU copy failed (%s); searching on the CPU", exc)
                self.use_gpu = False
                return None
            self._gpu_index = gpu
            return gpu


def _shortlist_worn(s: _Structure) -> bool:
    return s.shortlist is not None and s.shortlist.ntotal - len(s.ids) > _SHORTLIST_LEFTOVERS * len(s.ids)


def _shortlist_kind(shortlist: faiss.IndexIVFPQFastScan | None) -> str | None:
    return None if shortlist is None else f"pq{shortlist.pq.M}x{shortlist.pq.nbits}fs"


def _written_index(index: faiss.Index, tmp: Path) -> tuple[int, int]:
    """write_index + fsync; (CRC-32, bytes) of what was written."""
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    return _file_crc(tmp)


def _read_shortlist(path: Path, side: dict, ivf: faiss.IndexIVF, bad) -> tuple[faiss.IndexIVFPQFastScan, int]:
    """The shortlist file a sidecar describes, checked against it and against the main IVF index."""
    try:
        nbytes, crc, nprobe = int(side["file_bytes"]), int(side["crc32"]), int(side["nprobe"])
    except (KeyError, TypeError, ValueError) as exc:
        raise bad(f"its shortlist entry is unreadable ({exc!r})") from exc
    if not path.is_file():
        raise bad(f"shortlist file {path.name} is missing")
    if _file_crc(path) != (crc, nbytes):
        raise bad(f"shortlist file {path.name} does not match the sidecar's length and CRC-32")
    try:
        shortlist = faiss.read_index(str(path))
    except (RuntimeError, MemoryError, ValueError) as exc:
        raise bad(f"faiss cannot read its shortlist ({type(exc).__name__})") from exc
    if not isinstance(shortlist, faiss.IndexIVFPQFastScan) or (shortlist.d, shortlist.nlist) != (ivf.d, ivf.nlist) \
            or shortlist.ntotal < ivf.ntotal or _shortlist_kind(shortlist) != side.get("kind"):
        raise bad("its shortlist does not match the index")
    if not 1 <= nprobe <= shortlist.nlist:
        raise bad(f"shortlist nprobe {nprobe} out of range")
    return shortlist, nprobe


def _exact_top(q: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """Row positions in x of each query's exact top-k by inner product, best first (numpy BLAS, in chunks)."""
    best_s = np.empty((len(q), 0), np.float32)
    best_i = np.empty((len(q), 0), np.int64)
    for a in range(0, len(x), _EXACT_CHUNK):
        sc = q @ _float32(x[a:a + _EXACT_CHUNK]).T
        kk = min(k, sc.shape[1])
        part = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
        best_s = np.concatenate([best_s, np.take_along_axis(sc, part, axis=1)], axis=1)
        best_i = np.concatenate([best_i, part + a], axis=1)
        if best_s.shape[1] > k:
            part = np.argpartition(-best_s, k - 1, axis=1)[:, :k]
            best_s = np.take_along_axis(best_s, part, axis=1)
            best_i = np.take_along_axis(best_i, part, axis=1)
    order = np.argsort(-best_s, axis=1, kind="stable")
    return np.take_along_axis(best_i, order, axis=1)


def _drop_own(found: np.ndarray, own: np.ndarray | None, k: int) -> np.ndarray:
    """Each row of `found` without that row's own id, cut to k columns."""
    if own is None:
        return found[:, :k]
    out = np.full((len(found), k), -1, np.int64)
    for i, row in enumerate(found):
        row = row[row != own[i]][:k]
        out[i, :len(row)] = row
    return out


def _invlist(invlists: faiss.InvertedLists, l: int, codes: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Copies of inverted list l's ids and (optionally) codes."""
    size = invlists.list_size(l)
    list_ids = np.empty(size, np.int64)
    list_codes = np.empty((size, invlists.code_size), np.uint8) if codes else None
    if size:
        ptr = invlists.get_ids(l)
        try:
            faiss.memcpy(faiss.swig_ptr(list_ids), ptr, list_ids.nbytes)
        finally:
            invlists.release_ids(l, ptr)
        if codes:
            ptr = invlists.get_codes(l)
            try:
                faiss.memcpy(faiss.swig_ptr(list_codes), ptr, list_codes.nbytes)
            finally:
                invlists.release_codes(l, ptr)
    return list_ids, list_codes


def _ivf_ids_and_lists(ivf: faiss.IndexIVF) -> tuple[np.ndarray, np.ndarray]:
    ids_parts, list_parts = [], []
    for l in range(ivf.nlist):
        list_ids, _ = _invlist(ivf.invlists, l, codes=False)
        if not len(list_ids):
            continue
        ids_parts.append(list_ids)
        list_parts.append(np.full(len(list_ids), l, np.int32))
    if not ids_parts:
        return np.empty(0, np.int64), np.empty(0, np.int32)
    return np.concatenate(ids_parts), np.concatenate(list_parts)
