"""Chapters: a video's parts by topic, each with a title and a span, as viewers navigate by.

A container's own chapters (mkv/mp4 chapter atoms, read at indexing: `Video.tracks["chapters"]`)
are the author's and win. Otherwise they come from what is said: where the meaning of the
transcript changes. That is TextTiling (Hearst, 1997) over sentence vectors instead of word counts:
at each gap between two segments, the cosine between the mean vector of the few segments before and
of those after; a topic boundary is a deep valley of that curve (how far it lies below the peaks on
either side), a long pause deepening it a little. Valleys are taken deepest first while every
chapter keeps MIN_CHAPTER seconds, and a boundary moves to a shot cut when one lies in the gap, so
a chapter starts on a new picture. Each chapter's title is its most typical sentence (nearest its
mean vector), shortened, in the language it was said in.

Computed from the catalog's rows when asked (a video's vectors are a few hundred rows), so a model
switch or a re-index never leaves stale chapters behind.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from catalog import Embedding, Shot, TranscriptSegment, Video
from catalog.words import has_cjk

from .channels import TRANSCRIPT

WINDOW = 3  # segments on each side of a gap
# a chapter lasts at least MIN_CHAPTER seconds, and a video has at most MAX_CHAPTERS (an hour's
# chapters are minutes long, a short clip's may be a quarter of a minute)
MIN_CHAPTER = 12.0
MAX_CHAPTERS = 20
# a boundary is kept when its valley is this many standard deviations deeper than the mean valley
DEPTH_CUTOFF = 0.5
PAUSE_BONUS = 0.05  # added to a valley's depth per second of silence in the gap, up to 3 s
SNAP = 2.0  # a shot cut this near the gap becomes the boundary
TITLE_WORDS = 8
TITLE_SLACK = 0.03
TITLE_CJK_CHARS = 16


@dataclass
class Chapter:
    start: float
    end: float
    title: str
    source: str  # "container" | "topics" | "whole" (too short or too little said to divide)

    def as_dict(self) -> dict:
        return {"start": round(self.start, 2), "end": round(self.end, 2), "title": self.title, "source": self.source}


def topic_boundaries(starts: np.ndarray, ends: np.ndarray, vectors: np.ndarray, duration: float) -> list[int]:
    """Indices i of the segments that open a new chapter (the gap before segment i), in order."""
    n = len(starts)
    shortest = max(MIN_CHAPTER, duration / MAX_CHAPTERS)
    if n < 2 * WINDOW or duration < 2 * shortest:
        return []
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    similarity = np.ones(n)
    for i in range(1, n):
        before = unit[max(0, i - WINDOW):i].mean(axis=0)
        after = unit[i:i + WINDOW].mean(axis=0)
        similarity[i] = float(before @ after / max(np.linalg.norm(before) * np.linalg.norm(after), 1e-12))
    depth = np.zeros(n)
    for i in range(1, n):
        left = similarity[i]
        for j in range(i - 1, 0, -1):  # climb while the curve rises
            if similarity[j] < left:
                break
            left = similarity[j]
        right = similarity[i]
        for j in range(i + 1, n):
            if similarity[j] < right:
                break
            right = similarity[j]
        pause = min(max(starts[i] - ends[i - 1], 0.0), 3.0)
        depth[i] = (left - similarity[i]) + (right - similarity[i]) + PAUSE_BONUS * pause
    gaps = depth[1:]
    cutoff = gaps.mean() + DEPTH_CUTOFF * gaps.std()
    chosen: list[int] = []
    for i in sorted(range(1, n), key=lambda g: -depth[g]):
        if depth[i] <= cutoff or depth[i] <= 0:
            break
        cuts = sorted(chosen + [i])
        edges = [0.0] + [float(starts[c]) for c in cuts] + [duration]
        if min(b - a for a, b in zip(edges, edges[1:])) >= shortest:
            chosen = cuts
    return chosen


def title_of(texts: list[str], vectors: np.ndarray) -> str:
    """The sentence nearest the part's mean meaning, shortened to a title; among sentences about as
    near (TITLE_SLACK), the shortest, which needs no cutting."""
    if not texts:
        return ""
    centre = vectors.mean(axis=0)
    scores = vectors @ centre / np.maximum(np.linalg.norm(vectors, axis=1) * np.linalg.norm(centre), 1e-12)
    near = [i for i in range(len(texts)) if scores[i] >= scores.max() - TITLE_SLACK]
    return short_title(texts[min(near, key=lambda i: (len(texts[i]), -scores[i]))])


def short_title(sentence: str) -> str:
    sentence = " ".join(sentence.split()).strip()
    if has_cjk(sentence):
        first = re.split(r"[，。！？；,.!?;]", sentence)[0] or sentence
        return first if len(first) <= TITLE_CJK_CHARS else first[:TITLE_CJK_CHARS] + "…"
    words = sentence.rstrip(".!?;:,").split()
    return " ".join(words) if len(words) <= TITLE_WORDS else " ".join(words[:TITLE_WORDS]) + "…"


def topic_chapters(starts, ends, texts: list[str], vectors: np.ndarray, duration: float,
                   cuts: list[float] = ()) -> list[Chapter]:
    starts, ends = np.asarray(starts, float), np.asarray(ends, float)
    if len(texts) == 0:
        return []
    opening = topic_boundaries(starts, ends, vectors, duration)
    bounds = [0] + opening + [len(texts)]
    edges = [0.0]
    for i in opening:
        gap_start, gap_end = float(ends[i - 1]), float(starts[i])
        near = [c for c in cuts if gap_start - SNAP <= c <= gap_end + SNAP]
        edges.append(min(near, key=lambda c: abs(c - gap_end)) if near else gap_end)
    edges.append(max(duration, float(ends[-1])))
    source = "topics" if opening else "whole"
    return [Chapter(edges[k], edges[k + 1], title_of(texts[a:b], vectors[a:b]), source)
            for k, (a, b) in enumerate(zip(bounds, bounds[1:]))]


def container_chapters(raw: list[dict] | None, duration: float) -> list[Chapter]:
    chapters = []
    for i, c in enumerate(raw or []):
        start = max(float(c.get("start") or 0.0), 0.0)
        end = min(float(c.get("end") or duration), duration) if duration else float(c.get("end") or start)
        if end > start:
            chapters.append(Chapter(start, end, str(c.get("title") or f"{i + 1}"), "container"))
    return chapters


def video_chapters(session, video: Video, model_version: str | None = None) -> list[Chapter]:
    """The video's chapters: the container's, else by topic from its primary text track's vectors
    (those of `model_version`, the text model in use; any the video has when None)."""
    duration = float(video.duration or 0.0)
    own = container_chapters((video.tracks or {}).get("chapters"), duration)
    if own:
        return own
    rows = session.execute(
        select(TranscriptSegment.id, TranscriptSegment.start, TranscriptSegment.end, TranscriptSegment.text,
               TranscriptSegment.track)
        .where(TranscriptSegment.video_id == video.id).order_by(TranscriptSegment.start)).all()
    if not rows:
        return [Chapter(0.0, duration, video.title, "whole")] if duration else []
    primary = rows[0].track if all(r.track is not None for r in rows) else None
    rows = [r for r in rows if r.track == primary]
    query = select(Embedding.owner_id, Embedding.vector).where(
        Embedding.video_id == video.id, Embedding.owner_kind == TRANSCRIPT.owner_kind)
    if model_version is not None:
        query = query.where(Embedding.model_version == model_version)
    vectors = {owner: np.frombuffer(blob, dtype=np.float32) for owner, blob in session.execute(query)}
    rows = [r for r in rows if r.id in vectors]
    if not rows:
        return [Chapter(0.0, duration, video.title, "whole")] if duration else []
    cuts = [float(t) for t in session.scalars(select(Shot.start).where(Shot.video_id == video.id, Shot.start > 0))]
    return topic_chapters([r.start for r in rows], [r.end for r in rows], [r.text for r in rows],
                          np.stack([vectors[r.id] for r in rows]), duration, cuts)


def chapter_at(chapters: list[Chapter], seconds: float) -> Chapter | None:
    for chapter in chapters:
        if chapter.start <= seconds < chapter.end:
            return chapter
    return chapters[-1] if chapters and seconds >= chapters[-1].end else None


# (video id, indexed at, text model version) -> chapters: a video's rows change only by a re-index
_cache: dict[tuple, list[Chapter]] = {}
_cache_lock = threading.Lock()
CACHE_SIZE = 2048


def chapters_of(session, video: Video) -> list[Chapter]:
    """video_chapters, remembered until the video is indexed again."""
    version = (video.model_versions or {}).get("text")
    key = (video.id, video.indexed_at, version, video.duration)
    found = _cache.get(key)
    if found is None:
        found = video_chapters(session, video, version)
        with _cache_lock:  # requests on other threads fill it too
            while len(_cache) >= CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = found
    return found
