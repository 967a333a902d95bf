"""One built FAISS structure and the rows it holds: flat or IVF-SQ8, with an optional fast-scan shortlist.

Structures ("kind")
-------------------
* ``"flat"``: exact inner-product search (``IndexIDMap(IndexFlatIP)``) while size <= exact_limit.
* ``"ivf{nlist}-sq8"``: above it, an inverted file with 8-bit scalar-quantised vectors
  (``IndexIVFScalarQuantizer``, QT_8bit, residual encoding, IP metric, spherical k-means on a sample of
  ``TRAIN_PER_LIST * nlist`` vectors; nlist a power of two near ``NLIST_PER_SQRT * sqrt(n)``). 1 byte
  per dimension: 1M x 512-d is ~0.5 GB (float32 flat would be 2 GB). IVF-SQ8 was chosen over HNSW32-SQ8
  by measurement on the 2-core machine (bench/RESULTS.md): at 1M x 384-d the same sub-millisecond latency
  at recall@10 >= 0.95, a 17 s build instead of 320 s, 0.4 GB instead of 0.6 GB, native removal (HNSW
  cannot delete: tombstones and compaction) and a filtered search that stays exact for narrow filters.
  nlist ~ sqrt(n) rather than 4 * sqrt(n): at 1M, 4096 lists took 116 s to build, 2048 43 s, 1024 17 s,
  for 0.5 / 0.6 / 0.9 ms per query. How many lists a search probes is tuned in tuning.py.

Shortlist (IVF only): beside the SQ8 lists, a 4-bit fast-scan PQ inverted file over the same centroids
(``IndexIVFPQFastScan``, dim/2 sub-quantisers, about a third of the SQ8 codes' size) picks
``max(SHORTLIST_MIN, SHORTLIST_PER_K * k)`` candidates, which are then scored exactly as the SQ8 scan
scores them (their 8-bit codes decoded by id, ``reconstruct_batch``). Whether it is kept is measured
(tuning.py). Removed (and replaced) ids' old codes stay in the shortlist and are skipped as no longer
held: fast-scan lists answered wrongly after a removal and a later add in FAISS 1.15.1. When they pass
``SHORTLIST_LEFTOVERS`` of the size the index re-trains (`worn`).

Removal: ``IndexIVF.remove_ids`` and ``IndexIDMap.remove_ids`` both delete for real (no tombstones, no
compaction). The IVF index keeps a hash-table direct map (id -> list, offset; ~48 B per id, ~50 MB per
million), so a removal looks each id up instead of scanning every list, and a narrow filter can decode
just the allowed vectors. The list each id lives in is also tracked here (ids are assigned to lists
here and added with ``add_core``): upserts find what to replace without asking FAISS, and a broad
filter probes only lists that hold allowed ids.
"""
from __future__ import annotations

import math

import faiss
import numpy as np

NLIST_PER_SQRT = 1           # nlist ~ sqrt(n), a power of two
MIN_PER_LIST = 39            # FAISS wants >= 39 training points per centroid
TRAIN_PER_LIST = 64          # k-means sample: 64 vectors per list
KMEANS_ITERATIONS = 10
CHUNK = 1 << 16
EXACT_CHUNK = 1 << 14        # rows per block where a block's temporaries set the start's peak RSS: the exact
                             # top-k that tuning measures against (~0.4 GB a block at 1 << 16), shortlist adds
SHORTLIST_MIN = 1000         # candidates the fast-scan shortlist hands to the 8-bit re-scoring, at least...
SHORTLIST_PER_K = 5          # ... and this many per result asked for
SHORTLIST_TRAIN = 16_384     # its training rows: 16 centroids per 2-d sub-quantiser need few (more only raised the peak RSS)
SHORTLIST_LEFTOVERS = 0.1    # re-train when removed ids' codes left in the shortlist pass this share of the size


