"""Load: the real server under 16 concurrent connections for a minute per phase, with and without indexing.

    .venv/bin/python bench/load.py [--size 90000] [--duration 60] [--connections 16] [--keep DIR]
        [--status-duration 20] [--rec-share 0.5] [--users 2000] [--events-per-user 50] (--help for the rest)

The catalog is search_latency.py's synthetic SQLite catalog (imported, not copied): --size keyframes and
as many transcript segments (English-word text in FTS5) with their 384-d MiniLM and 512-d CLIP vectors,
plus users with a taste over a few topics and ~--events-per-user events each (view, progress, complete,
like, dislike, skip over 30 days; as in recommend_latency.py) and an ALS model (`reelscope recommend
train`). The visual channel runs the registry's `bench-vit-b-32-random` (ViT-B-32 cost, random weights).
Real media for the indexer: samples/'s sample library (4 short clips) and talk videos (speech
throughout, a cut every 10 s, 640x360).

`reelscope serve` (waitress, its default 8 threads) starts on it as a subprocess. A Python client
(--connections threads, one keep-alive http.client connection each, so up to 16 requests in flight)
drives it, each phase for a fixed time:

  0. GET /api/v1/status, idle server: the server's own ceiling (HTTP, Flask, a few catalog counts)
  1. GET /api/v1/search?q=...&k=10, idle server
  2. the same while `reelscope index add --force --json MEDIA` runs on the same catalog (a subprocess,
     the in-process runner, restarted whenever it finishes, so indexing goes on for the whole phase)
  3. searches mixed with GET /api/v1/users/<id>/recommendations?k=10 (--rec-share of them), indexing on

Every search query is distinct over the whole run (search_latency.make_queries), so the server's
query-vector cache never answers one. Per phase: requests/s, p50/p90/p99/max latency (send to last
byte, so waiting in waitress's queue counts), non-2xx and 5xx counts, connection errors; the server's
RSS sampled every second (start, max, end, least-squares slope in MB/min); CPU seconds used by the
server, the indexer, this client and everything else on the machine (from /proc), which says where
the 2 cores went. Exit status 1 when any 5xx or connection error occurred (or the server died).

Targets (issue 7, 2-core machine): >= 100 uncached searches/s and p99 <= 250 ms while indexing, zero
5xx, no RSS growth over the run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import search_latency as sl
from recommend_latency import percentiles

import models

EXTRAS_FORMAT = 1          # bump when add_users_events changes what it writes
TARGET_QPS, TARGET_P99_MS = 100.0, 250.0
TOPIC_GROUPS = 50          # users' tastes are over groups of the catalog's topics


# -- users, events, media --------------------------------------------------------------------------------

def add_users_events(data_dir: Path, info: dict, n_users: int, per_user: int, seed: int) -> dict:
    """Users and their events on the synthetic catalog's videos, as recommend_latency.build does for its own
    catalog: each user has a taste over 2-3 topic groups, 10% noise, six event kinds over 30 days."""
    from sqlalchemy import delete

    from catalog import Catalog, Event, User
    from samples.synthetic_events import add_viewers

    started = time.perf_counter()
    rng = np.random.default_rng([seed, 11])
    n_videos = info["videos"]
    # the catalog's own per-video topics (search_latency.build_catalog draws them the same way)
    group = np.random.default_rng([info["seed"], 99]).integers(0, sl.CLUSTERS, n_videos + 1)[1:] % TOPIC_GROUPS
    by_group = [np.flatnonzero(group == g) + 1 for g in range(TOPIC_GROUPS)]
    by_group = [g for g in by_group if len(g)]
    now = dt.datetime.now(dt.UTC)
    catalog = Catalog(f"sqlite:///{data_dir / 'catalog.sqlite3'}")
    with catalog.session() as s:
        s.execute(delete(Event))
        s.execute(delete(User))
        add_viewers(s, rng, n_users, by_group, n_videos, per_user, now, name="load user")
        s.commit()
    catalog.dispose()
    return {"format": EXTRAS_FORMAT, "users": n_users, "per_user": per_user, "seed": seed,
            "build_s": time.perf_counter() - started}


def make_media(folder: Path, talk_minutes: list[float]) -> list[Path]:
    """The sample library and talk videos of these lengths (distinct lengths: distinct content hashes)."""
    from samples import make_sample_library, make_talk_video

    folder.mkdir(parents=True, exist_ok=True)
    paths = [v.path for v in make_sample_library(folder / "library")]  # idempotent
    for minutes in talk_minutes:
        path = folder / f"talk-{minutes:g}min-640x360.mp4"
        if not path.exists():  # written atomically by samples.make_video
            make_talk_video(path, minutes=minutes, size=(640, 360))
        paths.append(path)
    return paths


def media_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return (container.duration or 0) / 1e6


ADMIN_TOKEN = "bench-admin-token"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def server_env(data_dir: Path) -> dict:
    env = dict(os.environ, REELSCOPE_DATA_DIR=str(data_dir), REELSCOPE_DEVICE="cpu", REELSCOPE_CLIP_MODEL=sl.BENCH_CLIP,
               REELSCOPE_TEXT_MODEL=sl.TEXT_MODEL, REELSCOPE_SPEECH_MODEL=sl.SPEECH_MODEL, HF_HUB_OFFLINE="1",
               PYTHONUNBUFFERED="1")
    for name in ("REELSCOPE_DATABASE_URL", "REELSCOPE_BROKER_URL"):
        env.pop(name, None)
    env["REELSCOPE_ADMIN_TOKEN"] = ADMIN_TOKEN  # the feeds asked for are many users': an admin's view
    return env


# -- the indexer, for the whole of phases 2 and 3 ----------------------------------------------------------

class IndexerLoop:
    """`reelscope index add --force --json MEDIA`, started again whenever it finishes, until stopped."""

    def __init__(self, env: dict, media: Path, log_path: Path, t0: float):
        self.env, self.media, self.log_path, self.t0 = env, media, log_path, t0
        self.outcomes: list[tuple[float, dict]] = []
        self.runs: list[tuple[float, float, int]] = []  # (start, end, exit code)
        self.proc: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def pid(self) -> int | None:
        p = self.proc
        return p.pid if p is not None and p.poll() is None else None

    def _loop(self) -> None:
        with open(self.log_path, "a") as log:
            while not self._stop.is_set():
                started = time.perf_counter() - self.t0
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "web.cli", "index", "add", "--force", "--json", str(self.media)],
                    cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
                for line in self.proc.stdout:
                    try:
                        self.outcomes.append((time.perf_counter() - self.t0, json.loads(line)))
                    except json.JSONDecodeError:
                        log.write(line)
                self.proc.wait()
                self.runs.append((started, time.perf_counter() - self.t0, self.proc.returncode))
                if self.proc.returncode not in (0, 130, -signal.SIGINT) and not self._stop.is_set():
                    log.write(f"index add exited with {self.proc.returncode}\n")
                    time.sleep(1)

    def stop(self) -> None:
        self._stop.set()
        p = self.proc
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGINT)  # finished videos are kept; the current one is rolled back
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self._thread.join(120)


def wait_indexing(db: Path, loop: IndexerLoop, timeout: float) -> float:
    """Until a video is claimed by the indexer (its models are loaded and it works on a file)."""
    started = time.perf_counter()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        while time.perf_counter() - started < timeout:
            if loop.outcomes or con.execute("SELECT count(*) FROM videos WHERE status = 'indexing'").fetchone()[0]:
                return time.perf_counter() - started
            time.sleep(0.5)
    finally:
        con.close()
    print(f"WARNING: the indexer had not started a video after {timeout:.0f} s; going on", flush=True)
    return time.perf_counter() - started


# -- sampling: RSS, CPU, load, once a second --------------------------------------------------------------

def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / tick, sum(fields) / tick


class Sampler(threading.Thread):
    def __init__(self, server_pid: int, indexer: callable, t0: float):
        super().__init__(daemon=True)
        self.server_pid, self.indexer, self.t0 = server_pid, indexer, t0
        self.samples: list[dict] = []
        self.stop_event = threading.Event()

    def sample(self) -> dict:
        mem = sl.proc_mem(self.server_pid)
        busy, total = machine_cpu()
        ipid = self.indexer()
        return {"t": time.perf_counter() - self.t0, "rss_mb": mem.get("VmRSS", float("nan")),
                "hwm_mb": mem.get("VmHWM", float("nan")), "server_cpu": sl.proc_cpu_s(self.server_pid),
                "indexer_pid": ipid, "indexer_cpu": sl.proc_cpu_s(ipid) if ipid else 0.0,
                "indexer_rss_mb": sl.proc_mem(ipid).get("VmRSS", 0.0) if ipid else 0.0,
                "client_cpu": time.process_time(), "machine_busy": busy, "machine_total": total,
                "load1": os.getloadavg()[0]}

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.samples.append(self.sample())
            self.stop_event.wait(1.0)

    def window(self, start: float, end: float) -> list[dict]:
        return [s for s in self.samples if start <= s["t"] <= end]


def indexer_cpu(samples: list[dict]) -> float:
    """CPU seconds the indexer processes used over these samples: increments per pid; a pid first seen after
    the window's first sample started inside the window and counts from zero."""
    total, prev = 0.0, None
    for i, s in enumerate(samples):
        pid, cpu = s["indexer_pid"], s["indexer_cpu"]
        if pid is None or np.isnan(cpu):
            prev = None
            continue
        if prev is not None and prev["indexer_pid"] == pid:
            total += max(0.0, cpu - prev["indexer_cpu"])
        elif i > 0:
            total += cpu
        prev = s
    return total


