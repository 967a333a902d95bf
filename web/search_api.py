"""GET /api/v1/search and query-by-example."""
from __future__ import annotations

import functools
import io

import marshmallow as ma
import numpy as np
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from PIL import Image, UnidentifiedImageError

from catalog import Keyframe, Video, VideoStatus
from search.channels import VISUAL
from search.tags import EMOTIONS
from search.request import MODES, QueryError, SearchRequest, SearchResult

from . import auth
from .api import API_PREFIX, MAX_ID, Words, thumbnail_url
from .extensions import current_engine

bp = Blueprint("search", __name__, url_prefix=API_PREFIX, description="Search moments by meaning")

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
NOTHING_ASKED = "type what to find in q, or browse by emotion=, tag= or person="


class SearchArgs(ma.Schema):
    # at least one character that is not white space (the engine strips the rest)
    q = Words(validate=ma.validate.Length(max=500),
                         metadata={"description": 'what to find; keyword syntax: "a phrase", prefix*. '
                                                  "May be left out to browse by emotion=, tag= or person= alone."})
    k = ma.fields.Integer(load_default=10, validate=ma.validate.Range(1, 100))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 1000))
    mode = ma.fields.String(load_default="hybrid", validate=ma.validate.OneOf(MODES))
    video = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(1, MAX_ID)),
                           validate=ma.validate.Length(max=200),
                           metadata={"description": "only these video ids (repeat the parameter)"})
    min_duration = ma.fields.Float(validate=ma.validate.Range(0, 1e7), allow_nan=False)
    max_duration = ma.fields.Float(validate=ma.validate.Range(0, 1e7), allow_nan=False)
    added_after = ma.fields.AwareDateTime(default_timezone=None)
    added_before = ma.fields.AwareDateTime(default_timezone=None)
    emotion = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(EMOTIONS)),
                             validate=ma.validate.Length(max=len(EMOTIONS)),
                             metadata={"description": "only moments with one of these emotions (repeat the parameter)"})
    tag = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=64)),
                         validate=ma.validate.Length(max=20),
                         metadata={"description": "only moments with one of these content tags, e.g. kitchen "
                                                  "(GET /api/v1/tags lists them)"})
    person = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(1, MAX_ID)),
                            validate=ma.validate.Length(max=20),
                            metadata={"description": "only moments where one of these people is seen or heard "
                                                     "(GET /api/v1/people lists them; repeat the parameter)"})
    then = Words(validate=ma.validate.Length(max=500),
                            metadata={"description": "\"this, then that\": moments where this follows q in the same "
                                                     "video, within `within` seconds; each moment's `then` says where"})
    within = ma.fields.Float(validate=ma.validate.Range(min=0, max=3600, min_inclusive=False), allow_nan=False,
                             metadata={"description": "seconds from the end of q's moment to the start of then's "
                                                      "(default 120)"})
    time_from = ma.fields.Float(data_key="from", validate=ma.validate.Range(0, 1e7), allow_nan=False,
                                metadata={"description": "only moments after this second of their video"})
    time_to = ma.fields.Float(data_key="to", validate=ma.validate.Range(0, 1e7), allow_nan=False,
                              metadata={"description": "only moments before this second of their video"})
    lang = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=32)),
                          validate=ma.validate.Length(max=10),
                          metadata={"description": "only videos spoken or subtitled in one of these languages "
                                                   "(ISO 639-1 codes such as en, zh; repeat the parameter)"})


class ChapterRef(ma.Schema):
    title = ma.fields.String(required=True)
    start = ma.fields.Float(required=True)
    end = ma.fields.Float(required=True)


class ThenSchema(ma.Schema):
    start = ma.fields.Float(required=True)
    end = ma.fields.Float(required=True)
    snippet = ma.fields.String(required=True)
    highlights = ma.fields.List(ma.fields.List(ma.fields.Integer()), required=True)


