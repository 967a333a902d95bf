"""search/vector_index/ on real FAISS with clustered synthetic vectors (seeded, so every run sees the same data)."""
from __future__ import annotations

import json
import threading

import faiss
import numpy as np
import pytest

from samples import synthetic_vectors
from search.vector_index import VectorIndex, VectorIndexUnreadable

DIM = 384


def clustered(n: int, dim: int = DIM, **kwargs):
    return synthetic_vectors.clustered(n, dim, **kwargs)


def exact(q: np.ndarray, x: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute force in numpy: (scores, ids) of the top k, best first."""
    s = q @ x.T
    k = min(k, s.shape[1])
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(part, np.argsort(-np.take_along_axis(s, part, axis=1), axis=1, kind="stable"), axis=1)
    return np.take_along_axis(s, top, axis=1), ids[top]


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(f[:10], t[:10])) for f, t in zip(found, truth)]) / 10)


def make_ids(n: int, seed: int = 5) -> np.ndarray:
    """Catalog-like ids: increasing with gaps, shuffled so insertion order is not id order."""
    r = np.random.default_rng(seed)
    ids = np.cumsum(r.integers(1, 4, size=n)).astype(np.int64) + 100
    return r.permutation(ids)


# ---------------------------------------------------------------------------------------------- exact


@pytest.fixture(scope="module")
def small():
    x = clustered(3000)
    ids = make_ids(3000)
    q = clustered(50, sample_seed=2)
    return ids, x, q


def test_exact_search_returns_true_top_k(small):
    ids, x, q = small
    ix = VectorIndex(DIM)
    ix.add(ids, x)
    assert (ix.kind, ix.size) == ("flat", 3000)
    D, I = ix.search(q, 25)
    tD, tI = exact(q, x, ids, 25)
    assert D.dtype == np.float32 and I.dtype == np.int64 and D.shape == I.shape == (50, 25)
    np.testing.assert_array_equal(I, tI)
    np.testing.assert_allclose(D, tD, atol=1e-5)
    np.testing.assert_array_equal(ix.ids(), np.sort(ids))
    # one query as a 1-d vector; k larger than the index: -1 ids and -inf scores at the end
    D1, I1 = ix.search(q[0], 4000)
    assert D1.shape == (1, 4000)
    assert (I1[0, :3000] >= 0).all() and (I1[0, 3000:] == -1).all() and np.isneginf(D1[0, 3000:]).all()
    # empty index
    D0, I0 = VectorIndex(DIM).search(q[:2], 5)
    assert (I0 == -1).all() and np.isneginf(D0).all()


def test_add_remove_upsert(small):
    ids, x, q = small
    ix = VectorIndex(DIM)
    ix.add(ids[:2000], x[:2000])
    ix.add(ids[1000:], x[1000:])                 # 1000 of these are upserts of identical vectors
    assert ix.size == 3000
    np.testing.assert_array_equal(ix.ids(), np.sort(ids))

    # upsert with a new vector: still one copy, found by its new vector, not by its old one
    target = ids[7]
    ix.add(np.array([target]), q[:1])
    assert ix.size == 3000
    D, I = ix.search(q[:1], 5)
    assert I[0, 0] == target and D[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert np.count_nonzero(ix.search(q[:1], 3000)[1] == target) == 1
    _, I = ix.search(x[7:8], 1)
    assert I[0, 0] != target

    # a repeated id within one call: the last row wins
    ix.add(np.array([ids[8], ids[8]]), np.stack([q[1], q[2]]))
    assert ix.size == 3000
    assert ix.search(q[2:3], 1)[1][0, 0] == ids[8]

    # remove: counts only held ids, ignores unknown and repeated ones
    gone = ids[:10]
    assert ix.remove(np.concatenate([gone, gone[:3], [10**12, 5]])) == 10
    assert ix.remove(gone) == 0
    assert ix.remove(np.array([], np.int64)) == 0
    assert ix.size == 2990
    assert not np.isin(gone, ix.ids()).any()
    _, I = ix.search(q, 3000)
    assert not np.isin(gone, I).any()
    # the rest is still exact
    keep = ~np.isin(ids, gone)
    xs = x.copy()
    xs[8] = q[2]
    _, tI = exact(q, xs[keep], ids[keep], 10)
    np.testing.assert_array_equal(ix.search(q, 10)[1], tI)

    with pytest.raises(ValueError):
        ix.add(np.array([1, 2]), x[:3])
    with pytest.raises(ValueError):
        ix.add(np.array([-1]), x[:1])
    with pytest.raises(ValueError):
        ix.add(np.array([1]), np.zeros((1, DIM), np.float32))
    with pytest.raises(ValueError):
        ix.search(q[:, :10], 5)


def test_allowed_exact(small):
    ids, x, q = small
    ix = VectorIndex(DIM)
    ix.add(ids, x)
    r = np.random.default_rng(9)
    allowed = np.sort(r.choice(ids, 150, replace=False))
    D, I = ix.search(q, 10, allowed=allowed)
    assert np.isin(I, allowed).all()
    mask = np.isin(ids, allowed)
    tD, tI = exact(q, x[mask], ids[mask], 10)
    np.testing.assert_array_equal(I, tI)
    np.testing.assert_allclose(D, tD, atol=1e-5)
    shuffled = r.permutation(np.concatenate([allowed, allowed[:20]]))      # unsorted, repeated: same answer
    np.testing.assert_array_equal(ix.search(q, 10, allowed=shuffled)[1], tI)
    # unknown ids in `allowed` are ignored; fewer allowed than k: -1 / -inf after them
    few = np.array([ids[3], ids[4], 10**9, 10**15], np.int64)
    D, I = ix.search(q[:3], 5, allowed=few)
    assert (np.sort(I[:, :2], axis=1) == np.sort(few[:2])).all()
    assert (I[:, 2:] == -1).all() and np.isneginf(D[:, 2:]).all()
    D, I = ix.search(q[:3], 5, allowed=np.array([], np.int64))
    assert (I == -1).all() and np.isneginf(D).all()
    # a sparse id space takes the IDSelectorBatch path: same answers
    big = VectorIndex(DIM)
    big.add(ids * 10**9, x)
    _, Ib = big.search(q, 10, allowed=allowed * 10**9)
    np.testing.assert_array_equal(Ib, tI * 10**9)


# ---------------------------------------------------------------------------------------------- approximate


@pytest.fixture(scope="module")
def large():
    """200k clustered vectors in an approximate index, 200 held-out queries."""
    n = 200_000
    x, lab = clustered(n, labels=True)
    ids = make_ids(n)
    q, qlab = clustered(200, sample_seed=77, labels=True)
    ix = VectorIndex(DIM)                       # default exact_limit 100k: approximate at 200k
    ix.rebuild(lambda: (ids, x))
    return ix, ids, x, lab, q, qlab


def test_approximate_recall(large):
    ix, ids, x, _, q, _ = large
    assert ix.kind.startswith("ivf") and ix.kind.endswith("-sq8")
    assert ix.size == len(ids)
    t = ix.tuning
    assert t["nprobe"] >= 1 and t["recall_at_10"] >= 0.95 and t["trained_size"] == len(ids)
    D, I = ix.search(q, 100)
    tD, tI = exact(q, x, ids, 100)
    assert recall_at_10(I, tI) >= 0.95
    assert (np.diff(D, axis=1) <= 1e-6).all()                # sorted best first
    np.testing.assert_allclose(D[:, 0], tD[:, 0], atol=0.02)  # 8-bit scores are close to exact


def test_an_approximate_index_built_from_float16_rows_finds_what_the_float32_one_finds(large):
    """A million-row build reads the rows as float16 (half the memory); the index keeps 8 bits of each
    value anyway, so its answers match the float32 build's and exact search as well."""
    ix, ids, x, _, q, _ = large
    half = VectorIndex(DIM)
    half.rebuild(lambda: (ids, x.astype(np.float16)))
    assert half.kind == ix.kind and half.size == ix.size
    _, got = half.search(q, 10)
    _, want = ix.search(q, 10)
    _, truth = exact(q, x, ids, 10)
    assert recall_at_10(got, truth) >= 0.95
    assert recall_at_10(got, want) >= 0.95
    grown = clustered(1000, sample_seed=9).astype(np.float16)  # later rows may come as float16 too
    half.add(make_ids(1000, seed=11) + 10**9, grown)
    assert half.size == ix.size + 1000


def test_tuning_on_real_queries_keeps_recall_for_queries_unlike_the_data(large):
    """Text queries against image vectors lie outside every cluster of the data. Tuned only on
    queries like the data, the index probes too few lists for them; given a sample of such
    queries (not the ones measured), it probes enough."""
    ix, ids, x, _, _, _ = large
    far = clustered(200, seed=99, sample_seed=5)  # other centres: another "modality"
    _, truth = exact(far, x, ids, 10)
    tuned_on_data = recall_at_10(ix.search(far, 10)[1], truth)
    own = VectorIndex(DIM)
    own.query_source = lambda: clustered(300, seed=99, sample_seed=6)
    own.rebuild(lambda: (ids, x))
    assert own.tuning["nprobe"] > ix.tuning["nprobe"]
    assert recall_at_10(own.search(far, 10)[1], truth) >= 0.95 > tuned_on_data


def test_a_fast_scan_shortlist_keeps_recall_follows_changes_and_is_saved(large, tmp_path):
    """The fast-scan shortlist (forced here; by default it is kept only where it is measured faster)
    answers like exact search, forgets removed ids and finds added ones at once, and survives a save."""
    _, ids, x, _, q, _ = large
    ix = VectorIndex(DIM, shortlist=True)
    ix.rebuild(lambda: (ids, x))
    t = ix.tuning
    assert t["shortlist"] == f"pq{DIM // 2}x4fs" and t["shortlist_nprobe"] >= t["nprobe"] and t["recall_at_10"] >= 0.95
    D, I = ix.search(q, 100)
    tD, tI = exact(q, x, ids, 100)
    assert recall_at_10(I, tI) >= 0.95
    assert (np.diff(D, axis=1) <= 1e-6).all()
    np.testing.assert_allclose(D[:, 0], tD[:, 0], atol=0.02)

    gone = np.unique(I[:, :3])
    assert ix.remove(gone) == len(gone)
    _, after = ix.search(q, 100)
    assert not np.isin(after, gone).any()
    copies = make_ids(len(q), seed=21) + 10**9
    ix.add(copies, q)
    _, found = ix.search(q, 10)
    np.testing.assert_array_equal(found[:, 0], copies)

    path = tmp_path / "keyframe.faiss"
    ix.save(path, {"v": 1})
    loaded, _ = VectorIndex.load(path)
    assert loaded.tuning["shortlist"] == t["shortlist"] and loaded.size == ix.size
    np.testing.assert_array_equal(loaded.search(q, 50)[1], ix.search(q, 50)[1])
    shortlist_file = tmp_path / "keyframe.faiss.shortlist"
    good = shortlist_file.read_bytes()
    shortlist_file.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))
    with pytest.raises(VectorIndexUnreadable, match="shortlist"):
        VectorIndex.load(path)
    shortlist_file.unlink()
    with pytest.raises(VectorIndexUnreadable, match="shortlist file .* is missing"):
        VectorIndex.load(path)

    plain = VectorIndex(DIM, shortlist=False)
    plain.rebuild(lambda: (ids, x))
    assert plain.tuning["shortlist"] is None
    shortlist_file.write_bytes(good)
    plain.save(path, {"v": 2})  # the earlier save's shortlist file is not left behind
    assert not shortlist_file.exists() and VectorIndex.load(path)[0].tuning["shortlist"] is None