def rss_stats(samples: list[dict]) -> dict:
    t = np.array([s["t"] for s in samples])
    rss = np.array([s["rss_mb"] for s in samples])
    ok = np.isfinite(rss)
    t, rss = t[ok], rss[ok]
    if len(rss) < 2:
        return {"start": float("nan"), "max": float("nan"), "end": float("nan"), "slope_mb_min": float("nan")}
    slope = float(np.polyfit(t / 60.0, rss, 1)[0])
    return {"start": float(rss[0]), "max": float(rss.max()), "end": float(rss[-1]), "slope_mb_min": slope,
            "n": len(rss)}


# -- the client ------------------------------------------------------------------------------------------

def run_phase(name: str, port: int, duration: float, connections: int, next_request, sampler: Sampler,
              t0: float) -> dict:
    """`connections` threads, each one keep-alive connection, sending next_request()'s paths until `duration`
    is up (requests in flight then are finished and counted)."""
    records: list[tuple[str, float, float, int]] = []  # (kind, start offset s, latency s, status or -1)
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + duration

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        while time.perf_counter() < deadline:
            kind, path = next_request()
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers=ADMIN_HEADERS)
                response = conn.getresponse()
                body = response.read()
                status = response.status
                if status >= 500 and len(errors) < 5:
                    errors.append(f"{status} {path}: {body[:200]!r}")
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                status = -1
                if len(errors) < 5:
                    errors.append(f"{type(exc).__name__}: {exc} ({path})")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            mine.append((kind, t - start, time.perf_counter() - t, status))
        conn.close()
        with lock:
            records.extend(mine)

    load_before = sl.load_avg()
    before = sampler.sample()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    after = sampler.sample()
    window = sampler.window(start - t0, start - t0 + wall)
    res = {"name": name, "wall_s": wall, "start_t": start - t0, "end_t": start - t0 + wall, "connections": connections, "load_before": load_before,
           "load_after": sl.load_avg(), "errors_sample": errors,
           "load1_mean": float(np.mean([s["load1"] for s in window])) if window else float("nan"),
           "rss": rss_stats(window), "by_kind": {}}
    for kind in sorted({r[0] for r in records}) + ["all"]:
        rows = [r for r in records if kind == "all" or r[0] == kind]
        lat = [r[2] for r in rows]
        status = np.array([r[3] for r in rows])
        p = percentiles(lat) if lat else {}
        res["by_kind"][kind] = {
            "n": len(rows), "rps": len(rows) / wall, "p50": p.get("p50", float("nan")),
            "p90": float(np.percentile(np.asarray(lat) * 1000, 90)) if lat else float("nan"),
            "p99": p.get("p99", float("nan")), "max": max(lat, default=float("nan")) * 1000,
            "mean": p.get("mean", float("nan")), "non2xx": int(((status < 200) | (status > 299)).sum()),
            "s5xx": int((status >= 500).sum()), "conn_errors": int((status == -1).sum())}
    # where the CPU went (core-seconds over the phase; 2 cores give 2 per second)
    res["cpu"] = {"server": after["server_cpu"] - before["server_cpu"],
                  "indexer": indexer_cpu([before] + window + [after]),
                  "client": after["client_cpu"] - before["client_cpu"],
                  "machine": after["machine_busy"] - before["machine_busy"],
                  "capacity": (after["machine_total"] - before["machine_total"])}
    res["cpu"]["other"] = res["cpu"]["machine"] - res["cpu"]["server"] - res["cpu"]["indexer"] - res["cpu"]["client"]
    return res