class MomentSchema(ma.Schema):
    video_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    start = ma.fields.Float(required=True)
    end = ma.fields.Float(required=True)
    score = ma.fields.Float(required=True)
    channels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(), required=True)
    snippet = ma.fields.String(required=True)
    highlights = ma.fields.List(ma.fields.List(ma.fields.Integer()), required=True,
                                metadata={"description": "[start, end) character ranges of matched words"})
    keyframe_id = ma.fields.Integer(allow_none=True)
    thumbnail_url = ma.fields.String(allow_none=True)
    language = ma.fields.String(allow_none=True, metadata={"description": "ISO 639-1 code of what the snippet says"})
    then = ma.fields.Nested(ThenSchema, metadata={"description": "with then=: the moment that follows"})
    chapter = ma.fields.Nested(ChapterRef, allow_none=True, metadata={"description": "the chapter the moment starts in"})
    related = ma.fields.Boolean(required=True, metadata={
        "description": "a match (false: only among the nearest, shown under 'less related')"})
    confidence = ma.fields.Float(allow_none=True, metadata={
        "description": "calibrated chance that the moment answers the query; null where it cannot be judged"})


class SearchResponse(ma.Schema):
    query = ma.fields.String(required=True)
    mode = ma.fields.String(required=True)
    total = ma.fields.Integer(required=True)
    offset = ma.fields.Integer(required=True)
    k = ma.fields.Integer(required=True)
    channels_used = ma.fields.List(ma.fields.String(), required=True)
    notices = ma.fields.List(ma.fields.String(), required=True)
    no_good_match = ma.fields.Boolean(required=True, metadata={
        "description": "nothing clears the bar of a match; the moments are only the nearest"})
    moments = ma.fields.List(ma.fields.Nested(MomentSchema), required=True)


class SimilarArgs(ma.Schema):
    keyframe = ma.fields.Integer(required=True, validate=ma.validate.Range(1, MAX_ID))
    k = ma.fields.Integer(load_default=10, validate=ma.validate.Range(1, 100))
    q = Words(validate=ma.validate.Length(max=500),
                         metadata={"description": "words to look for together with the picture"})


class ImageUpload(ma.Schema):
    image = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class UploadArgs(ma.Schema):
    k = ma.fields.Integer(load_default=10, validate=ma.validate.Range(1, 100))
    q = Words(validate=ma.validate.Length(max=500),
                         metadata={"description": "words to look for together with the picture"})


class MoreLikeArgs(ma.Schema):
    video = ma.fields.Integer(required=True, validate=ma.validate.Range(1, MAX_ID))
    at = ma.fields.Float(required=True, validate=ma.validate.Range(0, 1e7), allow_nan=False,
                         metadata={"description": "seconds into the video: the moment to find more like"})
    k = ma.fields.Integer(load_default=10, validate=ma.validate.Range(1, 100))


def _result(query: str, mode: str, k: int, offset: int, result) -> dict:
    return {"query": query, "mode": mode, "total": result.total, "offset": offset, "k": k,
            "channels_used": result.channels_used, "notices": result.notices,
            "no_good_match": result.no_good_match, "moments": [{**m.as_dict(), "thumbnail_url": thumbnail_url(m.keyframe_id)} for m in result.moments]}


@bp.route("/search")
class Search(MethodView):
    @bp.arguments(SearchArgs, location="query", as_kwargs=True)
    @bp.response(200, SearchResponse)
    def get(self, k, offset, mode, q="", video=None, emotion=None, tag=None, lang=None, person=None, **filters):
        """Moments that match the query, best first (hybrid: transcript meaning + keywords + pictures +
        on-screen text). Without q, the moments tagged with the emotion/tag filters, surest first."""
        if "then" in filters:
            filters["then"] = filters["then"] or None  # white space only: not asked
        request = SearchRequest(text=q, k=k, offset=offset, mode=mode, video_ids=video, emotions=emotion, tags=tag,
                                people=person, languages=lang, **filters)
        if not q and not request.browsing:  # an empty search box: nothing asked, nothing wrong (a then= alone too)
            return _result(q, mode, k, offset, SearchResult([], 0, [], [NOTHING_ASKED]))
        try:
            result = current_engine().search(request)
        except QueryError as exc:
            abort(400, message=str(exc))
        return _result(q, mode, k, offset, result)


