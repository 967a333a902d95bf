"""The catalog's tables: the source of truth of every layer (vectors included).

The schema is created and changed only by the Alembic migrations in `migrations/`.
"""
from __future__ import annotations

import datetime as dt
import secrets

import numpy as np
from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from .words import index_form

def _index_form_of_text(context) -> str:
    return index_form(context.get_current_parameters().get("text"))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive ones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class VideoStatus:
    PENDING = "pending"
    INDEXING = "indexing"
    INDEXED = "indexed"
    FAILED = "failed"
    ALL = (PENDING, INDEXING, INDEXED, FAILED)


class SegmentSource:
    SPEECH = "speech"
    SUBTITLES = "subtitles"


class Video(Base):
    __tablename__ = "videos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    mtime: Mapped[float | None] = mapped_column(Float)
    duration: Mapped[float | None] = mapped_column(Float)
    fps: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    container: Mapped[str | None] = mapped_column(String(64))
    video_codec: Mapped[str | None] = mapped_column(String(64))
    audio_codec: Mapped[str | None] = mapped_column(String(64))
    has_video: Mapped[bool] = mapped_column(Boolean, default=True)
    has_audio: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=VideoStatus.PENDING, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # {"speech": "whisper-base@1.0.0", "text": ..., "clip": ...}: what made this video's rows
    model_versions: Mapped[dict] = mapped_column(JSON, default=dict)
    # {"audio": {"index", "language", "channels", "sample_rate", "chosen_because", "count"} | None,
    #  "subtitles": [{"key", "source", "language", "label", "cues"}], "skipped": [{"key", "language", "reason"}]}
    tracks: Mapped[dict | None] = mapped_column(JSON)
    # what was kept from damaged or odd input, in words ("audio stops decoding at 312.4 s: kept what came before")
    warnings: Mapped[list | None] = mapped_column(JSON)
    # who holds this video while status is "indexing" (host:pid) and since when; a dead holder means resume
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    indexed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    shots: Mapped[list[Shot]] = relationship(back_populates="video", cascade="all, delete-orphan",
                                             passive_deletes=True, order_by="Shot.index")
    keyframes: Mapped[list[Keyframe]] = relationship(back_populates="video", cascade="all, delete-orphan",
                                                     passive_deletes=True, order_by="Keyframe.time")
    segments: Mapped[list[TranscriptSegment]] = relationship(back_populates="video", cascade="all, delete-orphan",
                                                             passive_deletes=True, order_by="TranscriptSegment.start")


class Shot(Base):
    __tablename__ = "shots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)

    video: Mapped[Video] = relationship(back_populates="shots")


class Keyframe(Base):
    __tablename__ = "keyframes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    shot_index: Mapped[int] = mapped_column(Integer)
    time: Mapped[float] = mapped_column(Float)
    # relative to the data dir's thumbnails folder
    thumbnail: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)

    video: Mapped[Video] = relationship(back_populates="keyframes")


class TranscriptSegment(Base):
    __tablename__ = "transcript_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    # what the full-text index reads (catalog/words.py: CJK cut into words, one script); rows are
    # written once, so the insert is the one place it is made
    search_text: Mapped[str | None] = mapped_column(Text, default=_index_form_of_text)
    language: Mapped[str | None] = mapped_column(String(16))
    # "speech" (heard by the speech model) or "subtitles" (read from a subtitle track)
    source: Mapped[str] = mapped_column(String(16), default=SegmentSource.SPEECH, server_default=SegmentSource.SPEECH)
    # the subtitle track's key (indexer/subtitles.py), None for speech
    track: Mapped[str | None] = mapped_column(String(255))
    # [[word, start, end, probability], ...]
    words: Mapped[list] = mapped_column(JSON, default=list)
    avg_logprob: Mapped[float | None] = mapped_column(Float)
    no_speech_prob: Mapped[float | None] = mapped_column(Float)

    video: Mapped[Video] = relationship(back_populates="segments")


