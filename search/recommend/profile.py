"""A user's taste as a point in video-vector space, from what they engaged with.

The profile is the engagement-weighted sum of the vectors of the videos they watched, finished
and liked, each weight halved every HALF_LIFE_DAYS since it happened, minus the same for what
they disliked or skipped: tastes drift, and a "not for me" pushes the profile away from it.
Disliked videos are also kept apart, so candidates close to one can be held back outright.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from .engagement import Engagement
from .video_vectors import VideoTable

HALF_LIFE_DAYS = 30.0
NEGATIVE_SHARE = 0.6  # how hard negatives push, relative to positives of the same weight


@dataclass
class Profile:
    vector: np.ndarray | None                      # unit length, or None with nothing to go on
    positive_rows: np.ndarray                      # table rows of liked/watched videos
    positive_weights: np.ndarray
    negative_rows: np.ndarray                      # table rows of disliked/skipped videos
    keywords: dict[str, float] = field(default_factory=dict)

    @property
    def maturity_items(self) -> int:
        return len(self.positive_rows)


def recency(at: dt.datetime | None, now: dt.datetime) -> float:
    if at is None:
        return 1.0
    days = max((now - at).total_seconds(), 0.0) / 86400.0
    return 0.5 ** (days / HALF_LIFE_DAYS)


def build(engagements: dict[int, Engagement], table: VideoTable, now: dt.datetime) -> Profile:
    pos_rows, pos_w, neg_rows, neg_w = [], [], [], []
    keywords: dict[str, float] = {}
    for video_id, e in engagements.items():
        row = table.row_of.get(video_id)
        if row is None:
            continue
        weight = e.weight * recency(e.last_at, now)
        if weight > 0:
            pos_rows.append(row)
            pos_w.append(weight)
            for word, score in table.keywords[row].items():
                keywords[word] = keywords.get(word, 0.0) + weight * score
        elif weight < 0:
            neg_rows.append(row)
            neg_w.append(-weight)
    pos_rows_a = np.asarray(pos_rows, np.int64)
    neg_rows_a = np.asarray(neg_rows, np.int64)
    vector = np.zeros(table.vectors.shape[1], np.float32)
    if len(pos_rows_a):
        vector += np.asarray(pos_w, np.float32) @ table.vectors[pos_rows_a]
    if len(neg_rows_a):
        vector -= NEGATIVE_SHARE * (np.asarray(neg_w, np.float32) @ table.vectors[neg_rows_a])
    norm = float(np.linalg.norm(vector))
    return Profile(vector=vector / norm if norm > 1e-9 else None, positive_rows=pos_rows_a,
                   positive_weights=np.asarray(pos_w, np.float32), negative_rows=neg_rows_a, keywords=keywords)