def test_removals_past_a_tenth_re_train_the_shortlisted_index():
    """Removed ids' codes stay in the shortlist and are skipped; past a tenth of the size they would
    crowd out real candidates, so the index re-trains, as it does when it shrinks by three quarters."""
    x, ids = clustered(20_000), make_ids(20_000)
    ix = VectorIndex(DIM, exact_limit=1000, shortlist=True)
    ix.rebuild(lambda: (ids, x))
    ix.remove(ids[:1500])
    assert ix.tuning["trained_size"] == 20_000            # a few leftovers: searched around
    assert not np.isin(ix.search(x[:1500], 10)[1], ids[:1500]).any()
    ix.remove(ids[1500:2500])
    assert ix.tuning["trained_size"] == 17_500 and ix.tuning["shortlist"]
    q = clustered(50, sample_seed=3)
    _, truth = exact(q, x[2500:], ids[2500:], 10)
    assert recall_at_10(ix.search(q, 10)[1], truth) >= 0.95


@pytest.mark.parametrize("fraction", [0.01, 0.05])
def test_approximate_allowed_fraction(large, fraction):
    """1% (2000 ids: every allowed vector scored) and 5% (10000: lists holding allowed ids probed)."""
    ix, ids, x, _, q, _ = large
    allowed = np.sort(np.random.default_rng(11).choice(ids, int(len(ids) * fraction), replace=False))
    D, I = ix.search(q, 10, allowed=allowed)
    assert np.isin(I, allowed).all()
    mask = np.isin(ids, allowed)
    tD, tI = exact(q, x[mask], ids[mask], 10)
    assert recall_at_10(I, tI) >= 0.95
    np.testing.assert_allclose(D[:, 0], tD[:, 0], atol=0.02)