def print_phase(res: dict) -> None:
    print(f"\n--- phase {res['name']}: {res['wall_s']:.1f} s, {res['connections']} connections; load avg before "
          f"{res['load_before']}, after {res['load_after']} (1-min mean over the phase {res['load1_mean']:.2f}) ---")
    print(f"  {'endpoint':<16}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'non-2xx':>9}{'5xx':>5}{'conn err':>9}")
    for kind, k in res["by_kind"].items():
        print(f"  {kind:<16}{k['n']:>9}{k['rps']:>8.1f}{k['p50']:>9.1f}{k['p90']:>9.1f}{k['p99']:>9.1f}{k['max']:>9.1f}"
              f"{k['non2xx']:>9}{k['s5xx']:>5}{k['conn_errors']:>9}")
    r, c = res["rss"], res["cpu"]
    print(f"  server RSS MB: start {r['start']:.0f}, max {r['max']:.0f}, end {r['end']:.0f}, slope "
          f"{r['slope_mb_min']:+.1f} MB/min ({r.get('n', 0)} samples)")
    n = res["by_kind"]["all"]["n"]
    print(f"  CPU core-s: server {c['server']:.1f} ({c['server'] / res['wall_s']:.2f} cores, "
          f"{c['server'] * 1000 / max(1, n):.1f} ms/request), indexer "
          f"{c['indexer']:.1f}, this client {c['client']:.1f}, everything else {c['other']:.1f}; machine busy "
          f"{c['machine']:.1f} of {c['capacity']:.1f} ({100 * c['machine'] / max(1e-9, c['capacity']):.0f}%)")
    for e in res["errors_sample"]:
        print(f"  error: {e}")


