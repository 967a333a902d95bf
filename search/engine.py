"""Search: encode the query, ask each channel, fuse by reciprocal rank, group hits into moments.

One engine per process (models and vector indexes load once); the CLI, the JSON API and the web
UI all call `SearchEngine.search`.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import bindparam, select, union_all

import models
from settings import Settings

from catalog import Catalog, Keyframe, TagKind, TranscriptSegment, Video, VideoStatus
from .keyword import search_keywords
from .tag_index import Span, tagged_spans
from .query import ParsedQuery, coverage, parse, word_matches
from .channels import CHANNELS, TRANSCRIPT, VECTOR_CHANNELS, VISUAL, Channel
from .vectorstore import ChannelIndex, locate_in_catalog
from .vocabulary import Vocabulary

MODES = ("hybrid",) + tuple(CHANNELS)
# Reciprocal-rank fusion: score = sum over channels of fusion weight / (RRF_K + rank). 60 is the constant
# from Cormack et al.
RRF_K = 60
# Fused, a keyword hit must hold at least this share of the query's content words to count.
MIN_KEYWORD_COVERAGE = 0.5
# Each channel contributes this many candidates before fusion.
CANDIDATES = 200
# Hits closer than this in the same video are one moment, when the later one scores at least
# JOIN_FRACTION of the moment's best in its channel; a moment grows to at most MAX_MOMENT.
MERGE_GAP = 3.0
JOIN_FRACTION = 0.85
MAX_MOMENT = 45.0
# A keyframe hit stands for this much of its shot around the keyframe.
KEYFRAME_SPAN = 4.0
# A moment's thumbnail is the keyframe on screen as it starts, at most this far back.
THUMBNAIL_LOOKBACK = 30.0
MAX_QUERY_CHARS = 500
QUERY_CACHE = 2048  # encoded query vectors a process keeps (both channels together)
SNIPPET_CONTEXT_WORDS = 12
# threads asking channels for the queries in flight (each query asks up to 3 besides its own thread)
CHANNEL_THREADS = 8


class QueryError(ValueError):
    """A query the engine cannot run; the message says why (HTTP 400)."""


@dataclass
class SearchRequest:
    text: str = ""
    k: int = 10
    offset: int = 0
    mode: str = "hybrid"
    video_ids: list[int] | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    added_after: dt.datetime | None = None
    added_before: dt.datetime | None = None
    # only moments that overlap a segment or shot with one of these emotions / content tags
    emotions: list[str] | None = None
    tags: list[str] | None = None

    @property
    def browsing(self) -> bool:
        """No words, only tag filters: list the tagged moments themselves."""
        return not (self.text or "").strip() and bool(self.emotions or self.tags)

    def validate(self) -> None:
        if (not self.text or not self.text.strip()) and not self.browsing:
            raise QueryError("the query is empty (give words, or an emotion or tag filter to browse)")
        if len(self.text) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
        if self.mode not in MODES:
            raise QueryError(f"mode must be one of {', '.join(MODES)}")
        if not 1 <= self.k <= 100:
            raise QueryError("k must be between 1 and 100")
        if not 0 <= self.offset <= 1000:
            raise QueryError("offset must be between 0 and 1000")


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
    hits: list[Hit] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"video_id": self.video_id, "title": self.title, "start": round(self.start, 2),
                "end": round(self.end, 2), "score": round(self.score, 6),
                "channels": {k: round(v, 4) for k, v in self.channels.items()}, "snippet": self.snippet,
                "highlights": self.highlights, "keyframe_id": self.keyframe_id}


@dataclass
class SearchResult:
    moments: list[Moment]
    total: int
    channels_used: list[str]
    notices: list[str]


class SearchEngine:
    def __init__(self, settings: Settings, catalog: Catalog):
        self.settings = settings
        self.catalog = catalog
        self._lock = threading.Lock()
        self._channels: dict[str, ChannelIndex | None] = {}
        self.vocabulary = Vocabulary(catalog)
        self._query_encoders: dict[str, object] = {}
        self._channel_pool = ThreadPoolExecutor(max_workers=CHANNEL_THREADS, thread_name_prefix="reelscope-channel")
        # paging through results, or several people asking the same, re-encodes the same text
        self._encode_query = functools.lru_cache(maxsize=QUERY_CACHE)(self._encode_uncached)

    def _encode_uncached(self, channel: str, text: str) -> np.ndarray:
        vector = self.query_encoder(channel).encode([text])[0]
        vector.flags.writeable = False  # shared by every request that hits the cache
        return vector

    def query_encoder(self, channel: str, export: bool = False):
        """The encoder for one vector channel's queries: ONNX Runtime once its graph was exported
        (warm() exports it; a one-shot command would wait longer for that than it saves)."""
        encoder = self._query_encoders.get(channel)
        if encoder is None or (export and encoder.runtime == "torch"):
            spec = CHANNELS[channel]
            encoder = models.load_query_encoder(spec.model_family, getattr(self.settings, spec.model_setting),
                                                self.settings.models_dir, self.settings.device, export=export)
            self._query_encoders[channel] = encoder
        return encoder

    # -- models and indexes, loaded once ----------------------------------------------------------

    def text_model(self):
        return models.load_text(self.settings.text_model, self.settings.device)

    def clip_model(self):
        return models.load_clip(self.settings.clip_model, self.settings.models_dir, self.settings.device)

    def visual_availability(self) -> models.ClipAvailability:
        return models.clip_availability(self.settings.clip_model, self.settings.models_dir)

    def channel_index(self, channel: str) -> ChannelIndex | None:
        """The vector index of a channel ("transcript" or "visual"); None while the channel is off."""
        with self._lock:
            if channel not in self._channels:
                self._channels[channel] = self._open_channel(CHANNELS[channel])
            return self._channels[channel]

    def _open_channel(self, channel: Channel) -> ChannelIndex | None:
        if channel is VISUAL and not self.visual_availability().enabled:
            return None
        encoder = self.query_encoder(channel.name)  # its version and dim, without loading PyTorch when exported
        index = ChannelIndex(self.catalog, channel.owner_kind, encoder.version, encoder.dim,
                             self.settings.data_dir / "vectors",
                             tuning_queries=lambda: self.query_encoder(channel.name).encode(tuning_queries()))
        index.open()
        return index

    def loaded_channels(self) -> dict[str, ChannelIndex]:
        return {name: index for name, index in self._channels.items() if index is not None}

    def warm(self) -> None:
        """Load models, query encoders and indexes before the first request."""
        for channel in VECTOR_CHANNELS:
            if channel is not VISUAL or self.visual_availability().enabled:
                self.query_encoder(channel.name, export=True)
                self.channel_index(channel.name)

    def rebuild(self) -> dict[str, int]:
        sizes = {}
        for channel in VECTOR_CHANNELS:
            index = self.channel_index(channel.name)
            if index is not None:
                index.rebuild()
                sizes[channel.name] = index.size
        return sizes

    # -- searching ----------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        request.validate()
        parsed = parse(request.text)
        notices = []
        visual = self.visual_availability()
        wanted = CHANNELS if request.mode == "hybrid" else (request.mode,)
        if "visual" in wanted and not visual.enabled:
            notices.append(visual.reason)
            if request.mode == "visual":
                return SearchResult([], 0, [], notices)
        elif "visual" in wanted and visual.test_only:
            notices.append(visual.reason)
        video_ids = self._filtered_videos(request)
        constraints = self._tag_constraints(request, video_ids)
        if constraints is not None:
            allowed = set.intersection(*(set(c) for c in constraints)) if constraints else set()
            video_ids = sorted(allowed)
        if request.browsing:
            moments = _tagged_moments(constraints)
            page = moments[request.offset:request.offset + request.k]
            self._decorate(page, parsed)
            return SearchResult(page, len(moments), [], notices)
        asks = {}
        if "transcript" in wanted:
            asks["transcript"] = functools.partial(self._transcript_hits, request.text, video_ids)
        if "keyword" in wanted and parsed.terms:
            asks["keyword"] = functools.partial(self._keyword_hits, parsed, video_ids, fused=request.mode != "keyword")
        if "visual" in wanted and visual.enabled:
            asks["visual"] = functools.partial(self._visual_hits, request.text, video_ids)
        if "screen" in wanted and parsed.terms:
            asks["screen"] = functools.partial(self._screen_hits, parsed, video_ids, fused=request.mode != "screen")
        used = list(asks)
        hits = self._ask_channels(list(asks.values()))
        moments = self._moments(self._searchable(hits), parsed)
        if constraints is not None:
            moments = [m for m in moments if all(_overlaps_any(m, c.get(m.video_id, ())) for c in constraints)]
        page = moments[request.offset:request.offset + request.k]
        self._decorate(page, parsed)
        return SearchResult(page, len(moments), used, notices)

    def _ask_channels(self, asks: list) -> list[Hit]:
        """Every channel at once: encoders, FAISS and SQLite each let go of the GIL while they work, so
        one query uses all cores; the first channel runs on the caller's thread."""
        if not asks:
            return []
        waiting = [self._channel_pool.submit(ask) for ask in asks[1:]]
        hits = asks[0]()
        for future in waiting:
            hits += future.result()
        return hits

    def search_by_vector(self, vector: np.ndarray, k: int, exclude_keyframe: int | None = None) -> SearchResult:
        """Query by example: moments whose keyframes look like `vector` (a CLIP image vector)."""
        index = self.channel_index(VISUAL.name)
        found = [(i, score) for i, score in (index.search(vector, CANDIDATES) if index else [])
                 if i != exclude_keyframe]
        moments = self._moments(self._searchable(self._keyframe_hits(found)), parse(""))
        page = moments[:k]
        self._decorate(page, parse(""))
        return SearchResult(page, len(moments), ["visual"], [])

    def _tag_constraints(self, request: SearchRequest, video_ids) -> list[dict[int, list[Span]]] | None:
        """One {video: spans} per tag filter (emotion, content tags); a moment must overlap a span of each."""
        if not request.emotions and not request.tags:
            return None
        constraints = []
        with self.catalog.session() as s:
            if request.emotions:
                constraints.append(tagged_spans(s, TagKind.EMOTION, request.emotions, video_ids))
            if request.tags:
                constraints.append(tagged_spans(s, None, request.tags, video_ids))
            live = _indexed_videos(s, set().union(*(c.keys() for c in constraints)))
        return [{v: spans for v, spans in c.items() if v in live} for c in constraints]

    def _filtered_videos(self, request: SearchRequest) -> list[int] | None:
        """None means every indexed video; otherwise the ids the filters let through."""
        if request.video_ids is None and request.min_duration is None and request.max_duration is None \
                and request.added_after is None and request.added_before is None:
            return None
        q = select(Video.id).where(Video.status == VideoStatus.INDEXED)
        if request.video_ids is not None:
            q = q.where(Video.id.in_(request.video_ids))
        if request.min_duration is not None:
            q = q.where(Video.duration >= request.min_duration)
        if request.max_duration is not None:
            q = q.where(Video.duration <= request.max_duration)
        if request.added_after is not None:
            q = q.where(Video.added_at >= request.added_after)
        if request.added_before is not None:
            q = q.where(Video.added_at <= request.added_before)
        with self.catalog.session() as s:
            return list(s.scalars(q))

    def _transcript_hits(self, text: str, video_ids) -> list[Hit]:
        index = self.channel_index(TRANSCRIPT.name)
        found = index.search(self._encode_query("transcript", text), CANDIDATES, video_ids)
        places = index.locate([i for i, _ in found])
        hits = []
        for owner_id, score in found:
            if owner_id in places:
                video_id, start, end, _ = places[owner_id]
                hits.append(Hit("transcript", len(hits) + 1, score, video_id, start, end, segment_id=owner_id))
        return hits

    def _keyword_hits(self, parsed: ParsedQuery, video_ids, fused: bool) -> list[Hit]:
        """Alone, all words must match (then any). Fused with the other channels, a segment may
        match some of the query's content words, and counts in proportion to the share it has:
        a natural-language query rarely shares every word with what was said, but a stray
        common word must not lift a wrong moment."""
        if fused:
            terms = self.vocabulary.with_alternatives(parsed.content_terms or parsed.terms)
        else:
            parsed = ParsedQuery(parsed.text, self.vocabulary.with_alternatives(parsed.terms))
            terms = parsed.content_terms or parsed.terms
        with self.catalog.session() as s:
            if fused:
                found = search_keywords(s, ParsedQuery(parsed.text, terms), CANDIDATES, video_ids,
                                        at_least=math.ceil(MIN_KEYWORD_COVERAGE * len(terms)))
            else:
                found = search_keywords(s, parsed, CANDIDATES, video_ids)
        hits = []
        for h in found:
            covered = coverage(h.text, terms)
            if fused and covered < MIN_KEYWORD_COVERAGE:
                continue
            start, end = h.place
            hits.append(Hit("keyword", len(hits) + 1, 1.0 / h.rank, h.video_id, start, end,
                            segment_id=h.row_id, weight=covered ** 2 if fused else 1.0))
        return hits

    def _screen_hits(self, parsed: ParsedQuery, video_ids, fused: bool) -> list[Hit]:
        """Words read on screen, found like keywords (all words alone; a fair share of them fused)."""
        terms = parsed.content_terms or parsed.terms
        with self.catalog.session() as s:
            found = search_keywords(s, parsed, CANDIDATES, video_ids, table="screen_texts",
                                    at_least=math.ceil(MIN_KEYWORD_COVERAGE * len(terms)) if fused else None)
        scored, texts = [], {}
        for h in found:
            covered = coverage(h.text, terms)
            if fused and covered < MIN_KEYWORD_COVERAGE:
                continue
            keyframe_id = h.place[0]
            scored.append((keyframe_id, 1.0 / h.rank))
            texts[keyframe_id] = h.text
        hits = self._keyframe_hits(scored, channel="screen")
        for hit in hits:
            hit.text = texts[hit.keyframe_id]
        return hits

    def _visual_hits(self, text: str, video_ids) -> list[Hit]:
        index = self.channel_index(VISUAL.name)
        if index is None:
            return []
        return self._keyframe_hits(index.search(self._encode_query("visual", text), CANDIDATES, video_ids))

    def _keyframe_hits(self, found: list[tuple[int, float]], channel: str = "visual") -> list[Hit]:
        """A keyframe hit stands for the part of its shot around it."""
        ids = [i for i, _ in found]
        if not ids:
            return []
        # on-screen text is searchable without CLIP, when there is no keyframe index to ask
        index = self._channels.get(VISUAL.name)
        places = index.locate(ids) if index is not None else locate_in_catalog(self.catalog, VISUAL.owner_kind, ids)
        hits = []
        for owner_id, score in found:
            if owner_id not in places:
                continue
            video_id, shot_start, shot_end, time = places[owner_id]
            start = max(shot_start, time - KEYFRAME_SPAN / 2)
            end = min(shot_end, max(time + KEYFRAME_SPAN / 2, start + 0.5))
            hits.append(Hit(channel, len(hits) + 1, score, video_id, start, end, keyframe_id=owner_id))
        return hits

    def _searchable(self, hits: list[Hit]) -> list[Hit]:
        """The hits in videos that are searchable now (not being re-indexed, failed or removed since
        the index last synced), ranked again within each channel without the others."""
        with self.catalog.session() as s:
            live = _indexed_videos(s, {h.video_id for h in hits})
        kept = [h for h in hits if h.video_id in live]
        if len(kept) < len(hits):
            ranks: dict[str, int] = {}
            for h in kept:
                ranks[h.channel] = h.rank = ranks.get(h.channel, 0) + 1
        return kept

    # -- fusion -------------------------------------------------------------------------------------

    def _moments(self, hits: list[Hit], parsed: ParsedQuery) -> list[Moment]:
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
                if overlaps or (near and self._as_strong(hit, moment)):
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

    @staticmethod
    def _as_strong(hit: Hit, moment: Moment) -> bool:
        peers = [h.score for h in moment.hits if h.channel == hit.channel]
        return bool(peers) and hit.score >= JOIN_FRACTION * max(peers)

    def _decorate(self, moments: list[Moment], parsed: ParsedQuery) -> None:
        """Titles, snippets with the matching words marked, and a thumbnail for each moment.

        A moment found by what is said shows its best segment, read by id; only the others (found by
        pictures or on-screen text) look for the segments inside them, and only moments no keyframe
        found look for the frame on screen as they start: a page reads a few rows, not whole videos."""
        if not moments:
            return
        best = {id(m): min((h for h in m.hits if h.segment_id), key=lambda h: h.rank, default=None) for m in moments}
        unspoken = [m for m in moments if best[id(m)] is None]
        unseen = [m for m in moments if not any(h.keyframe_id for h in m.hits)]
        segment = TranscriptSegment
        columns = (segment.id, segment.video_id, segment.start, segment.end, segment.text, segment.words)
        with self.catalog.session() as s:
            titles = dict(s.execute(select(Video.id, Video.title)
                                    .where(Video.id.in_({m.video_id for m in moments}))).all())
            by_id = {row.id: row for row in s.execute(select(*columns).where(
                segment.id.in_({best[id(m)].segment_id for m in moments if best[id(m)] is not None})))}
            # one small indexed query per moment, all in one statement: with an OR of them instead,
            # SQLite sometimes answers by a full scan
            inside = s.execute(union_all(*(select(*columns).where(
                segment.video_id == m.video_id, segment.end > m.start, segment.start < m.end)
                for m in unspoken))).all() if unspoken else []
            frames = s.execute(union_all(*(select(Keyframe.id, Keyframe.video_id, Keyframe.time).where(
                Keyframe.video_id == m.video_id, Keyframe.time >= m.start - THUMBNAIL_LOOKBACK,
                Keyframe.time <= m.end) for m in unseen))).all() if unseen else []
        for m in moments:
            m.title = titles.get(m.video_id, "")
            hit = best[id(m)]
            said = by_id.get(hit.segment_id) if hit is not None else min(
                (seg for seg in inside if seg.video_id == m.video_id and seg.end > m.start and seg.start < m.end),
                key=lambda seg: seg.start, default=None)
            screen = sorted((h for h in m.hits if h.text), key=lambda h: h.rank)
            if said is not None:
                m.snippet, m.highlights = _snippet(said, parsed)
            elif screen:
                m.snippet, m.highlights = _highlight(screen[0].text.split(), parsed)
            visual = sorted((h for h in m.hits if h.keyframe_id), key=lambda h: h.rank)
            if visual:
                m.keyframe_id = visual[0].keyframe_id
                continue
            near = [f for f in frames if f.video_id == m.video_id and m.start - THUMBNAIL_LOOKBACK <= f.time <= m.end]
            if near:
                # the frame on screen when the moment starts: the last one at or before it, else the first after
                m.keyframe_id = min(near, key=lambda f: (f.time > m.start + 0.5, abs(f.time - m.start))).id


