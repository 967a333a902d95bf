"""What everybody watches (this week, with all time as a tie-breaker) and what is new.

These carry the feed of a user with no history, and give a new video a chance before anyone
has watched it. Counting a week of events is a scan, so a process keeps the last count and
refreshes it in the background when it is older than `max_age` seconds: no request waits for it.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time

import numpy as np
from sqlalchemy import func, select

from catalog import Catalog, Event, EventType, utcnow

log = logging.getLogger(__name__)

WINDOW = dt.timedelta(days=7)
ALL_TIME_SHARE = 0.1
TYPE_WEIGHTS = {EventType.VIEW: 1.0, EventType.COMPLETE: 2.0, EventType.LIKE: 3.0,
                EventType.DISLIKE: -2.0, EventType.SKIP: -0.5}
FRESH_HALF_LIFE_DAYS = 7.0


def count(catalog: Catalog, now: dt.datetime | None = None) -> dict[int, float]:
    """video id -> popularity (log-scaled weighted events of the last week, plus a little of all time)."""
    now = now or utcnow()
    totals: dict[int, float] = {}
    types = list(TYPE_WEIGHTS)
    with catalog.session() as s:
        for since, share in ((now - WINDOW, 1.0), (None, ALL_TIME_SHARE)):
            q = (select(Event.video_id, Event.type, func.count()).where(Event.type.in_(types),
                                                                         Event.video_id.is_not(None),
                                                                         Event.at <= now)
                 .group_by(Event.video_id, Event.type))
            if since is not None:
                q = q.where(Event.at >= since)
            for video_id, kind, n in s.execute(q):
                totals[video_id] = totals.get(video_id, 0.0) + share * TYPE_WEIGHTS[kind] * n
    return {v: math.log1p(t) for v, t in totals.items() if t > 0}


def freshness(added: np.ndarray, now: float) -> np.ndarray:
    """1 for a video added now, halving every FRESH_HALF_LIFE_DAYS; 0 for one added in the future."""
    age_days = (now - added) / 86400.0
    fresh = np.exp2(-np.clip(age_days, 0, None) / FRESH_HALF_LIFE_DAYS)
    return np.where(age_days < -1e-6, 0.0, fresh)


class Popularity:
    def __init__(self, catalog: Catalog, max_age: float = 60.0):
        self.catalog = catalog
        self.max_age = max_age
        self._scores: dict[int, float] | None = None
        self._at = 0.0
        self._lock = threading.Lock()
        self._refreshing = False
        self._top: tuple[dict, list[int]] | None = None

    def top(self, n: int) -> list[int]:
        """The n most popular video ids (any order), computed once per count."""
        scores = self.scores()
        cached = self._top
        if cached is None or cached[0] is not scores or len(cached[1]) < min(n, len(scores)):
            ids = sorted(scores, key=scores.__getitem__, reverse=True)[:max(n, 200)]
            cached = self._top = (scores, ids)
        return cached[1][:n]

    def scores(self) -> dict[int, float]:
        if self._scores is None:
            with self._lock:
                if self._scores is None:
                    self._scores, self._at = count(self.catalog), time.monotonic()
        elif time.monotonic() - self._at > self.max_age and not self._refreshing:
            self._refreshing = True
            threading.Thread(target=self._refresh, name="popularity-refresh", daemon=True).start()
        return self._scores

    def refresh(self) -> None:
        with self._lock:
            self._scores, self._at = count(self.catalog), time.monotonic()

    def _refresh(self) -> None:
        try:
            self.refresh()
        except Exception:  # a failed count keeps the last one; the next request tries again
            log.exception("counting popularity failed")
        finally:
            self._refreshing = False
