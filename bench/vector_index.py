"""Vector index: what search/vector_index/ builds by itself, against exact flat search, in one run.

    .venv/bin/python bench/vector_index.py [--sizes 10k,100k,1M] [--dims 512,384] [--queries 200] [--compare]

For each size and dimension (512-d like CLIP keyframe vectors, 384-d like MiniLM segment vectors), on
clustered synthetic unit vectors (200 Gaussian clusters of uneven size, each spread along its own 64-d
subspace, plus isotropic noise) and held-out queries drawn from the same clusters:

* build: `VectorIndex.rebuild(...)` from the vectors (structure choice, k-means, 8-bit encoding, nprobe tuning);
* memory: `VectorIndex.nbytes` (codes, ids, centroids, bookkeeping), the process's
  resident memory after the build minus before (the vectors themselves already allocated), and the
  build's peak above that (when the kernel lets us reset the peak);
* single-query latency at k=100, p50 / p99, unfiltered and with `allowed` = a random 1% of the ids;
* recall@10 against exact float search, unfiltered and 1%-filtered;
* exact baseline: a raw `IndexFlatIP` on the same vectors, same queries, same k, same run.
Then, per size, one "request" = both channels searched one after the other (the product's target at
1M + 1M on 2 cores: p50 <= 30 ms, p99 <= 100 ms, both indexes well under 4 GB).

--compare adds the structure comparison (raw FAISS, same data): flat, IVF-SQ8 at three nlist, HNSW32-SQ8;
for each, the smallest nprobe / efSearch that reaches recall@10 >= 0.95, its latency, build time, size.
"""
from __future__ import annotations

import argparse
import gc
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from samples.synthetic_vectors import clustered  # noqa: E402
from search.vector_index import VectorIndex  # noqa: E402


def status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if text[-1] in "km" else text) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def latencies(fn, queries: np.ndarray) -> np.ndarray:
    out = np.empty(len(queries))
    for i in range(len(queries)):
        t = time.perf_counter()
        fn(queries[i:i + 1])
        out[i] = time.perf_counter() - t
    return out * 1e3


def recall10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(f[:10], t[:10])) for f, t in zip(found, truth)]) / 10)


def pct(a: np.ndarray, p: float) -> float:
    return float(np.percentile(a, p))


