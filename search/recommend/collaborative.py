"""Collaborative filtering: implicit-feedback matrix factorisation (the `implicit` library's ALS).

Training reads every event, turns each user's events into one engagement figure per video
(engagement.py: watch share, finishing and likes raise confidence; dislikes and early skips are
negative preferences, which implicit's ALS supports), fits item factors, and writes them to a
versioned file under DATA_DIR/recommend. It runs from `reelscope recommend train` (once, or
`--every N` seconds), never on the request path; serving processes pick the newest file up.

At request time a user's factor is *folded in* from their current events against the fixed item
factors (one small least-squares solve, the same one ALS makes per user while training), rather
than read from the file: a user's newest clicks count at once, and history they deleted is gone
from the very next answer even though the model was trained while it existed.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sqlalchemy import func, select

from atomic_file import replaced_when_done

from catalog import Catalog, Event, Video, VideoStatus, utcnow
from .engagement import aggregate

log = logging.getLogger(__name__)

FORMAT = 1
FACTORS = 64
# A small catalog cannot support many factors: 64 over 80 videos memorised the training users
# (simulated NDCG@10 0.016 vs 0.093 at 16), so factors are capped at a fifth of the videos.
ITEMS_PER_FACTOR = 5
ITERATIONS = 15
REGULARIZATION = 0.05
ALPHA = 4.0  # confidence = ALPHA * engagement weight
KEEP_FILES = 3
CHECK_EVERY_SECONDS = 5.0
_NAME = re.compile(r"^als-(\d{6,})\.npz$")


@dataclass
class Model:
    version: int
    item_ids: np.ndarray        # video ids, int64
    item_factors: np.ndarray    # float32 (items, factors)
    regularization: float
    alpha: float
    trained_at: dt.datetime
    users: int
    events: int

    def __post_init__(self):
        self.row_of = {int(v): i for i, v in enumerate(self.item_ids)}
        y = self.item_factors.astype(np.float64)
        self._yty = y.T @ y
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        self.unit_factors = self.item_factors / np.maximum(norms, 1e-12)

    @property
    def factors(self) -> int:
        return self.item_factors.shape[1]

    def fold_in(self, weights: dict[int, float]) -> np.ndarray | None:
        """A user's factor from their engagement with videos (video id -> weight); None if none is known."""
        rows, conf = [], []
        for video_id, weight in weights.items():
            row = self.row_of.get(video_id)
            if row is not None and weight != 0:
                rows.append(row)
                conf.append(self.alpha * weight)
        if not any(c > 0 for c in conf):
            return None
        y = self.item_factors[rows].astype(np.float64)
        c = np.asarray(conf)
        a = self._yty + self.regularization * np.eye(self.factors) + (y.T * (np.abs(c) - 1)) @ y
        b = (y * np.where(c > 0, c, 0.0)[:, None]).sum(axis=0)
        return np.linalg.solve(a, b).astype(np.float32)


def _read_engagement(catalog: Catalog):
    """(user ids, video ids, weights) over every user's events on indexed videos."""
    with catalog.session() as s:
        durations = dict(s.execute(select(Video.id, Video.duration)
                                   .where(Video.status == VideoStatus.INDEXED)).all())
        q = (select(Event.user_id, Event.video_id, Event.type, Event.position, Event.watch_seconds, Event.at)
             .where(Event.video_id.is_not(None)).order_by(Event.user_id))
        users, videos, weights = [], [], []
        n_events = 0
        current, rows = None, []

        def flush():
            for video_id, e in aggregate(rows, durations).items():
                if video_id in durations and e.weight != 0:
                    users.append(current)
                    videos.append(video_id)
                    weights.append(e.weight)

        for user_id, video_id, kind, position, watch, at in s.execute(q.execution_options(yield_per=50_000)):
            n_events += 1
            if user_id != current:
                if rows:
                    flush()
                current, rows = user_id, []
            rows.append((video_id, kind, position, watch, at))
        if rows:
            flush()
    return np.asarray(users, np.int64), np.asarray(videos, np.int64), np.asarray(weights, np.float32), n_events


