"""Viewers with tastes, and what they watched: synthetic events for the recommendation benchmarks."""
from __future__ import annotations

import datetime as dt

import numpy as np

EVENT_KINDS = np.array(["view", "progress", "complete", "like", "dislike", "skip"])
EVENT_SHARES = np.array([0.35, 0.35, 0.12, 0.1, 0.03, 0.05])
NOISE = 0.1  # the share of a viewer's events on videos outside their tastes
HISTORY_DAYS = 30


def viewing_events(rng: np.random.Generator, users: range, groups: list[np.ndarray], n_videos: int,
                   per_user: int, now: dt.datetime) -> list[dict]:
    """`per_user` event rows (for `insert(Event)`) of each user id in `users`: each user likes 2-3 of the
    `groups` (arrays of video ids from 1), with a tenth of their events on any video, six event kinds,
    spread over the last 30 days."""
    rows = []
    for user in users:
        tastes = rng.choice(len(groups), rng.integers(2, 4), replace=False)
        videos = rng.choice(np.concatenate([groups[t] for t in tastes]), per_user)
        noise = rng.random(per_user) < NOISE
        videos[noise] = rng.integers(1, n_videos + 1, noise.sum())
        kinds = rng.choice(EVENT_KINDS, per_user, p=EVENT_SHARES)
        ages = rng.uniform(0, HISTORY_DAYS, per_user)
        for video, kind, age in zip(videos.tolist(), kinds.tolist(), ages.tolist()):
            position = float(rng.uniform(5, 300)) if kind == "progress" else None
            rows.append({"user_id": user, "video_id": video, "type": kind, "position": position,
                         "watch_seconds": position, "at": now - dt.timedelta(days=age), "received_at": now})
    return rows


def add_viewers(session, rng: np.random.Generator, n_users: int, groups: list[np.ndarray], n_videos: int,
                per_user: int, now: dt.datetime, name: str = "user") -> None:
    """Insert users 1..n_users (named "<name> 0", ...) and their `viewing_events`, 500 users' events at a
    time so a million events are never all in memory; the caller commits."""
    from sqlalchemy import insert

    from catalog import Event, User

    session.execute(insert(User), [{"id": u + 1, "name": f"{name} {u}", "created_at": now} for u in range(n_users)])
    for first in range(0, n_users, 500):
        rows = viewing_events(rng, range(first + 1, min(first + 500, n_users) + 1), groups, n_videos, per_user, now)
        session.execute(insert(Event), rows)