def run_ours(n: int, dim: int, nq: int) -> tuple[dict, VectorIndex]:
    x = clustered(n, dim)
    q = clustered(nq, dim, sample_seed=1000 + n)
    ids = np.arange(1, n + 1, dtype=np.int64) * 2          # catalog-like ids, not positions
    gc.collect()
    rss0 = status_mb("VmRSS")
    peak_ok = reset_peak()
    ix = VectorIndex(dim)
    t = time.perf_counter()
    ix.rebuild(lambda: (ids, x))
    build = time.perf_counter() - t
    rss_delta = status_mb("VmRSS") - rss0
    peak_delta = status_mb("VmHWM") - rss0 if peak_ok else float("nan")

    _, truth_pos = faiss.knn(q, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
    truth = ids[truth_pos]
    found = ix.search(q, 10)[1]
    lat = latencies(lambda v: ix.search(v, 100), q)

    rng = np.random.default_rng(7)
    allowed = np.sort(rng.choice(ids, max(10, n // 100), replace=False))
    mask = np.isin(ids, allowed)
    _, tpos = faiss.knn(q, x[mask], 10, metric=faiss.METRIC_INNER_PRODUCT)
    ftruth = ids[mask][tpos]
    ffound = ix.search(q, 10, allowed=allowed)[1]
    assert np.isin(ffound[ffound >= 0], allowed).all()
    flat_lat_f = latencies(lambda v: ix.search(v, 100, allowed=allowed), q)

    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    base = latencies(lambda v: flat.search(v, 100), q[: min(nq, 50)])
    flat = x = None
    gc.collect()
    index_mb = ix.nbytes / 2**20
    row = {"n": n, "dim": dim, "kind": ix.kind, "nprobe": ix.tuning["nprobe"], "build_s": build, "index_mb": index_mb,
           "rss_mb": rss_delta, "peak_mb": peak_delta, "p50": pct(lat, 50), "p99": pct(lat, 99),
           "recall": recall10(found, truth), "fp50": pct(flat_lat_f, 50), "fp99": pct(flat_lat_f, 99),
           "frecall": recall10(ffound, ftruth), "flat_p50": pct(base, 50)}
    return row, (ix, q)


def compare(n: int, dim: int, nq: int) -> list[dict]:
    """Raw FAISS structures on the same data: build, size, smallest setting reaching recall@10 >= 0.95."""
    x = clustered(n, dim)
    q = clustered(nq, dim, sample_seed=1000 + n)
    _, truth = faiss.knn(q, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
    rows = []
    sqrt = math.sqrt(n)
    configs = [("flat", None)]
    for mult in (4, 2, 1):
        nlist = 2 ** round(math.log2(mult * sqrt))
        if nlist * 39 <= n:
            configs.append((f"IVF{nlist},SQ8", nlist))
    configs.append(("HNSW32,SQ8", None))
    for name, nlist in configs:
        gc.collect()
        t = time.perf_counter()
        if name == "flat":
            index = faiss.IndexFlatIP(dim)
            index.add(x)
            sweep = [None]
        elif nlist:
            index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                                  faiss.METRIC_INNER_PRODUCT, True)
            index.cp.niter = 10
            index.cp.max_points_per_centroid = 64
            index.train(x[np.random.default_rng(5).choice(n, min(n, 64 * nlist), replace=False)])
            index.add(x)
            sweep = [p for p in (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512) if p <= nlist]
        else:
            index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 64
            index.train(x[: min(n, 100_000)])
            index.add(x)
            sweep = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768]
        build = time.perf_counter() - t
        size_mb = faiss.serialize_index(index).nbytes / 2**20
        for p in sweep:
            if p is None:
                params = None
            elif nlist:
                params = faiss.SearchParametersIVF(nprobe=p)
            else:
                params = faiss.SearchParametersHNSW(efSearch=p)
            r = recall10(index.search(q, 10, params=params)[1], truth)
            if r >= 0.95:
                break
        lat = latencies(lambda v: index.search(v, 100, params=params), q)
        rows.append({"n": n, "dim": dim, "structure": name, "build_s": build, "size_mb": size_mb,
                     "param": "-" if p is None else (f"nprobe={p}" if nlist else f"efSearch={p}"), "recall": r,
                     "p50": pct(lat, 50), "p99": pct(lat, 99)})
        print(f"  {label(n):>5} {dim:4d} {name:14s} build {build:7.1f} s  size {size_mb:7.0f} MB  "
              f"{rows[-1]['param']:13s} recall@10 {r:.3f}  k=100 p50 {rows[-1]['p50']:7.2f} ms  "
              f"p99 {rows[-1]['p99']:7.2f} ms", flush=True)
        index = None
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10k,100k,1M", help="comma-separated, e.g. 10k,100k,1M")
    ap.add_argument("--dims", default="512,384")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--compare", action="store_true", help="also compare raw FAISS structures (slow at 1M)")
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    dims = [int(d) for d in args.dims.split(",")]
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, numpy {np.__version__}", flush=True)

    print("\nVectorIndex (automatic structure), single queries, k=100:")
    head = (f"{'n':>5} {'dim':>4} {'kind':>14} {'nprobe':>6} {'build s':>8} {'index MB':>8} {'RSS+ MB':>8} "
            f"{'peak+ MB':>8} {'p50 ms':>7} {'p99 ms':>7} {'R@10':>6} {'1% p50':>7} {'1% p99':>7} {'1% R@10':>7} "
            f"{'flat p50':>9} {'speed-up':>8}")
    print(head, flush=True)
    for n in sizes:
        held = []
        for dim in dims:
            row, pair = run_ours(n, dim, args.queries)
            held.append(pair)
            print(f"{label(n):>5} {dim:4d} {row['kind']:>14} {str(row['nprobe'] or '-'):>6} {row['build_s']:8.1f} "
                  f"{row['index_mb']:8.0f} {row['rss_mb']:8.0f} {row['peak_mb']:8.0f} {row['p50']:7.2f} "
                  f"{row['p99']:7.2f} {row['recall']:6.3f} {row['fp50']:7.2f} {row['fp99']:7.2f} "
                  f"{row['frecall']:7.3f} {row['flat_p50']:9.2f} {row['flat_p50'] / row['p50']:7.1f}x", flush=True)
        if len(held) > 1:
            both = np.empty(args.queries)
            for i in range(args.queries):
                t = time.perf_counter()
                for ix, q in held:
                    ix.search(q[i:i + 1], 100)
                both[i] = time.perf_counter() - t
            both *= 1e3
            print(f"{label(n):>5} both channels ({' + '.join(str(d) for d in dims)}-d) per request: "
                  f"p50 {pct(both, 50):.2f} ms, p99 {pct(both, 99):.2f} ms; process RSS with both indexes "
                  f"{status_mb('VmRSS'):.0f} MB", flush=True)
        del held
        gc.collect()

    if args.compare:
        print("\nStructure comparison (raw FAISS; smallest setting with recall@10 >= 0.95 on held-out queries):")
        for n in sizes:
            for dim in dims:
                compare(n, dim, args.queries)


if __name__ == "__main__":
    main()
