"""What users did (events, history) and their "For you" feed (JSON API); accounts are accounts_api's."""
from __future__ import annotations

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from catalog import EventType
from search.recommend import UnknownUser
from search.recommend import events as user_events
from search.recommend.blend import MODES

from . import auth
from .api import API_PREFIX, MAX_ID, needs_caller, first_keyframes, media_url, thumbnail_url
from .extensions import current_catalog, current_recommender

bp = Blueprint("recommend", __name__, url_prefix=API_PREFIX,
               description="Users, what they watch, and what they might watch next")


class PageArgs(ma.Schema):
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 10**7))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 1000))


_SECONDS = ma.validate.Range(0, user_events.MAX_SECONDS)


class EventIn(ma.Schema):
    user_id = ma.fields.Integer(load_default=None, strict=True, validate=ma.validate.Range(1, MAX_ID),
                                metadata={"description": "whose event: yours when left out"})
    video_id = ma.fields.Integer(allow_none=True, strict=True, validate=ma.validate.Range(1, MAX_ID),
                                 metadata={"description": "required for every type but search"})
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(EventType.ALL))
    position = ma.fields.Float(allow_none=True, allow_nan=False, validate=_SECONDS,
                               metadata={"description": "seconds into the video"})
    watch_seconds = ma.fields.Float(allow_none=True, allow_nan=False, validate=_SECONDS,
                                    metadata={"description": "seconds watched since the last progress event"})
    query = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=user_events.MAX_QUERY),
                             metadata={"description": "what was searched (type search)"})
    client_event_id = ma.fields.String(allow_none=True,
                                       validate=ma.validate.Length(min=1, max=user_events.MAX_CLIENT_ID),
                                       metadata={"description": "the client's own id: a retry with the same "
                                                                "id is stored once"})
    at = ma.fields.AwareDateTime(allow_none=True, default_timezone=None,
                                 metadata={"description": "when it happened (default: when received)"})


class EventBatchIn(ma.Schema):
    events = ma.fields.List(ma.fields.Nested(EventIn), required=True,
                            validate=ma.validate.Length(min=1, max=user_events.MAX_BATCH))


def _event_shapes() -> dict:
    """The event body as OpenAPI: one shape per kind, so a request that fits the document is valid.

    (EventIn alone cannot say that only search events may leave video_id out, or that progress
    needs a position; documented that way, schema-valid requests would be refused.)
    """
    seconds = {"type": "number", "minimum": 0, "maximum": user_events.MAX_SECONDS}
    common = {
        "user_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "whose event: yours when left out"},
        "position": {**seconds, "nullable": True, "description": "seconds into the video"},
        "watch_seconds": {**seconds, "nullable": True, "description": "seconds watched since the last progress event"},
        "client_event_id": {"type": "string", "minLength": 1, "maxLength": user_events.MAX_CLIENT_ID,
                            "nullable": True,
                            "description": "the client's own id: a retry with the same id is stored once"},
        "at": {"type": "string", "format": "date-time", "nullable": True,
               "description": "when it happened (default, and when the client clock is off: when received)"},
    }
    video = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    plays = [t for t in user_events.VIDEO_EVENTS if t != EventType.PROGRESS]
    return {"oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["type", "video_id"],
         "properties": {**common, "type": {"type": "string", "enum": plays}, "video_id": video}},
        {"type": "object", "additionalProperties": False, "required": ["type", "video_id", "position"],
         "properties": {**common, "type": {"type": "string", "enum": [EventType.PROGRESS]}, "video_id": video,
                        "position": {**seconds, "description": "seconds into the video"}}},
        {"type": "object", "additionalProperties": False, "required": ["type", "query"],
         "properties": {**common, "type": {"type": "string", "enum": [EventType.SEARCH]},
                        "video_id": {**video, "nullable": True},
                        "query": {"type": "string", "minLength": 1, "maxLength": user_events.MAX_QUERY,
                                  "pattern": r"[\s\S]*\S"}}},
    ]}


