"""Search latency at scale: the real server over HTTP on synthetic catalogs, against the raw floor.

    .venv/bin/python bench/search_latency.py [--sizes 10000,100000,1000000] [--queries 300] [--keep DIR]
        [--phase-budget 300] [--server-env OMP_NUM_THREADS=1]   (--help for the rest)

For each size N: a fresh SQLite catalog (made with the migrations, then bulk-filled) holding N/100
videos of 10 minutes, 20 shots, N keyframes and N transcript segments (text drawn from real English
words, so the FTS5 keyword channel has work) and 2N vectors: N segment vectors (384-d, MiniLM's
model version) and N keyframe vectors (512-d, the CLIP model the server uses), clustered (1000
Gaussian centres per channel, a topic per video, noise, L2-normalised, seeded).

Then `reelscope serve` (waitress) starts on it as a subprocess, builds its FAISS indexes from SQL
(timed: start to the first answer of /api/v1/status, and per channel from the server's own log)
and answers distinct natural-language queries on `GET /api/v1/search?q=...&k=10`, first from one
client thread, then from two (keep-alive): p50/p99 latency and queries/s. Peak server RSS is
VmHWM from /proc. A restart on the saved index files is timed as well.

In the same run the bench process loads the index files the server saved (VectorIndex.load) and
times, for the same queries, what no implementation can avoid: query encoding (MiniLM + CLIP text
tower, with the engine's query encoders: ONNX Runtime) plus a raw FAISS search for 200 candidates on
both channels (the engine's CANDIDATES). That sum is the floor; the same queries encoded by the
PyTorch models are timed beside it as a reference; overhead = API p50 / floor p50. The floor of each query is taken right after the
API answered it (1-client phase), so both see the same machine: other processes come and go on it,
hence the load averages printed beside every phase, and server CPU per query (from /proc) as well.

Recall@10 (and @200) of each FAISS index is measured against exact numpy brute force over the
stored vectors, for the API's own queries and for queries drawn from the data's distribution.
Finally an in-process SearchEngine on the same files shows where a query's time goes, stage by
stage.

CLIP weights cannot be had here: the visual channel runs the registry's benchmark-only model
`bench-vit-b-32-random` (ViT-B-32 shape, random weights: real cost, meaningless results). Without
that registry entry the HTTP part is skipped and the latency is measured in process, with a
SearchEngine subclass that supplies the same random ViT-B-32.

Targets (2-core machine, 1M + 1M vectors): p50 <= 30 ms, p99 <= 100 ms, recall@10 >= 0.95,
overhead <= 1.5x the floor, server RSS <= 4 GB.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import requests  # noqa: E402

import models  # noqa: E402
from models.registry import CLIP_MODELS, get_spec  # noqa: E402
from models.weights import text_model_dir  # noqa: E402
from catalog import Catalog, upgrade  # noqa: E402
from settings import Settings  # noqa: E402

TEXT_MODEL = "all-MiniLM-L6-v2"
SPEECH_MODEL = "whisper-base"
BENCH_CLIP = "bench-vit-b-32-random"
SEG_DIM, KF_DIM = 384, 512
PER_VIDEO = 100          # keyframes and segments per video
VIDEO_SECONDS = 600.0
SHOT_SECONDS = 30.0      # 20 shots per video
CLUSTERS = 1000
NOISE = 1.0              # noise norm relative to a unit centre: cosine to the centre ~0.7
OWN_TOPIC = 0.5          # share of a video's vectors drawn from its own topic cluster
BATCH_VIDEOS = 100
CANDIDATES = 200         # what the engine asks each channel for (search/engine.py CANDIDATES)
TARGETS = {"p50_ms": 30.0, "p99_ms": 100.0, "recall10": 0.95, "overhead": 1.5, "rss_gb": 4.0}
CHANNEL_NO = {"segment": 1, "keyframe": 2}
QUERY_ENCODER_DIR = Path(tempfile.gettempdir()) / "reelscope-bench-query-encoders"
CATALOG_FORMAT = 2       # bump when build_catalog changes what it writes (--keep reuses only the same)


# -- small helpers ---------------------------------------------------------------------------------

def load_avg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def proc_mem(pid: int) -> dict[str, float]:
    """VmHWM (peak) and VmRSS of a process, in MB."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def code_version() -> tuple[str, str]:
    """(git commit, fingerprint of the server's source as it is on disk now): others may change the code
    while a run is going, and a run whose fingerprint changed mixes two versions."""
    import hashlib

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        head = "unknown"
    digest = hashlib.sha1()
    for folder in ("search", "models", "web", "migrations"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    digest.update((ROOT / "settings.py").read_bytes())
    return head, digest.hexdigest()[:12]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dir_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20 if path.exists() else 0.0


# -- vocabulary and synthetic text -------------------------------------------------------------------

def vocabulary(limit: int = 20000) -> np.ndarray:
    """Real English words, roughly by frequency: MiniLM's (BERT uncased) word-piece vocabulary, whole
    words only. Its whole words start at id 1996 ("the", "of", "and", ...) in corpus-frequency order."""
    path = text_model_dir(get_spec("text", TEXT_MODEL)) / "vocab.txt"
    words = path.read_text(encoding="utf-8").split("\n")[1996:]
    words = [w for w in words if w.isascii() and w.isalpha() and 2 <= len(w) <= 14]
    if not words or words[0] != "the":
        raise SystemExit(f"unexpected vocabulary in {path}")
    return np.array(words[:limit], dtype=object)


def zipf_probs(n: int) -> np.ndarray:
    p = 1.0 / (np.arange(n) + 2.7)  # Zipf-Mandelbrot, s = 1
    return p / p.sum()


TEMPLATES = ("{a} {b}", "{a} {b} {c}", "the part where {a} {b}", "how to {a} the {b}", "{a} and {b} {c}",
             "when the {a} {b}", "{a} {b} in the {c}", "why {a} {b} {c}", "someone talking about {a} {b}",
             "{a} {b} {c} {d}")


def make_queries(vocab: np.ndarray, n: int, seed: int) -> list[str]:
    """Distinct natural-language-ish queries; content words from the vocabulary's middle ranks."""
    rng = np.random.default_rng([seed, 7])
    lo, hi = 150, min(8000, len(vocab))
    seen, out = set(), []
    while len(out) < n:
        t = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
        a, b, c, d = (vocab[int(i)] for i in rng.integers(lo, hi, 4))
        q = t.format(a=a, b=b, c=c, d=d)
        if q not in seen:
            seen.add(q)
            out.append(q)
    return out


# -- synthetic vectors ---------------------------------------------------------------------------------

def centres(seed: int, channel: str, dim: int) -> np.ndarray:
    rng = np.random.default_rng([seed, CHANNEL_NO[channel], 0])
    c = rng.standard_normal((CLUSTERS, dim), dtype=np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def synth_vectors(rng, cen: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """One vector per entry of `topics` (the row's video topic): its topic's centre or a random one, plus noise."""
    n, dim = len(topics), cen.shape[1]
    own = rng.random(n) < OWN_TOPIC
    cluster = np.where(own, topics, rng.integers(0, CLUSTERS, n))
    x = cen[cluster] + rng.standard_normal((n, dim), dtype=np.float32) * np.float32(NOISE / np.sqrt(dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def held_out_queries(seed: int, channel: str, dim: int, n: int) -> np.ndarray:
    """Queries from the data's own distribution (new samples around the centres)."""
    rng = np.random.default_rng([seed, CHANNEL_NO[channel], 2])
    return synth_vectors(rng, centres(seed, channel, dim), rng.integers(0, CLUSTERS, n))


# -- the synthetic catalog ---------------------------------------------------------------------------

def build_catalog(data_dir: Path, n: int, versions: dict[str, str], clip_name: str, vocab: np.ndarray,
                  seed: int) -> dict:
    """Migrations, then one bulk transaction with sqlite3. Owner ids are row numbers + 1, so the
    memmapped vector files (row r = owner id r + 1) are the exact ground truth."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, database_url="")
    db_path = data_dir / "catalog.sqlite3"
    started = time.perf_counter()
    upgrade(settings.catalog_url)
    seg_mm = np.lib.format.open_memmap(data_dir / "segment.vectors.npy", "w+", np.float32, (n, SEG_DIM))
    kf_mm = np.lib.format.open_memmap(data_dir / "keyframe.vectors.npy", "w+", np.float32, (n, KF_DIM))
    n_videos = -(-n // PER_VIDEO)
    topics = np.random.default_rng([seed, 99]).integers(0, CLUSTERS, n_videos + 1)
    seg_centres, kf_centres = centres(seed, "segment", SEG_DIM), centres(seed, "keyframe", KF_DIM)
    probs = zipf_probs(len(vocab))
    model_versions = json.dumps(versions)
    stamp = "2026-01-01 00:00:00.000000"

    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    con.execute("BEGIN")
    con.executemany("INSERT INTO catalog_changes (id, video_id, at) VALUES (?, ?, ?)",
                    [(v, v, stamp) for v in range(1, n_videos + 1)])
    for b, first_row in enumerate(range(0, n, BATCH_VIDEOS * PER_VIDEO)):
        rows = np.arange(first_row, min(n, first_row + BATCH_VIDEOS * PER_VIDEO))
        video = rows // PER_VIDEO + 1
        j = rows % PER_VIDEO
        vids = np.unique(video)
        con.executemany(
            "INSERT INTO videos (id, path, title, content_hash, size_bytes, mtime, duration, fps, width, height, "
            "container, video_codec, audio_codec, has_video, has_audio, language, status, model_versions, "
            "added_at, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, 25.0, 1280, 720, 'mov,mp4', 'h264', 'aac', 1, 1, "
            "'en', 'indexed', ?, ?, ?)",
            [(int(v), f"/bench/library/video-{v:07d}.mp4", f"Synthetic video {v} about {vocab[150 + v % 5000]}",
              f"{v:064x}", 100_000_000, 1.7e9, VIDEO_SECONDS, model_versions, stamp, stamp) for v in vids])
        con.executemany('INSERT INTO shots (video_id, "index", start, "end") VALUES (?, ?, ?, ?)',
                        [(int(v), s, s * SHOT_SECONDS, (s + 1) * SHOT_SECONDS)
                         for v in vids for s in range(int(VIDEO_SECONDS // SHOT_SECONDS))])
        times = j * (VIDEO_SECONDS / PER_VIDEO)
        con.executemany("INSERT INTO keyframes (id, video_id, shot_index, time, thumbnail, width, height) "
                        "VALUES (?, ?, ?, ?, ?, 320, 180)",
                        [(int(r) + 1, int(v), int((t + 3.0) // SHOT_SECONDS), float(t + 3.0),
                          f"bench/{v}/{int(r) + 1}.jpg") for r, v, t in zip(rows, video, times)])
        # transcript: 8-24 Zipf-distributed words per 5.5 s segment, with word timings as Whisper gives
        rng = np.random.default_rng([seed, 3, b])
        lengths = rng.integers(8, 25, len(rows))
        words = vocab[rng.choice(len(vocab), size=int(lengths.sum()), p=probs)]
        ends = np.cumsum(lengths)
        segs = []
        for r, v, jj, t, e, k in zip(rows.tolist(), video.tolist(), j.tolist(), times.tolist(), ends.tolist(),
                                     lengths.tolist()):
            ws = words[e - k:e].tolist()
            ws[-1] += "."
            step = 5.5 / k
            word_json = "[" + ",".join(f'[" {w}", {t + i * step:.2f}, {t + (i + 0.9) * step:.2f}, 0.9]'
                                       for i, w in enumerate(ws)) + "]"
            text = " ".join(ws)
            segs.append((r + 1, v, jj, t, t + 5.5, text[0].upper() + text[1:], word_json))
        con.executemany('INSERT INTO transcript_segments (id, video_id, "index", start, "end", text, language, '
                        "words, avg_logprob, no_speech_prob) VALUES (?, ?, ?, ?, ?, ?, 'en', ?, -0.2, 0.01)", segs)
        # vectors, interleaved per video as the indexer writes them
        seg_vec = synth_vectors(np.random.default_rng([seed, 1, 1, b]), seg_centres, topics[video])
        kf_vec = synth_vectors(np.random.default_rng([seed, 2, 1, b]), kf_centres, topics[video])
        seg_mm[rows[0]:rows[-1] + 1] = seg_vec
        kf_mm[rows[0]:rows[-1] + 1] = kf_vec
        emb, owner = [], (rows + 1).tolist()  # Python ints: sqlite3 would store numpy ints as blobs
        for v in vids.tolist():
            lo, hi = (v - 1) * PER_VIDEO - rows[0], min(v * PER_VIDEO, n) - rows[0]
            emb += [(v, "segment", owner[i], TEXT_MODEL, versions["text"], SEG_DIM, seg_vec[i].tobytes())
                    for i in range(lo, hi)]
            emb += [(v, "keyframe", owner[i], clip_name, versions["clip"], KF_DIM, kf_vec[i].tobytes())
                    for i in range(lo, hi)]
        con.executemany("INSERT INTO embeddings (video_id, owner_kind, owner_id, model, model_version, dim, vector) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", emb)
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    seg_mm.flush()
    kf_mm.flush()
    del seg_mm, kf_mm
    info = {"format": CATALOG_FORMAT, "n": n, "videos": n_videos, "seed": seed, "versions": versions, "clip": clip_name,
            "build_s": time.perf_counter() - started, "catalog_mb": os.path.getsize(db_path) / 2**20}
    (data_dir / "bench-catalog.json").write_text(json.dumps(info))
    return info


def catalog_for(data_dir: Path, n: int, versions, clip_name, vocab, seed) -> tuple[dict, bool]:
    """Reuse a complete catalog made with the same parameters (--keep), else make it afresh."""
    marker = data_dir / "bench-catalog.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if (info.get("format"), info.get("n"), info.get("seed"), info.get("versions"), info.get("clip")) == \
                (CATALOG_FORMAT, n, seed, versions, clip_name):
            return info, True
    shutil.rmtree(data_dir, ignore_errors=True)
    return build_catalog(data_dir, n, versions, clip_name, vocab, seed), False


# -- the server ------------------------------------------------------------------------------------

# `python -m web.cli serve`, with one addition: INFO from search.channel_index, whose "built ... index:
# N vectors in S s" lines time each channel's build from inside the server, and from search.vector_index
# (nprobe tuning, and whether the fast-scan shortlist was kept, with its timings).
SERVE = ("import logging; logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s'); "
         "logging.getLogger('search.channel_index').setLevel(logging.INFO); "
         "logging.getLogger('search.vector_index').setLevel(logging.INFO); "
         "from web.cli import cli; cli(['serve', '--port', '{port}'], prog_name='reelscope')")


class Server:
    def __init__(self, data_dir: Path, clip_name: str, log_path: Path, extra_env: list[str] | None = None):
        self.data_dir, self.clip_name, self.log_path = data_dir, clip_name, log_path
        self.extra_env = dict(item.split("=", 1) for item in extra_env or [])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[tuple[float, str]] = []
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, REELSCOPE_DATA_DIR=str(self.data_dir), REELSCOPE_DEVICE="cpu",
                   REELSCOPE_CLIP_MODEL=self.clip_name, REELSCOPE_TEXT_MODEL=TEXT_MODEL, PYTHONUNBUFFERED="1")
        env.pop("REELSCOPE_DATABASE_URL", None)
        env.update(self.extra_env)
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-c", SERVE.format(port=self.port)], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        log = open(self.log_path, "a")

        def pump():
            for line in self.proc.stdout:
                at = time.perf_counter() - self.t0
                self.lines.append((at, line.rstrip()))
                log.write(f"{at:9.2f} {line}")
                log.flush()
            log.close()

        threading.Thread(target=pump, daemon=True).start()

    def wait_ready(self, timeout: float) -> tuple[float, dict]:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                time.sleep(0.5)
                tail = "\n".join(line for _, line in self.lines[-30:])
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{tail}")
            try:
                r = requests.get(self.url + "/api/v1/status", timeout=120)
                if r.status_code == 200:
                    return time.perf_counter() - self.t0, r.json()
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s (log: {self.log_path})")

    def builds(self) -> dict[str, str]:
        """Per channel, the server's own 'built <channel> index: ...' line."""
        out = {}
        for _, line in self.lines:
            if "built " in line and " index: " in line:
                channel = line.split("built ", 1)[1].split(" ", 1)[0]
                out[channel] = line.split(" index: ", 1)[1]
        return out

    def mem(self) -> dict[str, float]:
        return proc_mem(self.proc.pid) if self.proc else {}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def http_runner(url: str):
    local = threading.local()

    def send(q: str) -> dict:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        r = local.session.get(url + "/api/v1/search", params={"q": q, "k": 10}, timeout=300)
        if r.status_code != 200:
            raise RuntimeError(f"{r.status_code} for {q!r}: {r.text[:300]}")
        return r.json()

    return send


def run_queries(send, queries: list[str], threads: int, budget_s: float | None = None, after=None) -> dict:
    """Each query once, `threads` clients pulling from one queue; per-request latency and throughput.
    With a budget, no query is started after budget_s seconds (the ones answered are reported).
    `after(q)` runs after each answer, outside its timing (the paired floor); q/s then counts only the
    requests' own time."""
    todo: queue.Queue = queue.Queue()
    for q in queries:
        todo.put(q)
    latencies: list[float] = []
    errors: list[str] = []
    first: list[dict] = []

    def client():
        while True:
            if budget_s is not None and time.perf_counter() - started > budget_s:
                return
            try:
                q = todo.get_nowait()
            except queue.Empty:
                return
            t = time.perf_counter()
            try:
                body = send(q)
            except Exception as exc:  # noqa: BLE001 - counted and shown, the run goes on
                errors.append(str(exc))
                continue
            latencies.append(time.perf_counter() - t)
            if not first:
                first.append(body)
            if after is not None:
                after(q)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    busy = sum(latencies) / threads if after is not None else wall
    return {"threads": threads, "n": len(latencies), "errors": len(errors), "error_sample": errors[:3],
            "p50_ms": pct(ms, 50), "p90_ms": pct(ms, 90), "p99_ms": pct(ms, 99), "max_ms": max(ms, default=0.0),
            "mean_ms": float(np.mean(ms)) if ms else float("nan"), "qps": len(latencies) / busy if busy else 0.0,
            "wall_s": wall, "latencies_ms": ms, "sample": first[0] if first else None}


# -- the floor, recall, and where the time goes ------------------------------------------------------

class Floor:
    """What no implementation can avoid, per query, as the engine does it: MiniLM encode + CLIP text
    encode + FAISS k=200 on each channel. Called once per query, right after the API answered the same
    query, so both see the same machine (other processes come and go on it)."""

    def __init__(self, indexes: dict, text_model, clip_model):
        self.indexes = indexes
        # the encoders the engine uses for queries (ONNX Runtime), and the PyTorch models they come from,
        # timed on the same query as a reference (not part of the floor)
        self.text_model = models.load_query_encoder("text", text_model.name, QUERY_ENCODER_DIR, "cpu")
        self.clip_model = models.load_query_encoder("clip", clip_model.name, QUERY_ENCODER_DIR, "cpu")
        self.torch_models = {"torch_minilm": lambda q: text_model.encode([q]),
                             "torch_clip": lambda q: clip_model.encode_texts([q])}
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.qvec: dict[str, list[np.ndarray]] = {"segment": [], "keyframe": []}
        self.found: dict[str, list[np.ndarray]] = {"segment": [], "keyframe": []}
        self.cpu_s = 0.0

    def __call__(self, q: str) -> None:
        c = time.process_time()
        t0 = time.perf_counter()
        sv = self.text_model.encode([q])[0]
        t1 = time.perf_counter()
        kv = self.clip_model.encode([q])[0]
        t2 = time.perf_counter()
        _, si = self.indexes["segment"].search(sv.reshape(1, -1).astype(np.float32), CANDIDATES)
        t3 = time.perf_counter()
        _, ki = self.indexes["keyframe"].search(kv.reshape(1, -1).astype(np.float32), CANDIDATES)
        t4 = time.perf_counter()
        self.cpu_s += time.process_time() - c
        for name, encode in self.torch_models.items():
            t = time.perf_counter()
            encode(q)
            self.ms[name].append((time.perf_counter() - t) * 1000)
        for name, a, b in (("encode_minilm", t0, t1), ("encode_clip", t1, t2), ("faiss_segment", t2, t3),
                           ("faiss_keyframe", t3, t4), ("floor", t0, t4)):
            self.ms[name].append((b - a) * 1000)
        self.qvec["segment"].append(sv)
        self.qvec["keyframe"].append(kv)
        self.found["segment"].append(np.asarray(si[0]))
        self.found["keyframe"].append(np.asarray(ki[0]))

    def summary(self) -> dict:
        n = len(self.ms["floor"])
        return {k: {"p50": pct(v, 50), "p99": pct(v, 99), "mean": float(np.mean(v))} for k, v in self.ms.items()} \
            | {"cpu_per_query": self.cpu_s * 1000 / max(1, n), "n": n}


def load_indexes(data_dir: Path) -> tuple[dict, float]:
    from search.vector_index import VectorIndex

    t = time.perf_counter()
    indexes = {c: VectorIndex.load(data_dir / "vectors" / f"{c}.faiss")[0] for c in ("segment", "keyframe")}
    return indexes, time.perf_counter() - t


def exact_topk(mm: np.ndarray, queries: np.ndarray, k: int, chunk: int = 50_000) -> np.ndarray:
    """Owner ids (row + 1) of the exact top-k by inner product (the vectors are unit length), best first."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    qt = np.ascontiguousarray(queries.T, dtype=np.float32)
    for start in range(0, len(mm), chunk):
        scores = np.asarray(mm[start:start + chunk]) @ qt  # (chunk, nq)
        kk = min(k, scores.shape[0])
        part = np.argpartition(-scores, kk - 1, axis=0)[:kk].T  # (nq, kk)
        s = np.take_along_axis(scores.T, part, axis=1)
        best_s = np.concatenate([best_s, s], axis=1)
        best_i = np.concatenate([best_i, part + start + 1], axis=1)
        keep = np.argsort(-best_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
    return best_i


def recall(found: list[np.ndarray], exact: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k].tolist()) & set(e[:k].tolist())) / k for f, e in zip(found, exact)]))


def breakdown(engine, queries: list[str]) -> dict:
    """engine.search on each query in this process, with every stage timed (monkeypatched timers)."""
    import search.engine as search_engine

    acc: dict[str, list[float]] = defaultdict(list)
    current: dict[str, float] = defaultdict(float)

    def timed(name, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                current[name] += time.perf_counter() - t
        return wrapper

    text_model, clip_model = engine.query_encoder("transcript"), engine.query_encoder("visual")
    seg, kf = engine.channel_index("transcript"), engine.channel_index("visual")
    stages = [(text_model, "encode", f"encode query, MiniLM ({text_model.runtime})"),
              (clip_model, "encode", f"encode query, CLIP text ({clip_model.runtime})"),
              (seg, "sync", "index sync check (SQL, both channels)"), (kf, "sync", "index sync check (SQL, both channels)"),
              (seg._index, "search", "FAISS segment k=200"), (kf._index, "search", "FAISS keyframe k=200"),
              (seg, "locate", "hit places (memory, both channels)"), (kf, "locate", "hit places (memory, both channels)"),
              (engine, "_searchable", "hit videos still indexed (SQL)"),
              (engine, "_decorate", "decorate page (titles, snippets, thumbnails)")]
    saved = [(obj, attr, attr in vars(obj), getattr(obj, attr)) for obj, attr, _ in stages]
    for obj, attr, name in stages:
        setattr(obj, attr, timed(name, getattr(obj, attr)))
    # module functions the engine calls by name
    module_stages = {"search_keywords": "keyword FTS5 query (SQL)", "group_into_moments": "fusion + grouping into moments"}
    originals = {attr: getattr(search_engine, attr) for attr in module_stages}
    for attr, name in module_stages.items():
        setattr(search_engine, attr, timed(name, originals[attr]))

    def one_channel_at_a_time(asks):  # the engine asks channels side by side; timed stages must not overlap
        return [hit for ask in asks for hit in ask()]

    engine._ask_channels = one_channel_at_a_time
    totals = []
    try:
        for q in queries:
            current.clear()
            t = time.perf_counter()
            engine.search(search_engine.SearchRequest(text=q, k=10))
            total = time.perf_counter() - t
            totals.append(total * 1000)
            for name, value in current.items():
                acc[name].append(value * 1000)
            acc["other (parse, Python glue)"].append((total - sum(current.values())) * 1000)
    finally:
        for attr, fn in originals.items():
            setattr(search_engine, attr, fn)
        del engine._ask_channels
        for obj, attr, had_own, fn in saved:  # the models are this process's shared singletons
            if had_own:
                setattr(obj, attr, fn)
            else:
                delattr(obj, attr)
    stages_ms = {name: {"mean": float(np.mean(v)), "p50": pct(v, 50), "p99": pct(v, 99)} for name, v in acc.items()}
    return {"queries": len(totals), "total": {"mean": float(np.mean(totals)), "p50": pct(totals, 50), "p99": pct(totals, 99)},
            "stages": stages_ms}


def in_process_engine(data_dir: Path, clip_name: str, fallback: bool):
    """A SearchEngine on the same data dir (it loads the index files the server saved)."""
    from search.engine import SearchEngine

    settings = Settings(data_dir=data_dir, database_url="", device="cpu", text_model=TEXT_MODEL,
                        clip_model=clip_name if not fallback else "test-tiny-random")
    if not fallback:
        return SearchEngine(settings, Catalog(settings.catalog_url))

    clip = fallback_clip()

    class BenchEngine(SearchEngine):  # the registry lacks a ViT-B-32 test model: supply one
        def clip_model(self):
            return clip

        def visual_availability(self):
            return models.ClipAvailability(True, clip.name, "bench: random ViT-B-32", test_only=True)

    return BenchEngine(replace(settings), Catalog(settings.catalog_url))


_FALLBACK_CLIP = []


def fallback_clip():
    if not _FALLBACK_CLIP:
        from models.clip import ClipModel

        _FALLBACK_CLIP.append(ClipModel("ViT-B-32", None, "cpu", BENCH_CLIP, f"{BENCH_CLIP}@seed0", 0))
    return _FALLBACK_CLIP[0]


# -- one size ----------------------------------------------------------------------------------------

def bench_size(n: int, work: Path, args, vocab, text_model, clip_model, clip_name: str, use_http: bool) -> dict:
    from search.engine import SearchRequest

    data_dir = work / f"n{n}"
    res: dict = {"n": n, "load_before": load_avg()}
    versions = models.model_versions(SPEECH_MODEL, TEXT_MODEL, clip_name if use_http else "test-tiny-random",
                                     data_dir / "models")
    versions["text"], versions["clip"] = text_model.version, clip_model.version
    print(f"\n=== {n:,} keyframe + {n:,} segment vectors ({-(-n // PER_VIDEO):,} videos) === load avg {res['load_before']}",
          flush=True)
    info, reused = catalog_for(data_dir, n, versions, clip_name, vocab, args.seed)
    res["catalog"] = info | {"reused": reused}
    print(f"catalog: {'reused' if reused else 'built'} in {info['build_s']:.1f} s, {info['catalog_mb']:.0f} MB", flush=True)
    shutil.rmtree(data_dir / "vectors", ignore_errors=True)  # a cold start: the server builds from SQL

    nq = args.queries
    all_q = make_queries(vocab, 10 + 2 * nq + 20, args.seed + n)
    warm_q, serial_q, conc_q, restart_q = all_q[:10], all_q[10:10 + nq], all_q[10 + nq:10 + 2 * nq], all_q[10 + 2 * nq:]

    def measure(send, pid: int | None) -> Floor:
        """Warm-up, then 1 client with the floor paired per query, then `threads` clients."""
        indexes, res["index_load_s"] = load_indexes(data_dir)  # the files the server just saved
        res["index_kind"] = {c: i.kind for c, i in indexes.items()}
        floor = Floor(indexes, text_model, clip_model)
        run_queries(send, warm_q, 1, after=Floor(indexes, text_model, clip_model))
        for key, qs, threads, after in (("serial", serial_q, 1, floor), ("concurrent", conc_q, args.threads, None)):
            res[f"load_{key}"] = load_avg()
            cpu = proc_cpu_s(pid) if pid else time.process_time()
            res[key] = run_queries(send, qs, threads, args.phase_budget, after=after)
            if pid:
                res[key]["server_cpu_ms"] = (proc_cpu_s(pid) - cpu) * 1000 / max(1, res[key]["n"])
            sample = res[key].pop("sample") or {}
            res.setdefault("channels_used", sample.get("channels_used"))
            res.setdefault("notices", sample.get("notices"))
            print(f"{'API' if pid else 'in-process'} {threads} client(s): p50 {res[key]['p50_ms']:.1f} ms, "
                  f"p99 {res[key]['p99_ms']:.1f} ms, {res[key]['qps']:.1f} q/s, errors {res[key]['errors']}, "
                  f"load {res[f'load_{key}']}", flush=True)
        res["load_after"] = load_avg()
        return floor

    if use_http:
        server = Server(data_dir, clip_name, work / f"server-n{n}.log", args.server_env)
        try:
            server.start()
            ready_s, status = server.wait_ready(args.start_timeout)
            res["start"] = {"ready_s": ready_s, "builds": server.builds(), "mem_after_start": server.mem(),
                            "vectors": status.get("vectors"), "channels": status.get("channels")}
            print(f"server ready in {ready_s:.1f} s (cold: models + index build from SQL); "
                  f"builds: {res['start']['builds']}; vectors: {status.get('vectors')}", flush=True)
            floor = measure(http_runner(server.url), server.proc.pid)
            res["mem_after_queries"] = server.mem()
        finally:
            server.stop()
    else:
        # fallback: no ViT-B-32 test model in the registry: build and query in this process
        gc.collect()
        engine = in_process_engine(data_dir, clip_name, fallback=True)
        t = time.perf_counter()
        engine.warm()
        res["start"] = {"ready_s": time.perf_counter() - t, "builds": {}, "mem_after_start": proc_mem(os.getpid()),
                        "vectors": {c: {"size": i.size, "kind": i.kind} for c, i in engine.loaded_channels().items()}}

        def send(q):
            result = engine.search(SearchRequest(text=q, k=10))
            return {"channels_used": result.channels_used, "notices": result.notices}

        floor = measure(send, None)
        res["mem_after_queries"] = proc_mem(os.getpid())
        del engine
        gc.collect()

    res["floor"] = floor.summary()
    lat = np.asarray(res["serial"].pop("latencies_ms")[:len(floor.ms["floor"])])
    res["paired_ratio_p50"] = pct(lat / np.asarray(floor.ms["floor"][:len(lat)]), 50) if len(lat) else float("nan")
    res["concurrent"].pop("latencies_ms", None)
    f = res["floor"]
    print(f"floor p50 (paired with the 1-client phase): MiniLM {f['encode_minilm']['p50']:.1f} + CLIP "
          f"{f['encode_clip']['p50']:.1f} + FAISS seg {f['faiss_segment']['p50']:.1f} + kf "
          f"{f['faiss_keyframe']['p50']:.1f} = {f['floor']['p50']:.1f} ms", flush=True)

    # recall@10 / @200 against exact brute force over the stored vectors
    res["recall"] = {}
    measured = len(floor.ms["floor"])
    sample = np.arange(0, measured, max(1, measured // args.recall_queries))[:args.recall_queries]
    for channel, dim in (("segment", SEG_DIM), ("keyframe", KF_DIM)):
        mm = np.load(data_dir / f"{channel}.vectors.npy", mmap_mode="r")
        exact = exact_topk(mm, np.stack(floor.qvec[channel])[sample], CANDIDATES)
        found = [floor.found[channel][i] for i in sample]
        held = held_out_queries(args.seed, channel, dim, args.recall_queries)
        _, held_found = floor.indexes[channel].search(held, CANDIDATES)
        held_exact = exact_topk(mm, held, CANDIDATES)
        res["recall"][channel] = {
            "api_queries@10": recall(found, exact, 10), "api_queries@200": recall(found, exact, CANDIDATES),
            "in_distribution@10": recall(list(held_found), held_exact, 10),
            "in_distribution@200": recall(list(held_found), held_exact, CANDIDATES), "queries": len(sample)}
        del mm
    print(f"recall: {json.dumps(res['recall'])}", flush=True)
    del floor
    gc.collect()

    # a restart on the index files the server saved
    if use_http and not args.no_restart:
        server = Server(data_dir, clip_name, work / f"server-n{n}-restart.log", args.server_env)
        try:
            server.start()
            ready_s, _ = server.wait_ready(args.start_timeout)
            run_queries(http_runner(server.url), restart_q, 1)
            res["restart"] = {"ready_s": ready_s, "mem": server.mem()}
            print(f"restart on saved index files: ready in {ready_s:.1f} s, mem {res['restart']['mem']}", flush=True)
        finally:
            server.stop()

    if args.breakdown_queries:
        engine = in_process_engine(data_dir, clip_name, fallback=not use_http)
        engine.warm()
        for q in warm_q:  # warm-up, not counted
            engine.search(SearchRequest(text=q, k=10))
        res["breakdown"] = breakdown(engine, serial_q[:args.breakdown_queries])
        del engine
        gc.collect()
    res["disk_mb"] = {"catalog": info["catalog_mb"], "index_files": dir_size_mb(data_dir / "vectors")}
    return res


# -- reporting ---------------------------------------------------------------------------------------

def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(res: dict, use_http: bool) -> None:
    n = res["n"]
    s, c, f = res["serial"], res["concurrent"], res["floor"]
    mem = res.get("mem_after_queries", {})
    start = res["start"]
    where = "HTTP API" if use_http else "in process (no HTTP: fallback)"
    print(f"\n--- {n:,} + {n:,} vectors, {where}; load avg (1/5/15 min) before {res['load_before']}, "
          f"1-client phase {res.get('load_serial')}, {c['threads']}-client phase {res.get('load_concurrent')}, "
          f"after {res.get('load_after')} ---")
    rows = [
        ("catalog build (SQLite bulk load)", f"{res['catalog']['build_s']:.1f} s{' (reused)' if res['catalog']['reused'] else ''}, "
                                            f"{res['catalog']['catalog_mb']:.0f} MB"),
        ("server start to ready (cold)", f"{start['ready_s']:.1f} s (models + index build from SQL + save)"),
    ]
    for channel, line in start.get("builds", {}).items():
        rows.append((f"  {channel} index build (server log)", line))
    rows.append(("index kinds", ", ".join(f"{k}: {v}" for k, v in res["index_kind"].items())
                 + f"; loading both saved files takes {res['index_load_s']:.1f} s"))
    if "restart" in res:
        rows.append(("restart on saved index files", f"{res['restart']['ready_s']:.1f} s to ready"))
    rows += [
        ("latency, 1 client", f"p50 {s['p50_ms']:.1f} ms, p90 {s['p90_ms']:.1f}, p99 {s['p99_ms']:.1f}, "
                              f"max {s['max_ms']:.1f}; {s['qps']:.1f} q/s ({s['n']} queries, {s['errors']} errors)"),
        (f"latency, {c['threads']} clients", f"p50 {c['p50_ms']:.1f} ms, p90 {c['p90_ms']:.1f}, p99 {c['p99_ms']:.1f}, "
                                             f"max {c['max_ms']:.1f}; {c['qps']:.1f} q/s ({c['n']} queries, {c['errors']} errors)"),
        ("floor per query (p50, paired)", f"{f['floor']['p50']:.1f} ms = MiniLM {f['encode_minilm']['p50']:.1f} + CLIP text "
                                  f"{f['encode_clip']['p50']:.1f} + FAISS seg {f['faiss_segment']['p50']:.1f} + "
                                  f"FAISS kf {f['faiss_keyframe']['p50']:.1f} (p99 {f['floor']['p99']:.1f})"),
        ("query encoding, PyTorch instead (p50)", f"MiniLM {f['torch_minilm']['p50']:.1f} + CLIP text "
                                                  f"{f['torch_clip']['p50']:.1f} ms: ONNX Runtime is "
                                                  f"{(f['torch_minilm']['p50'] + f['torch_clip']['p50']) / (f['encode_minilm']['p50'] + f['encode_clip']['p50']):.1f}x faster"),
        ("overhead (API p50 / floor p50)", f"{c['p50_ms'] / f['floor']['p50']:.2f}x with {c['threads']} clients, "
                                           f"{s['p50_ms'] / f['floor']['p50']:.2f}x with 1; per-query paired "
                                           f"API/floor median {res['paired_ratio_p50']:.2f}x"),
        ("CPU per query (all threads)", f"server {s.get('server_cpu_ms', float('nan')):.1f} ms (1 client), "
                                        f"{c.get('server_cpu_ms', float('nan')):.1f} ms ({c['threads']} clients); "
                                        f"floor {f['cpu_per_query']:.1f} ms; ratio "
                                        f"{s.get('server_cpu_ms', float('nan')) / f['cpu_per_query']:.2f}x"),
    ]
    for channel, r in res["recall"].items():
        rows.append((f"recall {channel}", f"@10 {r['api_queries@10']:.3f} (API queries), {r['in_distribution@10']:.3f} "
                                          f"(in-distribution); @200 {r['api_queries@200']:.3f} / "
                                          f"{r['in_distribution@200']:.3f}"))
    rss_label = "server" if use_http else "bench process (fallback)"
    rows.append((f"{rss_label} memory", f"peak (VmHWM) {mem.get('VmHWM', 0) / 1024:.2f} GB, RSS after queries "
                                        f"{mem.get('VmRSS', 0) / 1024:.2f} GB; peak at ready "
                                        f"{start['mem_after_start'].get('VmHWM', 0) / 1024:.2f} GB"))
    if "restart" in res:
        rows.append(("  after restart (saved files)", f"peak {res['restart']['mem'].get('VmHWM', 0) / 1024:.2f} GB, "
                                                      f"RSS {res['restart']['mem'].get('VmRSS', 0) / 1024:.2f} GB"))
    rows.append(("index files on disk", f"{res['disk_mb']['index_files']:.0f} MB"))
    if res.get("channels_used") is not None:
        rows.append(("channels used", f"{res['channels_used']}"))
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    if "breakdown" in res:
        b = res["breakdown"]
        print(f"\nwhere an in-process engine.search spends its time (channels one at a time, {b['queries']} queries): total p50 {b['total']['p50']:.1f} ms, mean {b['total']['mean']:.1f} ms")
        for name, v in sorted(b["stages"].items(), key=lambda kv: -kv[1]["mean"]):
            print(f"  {name:<45} mean {v['mean']:7.2f} ms   p50 {v['p50']:7.2f}   p99 {v['p99']:7.2f}")
        print(f"  API 1-client p50 - in-process engine p50 (HTTP, Flask, JSON; only meaningful at equal load): "
              f"{s['p50_ms'] - b['total']['p50']:.1f} ms")


def summary(results: list[dict]) -> None:
    print("\n=== summary ===")
    head = f"{'vectors':>12} {'p50 ms':>8} {'p99 ms':>8} {'q/s':>6} {'floor':>7} {'ovh':>6} {'rec seg':>8} " \
           f"{'rec kf':>7} {'start s':>8} {'peak GB':>8} {'RSS GB':>7}  load(1m)"
    print(head)
    for r in results:
        c, f = r["concurrent"], r["floor"]["floor"]["p50"]
        mem = r.get("mem_after_queries", {})
        print(f"{r['n']:>6,} + same {c['p50_ms']:8.1f} {c['p99_ms']:8.1f} {c['qps']:6.1f} {f:7.1f} "
              f"{c['p50_ms'] / f:5.2f}x {r['recall']['segment']['api_queries@10']:8.3f} "
              f"{r['recall']['keyframe']['api_queries@10']:7.3f} {r['start']['ready_s']:8.1f} "
              f"{mem.get('VmHWM', 0) / 1024:8.2f} {mem.get('VmRSS', 0) / 1024:7.2f}  {r.get('load_concurrent')}")
    big = max(results, key=lambda r: r["n"])
    c, f = big["concurrent"], big["floor"]["floor"]["p50"]
    rec = min(min(big["recall"][ch]["api_queries@10"], big["recall"][ch]["in_distribution@10"])
              for ch in ("segment", "keyframe"))
    peak = big.get("mem_after_queries", {}).get("VmHWM", 0) / 1024
    print(f"\ntargets at {big['n']:,} + {big['n']:,} ({'the 1M target size' if big['n'] >= 1_000_000 else 'below the 1M target size'}), "
          f"{c['threads']} clients:")
    print(f"  p50 {c['p50_ms']:.1f} ms <= {TARGETS['p50_ms']:.0f}: {mark(c['p50_ms'] <= TARGETS['p50_ms'])}")
    print(f"  p99 {c['p99_ms']:.1f} ms <= {TARGETS['p99_ms']:.0f}: {mark(c['p99_ms'] <= TARGETS['p99_ms'])}")
    print(f"  recall@10 (worst channel and query kind) {rec:.3f} >= {TARGETS['recall10']}: {mark(rec >= TARGETS['recall10'])}")
    print(f"  overhead {c['p50_ms'] / f:.2f}x <= {TARGETS['overhead']}x: {mark(c['p50_ms'] / f <= TARGETS['overhead'])}")
    print(f"  peak RSS {peak:.2f} GB <= {TARGETS['rss_gb']:.0f}: {mark(peak <= TARGETS['rss_gb'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated vector counts per channel (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=300, help="queries per phase (1 client, then 2)")
    parser.add_argument("--threads", type=int, default=2, help="client threads in the concurrent phase")
    parser.add_argument("--phase-budget", type=float, default=300.0,
                        help="seconds per query phase: no query starts after it (keeps a slow server's run bounded)")
    parser.add_argument("--recall-queries", type=int, default=200, help="queries per recall measurement")
    parser.add_argument("--breakdown-queries", type=int, default=100,
                        help="queries for the in-process stage breakdown (0: skip it)")
    parser.add_argument("--no-restart", action="store_true", help="skip the restart on saved index files")
    parser.add_argument("--start-timeout", type=float, default=1800.0, help="seconds to wait for the server")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server (diagnostics, e.g. OMP_NUM_THREADS=1); repeatable")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the catalogs here (reused when present) and results.json")
    args = parser.parse_args()
    sizes = [int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()]

    use_http = BENCH_CLIP in CLIP_MODELS
    version = code_version()
    print(f"machine: {os.cpu_count()} cores, load avg {load_avg()}; python {sys.version.split()[0]}; "
          f"code: commit {version[0]}, source fingerprint {version[1]}")
    if use_http:
        print(f"visual channel: registry model {BENCH_CLIP!r} (ViT-B-32 shape, random weights: real cost, "
              f"meaningless results)")
    else:
        print(f"NOTE: the registry has no {BENCH_CLIP!r}: no HTTP server run; latency is measured in process "
              f"with a SearchEngine subclass supplying a random ViT-B-32 (no HTTP, no waitress)")
    t = time.perf_counter()
    text_model = models.load_text(TEXT_MODEL, "cpu")
    clip_model = models.load_clip(BENCH_CLIP, ROOT / "unused-models-dir", "cpu") if use_http else fallback_clip()
    print(f"bench models loaded in {time.perf_counter() - t:.1f} s: {text_model.version}, {clip_model.version}")
    vocab = vocabulary()

    work = args.keep or Path(tempfile.mkdtemp(prefix="reelscope-latency-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in sizes:
            started = time.perf_counter()
            res = bench_size(n, work, args, vocab, text_model, clip_model, BENCH_CLIP, use_http)
            res["wall_s"] = time.perf_counter() - started
            res["code"] = {"commit": version[0], "fingerprint": version[1]}
            results.append(res)
            report(res, use_http)
            print(f"(size {n:,} took {res['wall_s']:.0f} s)")
            if args.keep:
                (work / "results.json").write_text(json.dumps(results, indent=2, default=str))
            else:
                shutil.rmtree(work / f"n{n}", ignore_errors=True)
        if results:
            summary(results)
        now = code_version()
        if now[1] != version[1]:
            print(f"\nWARNING: the source changed during the run (fingerprint {version[1]} -> {now[1]}, commit "
                  f"{version[0]} -> {now[0]}): this process measured the old code, servers started later the new; "
                  f"figures mix versions, run again")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