class Structure:
    """One built FAISS structure with the bookkeeping that goes with it (swapped in as a whole).

    Its add/remove edit it in place; the caller holds whatever lock keeps searches out meanwhile."""

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
        self.shortlist: faiss.IndexIVFPQFastScan | None = None
        self.shortlist_nprobe: int | None = None
        self.centroids: np.ndarray | None = None
        if isinstance(index, faiss.IndexIVF):
            self.centroids = index.quantizer.reconstruct_n(0, index.nlist)

    @property
    def is_ivf(self) -> bool:
        return self.lists is not None

    @property
    def nlist(self) -> int | None:
        return int(self.index.nlist) if self.is_ivf else None

    @property
    def shortlist_kind(self) -> str | None:
        return shortlist_kind(self.shortlist)

    @property
    def worn(self) -> bool:
        """Removed ids' codes left in the shortlist have passed SHORTLIST_LEFTOVERS of the size."""
        return self.shortlist is not None and \
            self.shortlist.ntotal - len(self.ids) > SHORTLIST_LEFTOVERS * len(self.ids)

    def nbytes(self, dim: int) -> int:
        """Approximate RAM held: FAISS codes, ids and centroids plus the bookkeeping arrays here."""
        n = len(self.ids)
        extra = self.ids.nbytes + (self.lists.nbytes if self.lists is not None else 0)
        if self.shortlist is not None:
            extra += n * (self.shortlist.code_size + 8) + self.index.nlist * dim * 4
        if self.is_ivf:   # codes and ids in the lists, ~48 B per id in the direct map's hash table, centroids
            return n * (self.index.code_size + 8 + 48) + self.index.nlist * dim * 4 * 2 + extra
        return n * (dim * 4 + 8) + extra

    # -- searching ------------------------------------------------------------------------------------

    def scan(self, q: np.ndarray, k: int, nprobe: int | None = None):
        """Every vector (flat), or every vector in the nearest lists (IVF, at the tuned nprobe)."""
        params = faiss.SearchParametersIVF(nprobe=nprobe or self.nprobe) if self.is_ivf else None
        return self.index.search(q, k, params=params)

    def search_shortlist(self, q: np.ndarray, k: int, nprobe: int | None = None):
        """Candidates from the fast-scan lists, scored by their 8-bit codes as the SQ8 scan would."""
        wanted = max(SHORTLIST_MIN, SHORTLIST_PER_K * k)
        params = faiss.SearchParametersIVF(nprobe=nprobe or self.shortlist_nprobe)
        _, candidates = self.shortlist.search(q, wanted, params=params)
        D = np.full((len(q), k), -np.inf, np.float32)
        I = np.full((len(q), k), -1, np.int64)
        for row, found in enumerate(candidates):
            found = np.unique(found[found >= 0])  # a re-added id can be there twice
            pos = np.minimum(np.searchsorted(self.ids, found), len(self.ids) - 1)
            found = found[self.ids[pos] == found]  # not ids removed since the shortlist was built
            if not len(found):
                continue
            # faiss.knn scores one query on this thread; numpy's `@` woke BLAS threads that spun for as
            # long again on the other core (CPU per search 16.5 ms against 9.7, same wall time)
            scores, top = faiss.knn(q[row:row + 1], self.index.reconstruct_batch(found), min(k, len(found)),
                                    metric=faiss.METRIC_INNER_PRODUCT)
            D[row, :top.shape[1]], I[row, :top.shape[1]] = scores[0], found[top[0]]
        return D, I

    # -- changes --------------------------------------------------------------------------------------

    def add(self, ids: np.ndarray, x: np.ndarray, lists: np.ndarray | None = None) -> None:
        """Add rows whose ids are not held; IVF: `lists` = assign(x) if known."""
        if self.is_ivf:
            if lists is None:
                lists = assign(self.index, x)
            for a in range(0, len(ids), CHUNK):
                xa = float32(x[a:a + CHUNK])
                ia = np.ascontiguousarray(ids[a:a + CHUNK])
                la = np.ascontiguousarray(lists[a:a + CHUNK])
                self.index.add_core(len(xa), faiss.swig_ptr(xa), faiss.swig_ptr(ia), faiss.swig_ptr(la))
                if self.shortlist is not None:
                    self.shortlist.add_with_ids(xa, ia)
        else:
            self.index.add_with_ids(float32(x), ids)
        order = np.argsort(ids)
        at = np.searchsorted(self.ids, ids[order])
        self.ids = np.insert(self.ids, at, ids[order])
        if self.is_ivf:
            self.lists = np.insert(self.lists, at, lists[order].astype(np.int32))

    def remove(self, ids: np.ndarray) -> int:
        """Remove the held ids among `ids` (unique int64); returns how many."""
        if not len(self.ids):
            return 0
        pos = np.searchsorted(self.ids, ids)
        ok = pos < len(self.ids)
        pos = pos[ok]
        pos = pos[self.ids[pos] == ids[ok]]
        if not len(pos):
            return 0
        present = np.ascontiguousarray(self.ids[pos])
        # IVF with a hash-table direct map removes by looking each id up (it takes only IDSelectorArray);
        # IndexIDMap tests every stored id against the selector, so a hash set there
        sel = faiss.IDSelectorArray(present) if self.is_ivf else faiss.IDSelectorBatch(present)
        removed = self.index.remove_ids(sel)
        if removed != len(present):   # cannot happen unless the bookkeeping is wrong: fail loudly
            raise RuntimeError(f"faiss removed {removed} vectors, expected {len(present)}")
        self.ids = np.delete(self.ids, pos)   # the shortlist keeps them (see the module docstring)
        if self.is_ivf:
            self.lists = np.delete(self.lists, pos)
        return len(present)

    def snapshot(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors) reconstructed from the structure, in its order: exact for flat, 8-bit
        decoded for IVF."""
        if not len(self.ids):
            return np.empty(0, np.int64), np.empty((0, dim), np.float32)
        if not self.is_ivf:
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            return ids, self.index.index.reconstruct_n(0, self.index.ntotal)
        ivf = self.index
        ids = np.empty(ivf.ntotal, np.int64)
        x = np.empty((ivf.ntotal, dim), np.float32)
        at = 0
        for l in range(ivf.nlist):
            list_ids, codes = _invlist(ivf.invlists, l)
            if not len(list_ids):
                continue
            end = at + len(list_ids)
            ids[at:end] = list_ids
            x[at:end] = ivf.sq.decode(codes)
            if ivf.by_residual:
                x[at:end] += self.centroids[l]
            at = end
        return ids, x


def flat_structure(dim: int, ids: np.ndarray, x: np.ndarray) -> Structure:
    index = faiss.IndexIDMap(faiss.IndexFlatIP(dim))
    if len(ids):
        index.add_with_ids(float32(x), ids)
    return Structure(index, "flat", np.sort(ids), None, None, len(ids), 1.0)


def trained_ivf(dim: int, ids: np.ndarray, x: np.ndarray) -> Structure:
    """An IVF-SQ8 structure trained on a sample of these rows and holding them all, nprobe not yet tuned."""
    n = len(ids)
    nlist = nlist_for(n)
    rng = np.random.default_rng(n)
    sample = float32(x[np.sort(rng.choice(n, min(n, TRAIN_PER_LIST * nlist), replace=False))])
    ivf = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                        faiss.METRIC_INNER_PRODUCT, True)
    ivf.cp.niter = KMEANS_ITERATIONS
    ivf.cp.max_points_per_centroid = TRAIN_PER_LIST
    ivf.cp.seed = 1234
    ivf.train(sample)
    del sample
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    s = Structure(ivf, f"ivf{nlist}-sq8", np.empty(0, np.int64), np.empty(0, np.int32), 1, n, None)
    lists = assign(ivf, x)
    # reserve each list's exact final size: appending would grow them by doubling (~20% more RAM, for good)
    for l, count in enumerate(np.bincount(lists, minlength=nlist).tolist()):
        ivf.invlists.resize(l, count)
        ivf.invlists.resize(l, 0)
    s.add(ids, x, lists)
    return s


def shortlist_over(s: Structure, ids: np.ndarray, x: np.ndarray) -> faiss.IndexIVFPQFastScan:
    """A fast-scan shortlist over s's centroids holding these rows (s's own)."""
    dim = s.index.d
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(s.centroids)
    shortlist = faiss.IndexIVFPQFastScan(quantizer, dim, s.index.nlist, dim // 2, 4, faiss.METRIC_INNER_PRODUCT)
    shortlist.own_fields = True
    quantizer.this.disown()  # the shortlist frees it
    rng = np.random.default_rng(len(ids) + 2)
    shortlist.train(float32(x[np.sort(rng.choice(len(ids), min(len(ids), SHORTLIST_TRAIN), replace=False))]))
    for a in range(0, len(ids), EXACT_CHUNK):  # small blocks: FAISS makes a float32 residual copy of each
        shortlist.add_with_ids(float32(x[a:a + EXACT_CHUNK]), np.ascontiguousarray(ids[a:a + EXACT_CHUNK]))
    return shortlist


def loaded_structure(index: faiss.Index, kind: str, nprobe: int | None, trained_size: int,
                     recall: float | None) -> Structure:
    """A structure around an index read from a file; ValueError when the file's content is not one
    this module makes."""
    if kind == "flat":
        if not isinstance(index, faiss.IndexIDMap) or not isinstance(faiss.downcast_index(index.index),
                                                                     faiss.IndexFlatIP):
            raise ValueError(f"kind 'flat' but the file holds a {type(index).__name__}")
        ids, lists = faiss.vector_to_array(index.id_map).astype(np.int64), None
        nprobe = None
    else:
        if not isinstance(index, faiss.IndexIVFScalarQuantizer) or kind != f"ivf{index.nlist}-sq8":
            raise ValueError(f"kind {kind!r} does not match the structure in the file")
        if index.direct_map.type != faiss.DirectMap.Hashtable:
            index.set_direct_map_type(faiss.DirectMap.Hashtable)
        ids, lists = _ivf_ids_and_lists(index)
        if nprobe is None or not 1 <= nprobe <= index.nlist:
            raise ValueError(f"nprobe {nprobe} out of range")
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    if len(ids) > 1 and np.any(ids[1:] == ids[:-1]):
        raise ValueError("the file holds duplicate ids")
    if len(ids) and ids[0] < 0:
        raise ValueError("the file holds negative ids")
    return Structure(index, kind, ids, None if lists is None else lists[order], nprobe, trained_size, recall)


def nlist_for(n: int) -> int:
    nlist = 2 ** round(math.log2(max(1.0, NLIST_PER_SQRT * math.sqrt(n))))
    while nlist > 1 and nlist * MIN_PER_LIST > n:
        nlist //= 2
    return max(1, min(nlist, 65536))


def assign(ivf: faiss.IndexIVF, x: np.ndarray) -> np.ndarray:
    """The inverted list of each row (its nearest centroid), as FAISS's own add would choose."""
    lists = np.empty(len(x), np.int64)
    for a in range(0, len(x), CHUNK):
        lists[a:a + CHUNK] = ivf.quantizer.search(float32(x[a:a + CHUNK]), 1)[1][:, 0]
    return lists