def _load_body(schema: ma.Schema) -> dict:
    body = request.get_json(silent=True)
    if body is None:
        abort(400, message="the body must be JSON (Content-Type: application/json)")
    try:
        return schema.load(body)
    except ma.ValidationError as exc:
        abort(422, errors={"json": exc.messages})


class StoredEvent(ma.Schema):
    id = ma.fields.Integer(required=True)
    client_event_id = ma.fields.String(allow_none=True)
    duplicate = ma.fields.Boolean(required=True, metadata={"description": "already stored before: not counted again"})


class StoredBatch(ma.Schema):
    stored = ma.fields.Integer(required=True)
    duplicates = ma.fields.Integer(required=True)
    events = ma.fields.List(ma.fields.Nested(StoredEvent), required=True)


class EventOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    video_id = ma.fields.Integer(allow_none=True)
    type = ma.fields.String(required=True)
    position = ma.fields.Float(allow_none=True)
    watch_seconds = ma.fields.Float(allow_none=True)
    query = ma.fields.String(allow_none=True)
    client_event_id = ma.fields.String(allow_none=True)
    at = ma.fields.DateTime(required=True)


class History(ma.Schema):
    user_id = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    offset = ma.fields.Integer(required=True)
    events = ma.fields.List(ma.fields.Nested(EventOut), required=True)


class HistoryDeleted(ma.Schema):
    user_id = ma.fields.Integer(required=True)
    deleted = ma.fields.Integer(required=True)


class RecommendationArgs(ma.Schema):
    k = ma.fields.Integer(load_default=10, validate=ma.validate.Range(1, 100))
    mode = ma.fields.String(load_default="blend", validate=ma.validate.OneOf(MODES),
                            metadata={"description": "blend (the feed), or one signal alone to compare"})


class Recommendation(ma.Schema):
    video_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    score = ma.fields.Float(required=True)
    reasons = ma.fields.List(ma.fields.String(), required=True)
    start = ma.fields.Float(required=True, metadata={"description": "where to start: where the user left off"})
    thumbnail_url = ma.fields.String(allow_none=True)
    media_url = ma.fields.String(required=True)


class Recommendations(ma.Schema):
    user_id = ma.fields.Integer(required=True)
    k = ma.fields.Integer(required=True)
    mode = ma.fields.String(required=True)
    weights = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(), required=True,
                             metadata={"description": "how much each signal counted for this user"})
    model_version = ma.fields.Integer(allow_none=True, metadata={"description": "collaborative model in use"})
    history_items = ma.fields.Integer(required=True)
    items = ma.fields.List(ma.fields.Nested(Recommendation), required=True)


def _needs_caller(view):
    return needs_caller(bp, view)


def _acting_for_existing(user_id: int) -> None:
    with current_catalog().session() as s:
        auth.user_acted_for(s, user_id)


def _for_caller(events: list[dict]) -> list[dict]:
    """Each event is the caller's own (user_id may be left out) unless an admin records for someone."""
    caller = auth.signed_in()
    for n, event in enumerate(events):
        if event.get("user_id") is None:
            if caller.id is None:
                abort(422, message=f"event {n}: user_id: the admin token is no one; say whose event this is")
            event["user_id"] = caller.id
        elif event["user_id"] != caller.id and not caller.is_admin:
            abort(403, message=f"event {n}: that is another user's id: you may record only your own events")
    return events


def _store(events: list[dict]) -> list[user_events.Stored]:
    with current_catalog().session() as s:
        try:
            return user_events.record(s, [user_events.NewEvent(**e) for e in events])
        except user_events.UnknownId as exc:
            abort(404, message=str(exc))
        except user_events.EventError as exc:
            abort(422, message=str(exc))