def test_approximate_allowed_far_clusters(large):
    """`allowed` = two whole clusters the queries are not from: the answers lie far from the queries,
    in lists an unfiltered search would never probe."""
    ix, ids, x, lab, q, qlab = large
    others = [c for c in np.unique(lab) if c not in set(qlab[:50])]
    sizes = {c: int(np.count_nonzero(lab == c)) for c in others}
    chosen = sorted(others, key=lambda c: abs(sizes[c] - 1000))[:2]
    mask = np.isin(lab, chosen)
    allowed = np.sort(ids[mask])
    D, I = ix.search(q[:50], 10, allowed=allowed)
    assert np.isin(I, allowed).all()
    _, tI = exact(q[:50], x[mask], ids[mask], 10)
    assert recall_at_10(I, tI) >= 0.95
    # and a broad filter (half of everything)
    half = np.sort(ids[::2])
    _, I = ix.search(q, 10, allowed=half)
    assert np.isin(I, half).all()
    m = np.isin(ids, half)
    _, tI = exact(q, x[m], ids[m], 10)
    assert recall_at_10(I, tI) >= 0.95


def test_save_load_round_trip(large, small, tmp_path):
    ix, _, _, _, q, _ = large
    for index, name in ((ix, "keyframe.faiss"), (None, "segment.faiss")):
        if index is None:
            ids, x, _ = small
            index = VectorIndex(DIM)
            index.add(ids, x)
        path = tmp_path / name
        index.save(path, {"catalog_version": 42, "channel": name})
        loaded, meta = VectorIndex.load(path)
        assert meta == {"catalog_version": 42, "channel": name}
        assert (loaded.kind, loaded.size, loaded.dim) == (index.kind, index.size, index.dim)
        assert loaded.tuning["nprobe"] == index.tuning["nprobe"]
        np.testing.assert_array_equal(loaded.ids(), index.ids())
        for allowed in (None, index.ids()[::37]):
            D0, I0 = index.search(q, 20, allowed=allowed)
            D1, I1 = loaded.search(q, 20, allowed=allowed)
            np.testing.assert_array_equal(I0, I1)
            np.testing.assert_array_equal(D0, D1)
        side = json.loads((tmp_path / f"{name}.json").read_text())
        assert (side["kind"], side["size"], side["dim"]) == (index.kind, index.size, DIM)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_unreadable_files(small, tmp_path):
    ids, x, _ = small
    ix = VectorIndex(DIM)
    ix.add(ids[:500], x[:500])
    path = tmp_path / "segment.faiss"
    sidecar = tmp_path / "segment.faiss.json"
    ix.save(path, {"v": 1})
    good, good_side = path.read_bytes(), sidecar.read_text()

    def unreadable(match: str):
        with pytest.raises(VectorIndexUnreadable, match=match) as info:
            VectorIndex.load(path)
        assert str(path) in str(info.value)

    path.unlink()
    unreadable("index file is missing")
    path.write_bytes(good[: len(good) // 2])
    unreadable("truncated")
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))
    unreadable("corrupt")
    garbage = np.random.default_rng(0).bytes(4096)
    path.write_bytes(garbage)
    unreadable("truncated")
    # garbage with a sidecar that vouches for it: faiss itself refuses
    side = json.loads(good_side)
    side.update(file_bytes=len(garbage), crc32=__import__("zlib").crc32(garbage))
    sidecar.write_text(json.dumps(side))
    unreadable("faiss cannot read it")
    path.write_bytes(good)
    sidecar.unlink()
    unreadable("sidecar .* is missing")
    sidecar.write_text("{not json")
    unreadable("sidecar .* is unreadable")
    for field, value, match in (("dim", 512, "dimension"), ("size", 499, "holds 500 vectors"),
                                ("kind", "ivf64-sq8", "kind")):
        side = json.loads(good_side)
        side[field] = value
        sidecar.write_text(json.dumps(side))
        unreadable(match)
    sidecar.write_text(good_side)
    loaded, meta = VectorIndex.load(path)
    assert meta == {"v": 1} and loaded.size == 500
    with pytest.raises(TypeError):
        ix.save(path, {"not json": object()})
    assert VectorIndex.load(path)[0].size == 500          # the failed save left the good pair alone