@functools.cache
def tuning_queries() -> list[str]:
    """Typical queries, for the approximate indexes to tune their search effort on (not for ranking)."""
    lines = (Path(__file__).parent / "tuning_queries.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# the ids are bound when it runs: built per call, an IN of 400 literals costs more than the query
_INDEXED_AMONG = select(Video.id).where(Video.id.in_(bindparam("ids", expanding=True)),
                                        Video.status == VideoStatus.INDEXED)


def _indexed_videos(session, video_ids: set[int]) -> set[int]:
    """Which of these videos are searchable now (a video being re-indexed or failed is not)."""
    if not video_ids:
        return set()
    return set(session.scalars(_INDEXED_AMONG, {"ids": list(video_ids)}))


def _snippet(segment, parsed: ParsedQuery) -> tuple[str, list[list[int]]]:
    """The segment's words, with character ranges of those that match the query's content words."""
    return _highlight([w[0].strip() for w in segment.words] or segment.text.split(), parsed)


def _highlight(words: list[str], parsed: ParsedQuery) -> tuple[str, list[list[int]]]:
    terms = parsed.content_terms
    text, highlights = "", []
    for word in words:
        if text:
            text += " "
        if terms and word_matches(word, terms):
            core = word.strip(".,!?;:\"'()")
            offset = len(text) + word.find(core) if core else len(text)
            highlights.append([offset, offset + len(core)])
        text += word
    return text, highlights


def _overlaps_any(moment: Moment, spans) -> bool:
    return any(span.start < moment.end and span.end > moment.start for span in spans)


def _tagged_moments(constraints: list[dict[int, list[Span]]]) -> list[Moment]:
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
            if not all(_overlaps_any(probe, c.get(video_id, ())) for c in rest):
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