def _needs_visual(view):
    """Answers 409 (and documents it) while visual search is off, after the arguments are read."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        availability = current_engine().visual_availability()
        if not availability.enabled:
            abort(409, message=availability.reason)
        return view(*args, **kwargs)

    return bp.alt_response(409, schema=None, description="visual search is off (no CLIP weights)")(checked)


@bp.route("/search/similar")
class SimilarToKeyframe(MethodView):
    @bp.arguments(SimilarArgs, location="query", as_kwargs=True)
    @bp.response(200, SearchResponse)
    @bp.alt_response(404, schema=None, description="no such keyframe")
    @_needs_visual
    def get(self, keyframe, k, q=None):
        """Moments that look like a keyframe (visual channel); with q, that also match the words (hybrid)."""
        eng = current_engine()
        with eng.catalog.session() as s:
            if s.get(Keyframe, keyframe) is None:
                abort(404, message=f"no keyframe with id {keyframe}")
        picture = eng.stored_vector(VISUAL, keyframe)
        if picture is None:
            abort(409, message="this keyframe has no vector from the current visual model; run `index reindex`")
        if q:
            return _picture_and_words(eng, picture, q, k)
        result = eng.search_by_vector(picture, k, exclude_keyframe=keyframe)
        return _result(f"keyframe:{keyframe}", "visual", k, 0, result)

    @bp.arguments(ImageUpload, location="files")
    @bp.arguments(UploadArgs, location="query", as_kwargs=True)
    @bp.response(200, SearchResponse)
    @_needs_visual
    @bp.alt_response(413, schema=None, description="image larger than 8 MB")
    def post(self, files, k, q=None):
        """Moments that look like an uploaded image (multipart field `image`, at most 8 MB); with q,
        that also match the words (hybrid: the picture and the words together)."""
        eng = current_engine()
        try:
            vector = picture_vector(eng, files["image"])
        except PictureError as exc:
            abort(exc.status, message=str(exc))
        if q:
            return _picture_and_words(eng, vector, q, k)
        return _result("image", "visual", k, 0, eng.search_by_vector(vector, k))


class PictureError(ValueError):
    """An upload that is not a picture to search with; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def picture_vector(eng, upload) -> np.ndarray:
    """The CLIP vector of an uploaded image (a werkzeug FileStorage), for the API and the pages."""
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PictureError(413, "the image is larger than 8 MB")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise PictureError(400, "the upload is not an image Pillow can read") from None
    return eng.clip_model().encode_images([image.convert("RGB")])[0]


def _picture_and_words(eng, picture, q: str, k: int) -> dict:
    try:
        result = eng.search(SearchRequest(text=q, k=k, picture=picture))
    except QueryError as exc:
        abort(400, message=str(exc))
    return _result(q, "hybrid", k, 0, result)


@bp.route("/search/more-like-this")
class MoreLikeThis(MethodView):
    @bp.arguments(MoreLikeArgs, location="query", as_kwargs=True)
    @bp.response(200, SearchResponse)
    @bp.alt_response(404, schema=None, description="no such video")
    def get(self, video, at, k):
        """Moments like the one at `at` seconds into a video: by what is said there (transcript meaning)
        and, when the visual channel is on, by what is seen; the moment itself is left out."""
        eng = current_engine()
        with eng.catalog.session() as s:
            found = s.get(Video, video)
            if found is None or (found.status == VideoStatus.FAILED and not auth.caller_is_admin()):
                abort(404, message=f"no video with id {video}")
        return _result(f"video:{video}@{at:g}", "hybrid", k, 0, eng.more_like_moment(video, at, k))