def shortlist_kind(shortlist: faiss.IndexIVFPQFastScan | None) -> str | None:
    return None if shortlist is None else f"pq{shortlist.pq.M}x{shortlist.pq.nbits}fs"


def normalise(vectors: np.ndarray, *, own: bool = False) -> np.ndarray:
    """Unit-length rows, float32 or (as given, for building from a million rows in half the memory)
    float16. Rows already of unit length are used as they are (no copy of the caller's array);
    otherwise a normalised copy, or the array itself normalised in place when `own`."""
    x = np.asarray(vectors)
    if x.dtype != np.float16:
        x = np.asarray(x, dtype=np.float32)
    norms = np.empty(len(x), np.float32)
    for a in range(0, len(x), CHUNK):  # np.linalg.norm would square a full copy
        chunk = np.asarray(x[a:a + CHUNK], dtype=np.float32)
        norms[a:a + CHUNK] = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise ValueError("vectors must be finite and non-zero")
    # float16 keeps 11 bits: a unit row rounds to a norm within ~1e-3 of 1
    if np.all(np.abs(norms - 1.0) <= (2e-3 if x.dtype == np.float16 else 1e-5)):
        return np.ascontiguousarray(x)
    out = x if own and x.flags.c_contiguous and x.flags.writeable else np.empty(x.shape, x.dtype)
    for a in range(0, len(x), CHUNK):
        out[a:a + CHUNK] = np.asarray(x[a:a + CHUNK], dtype=np.float32) / norms[a:a + CHUNK, None]
    return out


