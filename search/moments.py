"""Moments: hits of every channel grouped and fused by reciprocal rank, then titled, quoted and pictured."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from catalog import Keyframe, TranscriptSegment, Video
from catalog.words import cjk_written, folded, has_cjk, is_cjk_word
from .calibration import STRONG
from .chapters import chapter_at, chapters_of
from .channels import CHANNELS
from .query import ParsedQuery, word_matches
from .tag_index import Span

# Reciprocal-rank fusion: score = sum over channels of fusion weight / (RRF_K + rank). 60 is the constant
# from Cormack et al.
RRF_K = 60
# Hits closer than this in the same video are one moment, when the later one scores at least
# JOIN_FRACTION of the moment's best in its channel; a moment grows to at most MAX_MOMENT.
MERGE_GAP = 3.0
JOIN_FRACTION = 0.85
MAX_MOMENT = 45.0
# A moment's thumbnail is the keyframe on screen as it starts, at most this far back.
THUMBNAIL_LOOKBACK = 30.0


@dataclass
class Hit:
    channel: str
    rank: int
    score: float
    video_id: int
    start: float
    end: float
    segment_id: int | None = None
    keyframe_id: int | None = None
    # how much of the query this hit covers (keyword hits); scales its share of the fused score
    weight: float = 1.0
    text: str | None = None  # what was read on screen (screen hits)
    chance: float | None = None  # that it answers the query, calibrated (search/calibration.py); None: unknown


@dataclass
class Moment:
    video_id: int
    title: str
    start: float
    end: float
    score: float = 0.0
    channels: dict[str, float] = field(default_factory=dict)
    snippet: str = ""
    highlights: list[list[int]] = field(default_factory=list)
    keyframe_id: int | None = None
    language: str | None = None  # of what the snippet shows (the segment's), else the video's
    hits: list[Hit] = field(default_factory=list)
    then: Moment | None = None  # "this, then that": the moment of the second part (search/temporal.py)
    chapter: dict | None = None  # {"title", "start", "end"} of the chapter it starts in (search/chapters.py)
    confidence: float | None = None  # that it answers the query, from its channels' calibrated chances

    @property
    def related(self) -> bool:
        """A match, not merely the nearest thing there is (unknown counts as a match)."""
        return self.confidence is None or self.confidence >= STRONG

    def as_dict(self) -> dict:
        out = {"video_id": self.video_id, "title": self.title, "start": round(self.start, 2),
               "end": round(self.end, 2), "score": round(self.score, 6),
               "channels": {k: round(v, 4) for k, v in self.channels.items()}, "snippet": self.snippet,
               "highlights": self.highlights, "keyframe_id": self.keyframe_id, "language": self.language,
               "chapter": self.chapter, "related": self.related,
               "confidence": None if self.confidence is None else round(self.confidence, 3)}
        if self.then is not None:
            out["then"] = {"start": round(self.then.start, 2), "end": round(self.then.end, 2),
                           "snippet": self.then.snippet, "highlights": self.then.highlights}
        return out


def group_into_moments(hits: list[Hit]) -> list[Moment]:
    """Group hits into moments, strongest hits first so that they seed them.

    A hit that overlaps a moment is more evidence for it (the same sentence found by meaning
    and by its words, the frame on screen while it is said). A hit that only lies near one
    extends it when it is about as strong as the moment's best hit in its channel: the next
    sentence of the same answer, not the rest of the video.
    """
    moments: list[Moment] = []
    by_video: dict[int, list[Moment]] = {}
    for hit in sorted(hits, key=lambda h: -CHANNELS[h.channel].fusion_weight * h.weight / (RRF_K + h.rank)):
        target = None
        for moment in by_video.get(hit.video_id, ()):
            overlaps = hit.start < moment.end and hit.end > moment.start
            near = hit.start <= moment.end + MERGE_GAP and hit.end >= moment.start - MERGE_GAP
            if overlaps or (near and _as_strong(hit, moment)):
                if max(moment.end, hit.end) - min(moment.start, hit.start) <= MAX_MOMENT:
                    target = moment
                    break
        if target is None:
            target = Moment(hit.video_id, "", hit.start, hit.end)
            moments.append(target)
            by_video.setdefault(hit.video_id, []).append(target)
        target.start, target.end = min(target.start, hit.start), max(target.end, hit.end)
        target.hits.append(hit)
    for moment in moments:
        best: dict[str, Hit] = {}
        for hit in moment.hits:
            if hit.channel not in best or hit.rank < best[hit.channel].rank:
                best[hit.channel] = hit
        moment.channels = {c: h.score for c, h in best.items()}
        moment.score = sum(CHANNELS[c].fusion_weight * h.weight / (RRF_K + h.rank) for c, h in best.items())
    # a stable order for pagination: ties broken by video and time
    moments.sort(key=lambda m: (-m.score, m.video_id, m.start))
    return moments


def _as_strong(hit: Hit, moment: Moment) -> bool:
    peers = [h.score for h in moment.hits if h.channel == hit.channel]
    return bool(peers) and hit.score >= JOIN_FRACTION * max(peers)


def decorate(session: Session, moments: list[Moment], parsed: ParsedQuery) -> None:
    """Titles, languages, chapters, snippets with the matching words marked, and a thumbnail for each moment.

    A moment found by what is said shows its best segment, read by id; only the others (found by
    pictures or on-screen text) look for the segments inside them, and only moments no keyframe
    found look for the frame on screen as they start: a page reads a few rows, not whole videos."""
    if not moments:
        return
    best = {id(m): min((h for h in m.hits if h.segment_id), key=lambda h: h.rank, default=None) for m in moments}
    unspoken = [m for m in moments if best[id(m)] is None]
    unseen = [m for m in moments if not any(h.keyframe_id for h in m.hits)]
    segment = TranscriptSegment
    columns = (segment.id, segment.video_id, segment.start, segment.end, segment.text, segment.language)
    videos = {v.id: v for v in session.scalars(select(Video).where(Video.id.in_({m.video_id for m in moments})))}
    by_id = {row.id: row for row in session.execute(select(*columns).where(
        segment.id.in_({best[id(m)].segment_id for m in moments if best[id(m)] is not None})))}
    # one small indexed query per moment, all in one statement: with an OR of them instead,
    # SQLite sometimes answers by a full scan
    inside = session.execute(union_all(*(select(*columns).where(
        segment.video_id == m.video_id, segment.end > m.start, segment.start < m.end)
        for m in unspoken))).all() if unspoken else []
    frames = session.execute(union_all(*(select(Keyframe.id, Keyframe.video_id, Keyframe.time).where(
        Keyframe.video_id == m.video_id, Keyframe.time >= m.start - THUMBNAIL_LOOKBACK,
        Keyframe.time <= m.end) for m in unseen))).all() if unseen else []
    for m in moments:
        video = videos.get(m.video_id)
        m.title = video.title if video else ""
        m.language = video.language if video else None
        chapter = chapter_at(chapters_of(session, video), m.start) if video else None
        m.chapter = {"title": chapter.title, "start": round(chapter.start, 2), "end": round(chapter.end, 2)} \
            if chapter is not None and chapter.source != "whole" else None
        hit = best[id(m)]
        said = by_id.get(hit.segment_id) if hit is not None else min(
            (seg for seg in inside if seg.video_id == m.video_id and seg.end > m.start and seg.start < m.end),
            key=lambda seg: seg.start, default=None)
        screen = sorted((h for h in m.hits if h.text), key=lambda h: h.rank)
        if said is not None:
            m.snippet, m.highlights = _snippet(said, parsed)
            m.language = said.language or m.language
        elif screen:
            m.snippet, m.highlights = _highlight(screen[0].text, parsed)
        visual = sorted((h for h in m.hits if h.keyframe_id), key=lambda h: h.rank)
        if visual:
            m.keyframe_id = visual[0].keyframe_id
            continue
        near = [f for f in frames if f.video_id == m.video_id and m.start - THUMBNAIL_LOOKBACK <= f.time <= m.end]
        if near:
            # the frame on screen when the moment starts: the last one at or before it, else the first after
            m.keyframe_id = min(near, key=lambda f: (f.time > m.start + 0.5, abs(f.time - m.start))).id


def _snippet(segment, parsed: ParsedQuery) -> tuple[str, list[list[int]]]:
    """The segment's text, with character ranges of what matches the query's content words."""
    return _highlight(segment.text, parsed)


def _highlight(text: str, parsed: ParsedQuery) -> tuple[str, list[list[int]]]:
    """Words that match, and in Chinese, Japanese and Korean (written without spaces) the places
    where a query word stands in the text, whichever script either is written in."""
    text = " ".join(text.split())
    terms = parsed.content_terms
    if not terms:
        return text, []
    spans = []
    for found in re.finditer(r"\S+", text):
        word = found.group()
        if not has_cjk(word) and word_matches(word, terms):
            core = word.strip(".,!?;:\"'()")
            offset = found.start() + word.find(core) if core else found.start()
            spans.append((offset, offset + len(core)))
    if has_cjk(text):
        plain = folded(text)
        # the query's own runs of CJK, and its words of two or more characters: a lone character
        # cut out of a word (the し of 話し合い) would mark every other word that holds it
        runs = set(re.findall(r"\w+", folded(parsed.text)))
        pieces = {w for term in terms for w in (cjk_written(term.words), *term.alternatives) if len(w) > 1}
        for written in {w for w in runs | pieces if is_cjk_word(w)}:
            at = plain.find(written)
            while at >= 0:
                spans.append((at, at + len(written)))
                at = plain.find(written, at + len(written))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return text, merged


def overlaps_any(moment: Moment, spans) -> bool:
    return any(span.start < moment.end and span.end > moment.start for span in spans)


def tagged_moments(constraints: list[dict[int, list[Span]]]) -> list[Moment]:
    """Browsing by tag: the spans of the first filter that overlap a span of every other one,
    surest first; overlapping spans of one video (a shot and the sentence said in it) are one moment."""
    first, rest = constraints[0], constraints[1:]
    moments: list[Moment] = []
    for video_id, spans in first.items():
        merged: list[Moment] = []
        for span in sorted(spans, key=lambda sp: sp.start):
            if span.end <= span.start:
                continue
            probe = Moment(video_id, "", span.start, span.end)
            if not all(overlaps_any(probe, c.get(video_id, ())) for c in rest):
                continue
            if merged and span.start < merged[-1].end and span.end - merged[-1].start <= MAX_MOMENT:
                last = merged[-1]
                last.end = max(last.end, span.end)
                last.score = last.channels["tag"] = max(last.score, span.confidence)
            else:
                merged.append(Moment(video_id, "", span.start, span.end, score=span.confidence,
                                     channels={"tag": span.confidence}))
        moments += merged
    moments.sort(key=lambda m: (-m.score, m.video_id, m.start))
    return moments
