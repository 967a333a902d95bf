"""Recommendation quality offline: simulated users over a really indexed catalog.

    .venv/bin/python bench/recommend_quality.py --keep DIR [--users 600] [--seed 7]

The catalog: one short video per sentence the project's sample media speaks (100), made with
espeak-ng and indexed for real (Whisper base -> MiniLM); kept in DIR and reused by later runs.
Topics come from the videos' own vectors (spherical k-means over the recommender's video
vectors), so "cooking" or "pets" are whatever the transcripts say, not labels we wrote.

Simulated users have a sparse latent taste over those topics (Dirichlet) and click on what is
available at the time, drawn by taste and each video's appeal, with 15% of clicks at random by
appeal alone; how much of a video they watch follows how well it matches (with noise), and from
that come progress, complete, like, dislike and skip events. 20% of videos are added only at the
split. The recommender sees the events before the split and is asked, at the split, for each
user's top 10; the truth is the user's next (up to 10) good interactions after it. Printed per
method: NDCG@10, recall@10, catalog coverage (share of videos in anybody's top 10) and cold-start
recall (recall over truth videos added after the split).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import samples  # noqa: E402
import datetime as dt  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402

from catalog import Catalog, Event, User, Video, VideoStatus, record_change, upgrade  # noqa: E402
from search.recommend import Recommender  # noqa: E402
from search.recommend.collaborative import train  # noqa: E402
from search.recommend.popularity import count as count_popularity  # noqa: E402
from settings import Settings  # noqa: E402

PHOTOS = ["coffee", "chelsea", "astronaut", "rocket", "horse", "clock", "coins", "camera", "brick", "grass",
          "moon", "page", "gravel", "hubble_deep_field"]


def catalog_sentences() -> list[str]:
    """Every sentence the project's sample media speaks: one short video each."""
    from bench.search_quality import DISTRACTORS, people_sentences

    library = [u for entry in samples.DEMO_LIBRARY for u in entry[3]]
    return list(samples.TALK_SENTENCES) + list(DISTRACTORS) + people_sentences() + library


def build(work: Path) -> Settings:
    """Index one video per sentence (espeak-ng -> Whisper -> MiniLM), reusing what `work` already holds."""
    from sqlalchemy import func

    from indexer.pipeline import Indexer

    settings = Settings(data_dir=work / "data", database_url="", device="cpu")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    sentences = catalog_sentences()
    with catalog.session() as s:
        done = s.scalar(select(func.count()).select_from(Video).where(Video.status == VideoStatus.INDEXED))
    if done >= len(sentences):
        return settings
    indexer = Indexer(settings, catalog)
    for n, sentence in enumerate(sentences):
        seconds = len(samples.speak(sentence)) / samples.SPEECH_RATE + 1.5
        video = samples.make_video(work / "videos" / f"clip {n:03d}.mp4",
                                   [samples.Scene(seconds, photo=PHOTOS[n % len(PHOTOS)])],
                                   [samples.Utterance(0.5, sentence)], size=(320, 180))
        outcome = indexer.index_path(video.path)
        print(f"{n + 1}/{len(sentences)} {outcome.status} {video.path.name}", file=sys.stderr)
    return settings



TOPICS = 8
TRAIN_DAYS = 60.0
TEST_DAYS = 15.0
COLD_SHARE = 0.2
NOISE = 0.15
METHODS = {"popularity": "popular", "content": "content", "ALS (implicit)": "collaborative", "blend": "blend"}


def topics_of(vectors: np.ndarray, k: int, rng) -> np.ndarray:
    """Soft topic memberships from spherical k-means over the videos' own vectors."""
    centroids = vectors[rng.choice(len(vectors), k, replace=False)]
    for _ in range(30):
        assign = np.argmax(vectors @ centroids.T, axis=1)
        for t in range(k):
            members = vectors[assign == t]
            if len(members):
                c = members.sum(axis=0)
                centroids[t] = c / np.linalg.norm(c)
    logits = (vectors @ centroids.T) / 0.05
    logits -= logits.max(axis=1, keepdims=True)
    soft = np.exp(logits)
    return soft / soft.sum(axis=1, keepdims=True)


def simulate(n_users: int, affinity: np.ndarray, added_day: np.ndarray, durations: np.ndarray, rng):
    """Event logs: (user, video row, day, kind, position, watch_seconds) and each user's good videos by day."""
    n_videos = len(added_day)
    appeal = rng.lognormal(0.0, 0.8, n_videos)
    events, good = [], []
    for u in range(n_users):
        taste = rng.dirichlet(np.full(affinity.shape[1], 0.3))
        match = affinity @ taste
        match = match / match.max()
        n = int(np.clip(rng.lognormal(2.9, 0.5), 4, 60))
        days = np.sort(rng.uniform(0, TRAIN_DAYS + TEST_DAYS, n))
        seen: set[int] = set()
        for day in days:
            available = np.flatnonzero(added_day <= day)
            available = available[~np.isin(available, list(seen))]
            if len(available) == 0:
                continue
            weight = appeal[available] * (1.0 if rng.random() < NOISE else np.exp(6.0 * match[available]))
            v = int(rng.choice(available, p=weight / weight.sum()))
            seen.add(v)
            fraction = float(np.clip(0.1 + 0.8 * match[v] + rng.normal(0, 0.15), 0.0, 1.0))
            watched = fraction * durations[v]
            events.append((u, v, day, "view", None, None))
            events.append((u, v, day + 1e-4, "progress", watched, watched))
            liked = fraction > 0.7 and rng.random() < 0.6 * match[v]
            if fraction >= 0.95:
                events.append((u, v, day + 2e-4, "complete", None, None))
            if liked:
                events.append((u, v, day + 3e-4, "like", None, None))
            elif fraction < 0.2:
                events.append((u, v, day + 3e-4, "dislike" if rng.random() < 0.3 else "skip", None, None))
            if fraction >= 0.5 or liked:
                good.append((u, v, day))
    return events, good


