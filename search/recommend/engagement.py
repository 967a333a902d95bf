"""From a user's raw events to one engagement figure per video: how much they liked it, and when.

Both the content profile and the collaborative model read this, so a like or a finished video
means the same to both. Positive: watching (more for a larger share of the video), finishing,
liking. Negative: disliking, and skipping before a third of the video was watched.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from catalog import EventType

VIEW_WEIGHT = 0.3
WATCH_WEIGHT = 1.0      # times the share of the video watched
LIKE_WEIGHT = 2.0
DISLIKE_WEIGHT = -2.0
SKIP_WEIGHT = -0.6
COMPLETE_FRACTION = 0.9  # watched this much: treated as finished
SKIP_FORGIVEN_AFTER = 1 / 3  # a skip after a third of the video is just moving on
ASSUMED_DURATION = 60.0  # for a video whose duration is unknown


@dataclass
class Engagement:
    video_id: int
    weight: float = 0.0        # > 0 liked it, < 0 did not
    fraction: float = 0.0      # share of the video watched, 0..1
    position: float = 0.0      # where they were last
    liked: bool = False
    disliked: bool = False
    skipped: bool = False
    completed: bool = False
    last_at: dt.datetime | None = None

    @property
    def in_progress(self) -> bool:
        return 0 < self.position and not self.completed and self.weight > 0

    @property
    def worth_offering(self) -> bool:
        """Whether the feed may offer this video again: not once finished, disliked or liked, unless
        the user stopped partway (then it is "continue watching")."""
        if self.completed or self.weight < 0:
            return False
        return not self.liked or self.in_progress

    @property
    def verb(self) -> str:
        """How the user engaged, for "because you ... X"."""
        if self.liked:
            return "liked"
        if self.completed:
            return "finished"
        return "watched"


def aggregate(events, durations: dict[int, float]) -> dict[int, Engagement]:
    """events: (video_id, type, position, watch_seconds, at) rows, any order."""
    by_video: dict[int, Engagement] = {}
    watched: dict[int, float] = {}
    for video_id, kind, position, watch_seconds, at in sorted(events, key=lambda e: e[4]):
        if video_id is None:
            continue
        e = by_video.get(video_id)
        if e is None:
            e = by_video[video_id] = Engagement(video_id)
        e.last_at = at if e.last_at is None or at > e.last_at else e.last_at
        duration = durations.get(video_id) or ASSUMED_DURATION
        if position is not None:
            e.position = float(position)
            e.fraction = max(e.fraction, min(1.0, position / duration))
        if watch_seconds is not None:
            watched[video_id] = watched.get(video_id, 0.0) + float(watch_seconds)
            e.fraction = max(e.fraction, min(1.0, watched[video_id] / duration))
        if kind == EventType.COMPLETE:
            e.completed, e.fraction = True, 1.0
        elif kind == EventType.LIKE:
            e.liked, e.disliked = True, False
        elif kind == EventType.DISLIKE:
            e.disliked, e.liked = True, False
        elif kind == EventType.SKIP:
            e.skipped = True
    for e in by_video.values():
        e.completed = e.completed or e.fraction >= COMPLETE_FRACTION
        if e.disliked:
            e.weight = DISLIKE_WEIGHT
        elif e.skipped and e.fraction < SKIP_FORGIVEN_AFTER and not e.liked:
            e.weight = SKIP_WEIGHT
        else:
            e.weight = VIEW_WEIGHT + WATCH_WEIGHT * e.fraction + (LIKE_WEIGHT if e.liked else 0.0)
    return by_video
