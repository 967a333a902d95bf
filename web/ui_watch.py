"""The watch page (`/watch/<id>`): the player, its transcripts and emotion timeline; what the player
and the rating buttons tell the server the viewer did."""
from __future__ import annotations

import math
from pathlib import Path

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select

from catalog import Event, EventType, Tag, TagKind, Video, VideoStatus
from people.library import speakers_of_segments, video_people
from search.chapters import chapters_of
from search.recommend import events as user_events

from . import auth
from .api import thumbnail_url
from .extensions import current_catalog
from .ui_display import TAG_MIN_CONFIDENCE, language_name, with_data
from .ui_session import back, viewer
from .videos_api import segment_track, text_tracks

# Events the player and the rating buttons may send; the rest (search, ...) the server records itself.
CLIENT_EVENTS = (EventType.VIEW, EventType.PROGRESS, EventType.COMPLETE, EventType.LIKE, EventType.DISLIKE,
                 EventType.SKIP)
# Why an audio track was the one listened to, as a person reads it.
AUDIO_CHOICE = {"default-flagged": _l("default-flagged"), "language": _l("preferred language"),
                "first": _l("first track"), "only": _l("only track")}
EMOTION_COLOURS = {"joy": "#f5b301", "surprise": "#ff7a45", "neutral": "#8c8c8c", "sadness": "#4a7bd0",
                   "fear": "#8e5bd6", "anger": "#e0413a", "disgust": "#4f9a4a"}


def _emotion_timeline(rows, duration: float) -> dict:
    """Lanes of emotion over time (one per emotion seen), from segment- or shot-level tags."""
    spans = [r for r in rows if r.kind == TagKind.EMOTION and r.owner_kind in ("segment", "shot")
             and r.start is not None and r.end is not None]
    # speech says more about feelings than a shot's picture: prefer segment tags where there are any
    if any(r.owner_kind == "segment" for r in spans):
        spans = [r for r in spans if r.owner_kind == "segment"]
    labels = sorted({r.label for r in spans}, key=lambda label: list(EMOTION_COLOURS).index(label)
                    if label in EMOTION_COLOURS else 99)
    length = max(duration or 0.0, max((r.end for r in spans), default=0.0), 1e-6)
    return {"labels": labels, "duration": length, "colours": EMOTION_COLOURS,
            "spans": [{"label": r.label, "start": r.start, "end": r.end, "confidence": r.confidence,
                       "lane": labels.index(r.label)} for r in spans]}


def _audio_line(audio: dict | None) -> str | None:
    """The "Audio: track 2 of 2 · English · default-flagged" line, only when the file had a choice to make."""
    if not audio or not isinstance(audio.get("count"), int) or audio["count"] < 2:
        return None
    parts = [_("Audio: track %(position)s of %(count)s", position=audio.get("position") or "?", count=audio["count"])]
    if audio.get("language"):
        parts.append(language_name(audio["language"]))
    if audio.get("chosen_because"):
        parts.append(str(AUDIO_CHOICE.get(audio["chosen_because"], audio["chosen_because"])))
    return " · ".join(parts)


def _speaker_name(said: dict | None) -> str | None:
    if not said:
        return None
    if said["person_id"] is not None:
        return said["person_name"] or _("Person %(id)s", id=said["person_id"])
    return _("Speaker %(n)s", n=said["speaker_number"])


def _transcripts(video: Video, tracks: dict, speakers: dict) -> list[dict]:
    """The text tracks the player offers and the transcript panel switches between, with their lines
    (and who says each, where speakers are known)."""
    by_key: dict[str, list[dict]] = {}
    for seg in video.segments:
        by_key.setdefault(segment_track(seg), []).append({"start": seg.start, "end": seg.end, "text": seg.text,
                                                          "speaker": _speaker_name(speakers.get(seg.id))})
    listed = ([tracks["speech"]] if tracks["speech"] else []) + [t for t in tracks["subtitles"] if t["cues"]]
    # the speech track is named by this page; a subtitle track by its file (data, shown as it is)
    return [{"key": t["key"], "label": _("Speech (transcribed)") if t is tracks["speech"] else t["label"],
             "translated": t is tracks["speech"], "language": t["language"], "url": t["url"],
             "segments": by_key.get(t["key"], [])} for t in listed]


def ratings(s, user_id: int, video_ids: list[int]) -> dict[int, str]:
    """{video id: the user's latest like or dislike of it}, for the rating buttons' state."""
    return dict(s.execute(select(Event.video_id, Event.type).where(
        Event.user_id == user_id, Event.video_id.in_(video_ids),
        Event.type.in_((EventType.LIKE, EventType.DISLIKE))).order_by(Event.id)).all())


def _video_or_404(s, video_id: int) -> Video:
    video = s.get(Video, video_id)
    if video is None or (video.status == VideoStatus.FAILED and not auth.caller_is_admin()):
        abort(404, _("There is no video %(id)s in this library.", id=video_id))
    return video