def checked_rows(dim: int, ids, vectors) -> tuple[np.ndarray, np.ndarray]:
    """(int64 ids, normalised vectors) from what a caller handed in; a repeated id's last row wins."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or len(ids) == 0):
        raise ValueError("ids must be a 1-d integer array")
    ids = ids.astype(np.int64)
    x = np.asarray(vectors)  # normalise makes it float32, or keeps float16
    if len(ids) == 0 and x.size == 0:
        return ids, np.empty((0, dim), np.float32)
    if x.ndim != 2 or x.shape != (len(ids), dim):
        raise ValueError(f"vectors must be ({len(ids)}, {dim}), not {x.shape}")
    if np.any(ids < 0):
        raise ValueError("ids must be >= 0")
    rev_unique, rev_first = np.unique(ids[::-1], return_index=True)
    if len(rev_unique) != len(ids):
        keep = np.sort(len(ids) - 1 - rev_first)
        ids, x = ids[keep], x[keep]
    return ids, normalise(x)


def float32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def _invlist(invlists: faiss.InvertedLists, l: int, codes: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Copies of inverted list l's ids and (optionally) codes."""
    size = invlists.list_size(l)
    list_ids = np.empty(size, np.int64)
    list_codes = np.empty((size, invlists.code_size), np.uint8) if codes else None
    if size:
        _copy_out(invlists.get_ids, invlists.release_ids, l, list_ids)
        if codes:
            _copy_out(invlists.get_codes, invlists.release_codes, l, list_codes)
    return list_ids, list_codes


def _copy_out(get, release, l: int, out: np.ndarray) -> None:
    """Copy what FAISS lends for list l (its ids or its codes) into `out`, and hand it back."""
    ptr = get(l)
    try:
        faiss.memcpy(faiss.swig_ptr(out), ptr, out.nbytes)
    finally:
        release(l, ptr)


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