def ndcg(ranked: list[int], truth: set[int], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, v in enumerate(ranked[:k]) if v in truth)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(truth), k)))
    return dcg / ideal if ideal else 0.0


def evaluate(keep: Path, n_users: int, seed: int) -> None:
    settings = build(keep)
    rng = np.random.default_rng(seed)
    work = keep / f"sim-{seed}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    src, dst = sqlite3.connect(settings.catalog_url.split("///", 1)[1]), sqlite3.connect(work / "sim.sqlite3")
    src.backup(dst)
    src.close()
    dst.close()
    catalog = Catalog(f"sqlite:///{work / 'sim.sqlite3'}")
    recommender = Recommender(catalog, work / "recommend")
    table = recommender.videos.table()
    n_videos = len(table)
    affinity = topics_of(table.vectors.copy(), TOPICS, rng)

    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    cold = rng.random(n_videos) < COLD_SHARE
    added_day = np.where(cold, TRAIN_DAYS + rng.uniform(0, 0.5, n_videos), rng.uniform(0, TRAIN_DAYS * 0.6, n_videos))
    with catalog.session() as s:
        for row, vid in enumerate(table.ids.tolist()):
            s.execute(update(Video).where(Video.id == vid).values(
                added_at=start + dt.timedelta(days=float(added_day[row]))))
            record_change(s, vid)
        s.commit()
    durations = np.nan_to_num(table.durations, nan=30.0)
    events, good = simulate(n_users, affinity, added_day, durations, rng)
    now = start + dt.timedelta(days=TRAIN_DAYS + 0.5)  # asked just after the new videos arrived

    with catalog.session() as s:
        s.execute(insert(User), [{"id": u + 1, "name": f"sim {u}", "created_at": start} for u in range(n_users)])
        rows = [{"user_id": u + 1, "video_id": int(table.ids[v]), "type": kind, "position": pos,
                 "watch_seconds": watch, "at": start + dt.timedelta(days=day), "received_at": start}
                for u, v, day, kind, pos, watch in events if day < TRAIN_DAYS]
        s.execute(insert(Event), rows)
        s.commit()
    train_rows = len(rows)
    truth: dict[int, list[int]] = {}
    seen_before = {(u, v) for u, v, day, *_ in events if day < TRAIN_DAYS}
    for u, v, day in sorted(good, key=lambda g: g[2]):
        if day >= TRAIN_DAYS and (u, v) not in seen_before and len(truth.setdefault(u, [])) < 10:
            truth[u].append(int(table.ids[v]))
    active = {u for u, _ in seen_before}
    users = [u for u in sorted(truth) if truth[u] and u in active]
    cold_ids = set(table.ids[cold].tolist())

    started = time.perf_counter()
    _, figures = train(catalog, work / "recommend")
    train_seconds = time.perf_counter() - started
    recommender.models.reload()
    popular = count_popularity(catalog, now)
    print(f"catalog: {n_videos} indexed videos ({int(cold.sum())} added after the split), {TOPICS} topics "
          f"from their vectors; {n_users} simulated users, {train_rows} training events, "
          f"{len(users)} users with test interactions ({sum(map(len, truth.values()))} truth items, "
          f"{sum(v in cold_ids for u in users for v in truth[u])} of them new videos)")
    print(f"ALS: {figures['users']} users x {figures['items']} videos, trained in {train_seconds:.2f} s")
    print(f"{'method':<16}{'NDCG@10':>9}{'recall@10':>11}{'coverage':>10}{'cold recall@10':>16}")
    results = {}
    for name, mode in METHODS.items():
        n_sum = r_sum = cold_hits = cold_total = 0.0
        shown: set[int] = set()
        for u in users:
            ranked = [i.video_id for i in recommender.recommend(u + 1, 10, mode=mode, now=now, popular=popular).items]
            shown.update(ranked)
            t = set(truth[u])
            n_sum += ndcg(ranked, t)
            r_sum += len(t & set(ranked)) / len(t)
            cold_t = t & cold_ids
            cold_hits += len(cold_t & set(ranked))
            cold_total += len(cold_t)
        results[name] = (n_sum / len(users), r_sum / len(users), len(shown) / n_videos,
                         cold_hits / cold_total if cold_total else 0.0)
        print(f"{name:<16}{results[name][0]:>9.3f}{results[name][1]:>11.3f}{results[name][2]:>10.2f}"
              f"{results[name][3]:>16.3f}")
    best_baseline = max(results["popularity"][0], results["ALS (implicit)"][0])
    print(f"blend NDCG@10 / best of popularity and ALS = {results['blend'][0] / best_baseline:.2f}x (target >= 1.2x); "
          f"cold-start recall blend {results['blend'][3]:.3f} vs ALS {results['ALS (implicit)'][3]:.3f}")
    catalog.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, required=True, help="where the indexed catalog is kept between runs")
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    if args.build_only:
        build(args.keep)
        return
    evaluate(args.keep, args.users, args.seed)


if __name__ == "__main__":
    main()
