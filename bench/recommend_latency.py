"""Latency of GET /users/<id>/recommendations at scale, and ALS training time.

    .venv/bin/python bench/recommend_latency.py [--users 10000] [--videos 10000] [--events 1000000]
                                                [--requests 2000] [--keep DIR]

A synthetic catalog in SQLite: videos in 50 topics, each with three 384-d transcript-segment
vectors (topic centre + noise) and a few topic words; users with a taste over two or three topics
and ~100 events each (view, progress, complete, like, dislike, skip, spread over 30 days). Then
`reelscope recommend train` times the ALS fit, and `reelscope serve` (waitress, a subprocess, as
in production) answers sequential keep-alive requests for random users. The baseline, measured
by the same client on the same server, is GET /users/<id>: the cost of HTTP, Flask and one
catalog read, which every endpoint pays.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from catalog import Catalog, CatalogChange, Embedding, TranscriptSegment, Video, VideoStatus, upgrade  # noqa: E402
from samples.synthetic_events import add_viewers  # noqa: E402

TOPICS = 50
DIM = 384
WORDS = [f"topic{t}word{w}" for t in range(TOPICS) for w in range(4)]


def build(db: Path, n_users: int, n_videos: int, n_events: int, rng) -> str:
    url = f"sqlite:///{db}"
    upgrade(url)
    catalog = Catalog(url)
    now = dt.datetime.now(dt.timezone.utc)
    centres = rng.normal(size=(TOPICS, DIM)).astype(np.float32)
    topic = rng.integers(0, TOPICS, n_videos)
    with catalog.session() as s:
        s.execute(insert(Video), [{"id": v + 1, "path": f"/synthetic/{v}.mp4", "title": f"video {v}",
                                   "status": VideoStatus.INDEXED, "duration": float(rng.uniform(30, 900)),
                                   "has_video": True, "has_audio": True, "model_versions": {},
                                   "added_at": now - dt.timedelta(days=float(rng.uniform(0, 60)))}
                                  for v in range(n_videos)])
        segs, embs = [], []
        for v in range(n_videos):
            for i in range(3):
                sid = 3 * v + i + 1
                words = " ".join(rng.choice(WORDS[4 * topic[v]:4 * topic[v] + 4], 3))
                segs.append({"id": sid, "video_id": v + 1, "index": i, "start": 10.0 * i, "end": 10.0 * i + 9,
                             "text": f"we talk about {words}", "words": []})
                vec = centres[topic[v]] + rng.normal(scale=0.8, size=DIM).astype(np.float32)
                vec /= np.linalg.norm(vec)
                embs.append({"video_id": v + 1, "owner_kind": "segment", "owner_id": sid,
                             "model": "all-MiniLM-L6-v2", "model_version": "synthetic@1", "dim": DIM,
                             "vector": vec.astype(np.float32).tobytes()})
        s.execute(insert(TranscriptSegment), segs)
        s.execute(insert(Embedding), embs)
        s.add(CatalogChange(video_id=1))
        by_topic = [np.flatnonzero(topic == t) + 1 for t in range(TOPICS)]
        add_viewers(s, rng, n_users, by_topic, n_videos, n_events // n_users, now)
        s.commit()
    catalog.dispose()
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ADMIN_TOKEN = "bench-admin-token"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}  # every user's feed: an admin's view


def timed(conn: http.client.HTTPConnection, path: str) -> float:
    started = time.perf_counter()
    conn.request("GET", path, headers=ADMIN_HEADERS)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
    return elapsed


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "p99": float(np.percentile(ms, 99)), "mean": float(ms.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="reelscope-reclat-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "data" / "catalog.sqlite3"
    env = dict(os.environ, REELSCOPE_DATA_DIR=str(work / "data"), REELSCOPE_DATABASE_URL="", HF_HUB_OFFLINE="1",
               REELSCOPE_ADMIN_TOKEN=ADMIN_TOKEN)
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build(db, args.users, args.videos, args.events, rng)
        print(f"built {args.users} users x {args.videos} videos x {args.events} events in "
              f"{time.perf_counter() - started:.0f} s")
    train = subprocess.run([sys.executable, "-m", "web.cli", "recommend", "train", "--json"], env=env, cwd=ROOT,
                           capture_output=True, text=True, check=True)
    figures = json.loads(train.stdout.strip().splitlines()[-1])
    print(f"training (reelscope recommend train): read+aggregate {figures['read_seconds']} s, "
          f"ALS fit {figures['train_seconds']} s ({figures['factors']} factors, {figures['iterations']} "
          f"iterations, {figures['users']} users x {figures['items']} videos, {figures['pairs']} pairs), "
          f"total {figures['total_seconds']} s")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port), "--threads", "4"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                timed(conn, "/api/v1/users/1")
                break
            except (ConnectionRefusedError, OSError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"server did not start: {server.stderr.read() if server.poll() else ''}")
                time.sleep(0.5)
        started = time.perf_counter()
        timed(conn, "/api/v1/users/1/recommendations?k=10")  # builds the video table and popularity
        print(f"first feed (video table, popularity, model load): {time.perf_counter() - started:.2f} s")
        users = rng.integers(1, args.users + 1, args.requests)
        for u in users[:100]:  # warm-up
            timed(conn, f"/api/v1/users/{u}/recommendations?k=10")
        feeds, base = [], []
        for u in users:  # interleaved, so both see the same machine load
            base.append(timed(conn, f"/api/v1/users/{u}"))
            feeds.append(timed(conn, f"/api/v1/users/{u}/recommendations?k=10"))
        f, b = percentiles(feeds), percentiles(base)
        print(f"{args.requests} sequential requests, k=10, random users (~{args.events // args.users} events each)")
        print(f"{'endpoint':<34}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'mean ms':>9}")
        print(f"{'GET /users/<id> (baseline)':<34}{b['p50']:>8.1f}{b['p95']:>8.1f}{b['p99']:>8.1f}{b['mean']:>9.1f}")
        print(f"{'GET /users/<id>/recommendations':<34}{f['p50']:>8.1f}{f['p95']:>8.1f}{f['p99']:>8.1f}"
              f"{f['mean']:>9.1f}")
        print(f"recommendations / baseline: p50 {f['p50'] / b['p50']:.1f}x, p99 {f['p99'] / b['p99']:.1f}x; "
              f"target p99 <= 50 ms: {'met' if f['p99'] <= 50 else 'NOT met'}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
