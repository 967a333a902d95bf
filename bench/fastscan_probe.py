"""Would a 4-bit fast-scan PQ inverted file, re-ranked with our 8-bit codes, make the 1M search cheaper?

    .venv/bin/python bench/fastscan_probe.py --keep /tmp/rl/keep [--channels segment,keyframe] [--queries 150]

Runs on what `bench/search_latency.py --keep DIR` leaves behind (DIR/n1000000: the catalog's exact float
vectors as .npy, and the IVF-SQ8 index files the server saved). For the API's kind of text query (the
latency bench's templates, encoded by the query graphs the server uses), single-thread FAISS time and
recall@10 against exact float search, in one process:

* baseline: the saved IVF1024-SQ8 index, as the server searches it (k=200), at two nprobe;
* candidate: IndexIVFPQFastScan (same coarse centroids, M sub-quantisers of 4 bits, residual), asked
  for k' candidates, which are then re-scored exactly as the baseline scores them: the SQ8 codes
  decoded by id (`reconstruct_batch`) and dotted with the query. So the final ranking is the
  baseline's own scoring, on a shortlist that is much cheaper to find when the CPU has AVX2.

A probe, not a product path: it answers whether the structure is worth building into search/vector_index/.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import models  # noqa: E402
import search_latency as latency  # noqa: E402
from search.vector_index import VectorIndex  # noqa: E402

MODELS = {"segment": ("text", latency.TEXT_MODEL), "keyframe": ("clip", latency.BENCH_CLIP)}


def median_ms(fn, queries: np.ndarray) -> tuple[float, list[np.ndarray]]:
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        found.append(fn(q[None]))
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times)), found


def probe(data_dir: Path, channel: str, nq: int) -> None:
    kind, name = MODELS[channel]
    encoder = models.load_query_encoder(kind, name, data_dir / "models", "cpu", export=False)
    queries = np.asarray(encoder.encode(latency.make_queries(latency.vocabulary(), nq, 4242)), np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    mm = np.load(data_dir / f"{channel}.vectors.npy", mmap_mode="r")
    exact = latency.exact_topk(mm, queries, 10)  # owner ids: row r holds owner id r + 1
    index, _ = VectorIndex.load(data_dir / "vectors" / f"{channel}.faiss", use_gpu=False)
    sq8 = index._structure.index
    print(f"\n{channel}: {sq8.ntotal:,} x {sq8.d}; {nq} API-style text queries encoded by {encoder.version} "
          f"({encoder.runtime})", flush=True)
    faiss.omp_set_num_threads(1)  # the server searches one query on one thread

    for nprobe in (96, 192):
        ms, found = median_ms(lambda q: sq8.search(q, 200, params=faiss.SearchParametersIVF(nprobe=nprobe))[1][0],
                              queries)
        print(f"  IVF{sq8.nlist}-SQ8            nprobe {nprobe:4d}          : {ms:6.2f} ms  recall@10 "
              f"{latency.recall(found, exact, 10):.3f}", flush=True)

    x = np.asarray(mm, np.float32)
    quantizer = faiss.IndexFlatIP(sq8.d)
    quantizer.add(sq8.quantizer.reconstruct_n(0, sq8.nlist))
    for m in (sq8.d // 4, sq8.d // 2):
        fast = faiss.IndexIVFPQFastScan(quantizer, sq8.d, sq8.nlist, m, 4, faiss.METRIC_INNER_PRODUCT)
        faiss.omp_set_num_threads(2)
        started = time.perf_counter()
        fast.train(x[np.random.default_rng(0).choice(len(x), 64 * sq8.nlist, replace=False)])
        fast.add_with_ids(x, np.arange(1, len(x) + 1, dtype=np.int64))
        print(f"  fast-scan PQ{m}x4: built in {time.perf_counter() - started:.1f} s, "
              f"{fast.code_size * fast.ntotal / 2**20:.0f} MB of codes", flush=True)
        faiss.omp_set_num_threads(1)
        for nprobe in (96, 192):
            for shortlist in (200, 1000):
                def search(q, fast=fast, nprobe=nprobe, shortlist=shortlist):
                    ids = fast.search(q, shortlist, params=faiss.SearchParametersIVF(nprobe=nprobe))[1][0]
                    ids = ids[ids >= 0]
                    scores = sq8.reconstruct_batch(ids) @ q[0]
                    return ids[np.argsort(-scores)[:200]]
                ms, found = median_ms(search, queries)
                print(f"  fast-scan PQ{m}x4 + SQ8 re-rank nprobe {nprobe:4d} k' {shortlist:4d}: {ms:6.2f} ms  "
                      f"recall@10 {latency.recall(found, exact, 10):.3f}", flush=True)
        del fast


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", type=Path, required=True, help="the --keep folder of bench/search_latency.py")
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--channels", default="segment,keyframe")
    ap.add_argument("--queries", type=int, default=150)
    args = ap.parse_args()
    print(f"faiss {faiss.__version__} ({faiss.get_compile_options()}), {faiss.omp_get_max_threads()} OpenMP threads")
    for channel in args.channels.split(","):
        probe(args.keep / f"n{args.size}", channel.strip(), args.queries)


if __name__ == "__main__":
    main()