_EVENT_DOC = {"content": {"application/json": {"schema": _event_shapes()}}, "required": True}
_ERRORS = {"description": "no such user or video (404), another user's event (403), or the event is invalid (422)",
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


@bp.route("/events")
class Events(MethodView):
    @bp.doc(requestBody=_EVENT_DOC, responses={"404": _ERRORS, "422": _ERRORS, "400": _ERRORS})
    @bp.response(201, StoredEvent, description="stored")
    @bp.alt_response(200, schema=StoredEvent, description="already stored (same client_event_id): not counted again")
    @_needs_caller
    def post(self):
        """Record one thing a user did: view, progress, complete, like, dislike, skip or search."""
        stored = _store(_for_caller([_load_body(EventIn())]))[0]
        return {"id": stored.id, "client_event_id": stored.client_event_id,
                "duplicate": stored.duplicate}, (200 if stored.duplicate else 201)


@bp.route("/events/batch")
class EventBatch(MethodView):
    @bp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False, "required": ["events"],
        "properties": {"events": {"type": "array", "minItems": 1, "maxItems": user_events.MAX_BATCH,
                                  "items": _event_shapes()}}}}}},
            responses={"404": _ERRORS, "422": _ERRORS, "400": _ERRORS})
    @bp.response(200, StoredBatch)
    @_needs_caller
    def post(self):
        """Record up to 500 events at once, all or none (a bad one rejects the batch and says which)."""
        stored = _store(_for_caller(_load_body(EventBatchIn())["events"]))
        return {"stored": sum(not e.duplicate for e in stored), "duplicates": sum(e.duplicate for e in stored),
                "events": [{"id": e.id, "client_event_id": e.client_event_id, "duplicate": e.duplicate}
                           for e in stored]}


@bp.route("/users/<id:user_id>/history")
class UserHistory(MethodView):
    @bp.arguments(PageArgs, location="query", as_kwargs=True)
    @bp.response(200, History)
    @bp.alt_response(404, schema=None, description="no such user")
    @_needs_caller
    def get(self, user_id, offset, limit):
        """What the user did, newest first."""
        _acting_for_existing(user_id)
        with current_catalog().session() as s:
            total, rows = user_events.history(s, user_id, limit, offset)
            return {"user_id": user_id, "total": total, "offset": offset,
                    "events": [{"id": e.id, "video_id": e.video_id, "type": e.type, "position": e.position,
                                "watch_seconds": e.watch_seconds, "query": e.query,
                                "client_event_id": e.client_event_id, "at": e.at} for e in rows]}

    @bp.response(200, HistoryDeleted)
    @bp.alt_response(404, schema=None, description="no such user")
    @_needs_caller
    def delete(self, user_id):
        """Forget everything the user did; their next feed no longer knows any of it."""
        _acting_for_existing(user_id)
        with current_catalog().session() as s:
            return {"user_id": user_id, "deleted": user_events.delete_history(s, user_id)}


@bp.route("/users/<id:user_id>/recommendations")
class UserRecommendations(MethodView):
    @bp.arguments(RecommendationArgs, location="query", as_kwargs=True)
    @bp.response(200, Recommendations)
    @bp.alt_response(404, schema=None, description="no such user")
    @_needs_caller
    def get(self, user_id, k, mode):
        """The user's "For you" feed: videos to watch next, each with the reasons it is there."""
        _acting_for_existing(user_id)
        try:
            feed = current_recommender().recommend(user_id, k, mode=mode)
        except UnknownUser as exc:
            abort(404, message=str(exc))
        ids = [i.video_id for i in feed.items]
        with current_catalog().session() as s:
            firsts = first_keyframes(s, ids)
        return {"user_id": user_id, "k": k, "mode": mode, "weights": feed.weights,
                "model_version": feed.model_version, "history_items": feed.history_items,
                "items": [{"video_id": i.video_id, "title": i.title, "score": i.score, "reasons": i.reasons,
                           "start": i.start, "thumbnail_url": thumbnail_url(firsts.get(i.video_id)),
                           "media_url": media_url(i.video_id)} for i in feed.items]}