def train(catalog: Catalog, folder: Path, factors: int | None = None, iterations: int = ITERATIONS,
          regularization: float = REGULARIZATION, alpha: float = ALPHA, threads: int = 0,
          random_state: int = 0) -> tuple[Path | None, dict]:
    """Fit ALS on every event and write the next model file; returns (path, figures). None without events."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    users, videos, weights, n_events = _read_engagement(catalog)
    read_seconds = time.perf_counter() - started
    figures = {"events": n_events, "pairs": int(len(users)), "read_seconds": round(read_seconds, 2)}
    if not np.any(weights > 0):
        return None, {**figures, "users": 0, "items": 0, "train_seconds": 0.0}
    user_ids, user_rows = np.unique(users, return_inverse=True)
    item_ids, item_rows = np.unique(videos, return_inverse=True)
    factors = factors or min(FACTORS, max(8, len(item_ids) // ITEMS_PER_FACTOR))
    matrix = sp.csr_matrix((alpha * weights, (user_rows, item_rows)), shape=(len(user_ids), len(item_ids)))
    fit_started = time.perf_counter()
    # implicit warns (and slows down) when BLAS runs its own threads beside implicit's
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=factors, regularization=regularization, iterations=iterations,
                                        num_threads=threads, random_state=random_state)
        model.fit(matrix, show_progress=False)
    figures.update(users=len(user_ids), items=len(item_ids), factors=factors, iterations=iterations,
                   train_seconds=round(time.perf_counter() - fit_started, 2))
    path = save(folder, item_ids, np.asarray(model.item_factors, np.float32), regularization, alpha,
                users=len(user_ids), events=n_events)
    figures["total_seconds"] = round(time.perf_counter() - started, 2)
    return path, figures


def _versions(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), folder / m.group(0)) for m in map(_NAME.match, os.listdir(folder)) if m]
    return sorted(found)


def save(folder: Path, item_ids, item_factors, regularization, alpha, users: int, events: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    existing = _versions(folder)
    version = (existing[-1][0] + 1) if existing else 1
    path = folder / f"als-{version:06d}.npz"
    with replaced_when_done(path, suffix=".npz") as tmp:  # readers see the old file or the whole new one
        np.savez(tmp, format=FORMAT, version=version, item_ids=item_ids, item_factors=item_factors,
                 regularization=regularization, alpha=alpha, trained_at=utcnow().timestamp(), users=users,
                 events=events)
    for _, old in existing[:-(KEEP_FILES - 1) or None]:
        old.unlink(missing_ok=True)
    return path


def load(path: Path) -> Model:
    with np.load(path) as f:
        if int(f["format"]) != FORMAT:
            raise ValueError(f"{path.name}: model format {int(f['format'])}, need {FORMAT}")
        return Model(version=int(f["version"]), item_ids=f["item_ids"].astype(np.int64),
                     item_factors=f["item_factors"].astype(np.float32),
                     regularization=float(f["regularization"]), alpha=float(f["alpha"]),
                     trained_at=dt.datetime.fromtimestamp(float(f["trained_at"]), dt.timezone.utc),
                     users=int(f["users"]), events=int(f["events"]))


class ModelStore:
    """The newest model file in a folder, loaded once and swapped when a newer one appears."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._model: Model | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> Model | None:
        if time.monotonic() - self._checked < CHECK_EVERY_SECONDS:
            return self._model
        with self._lock:
            self._checked = time.monotonic()
            for version, path in reversed(_versions(self.folder)):
                if self._model is not None and version <= self._model.version:
                    break
                try:
                    self._model = load(path)
                    log.info("loaded recommendation model %s", path.name)
                    break
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("skipping unreadable model file %s: %s", path.name, exc)
            return self._model

    def reload(self) -> Model | None:
        self._checked = 0.0
        return self.current()


def event_count(catalog: Catalog) -> int:
    with catalog.session() as s:
        return int(s.scalar(select(func.max(Event.id))) or 0)
