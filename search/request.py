"""What a search asks for and what it answers: the request with its checks, the result, the filters."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import TranscriptSegment, Video, VideoStatus
from indexer.languages import language_code
from .channels import CHANNELS
from .moments import Moment
from .temporal import MAX_WITHIN

MODES = ("hybrid",) + tuple(CHANNELS)
MAX_QUERY_CHARS = 500


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
    # only moments where one of these people is seen or heard (people/library.py)
    people: list[int] | None = None
    # only videos spoken (or subtitled) in one of these languages: ISO 639-1 codes or names as
    # containers and people write them ("zh-CN", "chi", "Chinese")
    languages: list[str] | None = None
    # "this, then that": `then` must follow the query within `within` seconds in the same video
    then: str | None = None
    within: float | None = None
    # only moments overlapping this stretch of their video, in seconds
    time_from: float | None = None
    time_to: float | None = None
    # a picture to look for together with the words (a CLIP image vector: an upload or a keyframe's)
    picture: object | None = None

    @property
    def browsing(self) -> bool:
        """No words, only tag or people filters: list the tagged moments themselves."""
        return not (self.text or "").strip() and bool(self.emotions or self.tags or self.people)

    def validate(self) -> None:
        if (not self.text or not self.text.strip()) and not self.browsing:
            raise QueryError("the query is empty (give words, or an emotion, tag or person filter to browse)")
        if len(self.text) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
        if self.mode not in MODES:
            raise QueryError(f"mode must be one of {', '.join(MODES)}")
        if not 1 <= self.k <= 100:
            raise QueryError("k must be between 1 and 100")
        if not 0 <= self.offset <= 1000:
            raise QueryError("offset must be between 0 and 1000")
        if self.then is not None:
            if not self.then.strip():
                raise QueryError("then is empty: give what follows the query, or leave it out")
            if len(self.then) > MAX_QUERY_CHARS:
                raise QueryError(f"then is longer than {MAX_QUERY_CHARS} characters")
        if self.within is not None and not 0 < self.within <= MAX_WITHIN:
            raise QueryError(f"within is between 0 and {MAX_WITHIN:g} seconds")

    def caveats(self) -> tuple[list[str], bool]:
        """What the request asks that can be answered only in part, as notices for the answer, and
        whether nothing can match at all. Well-formed asks are answered (200), never refused: an
        unknown language is a filter that matches nothing, as an unknown tag is."""
        notices, nothing = [], False
        if self.then is not None and not (self.text or "").strip():
            notices.append("then follows a query (q): ignored while browsing by filters")
            self.then = None
        if self.within is not None and not self.then:
            notices.append("within goes with then: ignored")
            self.within = None
        if self.time_from is not None and self.time_to is not None and self.time_to <= self.time_from:
            notices.append("to must be later than from: no moment lies between them")
            nothing = True
        if self.languages is not None:
            notices += [f"unknown language {lang!r}: give an ISO 639-1 code such as en or zh"
                        for lang in self.languages if language_code(lang) is None]
            self.languages = sorted({language_code(lang) for lang in self.languages} - {None})
            nothing = nothing or not self.languages
        return notices, nothing


@dataclass
class SearchResult:
    moments: list[Moment]
    total: int
    channels_used: list[str]
    notices: list[str]
    # nothing clears the bar of a match (search/calibration.py): the moments are only the nearest
    no_good_match: bool = False


def filtered_videos(session: Session, request: SearchRequest) -> list[int] | None:
    """None means every indexed video; otherwise the ids the filters let through."""
    if request.video_ids is None and request.min_duration is None and request.max_duration is None \
            and request.added_after is None and request.added_before is None and request.languages is None:
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
    if request.languages is not None:
        # the language heard, or a subtitle track's (a film in French with Chinese subtitles is both)
        q = q.where(Video.language.in_(request.languages) | Video.id.in_(
            select(TranscriptSegment.video_id).where(TranscriptSegment.language.in_(request.languages))))
    return list(session.scalars(q))