def test_growth_switches_kind_and_back():
    x = clustered(9000, seed=3)
    ids = make_ids(9000, seed=6)
    q = clustered(100, seed=3, sample_seed=9)
    ix = VectorIndex(DIM, exact_limit=2000)
    ix.add(ids[:1500], x[:1500])
    assert ix.kind == "flat"
    ix.add(ids[1500:2500], x[1500:2500])              # crosses exact_limit: trained by itself
    assert ix.kind.startswith("ivf") and ix.tuning["trained_size"] == 2500
    nprobe = ix.tuning["nprobe"]
    ix.add(ids[2500:4000], x[2500:4000])              # incremental, no re-training
    assert ix.tuning["trained_size"] == 2500 and ix.tuning["nprobe"] == nprobe and ix.size == 4000
    _, tI = exact(q, x[:4000], ids[:4000], 10)
    assert recall_at_10(ix.search(q, 10)[1], tI) >= 0.9
    ix.add(ids[4000:9000], x[4000:9000])              # doubled since training: re-trained
    assert ix.tuning["trained_size"] == 9000 and ix.size == 9000
    _, tI = exact(q, x, ids, 10)
    assert recall_at_10(ix.search(q, 10)[1], tI) >= 0.95
    # upserts into the trained structure: no duplicates
    ix.add(ids[:100], q[:100])
    assert ix.size == 9000
    _, I = ix.search(q[:100], 1)
    np.testing.assert_array_equal(I[:, 0], ids[:100])
    found = ix.search(q[:1], 9000, allowed=ix.ids())[1]      # filtered with k = size: scans every list
    assert len(np.unique(found)) == 9000
    # removal in the trained structure, then back to exact once well below exact_limit
    assert ix.remove(ids[:5000]) == 5000
    assert ix.kind.startswith("ivf") and ix.size == 4000
    assert not np.isin(ids[:5000], ix.search(q, 200)[1]).any()
    assert ix.remove(ids[5000:8200]) == 3200
    assert ix.kind == "flat" and ix.size == 800
    _, tI = exact(q, x[8200:], ids[8200:], 10)
    assert recall_at_10(ix.search(q, 10)[1], tI) >= 0.95        # rebuilt from the 8-bit codes it held


