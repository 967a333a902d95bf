"""Users and what they do: validating events, storing them once, reading and deleting history.

A client may name each event (`client_event_id`); (user, client id) is unique in the catalog, so
a retried POST, or the same event twice in one batch, is stored once and reported as a duplicate.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog import Event, EventType, User, Video, utcnow

MAX_BATCH = 500
MAX_NAME = 128
MAX_QUERY = 500
MAX_CLIENT_ID = 64
# A client clock a little ahead is normal; far ahead is a bug that would pin the event as "newest" forever.
MAX_CLOCK_SKEW = dt.timedelta(minutes=10)
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MAX_SECONDS = 7 * 24 * 3600.0
VIDEO_EVENTS = tuple(t for t in EventType.ALL if t != EventType.SEARCH)


class EventError(ValueError):
    """An event the catalog cannot take; `index` is its place in the batch (None for a single event)."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message if index is None else f"event {index}: {message}")
        self.index = index


class UnknownId(EventError):
    """The event names a user or video the catalog does not have."""


@dataclass
class NewEvent:
    user_id: int
    type: str
    video_id: int | None = None
    position: float | None = None
    watch_seconds: float | None = None
    query: str | None = None
    client_event_id: str | None = None
    at: dt.datetime | None = None


@dataclass
class Stored:
    id: int
    client_event_id: str | None
    duplicate: bool


def validate(event: NewEvent, now: dt.datetime | None = None) -> NewEvent:
    """Check what can be checked without the catalog; raises EventError saying what is wrong."""
    if event.type not in EventType.ALL:
        raise EventError(f"type must be one of {', '.join(EventType.ALL)}, not {event.type!r}")
    if event.type == EventType.SEARCH:
        if not event.query or not event.query.strip():
            raise EventError("a search event needs the query")
        if len(event.query) > MAX_QUERY:
            raise EventError(f"the query is longer than {MAX_QUERY} characters")
    elif event.video_id is None:
        raise EventError(f"a {event.type} event needs video_id")
    if event.type == EventType.PROGRESS and event.position is None:
        raise EventError("a progress event needs position")
    for name in ("position", "watch_seconds"):
        value = getattr(event, name)
        if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
            raise EventError(f"{name} must be a number of seconds between 0 and {MAX_SECONDS:.0f}")
    if event.client_event_id is not None and not 1 <= len(event.client_event_id) <= MAX_CLIENT_ID:
        raise EventError(f"client_event_id must be 1 to {MAX_CLIENT_ID} characters")
    if event.at is not None:
        if event.at.tzinfo is None:
            raise EventError("at must carry a time zone (e.g. 2026-01-31T12:00:00Z)")
        # A client clock far ahead would pin the event as "newest" forever, one before 1970 is no
        # clock at all: either way the time it reached us is the better guess.
        now = now or utcnow()
        try:
            sane = EARLIEST <= event.at <= now + MAX_CLOCK_SKEW
        except OverflowError:  # e.g. year 1 with a positive offset
            sane = False
        if not sane:
            event.at = now
    return event


def record(session: Session, events: list[NewEvent], now: dt.datetime | None = None) -> list[Stored]:
    """Store a batch all or nothing: every event is checked (ids included) before any is written.

    Commits. Events whose (user, client id) is already stored, or repeated earlier in the batch,
    are not stored again; they come back with the stored row's id and `duplicate=True`.
    """
    if not events:
        raise EventError("no events given")
    if len(events) > MAX_BATCH:
        raise EventError(f"at most {MAX_BATCH} events per request")
    now = now or utcnow()
    for i, event in enumerate(events):
        try:
            validate(event, now)
        except EventError as exc:
            raise EventError(str(exc), i if len(events) > 1 else None) from None
    _check_ids_exist(session, events)
    for attempt in range(2):
        try:
            return _insert_new(session, events, now)
        except IntegrityError:
            # another request stored one of these client ids between our look-up and insert: look again
            session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def _check_ids_exist(session: Session, events: list[NewEvent]) -> None:
    user_ids = {e.user_id for e in events}
    video_ids = {e.video_id for e in events if e.video_id is not None}
    known_users = set(session.scalars(select(User.id).where(User.id.in_(user_ids))))
    known_videos = set(session.scalars(select(Video.id).where(Video.id.in_(video_ids)))) if video_ids else set()
    for i, e in enumerate(events):
        index = i if len(events) > 1 else None
        if e.user_id not in known_users:
            raise UnknownId(f"no user with id {e.user_id}", index)
        if e.video_id is not None and e.video_id not in known_videos:
            raise UnknownId(f"no video with id {e.video_id}", index)


def _insert_new(session: Session, events: list[NewEvent], now: dt.datetime) -> list[Stored]:
    keys = {(e.user_id, e.client_event_id) for e in events if e.client_event_id is not None}
    existing: dict[tuple[int, str], int] = {}
    if keys:
        rows = session.execute(select(Event.user_id, Event.client_event_id, Event.id)
                               .where(tuple_(Event.user_id, Event.client_event_id).in_(sorted(keys))))
        existing = {(u, c): i for u, c, i in rows}
    out: list[tuple[Event | None, NewEvent, int | None]] = []
    for e in events:
        key = (e.user_id, e.client_event_id)
        if e.client_event_id is not None and key in existing:
            out.append((None, e, existing[key]))
            continue
        row = Event(user_id=e.user_id, video_id=e.video_id, type=e.type, position=e.position,
                    watch_seconds=e.watch_seconds, query=e.query.strip() if e.query else None,
                    client_event_id=e.client_event_id, at=e.at or now, received_at=now)
        session.add(row)
        out.append((row, e, None))
        if e.client_event_id is not None:
            existing[key] = -1  # later copies in this batch point at this row once it has an id
    session.flush()
    ids = {(e.user_id, e.client_event_id): row.id for row, e, _ in out if row is not None and e.client_event_id}
    session.commit()
    stored = []
    for row, e, known in out:
        if row is not None:
            stored.append(Stored(row.id, e.client_event_id, False))
        else:
            stored.append(Stored(known if known != -1 else ids[(e.user_id, e.client_event_id)],
                                 e.client_event_id, True))
    return stored


def create_user(session: Session, name: str) -> User:
    name = (name or "").strip()
    if not name:
        raise EventError("name must not be blank")
    if len(name) > MAX_NAME:
        raise EventError(f"name must be at most {MAX_NAME} characters")
    user = User(name=name)
    session.add(user)
    session.commit()
    return user


def history(session: Session, user_id: int, limit: int = 100, offset: int = 0) -> tuple[int, list[Event]]:
    total = session.scalar(select(func.count()).select_from(Event).where(Event.user_id == user_id))
    rows = session.scalars(select(Event).where(Event.user_id == user_id)
                           .order_by(Event.at.desc(), Event.id.desc()).offset(offset).limit(limit)).all()
    return total, list(rows)


def delete_history(session: Session, user_id: int) -> int:
    """Forget everything the user did; the recommender reads events afresh on every request."""
    deleted = session.execute(delete(Event).where(Event.user_id == user_id)).rowcount
    session.commit()
    return int(deleted or 0)
