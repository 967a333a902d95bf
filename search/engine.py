"""Search: encode the query, ask each channel, and hand the hits to `search.moments` to fuse into moments.

One engine per process (models and vector indexes load once); the CLI, the JSON API and the web
UI all call `SearchEngine.search`.
"""
from __future__ import annotations

import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from sqlalchemy import bindparam, func, select

import models
from settings import Settings

from catalog import Catalog, Embedding, Keyframe, TagKind, TranscriptSegment, Video, VideoStatus
from people.library import person_spans

from .keyword import search_keywords
from .tag_index import Span, tagged_spans
from .query import ParsedQuery, coverage, parse
from .channels import CHANNELS, TRANSCRIPT, VECTOR_CHANNELS, VISUAL, Channel
from .moments import Hit, Moment, decorate, group_into_moments, overlaps_any, tagged_moments
from .request import SearchRequest, SearchResult, filtered_videos
from .temporal import DEFAULT_WITHIN, followed_by, in_time_range
from .calibration import Calibration, confidence, load_or_fit
from .channel_index import ChannelIndex, locate_in_catalog
from .vocabulary import Vocabulary

# Fused, a keyword hit must hold at least this share of the query's content words to count.
MIN_KEYWORD_COVERAGE = 0.5
# Each channel contributes this many candidates before fusion.
CANDIDATES = 200
# A keyframe hit stands for this much of its shot around the keyframe.
KEYFRAME_SPAN = 4.0
QUERY_CACHE = 2048  # encoded query vectors a process keeps (both channels together)
# threads asking channels for the queries in flight (each query asks up to 3 besides its own thread)
CHANNEL_THREADS = 8
NOTHING_THERE = "nothing is said or seen there to compare with"
NO_GOOD_MATCH = "no good match: nothing in the library is close to this; these are the nearest moments"


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
        self._calibration: Calibration | None = None

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

    def calibration(self) -> Calibration:
        """How sure each channel's scores are, for the text model in use (search/calibration.py)."""
        if self._calibration is None:  # the text model is fixed for the engine's life, so is its calibration
            version = models.text_version(self.settings.text_model, self.settings.models_dir)

            def encoders():
                # the full model only for the pairs, once per model version; searches use the query encoder
                passages = models.load_text(self.settings.text_model, self.settings.device, keep=False,
                                            models_dir=self.settings.models_dir)
                return self.query_encoder(TRANSCRIPT.name).encode, passages.encode
            self._calibration = load_or_fit(self.settings.models_dir, version, encoders)
        return self._calibration

    def text_model(self):
        return models.load_text(self.settings.text_model, self.settings.device, models_dir=self.settings.models_dir)

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
        index = ChannelIndex(self.catalog, channel, encoder.version, encoder.dim,
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
        self.calibration()

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
        notices, nothing = request.caveats()
        if nothing:
            return SearchResult([], 0, [], notices)
        parsed = parse(request.text)
        then_parsed = parse(request.then) if request.then else None
        visual = self.visual_availability()
        wanted = CHANNELS if request.mode == "hybrid" else (request.mode,)
        if "visual" in wanted and not visual.enabled:
            notices.append(visual.reason)
            if request.mode == "visual":
                return SearchResult([], 0, [], notices)
        elif "visual" in wanted and visual.test_only:
            notices.append(visual.reason)
        with self.catalog.session() as s:
            video_ids = filtered_videos(s, request)
        constraints = self._tag_constraints(request, video_ids)
        if constraints is not None:
            allowed = set.intersection(*(set(c) for c in constraints)) if constraints else set()
            video_ids = sorted(allowed)
        if request.browsing:
            moments = tagged_moments(constraints)
            page = moments[request.offset:request.offset + request.k]
            self._decorate(page, parsed)
            return SearchResult(page, len(moments), [], notices)
        if request.then:
            within = request.within or DEFAULT_WITHIN
            moments, used = followed_by(self._moments(request.text, parsed, wanted, visual, video_ids),
                                        lambda ids: self._moments(request.then, then_parsed, wanted, visual, ids),
                                        within)
            if not moments:
                notices.append(f"no moment where {request.then!r} follows {request.text!r} within {within:g} s")
        else:
            moments, used = self._moments(request.text, parsed, wanted, visual, video_ids, request.picture)
        if constraints is not None:
            moments = [m for m in moments if all(overlaps_any(m, c.get(m.video_id, ())) for c in constraints)]
        if request.time_from is not None or request.time_to is not None:
            moments = [m for m in moments if in_time_range(m, request.time_from, request.time_to)]
        # sure matches first, the less related after them, each in fused order
        judged = "visual" not in used  # no calibration for pictures: then nothing is claimed
        moments.sort(key=lambda m: not m.related)
        no_good_match = judged and not any(m.related for m in moments)
        if no_good_match:
            notices.append(NO_GOOD_MATCH)
        page = moments[request.offset:request.offset + request.k]
        self._decorate(page, parsed, then_parsed)
        return SearchResult(page, len(moments), used, notices, no_good_match=no_good_match)

    def _moments(self, text: str, parsed: ParsedQuery, wanted, visual, video_ids,
                 picture: np.ndarray | None = None) -> tuple[list[Moment], list[str]]:
        """Every channel asked at once, the hits grouped into moments: (moments best first, channels used).
        `picture`: a CLIP image vector that the visual channel looks for together with the words."""
        asks = {}
        if "transcript" in wanted:
            asks["transcript"] = functools.partial(self._transcript_hits, text, video_ids)
        if "keyword" in wanted and parsed.terms:
            asks["keyword"] = functools.partial(self._keyword_hits, parsed, video_ids, fused=wanted != ("keyword",))
        if "visual" in wanted and visual.enabled:
            asks["visual"] = functools.partial(self._visual_hits, text, video_ids, picture)
        if "screen" in wanted and parsed.terms:
            asks["screen"] = functools.partial(self._screen_hits, parsed, video_ids, fused=wanted != ("screen",))
        hits = self._ask_channels(list(asks.values()))
        moments = group_into_moments(self._searchable(hits))
        for m in moments:
            m.confidence = confidence([max((h.chance for h in m.hits if h.channel == c and h.chance is not None),
                                           default=0.0) for c in m.channels])
        return moments, list(asks)

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
        moments = group_into_moments(self._searchable(self._keyframe_hits(found)))
        page = moments[:k]
        self._decorate(page, parse(""))
        return SearchResult(page, len(moments), ["visual"], [])

    def more_like_moment(self, video_id: int, seconds: float, k: int) -> SearchResult:
        """Moments like the one at `seconds` into a video: by what is said there (its segment's vector),
        and by what is seen (its keyframe's CLIP vector) when the visual channel is on; the moment
        itself is left out. None of the stored vectors is encoded again."""
        visual = self.visual_availability()
        with self.catalog.session() as s:
            segment = s.execute(select(TranscriptSegment.id, TranscriptSegment.start, TranscriptSegment.end)
                                .where(TranscriptSegment.video_id == video_id, TranscriptSegment.start <= seconds + 0.5,
                                       TranscriptSegment.end >= seconds - 0.5)
                                .order_by(TranscriptSegment.start).limit(1)).first()
            # the frame on screen then: the nearest keyframe, if one lies within a keyframe interval
            keyframe = s.execute(select(Keyframe.id, Keyframe.time).where(
                Keyframe.video_id == video_id, func.abs(Keyframe.time - seconds) <= self.settings.keyframe_interval)
                .order_by(func.abs(Keyframe.time - seconds)).limit(1)).first()
        text_vector = self.stored_vector(TRANSCRIPT, segment.id) if segment else None
        picture = self.stored_vector(VISUAL, keyframe.id) if keyframe and visual.enabled else None
        start = min(x for x in (segment and segment.start, keyframe and keyframe.time, seconds) if x is not None)
        end = max(x for x in (segment and segment.end, keyframe and keyframe.time, seconds) if x is not None)
        asks, used = [], []
        if text_vector is not None:
            asks.append(functools.partial(self._segment_hits, text_vector, None, exclude=segment.id))
            used.append(TRANSCRIPT.name)
        if picture is not None:
            index = self.channel_index(VISUAL.name)
            asks.append(lambda: self._keyframe_hits([(i, sc) for i, sc in index.search(picture, CANDIDATES)
                                                     if i != keyframe.id]))
            used.append(VISUAL.name)
        moments = [m for m in group_into_moments(self._searchable(self._ask_channels(asks)))
                   if not (m.video_id == video_id and m.start < end + 1.0 and m.end > start - 1.0)]
        page = moments[:k]
        self._decorate(page, parse(""))
        return SearchResult(page, len(moments), used, [] if used else [NOTHING_THERE])

    def stored_vector(self, channel: Channel, owner_id: int) -> np.ndarray | None:
        """The catalog's vector of a segment or keyframe from the channel's current model; None without one."""
        index = self.channel_index(channel.name)
        if index is None:
            return None
        with self.catalog.session() as s:
            blob = s.scalar(select(Embedding.vector).where(Embedding.owner_kind == channel.owner_kind,
                                                            Embedding.owner_id == owner_id,
                                                            Embedding.model_version == index.model_version))
        return None if blob is None else np.frombuffer(blob, dtype=np.float32)

    def _tag_constraints(self, request: SearchRequest, video_ids) -> list[dict[int, list[Span]]] | None:
        """One {video: spans} per filter (emotions, content tags, people); a moment must overlap a span of each."""
        if not request.emotions and not request.tags and not request.people:
            return None
        constraints = []
        with self.catalog.session() as s:
            if request.emotions:
                constraints.append(tagged_spans(s, TagKind.EMOTION, request.emotions, video_ids))
            if request.tags:
                constraints.append(tagged_spans(s, None, request.tags, video_ids))
            if request.people:
                constraints.append(person_spans(s, request.people, video_ids))
            live = _indexed_videos(s, set().union(*(c.keys() for c in constraints)))
        return [{v: spans for v, spans in c.items() if v in live} for c in constraints]

    def _transcript_hits(self, text: str, video_ids) -> list[Hit]:
        return self._segment_hits(self._encode_query("transcript", text), video_ids, curve=self.calibration().transcript)

    def _segment_hits(self, vector: np.ndarray, video_ids, curve=None, exclude: int | None = None) -> list[Hit]:
        """Segments near `vector`; `curve` turns a query's cosine into its chance (None: a segment's own
        vector, whose cosines are not a query's and are not judged); `exclude`: a segment left out."""
        index = self.channel_index(TRANSCRIPT.name)
        found = [(i, score) for i, score in index.search(vector, CANDIDATES, video_ids) if i != exclude]
        places = index.locate([i for i, _ in found])
        hits = []
        for owner_id, score in found:
            if owner_id in places:
                video_id, start, end, _ = places[owner_id]
                hits.append(Hit("transcript", len(hits) + 1, score, video_id, start, end, segment_id=owner_id,
                                chance=curve(score) if curve else None))
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
        curve = self.calibration().keyword
        hits = []
        for h in found:
            covered = coverage(h.words, terms)
            if fused and covered < MIN_KEYWORD_COVERAGE:
                continue
            start, end = h.place
            hits.append(Hit("keyword", len(hits) + 1, 1.0 / h.rank, h.video_id, start, end,
                            segment_id=h.row_id, weight=covered ** 2 if fused else 1.0, chance=curve(covered)))
        return hits

    def _screen_hits(self, parsed: ParsedQuery, video_ids, fused: bool) -> list[Hit]:
        """Words read on screen, found like keywords (all words alone; a fair share of them fused)."""
        terms = parsed.content_terms or parsed.terms
        with self.catalog.session() as s:
            found = search_keywords(s, parsed, CANDIDATES, video_ids, table="screen_texts",
                                    at_least=math.ceil(MIN_KEYWORD_COVERAGE * len(terms)) if fused else None)
        scored, texts, chances = [], {}, {}
        curve = self.calibration().keyword
        for h in found:
            covered = coverage(h.words, terms)
            if fused and covered < MIN_KEYWORD_COVERAGE:
                continue
            keyframe_id = h.place[0]
            scored.append((keyframe_id, 1.0 / h.rank))
            texts[keyframe_id] = h.text
            chances[keyframe_id] = max(chances.get(keyframe_id, 0.0), curve(covered))
        hits = self._keyframe_hits(scored, channel="screen")
        for hit in hits:
            hit.text, hit.chance = texts[hit.keyframe_id], chances[hit.keyframe_id]
        return hits

    def _visual_hits(self, text: str, video_ids, picture: np.ndarray | None = None) -> list[Hit]:
        index = self.channel_index(VISUAL.name)
        if index is None:
            return []
        vector = self._encode_query("visual", text)
        if picture is not None:
            # a picture and words: the sum of the two unit vectors, the usual CLIP composed query
            # ("this, but at night"): frames near both score highest
            vector = picture / np.linalg.norm(picture) + vector / np.linalg.norm(vector)
            vector = (vector / np.linalg.norm(vector)).astype(np.float32)
        return self._keyframe_hits(index.search(vector, CANDIDATES, video_ids))

    def _keyframe_hits(self, found: list[tuple[int, float]], channel: str = "visual") -> list[Hit]:
        """A keyframe hit stands for the part of its shot around it."""
        ids = [i for i, _ in found]
        if not ids:
            return []
        # on-screen text is searchable without CLIP, when there is no keyframe index to ask
        index = self._channels.get(VISUAL.name)
        places = index.locate(ids) if index is not None else locate_in_catalog(self.catalog, VISUAL, ids)
        hits = []
        for owner_id, score in found:
            if owner_id not in places:
                continue
            video_id, shot_start, shot_end, time = places[owner_id]
            start = max(shot_start, time - KEYFRAME_SPAN / 2)
            end = min(shot_end, max(time + KEYFRAME_SPAN / 2, start + 0.5))
            hits.append(Hit(channel, len(hits) + 1, score, video_id, start, end, keyframe_id=owner_id))
        return hits

    def _decorate(self, moments: list[Moment], parsed: ParsedQuery, then_parsed: ParsedQuery | None = None) -> None:
        with self.catalog.session() as s:
            decorate(s, moments, parsed)
            if then_parsed is not None:
                decorate(s, [m.then for m in moments if m.then is not None], then_parsed)

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


