"""Videos by id: metadata, transcript, subtitles, similar videos, the media file and thumbnails.

Files are only ever found through catalog ids; no path from a request reaches the file system.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import quote

import marshmallow as ma
from flask import Response, current_app, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select
from werkzeug.security import safe_join

from catalog import Keyframe, SegmentSource, Video, VideoStatus
from people.library import speakers_of_segments, video_people
from search.chapters import chapters_of
from search.tag_index import video_tags

from . import auth
from .api import API_PREFIX, first_keyframes, media_url, thumbnail_url
from .extensions import current_catalog, current_recommender

bp = Blueprint("videos", __name__, url_prefix=API_PREFIX, description="Videos, transcripts and media by id")

# The key of the transcript the speech model heard; subtitle tracks' keys ("embedded:2",
# "sidecar:film.en.srt") always hold a colon, so they never clash with it.
SPEECH_TRACK = "speech"

# How GET /videos (and the library page) may order them; ties go to the id, so pages never overlap.
VIDEO_SORTS = {"added": (Video.added_at.desc(), Video.id.desc()), "title": (Video.title, Video.id),
               "duration": (Video.duration.desc(), Video.id)}


class VideoSummary(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    error = ma.fields.String(allow_none=True)
    duration = ma.fields.Float(allow_none=True)
    width = ma.fields.Integer(allow_none=True)
    height = ma.fields.Integer(allow_none=True)
    has_audio = ma.fields.Boolean(required=True)
    has_video = ma.fields.Boolean(required=True, metadata={"description": "false for an audio-only file"})
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(["video", "audio"]),
                            metadata={"description": "video | audio (an audio-only file: its one keyframe "
                                                     "is its cover art or a picture of its waveform)"})
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
    sort = ma.fields.String(load_default="added", validate=ma.validate.OneOf(list(VIDEO_SORTS)))


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
    source = ma.fields.String(required=True, validate=ma.validate.OneOf(["speech", "subtitles"]),
                              metadata={"description": "speech (heard by the speech model) | subtitles (read "
                                                       "from a subtitle track)"})
    track = ma.fields.String(required=True, metadata={"description": "the key of the text track it belongs to "
                                                                     "(`speech`, or a subtitle track's key)"})
    language = ma.fields.String(allow_none=True)
    words = ma.fields.List(ma.fields.List(ma.fields.Raw()), required=True,
                           metadata={"description": "[word, start, end, probability]"})
    tags = ma.fields.List(ma.fields.Nested(TagSchema), required=True)
    speaker = ma.fields.String(allow_none=True, metadata={"description": "who says it: a person's name or label, "
                                                                        "else 'Speaker n' of this video"})
    person_id = ma.fields.Integer(allow_none=True)


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


class AudioTrackSchema(ma.Schema):
    index = ma.fields.Integer(allow_none=True, metadata={"description": "the stream's index in the container"})
    position = ma.fields.Integer(allow_none=True, metadata={"description": "1-based among the file's audio "
                                                                           "streams, as players number them"})
    count = ma.fields.Integer(allow_none=True, metadata={"description": "how many audio streams the file has"})
    language = ma.fields.String(allow_none=True)
    codec = ma.fields.String(allow_none=True)
    channels = ma.fields.Integer(allow_none=True)
    sample_rate = ma.fields.Integer(allow_none=True)
    chosen_because = ma.fields.String(allow_none=True, metadata={
        "description": "why this stream was listened to: default-flagged | language | first | only"})


class TextTrackSchema(ma.Schema):
    key = ma.fields.String(required=True, metadata={"description": "`speech`, or the subtitle track's key: "
                                                                   "`embedded:<stream index>` | `sidecar:<file name>`"})
    source = ma.fields.String(required=True, validate=ma.validate.OneOf(["speech", "embedded", "sidecar"]),
                              metadata={"description": "speech (transcribed) | embedded (a subtitle stream "
                                                       "in the file) | sidecar (a subtitle file beside it)"})
    language = ma.fields.String(allow_none=True)
    label = ma.fields.String(required=True, metadata={"description": "for people (a player's track menu)"})
    cues = ma.fields.Integer(required=True, metadata={"description": "transcript segments of this track in the "
                                                                    "catalog: what its WebVTT holds"})
    url = ma.fields.String(required=True, metadata={"description": "its WebVTT"})


class SkippedTrackSchema(ma.Schema):
    key = ma.fields.String(required=True)
    language = ma.fields.String(allow_none=True)
    reason = ma.fields.String(required=True)


class TracksSchema(ma.Schema):
    audio = ma.fields.Nested(AudioTrackSchema, allow_none=True, required=True,
                             metadata={"description": "the audio stream that was transcribed; null without one "
                                                      "(or for videos indexed before tracks were recorded)"})
    speech = ma.fields.Nested(TextTrackSchema, allow_none=True, required=True,
                              metadata={"description": "the speech transcript as a text track; null when no "
                                                       "speech was transcribed"})
    subtitles = ma.fields.List(ma.fields.Nested(TextTrackSchema), required=True,
                               metadata={"description": "subtitle tracks that were read, in the file's order"})
    skipped = ma.fields.List(ma.fields.Nested(SkippedTrackSchema), required=True,
                             metadata={"description": "subtitle tracks that were not read, and why"})
    default = ma.fields.String(allow_none=True, required=True,
                               metadata={"description": "the key `subtitles.vtt` serves without `track`: speech "
                                                        "when there is any, else the first subtitle track"})


class ChapterSchema(ma.Schema):
    start = ma.fields.Float(required=True)
    end = ma.fields.Float(required=True)
    title = ma.fields.String(required=True)
    source = ma.fields.String(required=True, metadata={
        "description": "container (the file's own chapters) | topics (where the transcript's meaning changes) | "
                       "whole (too short or too little said to divide)"})


class VideoPerson(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(allow_none=True)
    label = ma.fields.String(required=True)
    appears = ma.fields.List(ma.fields.List(ma.fields.Float()), required=True)
    speaks = ma.fields.List(ma.fields.List(ma.fields.Float()), required=True)


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
    subtitles_url = ma.fields.String(required=True, metadata={"description": "the default text track's WebVTT"})
    tracks = ma.fields.Nested(TracksSchema, required=True)
    chapters = ma.fields.List(ma.fields.Nested(ChapterSchema), required=True)
    chapters_url = ma.fields.String(required=True, metadata={"description": "the chapters as a WebVTT chapters track"})
    warnings = ma.fields.List(ma.fields.String(), required=True,
                              metadata={"description": "what was kept from damaged or odd input, in words"})
    people = ma.fields.List(ma.fields.Nested(VideoPerson), required=True,
                            metadata={"description": "who appears and who speaks, with [start, end] spans"})


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


class SubtitlesArgs(ma.Schema):
    track = ma.fields.String(validate=ma.validate.Length(1, 255), metadata={
        "description": "`speech` or a subtitle track's key (GET /videos/<id> lists them under `tracks`); "
                       "default: speech when the video has any, else its first subtitle track"})


def _summary(video: Video, first_keyframe: int | None) -> dict:
    has_video = video.has_video is not False  # rows from before audio-only files were indexed are videos
    return {"id": video.id, "title": video.title, "status": video.status, "error": video.error,
            "duration": video.duration, "width": video.width, "height": video.height, "has_audio": video.has_audio,
            "has_video": has_video, "kind": "video" if has_video else "audio", "language": video.language,
            "added_at": video.added_at, "indexed_at": video.indexed_at,
            "thumbnail_url": thumbnail_url(first_keyframe), "media_url": media_url(video.id)}


def segment_track(seg) -> str:
    """The key of the text track a transcript segment belongs to."""
    if seg.source == SegmentSource.SUBTITLES:
        return seg.track or "subtitles"
    return SPEECH_TRACK


def vtt_url(video_id: int, key: str) -> str:
    # keys hold ':' and '.' (and a sidecar's file name anything), so they travel in the query string
    return f"{API_PREFIX}/videos/{video_id}/subtitles.vtt?track={quote(key, safe='')}"


def text_tracks(video: Video) -> dict:
    """The video's transcript as text tracks: {"speech": track | None, "subtitles": [track], "skipped",
    "audio", "default"}, what the detail's `tracks` holds, the player offers and subtitles.vtt serves.

    Built from the segments as much as from `Video.tracks`: rows indexed before tracks were recorded
    have only speech, and a track the catalog holds segments of is listed even if its record is lost.
    """
    counts: dict[str, int] = {}
    languages: dict[str, str] = {}
    for seg in video.segments:
        key = segment_track(seg)
        counts[key] = counts.get(key, 0) + 1
        if seg.language and key not in languages:
            languages[key] = seg.language
    stored = video.tracks if isinstance(video.tracks, dict) else {}
    speech = None
    if counts.get(SPEECH_TRACK):
        speech = {"key": SPEECH_TRACK, "source": "speech", "language": video.language or languages.get(SPEECH_TRACK),
                  "label": "Speech (transcribed)", "cues": counts[SPEECH_TRACK],
                  "url": vtt_url(video.id, SPEECH_TRACK)}
    subtitles, seen = [], set()
    listed = [t for t in stored.get("subtitles") or [] if isinstance(t, dict) and t.get("key")]
    listed += [{"key": key} for key in counts if key != SPEECH_TRACK]  # held in segments, not on record
    for track in listed:
        key = str(track["key"])
        if key in seen or key == SPEECH_TRACK:
            continue
        seen.add(key)
        language = track.get("language") or languages.get(key)
        source = track.get("source") if track.get("source") in ("embedded", "sidecar") else (
            "sidecar" if key.startswith("sidecar:") else "embedded")
        subtitles.append({"key": key, "source": source, "language": language,
                          "label": str(track.get("label") or language or key), "cues": counts.get(key, 0),
                          "url": vtt_url(video.id, key)})
    skipped = [{"key": str(t.get("key") or "?"), "language": t.get("language"), "reason": str(t.get("reason") or "")}
               for t in stored.get("skipped") or [] if isinstance(t, dict)]
    audio = stored.get("audio") if isinstance(stored.get("audio"), dict) else None
    if audio is not None:
        audio = {f: audio.get(f) for f in ("index", "position", "count", "language", "codec", "channels",
                                           "sample_rate", "chosen_because")}
    default = None
    if speech is not None:
        default = SPEECH_TRACK
    elif subtitles:
        default = next((t["key"] for t in subtitles if t["cues"]), subtitles[0]["key"])
    return {"audio": audio, "speech": speech, "subtitles": subtitles, "skipped": skipped, "default": default}


def _get_video(session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None or (video.status == VideoStatus.FAILED and not auth.caller_is_admin()):
        abort(404, message=f"no video with id {video_id}")
    return video


@bp.route("/videos")
class Videos(MethodView):
    @bp.arguments(VideoListArgs, location="query", as_kwargs=True)
    @bp.response(200, VideoList)
    def get(self, offset, limit, sort, status=None):
        """All videos in the catalog with their indexing status (failed ones for admins only)."""
        with current_catalog().session() as s:
            q = select(Video)
            count = select(func.count()).select_from(Video)
            if status:
                q, count = q.where(Video.status == status), count.where(Video.status == status)
            if not auth.caller_is_admin():
                q, count = q.where(Video.status != VideoStatus.FAILED), count.where(Video.status != VideoStatus.FAILED)
            videos = s.scalars(q.order_by(*VIDEO_SORTS[sort]).offset(offset).limit(limit)).all()
            firsts = first_keyframes(s, [v.id for v in videos])
            return {"total": s.scalar(count), "offset": offset,
                    "videos": [_summary(v, firsts.get(v.id)) for v in videos]}


@bp.route("/videos/<id:video_id>")
class VideoById(MethodView):
    @bp.response(200, VideoDetail)
    @bp.alt_response(404, schema=None, description="no such video")
    def get(self, video_id):
        """One video: metadata, shots, keyframes and the transcript with word timings."""
        with current_catalog().session() as s:
            video = _get_video(s, video_id)
            tags = video_tags(s, video_id)
            speakers = speakers_of_segments(s, video_id, video.segments)
            body = _summary(video, video.keyframes[0].id if video.keyframes else None)
            body.update({
                "path_name": Path(video.path).name, "fps": video.fps, "video_codec": video.video_codec,
                "audio_codec": video.audio_codec, "model_versions": video.model_versions or {},
                "shots": [{"index": sh.index, "start": sh.start, "end": sh.end, "tags": tags["shots"].get(sh.id, [])}
                          for sh in video.shots],
                "keyframes": [{"id": k.id, "time": k.time, "shot_index": k.shot_index,
                               "thumbnail_url": thumbnail_url(k.id)} for k in video.keyframes],
                "transcript": [{"id": seg.id, "start": seg.start, "end": seg.end, "text": seg.text,
                                "source": seg.source or SegmentSource.SPEECH, "track": segment_track(seg),
                                "language": seg.language, "words": seg.words,
                                "tags": tags["segments"].get(seg.id, []), **speakers.get(seg.id, {})}
                               for seg in video.segments],
                "tags": tags["summary"], "screen_text": tags["screen_text"],
                "subtitles_url": f"{API_PREFIX}/videos/{video.id}/subtitles.vtt",
                "tracks": text_tracks(video),
                "chapters": [c.as_dict() for c in chapters_of(s, video)],
                "chapters_url": f"{API_PREFIX}/videos/{video.id}/chapters.vtt",
                "warnings": [str(w) for w in video.warnings or []],
                "people": video_people(s, video_id),
            })
            return body


@bp.route("/videos/<id:video_id>/similar")
class SimilarToVideo(MethodView):
    @bp.arguments(SimilarArgs, location="query", as_kwargs=True)
    @bp.response(200, SimilarVideos)
    @bp.alt_response(404, schema=None, description="no such video")
    def get(self, video_id, k):
        """Videos closest to this one in what is said and shown, lifted when the same people watch them."""
        with current_catalog().session() as s:
            _get_video(s, video_id)
        items = current_recommender().similar(video_id, k)
        with current_catalog().session() as s:
            firsts = first_keyframes(s, [i.video_id for i in items])
        return {"video_id": video_id,
                "similar": [{"video_id": i.video_id, "title": i.title, "score": i.score, "reasons": i.reasons,
                             "thumbnail_url": thumbnail_url(firsts.get(i.video_id))} for i in items]}


def _vtt_time(seconds: float) -> str:
    ms = round(max(seconds, 0.0) * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _vtt(cues) -> Response:
    """A WebVTT file of (start, end, text) or (start, end, text, speaker) cues: subtitles (a speaker's
    name as a voice tag), or a chapters track."""
    lines = ["WEBVTT", ""]
    for i, (start, end, text, *speaker) in enumerate(cues, 1):
        voice = f"<v {_vtt_text(speaker[0]).replace(chr(10), ' ')}>" if speaker and speaker[0] else ""
        lines += [str(i), f"{_vtt_time(start)} --> {_vtt_time(end)}", voice + _vtt_text(text), ""]
    return Response("\n".join(lines), mimetype="text/vtt")


def _vtt_text(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")
    # a subtitle's own line breaks stay; a blank line would end the cue
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


@bp.route("/videos/<id:video_id>/subtitles.vtt")
@bp.arguments(SubtitlesArgs, location="query", as_kwargs=True)
@bp.doc(responses={200: {"description": "WebVTT subtitles", "content": {"text/vtt": {"schema": {"type": "string"}}}},
                   404: {"description": "no such video, or no such track in it"}})
def subtitles(video_id, track=None):
    """One text track of the video (its speech transcript or a subtitle track) as WebVTT."""
    with current_catalog().session() as s:
        video = _get_video(s, video_id)
        tracks = text_tracks(video)
        keys = ([SPEECH_TRACK] if tracks["speech"] else []) + [t["key"] for t in tracks["subtitles"]]
        if track is None:
            track = tracks["default"]  # None: nothing at all was said or read, an empty file
        elif track not in keys:
            known = ", ".join(keys) if keys else "none"
            abort(404, message=f"video {video_id} has no text track {track!r} (its tracks: {known})")
        cues = [seg for seg in video.segments if segment_track(seg) == track]
        speakers = speakers_of_segments(s, video_id, cues) if track == SPEECH_TRACK else {}
        return _vtt([(seg.start, max(seg.end, seg.start + 0.2), seg.text, speakers.get(seg.id, {}).get("speaker"))
                     for seg in cues])


@bp.route("/videos/<id:video_id>/chapters.vtt")
@bp.doc(responses={200: {"description": "WebVTT chapters track", "content": {"text/vtt": {"schema": {"type": "string"}}}},
                   404: {"description": "no such video"}})
def chapters(video_id):
    """The video's chapters (its own, else by topic) as a WebVTT chapters track."""
    with current_catalog().session() as s:
        # a chapter's title is one cue line
        return _vtt([(c.start, c.end, " ".join(c.title.split())) for c in chapters_of(s, _get_video(s, video_id))])


@bp.route("/videos/<id:video_id>/media")
@bp.doc(responses={200: {"description": "the video file (HTTP range requests supported)"},
                   206: {"description": "part of the file"}, 404: {"description": "no such video or file gone"},
                   416: {"description": "range not satisfiable"}})
def media(video_id):
    """The video file itself, for the player; seeking uses HTTP range requests."""
    with current_catalog().session() as s:
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
    with current_catalog().session() as s:
        frame = s.get(Keyframe, keyframe_id)
        if frame is None:
            abort(404, message=f"no keyframe with id {keyframe_id}")
        relative = frame.thumbnail
    root = current_app.config["REELSCOPE"].thumbnails_dir
    path = safe_join(str(root), relative)  # the stored name is ours, but never trust a path blindly
    if path is None or not Path(path).is_file():
        abort(404, message="thumbnail file missing; `reelscope index verify` reports it")
    return send_file(path, mimetype="image/jpeg", conditional=True, max_age=86400)
