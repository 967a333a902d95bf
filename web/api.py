"""The JSON API's shared pieces: the flask-smorest Api (OpenAPI at /api/v1/openapi.json) and errors.

Every error is `{"error": ..., "message": ...}` with a 4xx status (or 500 for a bug, never for input).
"""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Api as SmorestApi
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException, InternalServerError, Unauthorized
from werkzeug.routing import IntegerConverter

from catalog import Keyframe

API_PREFIX = "/api/v1"
MAX_ID = 2**31 - 1
# what a route that needs someone says it takes (a browser's session cookie works too, with X-CSRF-Token)
BEARER = [{"bearer": []}]


def thumbnail_url(keyframe_id: int | None) -> str | None:
    return f"{API_PREFIX}/keyframes/{keyframe_id}/thumbnail.jpg" if keyframe_id else None


def media_url(video_id: int) -> str:
    return f"{API_PREFIX}/videos/{video_id}/media"


def first_keyframes(session, video_ids: list[int]) -> dict[int, int]:
    """{video id: its first keyframe's id}, whose thumbnail stands for the video in lists."""
    if not video_ids:
        return {}
    return dict(session.execute(select(Keyframe.video_id, func.min(Keyframe.id))
                                .where(Keyframe.video_id.in_(video_ids)).group_by(Keyframe.video_id)).all())


def needs_caller(bp, view, forbidden: str = "another user's data, or not an admin"):
    """Documents that a route needs someone: the bearer scheme, 401 without credentials, 403 when they
    may not; the route itself asks `auth`."""
    view = bp.alt_response(401, schema=None, description="no credentials sent, or a key that is not valid")(view)
    view = bp.alt_response(403, schema=None, description=forbidden)(view)
    return bp.doc(security=BEARER)(view)


class Words(ma.fields.String):
    """Words a person typed: white space around them dropped, and all white space taken as nothing typed
    (a view treats it as the parameter left out). Python's idea of white space is wider than the
    JSON Schema pattern a client checks against, so blankness is never a validation error here."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class IdConverter(IntegerConverter):
    """`<id:name>`: a catalog id, 1..2^31-1; anything else is a 404 before any query runs."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)


class ErrorSchema(ma.Schema):
    error = ma.fields.String(required=True, metadata={"description": "machine-readable error name"})
    message = ma.fields.String(required=True, metadata={"description": "what went wrong, for people"})
    errors = ma.fields.Dict(metadata={"description": "per-field validation errors"})


class Api(SmorestApi):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        if isinstance(error, InternalServerError):
            current_app.logger.error("unhandled error", exc_info=getattr(error, "original_exception", None))
        payload = {"error": error.name.lower().replace(" ", "_"), "message": error.description or error.name}
        headers = {}
        data = getattr(error, "data", None)
        if data:
            if "message" in data:
                payload["message"] = data["message"]
            errors = data.get("errors") or data.get("messages")
            if errors:
                payload["errors"] = errors
                payload["message"] = _describe(errors)
            headers = data.get("headers") or {}
        if isinstance(error, Unauthorized):
            headers = {"WWW-Authenticate": 'Bearer realm="reelscope"', **headers}
        return payload, error.code, headers


def _describe(errors: dict) -> str:
    """webargs nests errors by location ({"query": {"k": ["Must be ..."]}}): flatten for people."""
    parts = []
    for location, fields in errors.items():
        if isinstance(fields, dict):
            for name, messages in fields.items():
                text = " ".join(messages) if isinstance(messages, list) else str(messages)
                parts.append(f"{name}: {text}")
        else:
            parts.append(f"{location}: {fields}")
    return "; ".join(parts) or "invalid request"


def make_api(app) -> Api:
    app.config.update(
        API_TITLE="Reelscope",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.url_map.converters["id"] = IdConverter
    api = Api(app, spec_kwargs={"info": {"description": "Find the moment you mean in your own videos."}})
    api.register_converter(IdConverter, lambda _: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
    api.spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "a user's personal API key (made on their account page or with `reelscope users key`), "
                       "or the site's REELSCOPE_ADMIN_TOKEN"})
    return api
