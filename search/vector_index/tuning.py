"""How hard an IVF structure searches: nprobe tuned to a recall target, and whether the shortlist pays.

After training, `nprobe` is raised step by step until recall@10 against exact float search reaches the
target -- its one-sided 95% lower confidence bound does -- on perturbed copies of stored vectors used as
queries, with the originals' own ids left out of both the truth and the answers, and on real query
vectors when the caller gave some (e.g. CLIP *text* embeddings for the keyframe channel, which lie far
from every cluster of image vectors and need many more lists probed).

The fast-scan shortlist (structure.py) has its own nprobe, tuned the same way, and is kept only if,
timed on the tuning queries at the recall target, it is at least ``SHORTLIST_GAIN`` times faster than
the SQ8 scan: fast-scan wins where the CPU has AVX2 (1M x 512 on the 2-core machine: 21.1 -> 9.1 ms at
the same recall, bench/fastscan_probe.py) and loses where FAISS falls back to its generic build.
"""
from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager

import faiss
import numpy as np

from .structure import EXACT_CHUNK, Structure, float32, normalise, shortlist_over

log = logging.getLogger(__name__)

TUNING_QUERIES = 300         # queries for the recall estimate
TUNING_COS = 0.9             # perturbed copies: cosine to the stored vector they come from
NPROBE_STEPS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
                3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 49152, 65536)
SHORTLIST_GAIN = 1.3         # the shortlist is kept when the tuned search gets at least this much faster with it
TIMING_QUERIES = 60          # single queries timed for that choice, at k = TIMING_K
TIMING_K = 200

TuningSet = tuple[np.ndarray, "np.ndarray | None", np.ndarray]  # queries, their own ids or None, exact top-10 ids


@contextmanager
def omp_threads(n: int | None):
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


def tuning_sets(ids: np.ndarray, x: np.ndarray, real_queries: np.ndarray | None) -> list[TuningSet]:
    """The query sets to tune on: queries like the stored vectors (query by example) and, when given, real
    queries. The exact truth is computed once, for the scan and the shortlist."""
    n, dim = x.shape
    rng = np.random.default_rng(n + 1)
    pick = rng.choice(n, min(n, TUNING_QUERIES), replace=False)
    own = ids[pick]
    # perturbed copies at cosine ~TUNING_COS of the originals; the originals' own ids are left out of
    # both the truth and the answers, so finding a query's own source vector does not count
    noise = rng.standard_normal((len(pick), dim)).astype(np.float32)
    noise *= math.tan(math.acos(TUNING_COS)) / np.linalg.norm(noise, axis=1, keepdims=True)
    sets = [(normalise(x[pick] + noise), own)]
    if real_queries is not None:
        sets.append((real_queries, None))
    return [(q, own, _drop_own(ids[_exact_top(q, x, 10 if own is None else 11)], own, 10)) for q, own in sets]


def tune(s: Structure, sets: list[TuningSet], target: float, start: int = 1,
         via_shortlist: bool = False) -> tuple[int, float]:
    """(smallest nprobe whose recall@10 reaches `target` on every set, its recall), searching by the SQ8
    scan or the shortlist; (nlist, best recall) when even probing every list falls short."""
    nprobe, recall = start, None
    for q, own, truth in sets:
        found = _tune_on(s, q, own, truth, nprobe, target, via_shortlist)
        if recall is None or found[0] > nprobe:
            nprobe, recall = found
    return nprobe, recall


def attach_shortlist(s: Structure, ids: np.ndarray, x: np.ndarray, sets: list[TuningSet], target: float, *,
                     forced: bool | None, timing_queries: np.ndarray | None) -> None:
    """Build the fast-scan shortlist over s's centroids, tune its nprobe, and keep it on s if it is
    `forced` or measured faster than the SQ8 scan at the recall target."""
    started = time.perf_counter()
    dim = s.index.d
    s.shortlist = shortlist_over(s, ids, x)
    nprobe, recall = tune(s, sets, target, start=s.nprobe, via_shortlist=True)
    if recall < target and not forced:
        log.info("vector index (%d-d): shortlist dropped (recall@10 %.3f even probing every list)", dim, recall)
        s.shortlist = None
        return
    if forced is None:
        if timing_queries is None:
            timing_queries = normalise(np.random.default_rng(3).standard_normal((TIMING_QUERIES, dim))
                                       .astype(np.float32))
        plain_ms = _median_ms(lambda q: s.scan(q, TIMING_K), timing_queries)
        short_ms = _median_ms(lambda q: s.search_shortlist(q, TIMING_K, nprobe), timing_queries)
        keep = short_ms * SHORTLIST_GAIN <= plain_ms
        log.info("vector index (%d-d): shortlist %s (%.2f ms against %.2f ms a query at recall@10 ~%.3f / "
                 "~%.3f; built in %.1f s)", dim, "kept" if keep else "dropped", short_ms, plain_ms, recall,
                 s.recall, time.perf_counter() - started)
        if not keep:
            s.shortlist = None
            return
    s.shortlist_nprobe, s.recall = nprobe, recall


def _median_ms(search, queries: np.ndarray) -> float:
    """Median ms of single-query searches as the engine makes them (one OpenMP thread)."""
    times = []
    with omp_threads(1):
        for q in queries[:TIMING_QUERIES]:
            started = time.perf_counter()
            search(q[None])
            times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def _tune_on(s: Structure, q: np.ndarray, own: np.ndarray | None, truth: np.ndarray, start: int, target: float,
             via_shortlist: bool) -> tuple[int, float]:
    extra = 0 if own is None else 1
    best = (s.index.nlist, 0.0)
    for nprobe in [p for p in NPROBE_STEPS if start <= p < s.index.nlist] + [s.index.nlist]:
        search = s.search_shortlist if via_shortlist else s.scan
        _, got = search(q, 10 + extra, nprobe)
        got = _drop_own(got, own, 10)
        per_query = np.array([len(np.intersect1d(g[g >= 0], t)) for g, t in zip(got, truth)]) / 10
        recall = float(per_query.mean())
        # the estimate must clear the target with 95% confidence (one-sided), not just on average
        lower = recall - 1.645 * float(per_query.std(ddof=1)) / math.sqrt(len(per_query)) if len(q) > 1 else recall
        if lower >= target:
            return nprobe, recall
        best = (nprobe, recall)
    if not via_shortlist:  # a shortlist that falls short is dropped, and attach_shortlist says so
        log.warning("vector index (%d-d): recall@10 %.3f < target %.3f even scanning every list (8-bit "
                    "quantisation limits it); using nprobe=nlist", s.index.d, best[1], target)
    return best


def _exact_top(q: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """Row positions in x of each query's exact top-k by inner product, best first (numpy BLAS, in chunks)."""
    best_s = np.empty((len(q), 0), np.float32)
    best_i = np.empty((len(q), 0), np.int64)
    for a in range(0, len(x), EXACT_CHUNK):
        sc = q @ float32(x[a:a + EXACT_CHUNK]).T
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
