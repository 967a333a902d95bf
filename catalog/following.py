"""What a cache derived from the catalog needs to follow it.

Every write that changes a video's searchable rows records a `CatalogChange`; a cache (a channel's
vector index, the recommender's video table, the transcript vocabulary) remembers the counter it was
built at, re-reads only the videos changed since, and rewrites its file on a `SaveSchedule`.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select

from catalog.database import Catalog
from catalog.tables import CatalogChange

log = logging.getLogger(__name__)


def latest_change(catalog: Catalog) -> int:
    """The catalog's change counter: 0 for a catalog that never changed."""
    with catalog.session() as s:
        return int(s.scalar(select(func.max(CatalogChange.id))) or 0)


def videos_changed(catalog: Catalog, after: int, upto: int) -> list[int]:
    """Ids of the videos changed after change `after` up to and including `upto`, ascending (some may
    since have been removed)."""
    with catalog.session() as s:
        return sorted(set(s.scalars(select(CatalogChange.video_id)
                                    .where(CatalogChange.id > after, CatalogChange.id <= upto))))


class SaveSchedule:
    """When a cache rewrites its file: after every change while it is small, then at most once every
    `every_seconds`. A process that dies before saving re-reads the same changes from the catalog on its
    next start, so saving less often only costs start-up time, and a failed save (a full disk) is
    logged and the cache goes on from memory."""

    def __init__(self, what: str, *, always_below: int, every_seconds: float):
        self.what = what
        self.always_below = always_below
        self.every_seconds = every_seconds
        self._last = -math.inf

    def due(self, size: int) -> bool:
        return size < self.always_below or time.monotonic() - self._last > self.every_seconds

    def save(self, write: Callable[[], None], where: Path) -> bool:
        """Run `write`; False (and a warning) when it fails for lack of space or another I/O error."""
        try:
            write()
        except (OSError, RuntimeError, ValueError) as exc:  # faiss reports a failed write as RuntimeError
            log.warning("could not save %s to %s (%s); serving it from memory", self.what, where, exc)
            return False
        self._last = time.monotonic()
        return True
