"""Time in a query: "this, then that" (a moment followed by another within a window, in the same video)
and a time range inside a video.

Video Browser Showdown systems let people say what came before and after (temporal queries); it is
how a person remembers a scene: "he talks about the budget, and then about hiring". Both parts are
searched as any query is; a pair counts when the second part starts after the first one starts and
no later than `within` seconds after it ends. Pairs are ranked by both parts' fused scores added,
weighed down the longer B waits; a moment of the first part pairs at most once (with its best
follower), and one stretch of video gives one pair.
"""
from __future__ import annotations

from .moments import Moment

DEFAULT_WITHIN = 120.0
MAX_WITHIN = 3600.0
# how many of each part's moments are paired; the best pairs lie among the best of each
PAIR_CANDIDATES = 300
EDGE_WEIGHT = 0.5


def followed_by(first: tuple[list[Moment], list[str]], find_second, within: float) -> tuple[list[Moment], list[str]]:
    """(moments of A followed by B, channels used): each with `then` set to its B moment, the span
    from A's start to B's end. `find_second(video_ids)` searches B within the videos A was found in."""
    firsts, used = first
    firsts = firsts[:PAIR_CANDIDATES]
    if not firsts:
        return [], used
    seconds, used_then = find_second(sorted({m.video_id for m in firsts}))
    by_video: dict[int, list[Moment]] = {}
    for m in seconds[:PAIR_CANDIDATES]:
        by_video.setdefault(m.video_id, []).append(m)
    pairs = []
    for a in firsts:
        followers = [b for b in by_video.get(a.video_id, ())
                     if b.start > a.start and b.start - a.end <= within and not (b.start < a.end and b.end <= a.end)]
        if not followers:
            continue
        b = max(followers, key=lambda m: (m.related, _paired_score(a, m, within)))
        pair = Moment(a.video_id, a.title, a.start, max(a.end, b.end), score=_paired_score(a, b, within),
                      channels=dict(a.channels), hits=a.hits, then=b,
                      confidence=None if a.confidence is None or b.confidence is None else min(a.confidence, b.confidence))
        pairs.append(pair)
    pairs.sort(key=lambda m: (-m.score, m.video_id, m.start))
    kept: list[Moment] = []
    for pair in pairs:  # the best pair of a stretch of video; weaker ones overlapping it say the same
        if not any(k.video_id == pair.video_id and k.start < pair.end and pair.start < k.end for k in kept):
            kept.append(pair)
    return kept, list(dict.fromkeys(used + used_then))


def _paired_score(a: Moment, b: Moment, within: float) -> float:
    """Both parts' scores, and the nearer the better: "then" means soon after, so a pair at the edge of
    the window counts EDGE_WEIGHT of one where B follows at once."""
    gap = max(b.start - a.end, 0.0)
    return (a.score + b.score) * (1.0 - (1.0 - EDGE_WEIGHT) * min(gap / within, 1.0))


def in_time_range(moment: Moment, start: float | None, end: float | None) -> bool:
    """Does the moment overlap [start, end] (seconds into its video; None: open)?"""
    return (start is None or moment.end > start) and (end is None or moment.start < end)