def test_vector_source_feeds_automatic_retrains():
    x = clustered(4000, seed=4)
    ids = make_ids(4000, seed=7)
    q = clustered(100, seed=4, sample_seed=8)
    catalog = {"n": 0}                                # rows [0, n) are committed in the "catalog"
    calls = []

    def source():
        calls.append(catalog["n"])
        return ids[:catalog["n"]], x[:catalog["n"]]

    ix = VectorIndex(DIM, exact_limit=1000)
    ix.vector_source = source
    catalog["n"] = 1500
    ix.add(ids[:1500], x[:1500])                      # crossing exact_limit: from the exact flat rows
    assert ix.kind.startswith("ivf") and calls == []
    ix.add(ids[1500:3000], x[1500:3000])              # doubled: re-trained from the source, which does not
    assert calls == [1500] and ix.tuning["trained_size"] == 3000     # show these rows yet: kept anyway
    np.testing.assert_array_equal(ix.ids(), np.sort(ids[:3000]))
    catalog["n"] = 3000
    _, tI = exact(q, x[:3000], ids[:3000], 10)
    assert recall_at_10(ix.search(q, 10)[1], tI) >= 0.9
    assert ix.remove(ids[:2300]) == 2300              # 700 left <= 1/4 of 3000: re-trained, to flat
    assert calls == [1500, 3000] and ix.kind == "flat"
    np.testing.assert_array_equal(ix.ids(), np.sort(ids[2300:3000]))
    _, tI = exact(q, x[2300:3000], ids[2300:3000], 10)
    np.testing.assert_array_equal(ix.search(q, 10)[1], tI)          # exact values from the source