def watch_page(video_id):
    try:
        start = float(request.args.get("t", 0) or 0)
    except ValueError:
        start = 0.0
    start = start if math.isfinite(start) and start > 0 else 0.0
    with current_catalog().session() as s:
        video = _video_or_404(s, video_id)
        tags = s.scalars(select(Tag).where(Tag.video_id == video_id).order_by(Tag.start, Tag.id)).all()
        tracks = text_tracks(video)
        transcripts = _transcripts(video, tracks, speakers_of_segments(s, video_id, video.segments))
        shown = next((t for t in transcripts if t["key"] == tracks["default"]), transcripts[0] if transcripts else None)
        data = {
            "video": {"id": video.id, "title": video.title, "status": video.status, "error": video.error,
                      "duration": video.duration, "width": video.width, "height": video.height,
                      "language": video.language or "en", "has_audio": video.has_audio,
                      "has_video": video.has_video is not False,
                      "file_name": Path(video.path).name, "added_at": video.added_at},
            "transcripts": transcripts,
            "shown_track": shown["key"] if shown else None,
            "segments": shown["segments"] if shown else [],
            "audio_line": _audio_line(tracks["audio"]),
            "warnings": [str(w) for w in video.warnings or []],
            "skipped": tracks["skipped"],
            "keyframes": [{"time": k.time, "url": thumbnail_url(k.id), "shot": k.shot_index} for k in video.keyframes],
            "video_tags": [(t.kind, t.label, t.confidence) for t in tags if t.owner_kind == "video"
                           and t.kind != TagKind.SAFETY and t.confidence >= TAG_MIN_CONFIDENCE / 3],
            "timeline": _emotion_timeline(tags, video.duration or 0.0),
            "chapters": [c for c in chapters_of(s, video) if c.source != "whole"],
            "file_present": Path(video.path).is_file(),
            "people": video_people(s, video_id),
        }
        user = viewer()
        rating = ratings(s, user.id, [video_id]).get(video_id) if user is not None else None
    return render_template("watch.html", start=start, rating=rating, **data)


def _record(user_id: int, video_id: int, kind: str, position: float | None = None,
            watch_seconds: float | None = None, client_event_id: str | None = None) -> bool:
    """One event, through the same store as POST /api/v1/events; False when already stored (a retry)."""
    with current_catalog().session() as s:
        try:
            stored = user_events.record(s, [user_events.NewEvent(
                user_id=user_id, type=kind, video_id=video_id, position=position, watch_seconds=watch_seconds,
                client_event_id=client_event_id)])
        except user_events.EventError as exc:
            abort(400, str(exc))
    return not stored[0].duplicate


def _finite(value, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        abort(400, "position and watch_seconds must be numbers")
    return min(max(float(value), low), high)


def player_event():
    """What the player saw the current user do (view, progress, complete)."""
    user = viewer()
    if user is None:
        return jsonify(error="no_user", message="sign in first (/login) to have your viewing remembered"), 401
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "send a JSON object")
    kind, video_id = body.get("type"), body.get("video_id")
    if kind not in CLIENT_EVENTS:
        abort(400, f"type must be one of {', '.join(CLIENT_EVENTS)}")
    if isinstance(video_id, bool) or not isinstance(video_id, int) or not 1 <= video_id < 2**31:
        abort(400, "video_id must be a video id")
    client_id = body.get("client_event_id")
    if client_id is not None and (not isinstance(client_id, str) or not 1 <= len(client_id) <= 64):
        abort(400, "client_event_id must be a string of 1 to 64 characters")
    with current_catalog().session() as s:
        if s.get(Video, video_id) is None:
            abort(404, f"no video with id {video_id}")
    stored = _record(user.id, video_id, kind, _finite(body.get("position"), 0.0, 1e7),
                     _finite(body.get("watch_seconds"), 0.0, 86400.0), client_id)
    return jsonify(stored=stored), 201 if stored else 200


def rate(video_id):
    user = viewer()
    if user is None:
        flash(_("Sign in first: ratings shape your own feed."))
        return redirect(url_for("pages.sign_in_page", next=back(url_for("pages.watch_page", video_id=video_id))))
    kind = request.form.get("rating")
    if kind not in (EventType.LIKE, EventType.DISLIKE):
        abort(400, _("A rating is like or dislike."))
    with current_catalog().session() as s:
        title = _video_or_404(s, video_id).title
    _record(user.id, video_id, kind)
    said = (_("Liked %(title)s: your feed now takes it into account.") if kind == EventType.LIKE
            else _("Disliked %(title)s: your feed now takes it into account."))
    flash(with_data(said, title=f"“{title}”"))
    return redirect(back(url_for("pages.watch_page", video_id=video_id)))