# -- main --------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=90_000,
                        help="keyframes = transcript segments (vectors per channel); videos = size / 100. Keep it "
                             "clear of 100,000 (VectorIndex's exact_limit): a catalog that crosses it while indexing "
                             "re-trains flat -> IVF once, under the sync lock, stalling every search for the "
                             "re-train (33 s in the first run, see bench/RESULTS.md) (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase 1-3 (default: %(default)s)")
    parser.add_argument("--status-duration", type=float, default=20.0,
                        help="seconds for phase 0, /api/v1/status (0: skip; default: %(default)s)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rec-share", type=float, default=0.5, help="share of recommendations in phase 3")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--events-per-user", type=int, default=50)
    parser.add_argument("--talk-minutes", default="3,4",
                        help="talk videos for the indexer, comma-separated lengths (default: %(default)s)")
    parser.add_argument("--rss-tolerance", type=float, default=50.0,
                        help="MB of server RSS growth over phases 1-3 still called stable (default: %(default)s)")
    parser.add_argument("--breakdown-queries", type=int, default=100,
                        help="after the phases, an in-process engine.search on this catalog, stage by stage "
                             "(search_latency.breakdown), for where a search's time goes (0: skip)")
    parser.add_argument("--start-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep catalog, media and logs here (reused when present)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    for name in ("REELSCOPE_DATABASE_URL", "REELSCOPE_BROKER_URL", "REELSCOPE_ADMIN_TOKEN"):
        os.environ.pop(name, None)  # SQLite, in-process indexing; sl.Server passes os.environ on
    version = sl.code_version()
    print(f"machine: {os.cpu_count()} cores, load avg {sl.load_avg()}; python {sys.version.split()[0]}; "
          f"code: commit {version[0]}, source fingerprint {version[1]}", flush=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="reelscope-load-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir, media = work / "catalog", work / "media"
    server = loop = sampler = None
    phases: list[dict] = []
    try:
        # catalog: search_latency's synthetic one, then users/events and an ALS model
        vocab = sl.vocabulary()
        versions = models.model_versions(sl.SPEECH_MODEL, sl.TEXT_MODEL, sl.BENCH_CLIP, data_dir / "models")
        info, reused = sl.catalog_for(data_dir, args.size, versions, sl.BENCH_CLIP, vocab, args.seed)
        print(f"catalog: {'reused' if reused else 'built'} ({info['build_s']:.0f} s): {info['videos']:,} videos, "
              f"{args.size:,} keyframes + {args.size:,} segments, {2 * args.size:,} vectors, "
              f"{info['catalog_mb']:.0f} MB", flush=True)
        marker = data_dir / "load-extras.json"
        want = {"format": EXTRAS_FORMAT, "users": args.users, "per_user": args.events_per_user, "seed": args.seed}
        extras = json.loads(marker.read_text()) if marker.exists() else {}
        env = server_env(data_dir)
        added = {k: extras.get(k) for k in want} != want
        if added:
            extras = add_users_events(data_dir, info, args.users, args.events_per_user, args.seed)
            train = subprocess.run([sys.executable, "-m", "web.cli", "recommend", "train", "--json"], cwd=ROOT,
                                   env=env, capture_output=True, text=True, check=True)
            extras["train"] = json.loads(train.stdout.strip().splitlines()[-1])
            marker.write_text(json.dumps(extras))
        print(f"users/events: {args.users:,} users x ~{args.events_per_user} events "
              f"({'added' if added else 'reused'}); ALS "
              f"{extras['train'].get('total_seconds')} s", flush=True)
        t = time.perf_counter()
        files = make_media(media, [float(x) for x in args.talk_minutes.split(",") if x.strip()])
        durations = {str(f.resolve()): media_seconds(f) for f in files}
        print(f"media for the indexer ({time.perf_counter() - t:.0f} s): {len(files)} files, "
              f"{sum(durations.values()) / 60:.1f} min of video, {sum(f.stat().st_size for f in files) / 2**20:.0f} MB",
              flush=True)

        # the server
        server = sl.Server(data_dir, sl.BENCH_CLIP, work / "server.log")  # its env: os.environ, cleaned above
        server.start()
        ready_s, status = server.wait_ready(args.start_timeout)
        print(f"server ready in {ready_s:.1f} s; vectors {status.get('vectors')}; RSS "
              f"{server.mem().get('VmRSS', 0):.0f} MB", flush=True)
        loop = IndexerLoop(env, media, work / "indexer.log", t0)
        sampler = Sampler(server.proc.pid, loop.pid, t0)
        sampler.start()

        queries = iter(sl.make_queries(vocab, 60_000, args.seed + 7))
        rng, qlock = random.Random(args.seed), threading.Lock()

        def search():
            with qlock:
                q = next(queries)
            return "search", "/api/v1/search?" + urllib.parse.urlencode({"q": q, "k": 10})

        def feed():
            with qlock:
                u = rng.randint(1, args.users)
            return "recommendations", f"/api/v1/users/{u}/recommendations?k=10"

        def mix():
            with qlock:
                r = rng.random()
            return feed() if r < args.rec_share else search()

        def status_request():
            return "status", "/api/v1/status"

        def phase(name, duration, fn):
            res = run_phase(name, server.port, duration, args.connections, fn, sampler, t0)
            phases.append(res)
            print_phase(res)
            if server.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {server.proc.returncode} (log: {server.log_path})")

        # warm-up, not counted: every thread's first requests, recommender and ALS paths
        run_phase("warm-up", server.port, 5.0, args.connections, mix, sampler, t0)
        if args.status_duration > 0:
            phase("0: GET /status, idle", args.status_duration, status_request)
        phase("1: search, idle", args.duration, search)
        loop.start()
        waited = wait_indexing(data_dir / "catalog.sqlite3", loop, 300)
        print(f"\nindexer started; its first video claimed after {waited:.1f} s", flush=True)
        indexing_from = time.perf_counter() - t0
        phase("2: search, indexing", args.duration, search)
        phase(f"3: search + recommendations ({args.rec_share:.0%}), indexing", args.duration, mix)
        indexing_to = time.perf_counter() - t0
        loop.stop()
        sampler.stop_event.set()
        sampler.join(5)

        # the indexer's work during phases 2-3
        done = [(at, o) for at, o in loop.outcomes if indexing_from <= at <= indexing_to]
        indexed = [o for _, o in done if o.get("status") == "indexed"]
        failed = [o for _, o in done if o.get("status") == "failed"]
        video_s = sum(durations.get(str(Path(o["path"]).resolve()), 0.0) for o in indexed)
        win = sampler.window(indexing_from, indexing_to)
        idx_cpu = indexer_cpu(win)
        span = indexing_to - indexing_from
        print(f"\nindexer over phases 2-3 ({span:.0f} s): {len(indexed)} videos indexed ({video_s / 60:.1f} min of "
              f"video), {len(failed)} failed, {len(loop.runs)} `index add` runs; CPU {idx_cpu:.0f} core-s "
              f"({idx_cpu / span:.2f} cores on average); peak indexer RSS "
              f"{max((s['indexer_rss_mb'] for s in win), default=0):.0f} MB; per video: "
              + ", ".join(f"{Path(o['path']).name} {o['seconds']:.1f} s" for o in indexed[:8]), flush=True)
        for o in failed[:3]:
            print(f"  failed: {o['path']}: {o.get('message')}")

        # summary
        measured = phases
        print("\n=== summary ===")
        print(f"{'phase':<44}{'req/s':>7}{'p50':>8}{'p90':>8}{'p99':>8}{'non2xx':>7}{'5xx':>5}"
              f"{'RSS start/max/end MB':>23}{'MB/min':>8}{'load1':>7}")
        for p in measured:
            a, r = p["by_kind"]["all"], p["rss"]
            print(f"{p['name'][:44]:<44}{a['rps']:>7.1f}{a['p50']:>8.1f}{a['p90']:>8.1f}{a['p99']:>8.1f}"
                  f"{a['non2xx']:>7}{a['s5xx']:>5}{r['start']:>9.0f}/{r['max']:.0f}/{r['end']:.0f}"
                  f"{r['slope_mb_min']:>+8.1f}{p['load1_mean']:>7.2f}")
            if len(p["by_kind"]) > 2:
                for kind, k in p["by_kind"].items():
                    if kind != "all":
                        print(f"  {kind:<42}{k['rps']:>7.1f}{k['p50']:>8.1f}{k['p90']:>8.1f}{k['p99']:>8.1f}"
                              f"{k['non2xx']:>7}{k['s5xx']:>5}")
        by = {p["name"][0]: p for p in measured}
        s1, s2 = by["1"]["by_kind"]["search"], by["2"]["by_kind"]["search"]
        print(f"\nphase 2 / phase 1 (indexing vs idle), searches: req/s {s2['rps'] / s1['rps']:.2f}x, "
              f"p50 {s2['p50'] / s1['p50']:.2f}x, p99 {s2['p99'] / s1['p99']:.2f}x")
        if "0" in by:
            st = by["0"]["by_kind"]["status"]
            print(f"ceiling (GET /api/v1/status, idle): {st['rps']:.1f} req/s, p50 {st['p50']:.1f} ms, p99 "
                  f"{st['p99']:.1f} ms; idle searches reach {s1['rps'] / st['rps']:.1%} of its rate")
        whole = rss_stats(sampler.window(by["1"]["start_t"], by["3"]["end_t"]))
        growth = whole["end"] - whole["start"]
        print(f"server RSS over phases 1-3: start {whole['start']:.0f} MB, max {whole['max']:.0f}, end "
              f"{whole['end']:.0f} ({growth:+.0f} MB), slope {whole['slope_mb_min']:+.1f} MB/min; VmHWM "
              f"{max(s['hwm_mb'] for s in sampler.samples):.0f} MB")
        five = sum(p["by_kind"]["all"]["s5xx"] for p in measured)
        conn = sum(p["by_kind"]["all"]["conn_errors"] for p in measured)
        non2 = sum(p["by_kind"]["all"]["non2xx"] for p in measured)
        print("\ntargets (while indexing, phase 2):")
        print(f"  uncached searches/s {s2['rps']:.1f} >= {TARGET_QPS:.0f}: {sl.mark(s2['rps'] >= TARGET_QPS)}")
        print(f"  p99 {s2['p99']:.0f} ms <= {TARGET_P99_MS:.0f}: {sl.mark(s2['p99'] <= TARGET_P99_MS)}")
        print(f"  5xx: {five} (non-2xx {non2}, connection errors {conn}): {sl.mark(five == 0 and conn == 0)}")
        print(f"  RSS growth over phases 1-3 {growth:+.0f} MB <= {args.rss_tolerance:.0f}: "
              f"{sl.mark(growth <= args.rss_tolerance)}")
        server.stop()
        if args.breakdown_queries:
            from search.engine import SearchRequest

            engine = sl.in_process_engine(data_dir, sl.BENCH_CLIP, fallback=False)
            engine.warm()
            with qlock:
                qs = [next(queries) for _ in range(args.breakdown_queries + 10)]
            for q in qs[:10]:  # warm-up, not counted
                engine.search(SearchRequest(text=q, k=10))
            b = sl.breakdown(engine, qs[10:])
            print(f"\nwhere one search's time goes (in process, serial, the server stopped; load avg {sl.load_avg()}; "
                  f"{b['queries']} queries): total p50 {b['total']['p50']:.1f} ms, mean {b['total']['mean']:.1f} ms")
            for name, v in sorted(b["stages"].items(), key=lambda kv: -kv[1]["mean"]):
                print(f"  {name:<45} mean {v['mean']:7.2f} ms   p50 {v['p50']:7.2f}   p99 {v['p99']:7.2f}")
            del engine
        now = sl.code_version()
        if now[1] != version[1]:
            print(f"\nWARNING: the source changed during the run ({version[1]} -> {now[1]}): run again")
        if args.keep:
            (work / "load-results.json").write_text(json.dumps(
                {"phases": phases, "rss_run": whole, "indexed": indexed, "runs": loop.runs,
                 "samples": sampler.samples}, indent=1, default=str))
        return 1 if five or conn else 0
    finally:
        if loop is not None:
            loop.stop()
        if sampler is not None:
            sampler.stop_event.set()
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        print(f"(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
