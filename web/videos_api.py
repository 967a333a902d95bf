"""Videos by id: metadata, transcript, subtitles, similar videos, the media file and thumbnails.

Files are only ever found through catalog ids; no path from a request reaches the file system.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path

import marshmallow as ma
from flask import Response, current_app, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select
from werkzeug.security import safe_join

from search.catalog import Keyframe, Video, VideoStatus
from search.tag_index import video_tags

from .api import API_PREFIX, thumbnail_url

bp = Blueprint("videos", __name__, url_prefix=API_PREFIX, description="Videos, transcripts and media by id")


def catalog():
    return current_app.extensions["catalog"]


class VideoSummary(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    error = ma.fields.String(allow_none=True)
    duration = ma.fields.Float(allow_none=True)
    width = ma.fields.Integer(allow_none=True)
    height = ma.fields.Integer(allow_none=True)
    has_audio = ma.fields.Boolean(required=True)
    language = ma.fields.String(allow_none=True)
    added_at = ma.fields.DateTime(allow_none=True)
    indexed_at = ma.fields.DateTime(allow_none=True)
    thumbnail_url = ma.fields.String(allow_none=True)
    media_url = ma.fields.String(required=True)


class VideoList(ma.Schema):
    total = ma.fields.Integer(required=True)
    offset = ma.fields.Integer(required=True)
    videos = ma.fields.List(ma.fields.Nested(VideoSummary), required=True)


class VideoListArgs(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(VideoStatus.ALL))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 10**7))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 500))
    sort = ma.fields.String(load_default="added", validate=ma.validate.OneOf(["added", "title", "duration"]))


class TagSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "emotion | scene | object | safety"})
    label = ma.fields.String(required=True)
    confidence = ma.fields.Float(required=True)
    sources = ma.fields.Dict(required=True, metadata={"description": "what each signal (text, face, voice, clip, "
                                                                     "prior) said about this label"})


class ShotSchema(ma.Schema):
    index = ma.fields.Integer(required=True)
    start = ma.fields.Float(required=True)
    end = ma.fields.Float(required=True)
    tags = ma.fields.List(ma.fields.Nested(TagSchema), required=True)


class KeyframeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    time = ma.fields.Float(required=True)
    shot_index = ma.fields.Integer(required=True)
    thumbnail_url = ma.fields.String(required=True)


class SegmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    start = ma.fields.Float(required=True)
    end = ma.fields.Float(required=True)
    text = ma.fields.String(required=True)
    words = ma.fields.List(ma.fields.List(ma.fields.Raw()), required=True,
                           metadata={"description": "[word, start, end, probability]"})
    tags = ma.fields.List(ma.fields.Nested(TagSchema), required=True)


class EmotionShare(ma.Schema):
    label = ma.fields.String(required=True)
    share = ma.fields.Float(required=True, metadata={"description": "share of the video's time it is the top emotion"})
    mean_probability = ma.fields.Float(allow_none=True)


class ContentShare(ma.Schema):
    kind = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    share = ma.fields.Float(required=True)


class TagSummary(ma.Schema):
    dominant_emotion = ma.fields.String(allow_none=True)
    emotions = ma.fields.List(ma.fields.Nested(EmotionShare), required=True)
    content = ma.fields.List(ma.fields.Nested(ContentShare), required=True)
    model_version = ma.fields.String(allow_none=True)


class ScreenTextSchema(ma.Schema):
    keyframe_id = ma.fields.Integer(required=True)
    time = ma.fields.Float(required=True)
    text = ma.fields.String(required=True)
    confidence = ma.fields.Float(required=True)


class VideoDetail(VideoSummary):
    path_name = ma.fields.String(required=True, metadata={"description": "file name (not the full path)"})
    fps = ma.fields.Float(allow_none=True)
    video_codec = ma.fields.String(allow_none=True)
    audio_codec = ma.fields.String(allow_none=True)
    model_versions = ma.fields.Dict(required=True)
    shots = ma.fields.List(ma.fields.Nested(ShotSchema), required=True)
    keyframes = ma.fields.List(ma.fields.Nested(KeyframeSchema), required=True)
    transcript = ma.fields.List(ma.fields.Nested(SegmentSchema), required=True)
    tags = ma.fields.Nested(TagSummary, required=True)
    screen_text = ma.fields.List(ma.fields.Nested(ScreenTextSchema), required=True)
    subtitles_url = ma.fields.String(required=True)


class SimilarVideo(ma.Schema):
    video_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    score = ma.fields.Float(required=True)
    reasons = ma.fields.List(ma.fields.String(), required=True)
    thumbnail_url = ma.fields.String(allow_none=True)


class SimilarVideos(ma.Schema):
    video_id = ma.fields.Integer(required=True)
    similar = ma.fields.List(ma.fields.Nested(SimilarVideo), required=True)


class SimilarArgs(ma.Schema):
    k = ma.fields.Integer(load_default=10, validate=ma.validate.Range(1, 100))


def _summary(video: Video, first_keyframe: int | None) -> dict:
    return {"id": video.id, "title": video.title, "status": video.status, "error": video.error,
            "duration": video.duration, "width": video.width, "height": video.height, "has_audio": video.has_audio,
            "language": video.language, "added_at": video.added_at, "indexed_at": video.indexed_at,
            "thumbnail_url": thumbnail_url(first_keyframe), "media_url": f"{API_PREFIX}/videos/{video.id}/media"}


def _get_video(session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        abort(404, message=f"no video with id {video_id}")
    return video


@bp.route("/videos")
class Videos(MethodView):
    @bp.arguments(VideoListArgs, location="query", as_kwargs=True)
    @bp.response(200, VideoList)
    def get(self, offset, limit, sort, status=None):
        """All videos in the catalog with their indexing status."""
        order = {"added": (Video.added_at.desc(), Video.id.desc()), "title": (Video.title, Video.id),
                 "duration": (Video.duration.desc(), Video.id)}[sort]
        with catalog().session() as s:
            q = select(Video)
            count = select(func.count()).select_from(Video)
            if status:
                q, count = q.where(Video.status == status), count.where(Video.status == status)
            videos = s.scalars(q.order_by(*order).offset(offset).limit(limit)).all()
            firsts = dict(s.execute(select(Keyframe.video_id, func.min(Keyframe.id))
                                    .where(Keyframe.video_id.in_([v.id for v in videos]))
                                    .group_by(Keyframe.video_id)).all())
            return {"total": s.scalar(count), "offset": offset,
                    "videos": [_summary(v, firsts.get(v.id)) for v in videos]}


@bp.route("/videos/<id:video_id>")
class VideoById(MethodView):
    @bp.response(200, VideoDetail)
    @bp.alt_response(404, schema=None, description="no such video")
    def get(self, video_id):
        """One video: metadata, shots, keyframes and the transcript with word timings."""
        with catalog().session() as s:
            video = _get_video(s, video_id)
            tags = video_tags(s, video_id)
            body = _summary(video, video.keyframes[0].id if video.keyframes else None)
            body.update({
                "path_name": Path(video.path).name, "fps": video.fps, "video_codec": video.video_codec,
                "audio_codec": video.audio_codec, "model_versions": video.model_versions or {},
                "shots": [{"index": sh.index, "start": sh.start, "end": sh.end, "tags": tags["shots"].get(sh.id, [])}
                          for sh in video.shots],
                "keyframes": [{"id": k.id, "time": k.time, "shot_index": k.shot_index,
                               "thumbnail_url": thumbnail_url(k.id)} for k in video.keyframes],
                "transcript": [{"id": seg.id, "start": seg.start, "end": seg.end, "text": seg.text,
                                "words": seg.words, "tags": tags["segments"].get(seg.id, [])}
                               for seg in video.segments],
                "tags": tags["summary"], "screen_text": tags["screen_text"],
                "subtitles_url": f"{API_PREFIX}/videos/{video.id}/subtitles.vtt",
            })
            return body


@bp.route("/videos/<id:video_id>/similar")
class SimilarToVideo(MethodView):
    @bp.arguments(SimilarArgs, location="query", as_kwargs=True)
    @bp.response(200, SimilarVideos)
    @bp.alt_response(404, schema=None, description="no such video")
    def get(self, video_id, k):
        """Videos closest to this one in what is said and shown, lifted when the same people watch them."""
        with catalog().session() as s:
            _get_video(s, video_id)
        items = current_app.extensions["recommender"].similar(video_id, k)
        with catalog().session() as s:
            firsts = dict(s.execute(select(Keyframe.video_id, func.min(Keyframe.id))
                                    .where(Keyframe.video_id.in_([i.video_id for i in items]))
                                    .group_by(Keyframe.video_id)).all())
        return {"video_id": video_id,
                "similar": [{"video_id": i.video_id, "title": i.title, "score": i.score, "reasons": i.reasons,
                             "thumbnail_url": thumbnail_url(firsts.get(i.video_id))} for i in items]}


def _vtt_time(seconds: float) -> str:
    ms = round(max(seconds, 0.0) * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")


@bp.route("/videos/<id:video_id>/subtitles.vtt")
@bp.doc(responses={200: {"description": "WebVTT subtitles", "content": {"text/vtt": {"schema": {"type": "string"}}}},
                   404: {"description": "no such video"}})
def subtitles(video_id):
    """The transcript as WebVTT subtitles."""
    with catalog().session() as s:
        video = _get_video(s, video_id)
        lines = ["WEBVTT", ""]
        for i, seg in enumerate(video.segments, 1):
            lines += [str(i), f"{_vtt_time(seg.start)} --> {_vtt_time(max(seg.end, seg.start + 0.2))}",
                      _vtt_text(seg.text), ""]
    return Response("\n".join(lines), mimetype="text/vtt")


@bp.route("/videos/<id:video_id>/media")
@bp.doc(responses={200: {"description": "the video file (HTTP range requests supported)"},
                   206: {"description": "part of the file"}, 404: {"description": "no such video or file gone"},
                   416: {"description": "range not satisfiable"}})
def media(video_id):
    """The video file itself, for the player; seeking uses HTTP range requests."""
    with catalog().session() as s:
        video = _get_video(s, video_id)
        path = Path(video.path)
    if not path.is_file():
        abort(404, message="the video file is no longer on disk")
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=3600)


@bp.route("/keyframes/<id:keyframe_id>/thumbnail.jpg")
@bp.doc(responses={200: {"description": "JPEG thumbnail", "content": {"image/jpeg": {}}},
                   404: {"description": "no such keyframe"}})
def thumbnail(keyframe_id):
    """A keyframe's thumbnail."""
    with catalog().session() as s:
        frame = s.get(Keyframe, keyframe_id)
        if frame is None:
            abort(404, message=f"no keyframe with id {keyframe_id}")
        relative = frame.thumbnail
    root = current_app.config["REELSCOPE"].thumbnails_dir
    path = safe_join(str(root), relative)  # the stored name is ours, but never trust a path blindly
    if path is None or not Path(path).is_file():
        abort(404, message="thumbnail file missing; `reelscope index verify` reports it")
    return send_file(path, mimetype="image/jpeg", conditional=True, max_age=86400)