def test_rebuild_from_catalog_replaces_contents(small):
    ids, x, q = small
    ix = VectorIndex(DIM, exact_limit=1000)
    ix.add(ids[:1500], x[:1500])
    assert ix.kind.startswith("ivf")
    ix.rebuild(lambda: (ids[1000:], x[1000:]))       # the catalog says: these rows, no others
    np.testing.assert_array_equal(ix.ids(), np.sort(ids[1000:]))
    assert ix.tuning["trained_size"] == 2000
    ix.rebuild(queries=q)                            # tuned on real queries instead of perturbed copies
    assert ix.kind.startswith("ivf") and ix.tuning["recall_at_10"] >= 0.95
    _, tI = exact(q, x[1000:], ids[1000:], 10)
    assert recall_at_10(ix.search(q, 10)[1], tI) >= 0.95
    with pytest.raises(ValueError):
        ix.rebuild(queries=q[:, :5])
    ix.rebuild(lambda: (ids[:10], x[:10]))
    assert ix.kind == "flat" and ix.size == 10
    ix.rebuild(lambda: (np.empty(0, np.int64), np.empty((0, DIM), np.float32)))
    assert ix.size == 0 and (ix.search(q[:1], 3)[1] == -1).all()


def test_concurrent_searches_during_changes(small):
    ids, x, q = small
    ix = VectorIndex(DIM, exact_limit=1500)
    ix.add(ids[:1000], x[:1000])
    errors = []

    def searcher():
        try:
            for _ in range(100):
                D, I = ix.search(q[:5], 10)
                held = I[I >= 0]
                assert len(np.unique(held)) == len(held)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    for a in range(1000, 3000, 250):                 # crosses exact_limit and re-trains meanwhile
        ix.add(ids[a:a + 250], x[a:a + 250])
        ix.remove(ids[a - 1000:a - 900])
    for t in threads:
        t.join()
    assert not errors
    assert ix.size == 3000 - 800


def test_gpu_choice():
    if faiss.get_num_gpus() > 0:
        pytest.skip("this machine has a GPU: covered by the other tests running on it")
    assert VectorIndex(8).use_gpu is False
    with pytest.raises(RuntimeError, match="GPU"):
        VectorIndex(8, use_gpu=True)