class Embedding(Base):
    """One vector of one catalog row (a transcript segment or a keyframe), as float32 bytes."""

    __tablename__ = "embeddings"
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id", "model", name="uq_embeddings_owner_model"),
        Index("ix_embeddings_kind_model", "owner_kind", "model"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # "segment" | "keyframe"
    owner_id: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(128))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)

    def as_array(self) -> np.ndarray:
        return np.frombuffer(self.vector, dtype=np.float32)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="index")
    path: Mapped[str] = mapped_column(Text)
    video_id: Mapped[int | None] = mapped_column(ForeignKey("videos.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CatalogChange(Base):
    """One row per change to a video's searchable rows; the highest id is the catalog's version.

    Search processes compare it with the version their vector index was synced to, and re-sync
    just the videos named since, so a change shows in every process without a restart.
    """

    __tablename__ = "catalog_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def record_change(session: Session, video_id: int) -> None:
    session.add(CatalogChange(video_id=video_id))


class TagKind:
    EMOTION = "emotion"
    SCENE = "scene"
    OBJECT = "object"
    SAFETY = "safety"
    ALL = (EMOTION, SCENE, OBJECT, SAFETY)


class Tag(Base):
    """One label with a confidence on a transcript segment, a shot or a whole video.

    `sources` says which signals produced it and what each said: {"text": 0.81, "face": 0.64}.
    """

    __tablename__ = "tags"
    __table_args__ = (
        Index("ix_tags_kind_label", "kind", "label", "confidence"),
        Index("ix_tags_owner", "owner_kind", "owner_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # "segment" | "shot" | "video"
    owner_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # TagKind
    label: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    # the owner's time span (None for the video), so time filters need no join
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    sources: Mapped[dict] = mapped_column(JSON, default=dict)
    model_version: Mapped[str] = mapped_column(String(128))


class ScreenText(Base):
    """Text read off a keyframe (OCR), searchable like the transcript."""

    __tablename__ = "screen_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    keyframe_id: Mapped[int] = mapped_column(ForeignKey("keyframes.id", ondelete="CASCADE"), index=True)
    time: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str | None] = mapped_column(Text, default=_index_form_of_text)  # as TranscriptSegment's
    confidence: Mapped[float] = mapped_column(Float)


class Person(Base):
    """Someone seen (a face) or heard (a voice) in the library, named or not.

    The faces and the voice a person is recognised by are kept on the row itself (float32 rows), not
    only on their appearances, so a re-index of the one video a named person is in finds them again.
    """

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # hidden: still recognised (so the faces do not come back as someone new), not listed or searchable
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    face_exemplars: Mapped[bytes | None] = mapped_column(LargeBinary)  # (n, 128)
    face_model: Mapped[str | None] = mapped_column(String(128))
    voice: Mapped[bytes | None] = mapped_column(LargeBinary)  # (256,), the mean of their voices
    voice_model: Mapped[str | None] = mapped_column(String(128))


class Face(Base):
    """One face in one keyframe, and the person it is."""

    __tablename__ = "faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    keyframe_id: Mapped[int | None] = mapped_column(ForeignKey("keyframes.id", ondelete="CASCADE"))
    time: Mapped[float] = mapped_column(Float)
    # the span the face stands for (its keyframe's shot), so spans need no join
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    box: Mapped[list] = mapped_column(JSON)  # [left, top, right, bottom] in the keyframe's pixels
    descriptor: Mapped[bytes] = mapped_column(LargeBinary)
    thumbnail: Mapped[str] = mapped_column(Text)  # the face's crop, relative to the thumbnails folder
    model_version: Mapped[str] = mapped_column(String(128))


class SpeakerTurn(Base):
    """A stretch of one voice speaking; `speaker` numbers the video's voices, `person_id` says whose."""

    __tablename__ = "speaker_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    speaker: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)


class Voice(Base):
    """One voice of one video: what its turns sound like, for matching it across videos."""

    __tablename__ = "voices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    speaker: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    model_version: Mapped[str] = mapped_column(String(128))


class User(Base):
    """A viewer. `username` is how they sign in; a user from before accounts has none (and no password)
    until an admin claims it. `session_epoch` changes when the password does or every session of
    the user is signed out: a signed cookie from an older epoch no longer counts."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    username: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # random at first: SQLite hands a deleted last row's id to the next user, and a cookie of the
    # deleted user must not open the new one's account
    session_epoch: Mapped[int] = mapped_column(Integer, default=lambda: secrets.randbelow(2**31))


class ApiKey(Base):
    """A personal key for scripts (Authorization: Bearer). Only its SHA-256 is kept: the key itself is
    shown once, when made. Revoking a key deletes its row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # the key's first characters, so its owner can tell keys apart
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class EventType:
    VIEW = "view"
    PROGRESS = "progress"
    COMPLETE = "complete"
    LIKE = "like"
    DISLIKE = "dislike"
    SKIP = "skip"
    SEARCH = "search"
    ALL = (VIEW, PROGRESS, COMPLETE, LIKE, DISLIKE, SKIP, SEARCH)


class Event(Base):
    """One thing a user did. (user_id, client_event_id) is unique, so a retried POST is stored once."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("user_id", "client_event_id", name="uq_events_user_client_id"),
        Index("ix_events_user_at", "user_id", "at"),
        Index("ix_events_video_id", "video_id"),
        Index("ix_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[int | None] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))  # EventType
    position: Mapped[float | None] = mapped_column(Float)
    watch_seconds: Mapped[float | None] = mapped_column(Float)
    query: Mapped[str | None] = mapped_column(Text)
    client_event_id: Mapped[str | None] = mapped_column(String(64))
    # when it happened (the client's clock when given), and when the server stored it
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def vector_bytes(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()
