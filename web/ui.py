"""The web UI: server-rendered pages over the same engine and catalog as the JSON API.

Search (`/`), watch (`/watch/<id>`), the feed (`/for-you`), the library, admin, and picking a user
(`/me`). Viewers have no passwords: who they are lives in a signed cookie session. Every POST here
carries the session's CSRF token (a form field, or the X-CSRF-Token header from page scripts).
"""
from __future__ import annotations

import hmac
import logging
import math
import os
import secrets
from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session,
                   url_for)
from markupsafe import Markup, escape
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from indexer.languages import LANGUAGE_NAMES
from catalog import Event, EventType, Job, Keyframe, Tag, TagKind, User, Video, VideoStatus
from search.engine import MODES, QueryError, SearchRequest
from search.recommend import UnknownUser
from search.recommend import events as user_events

from . import admin_api
from .api import thumbnail_url
from .videos_api import segment_track, text_tracks

log = logging.getLogger(__name__)

pages = Blueprint("pages", __name__)

RESULTS_PER_PAGE = 24
FEED_SIZE = 24
# Durations a person thinks in, as the engine's min/max video duration (seconds).
DURATIONS = {"short": ("under 1 min", None, 60.0), "medium": ("1–10 min", 60.0, 600.0),
             "long": ("over 10 min", 600.0, None)}
# Events the player and the rating buttons may send; the rest (search, ...) the server records itself.
CLIENT_EVENTS = (EventType.VIEW, EventType.PROGRESS, EventType.COMPLETE, EventType.LIKE, EventType.DISLIKE,
                 EventType.SKIP)
MAX_USER_NAME = 64
# Tags on a card or chip below this confidence are noise to a reader.
TAG_MIN_CONFIDENCE = 0.35
# Why an audio track was the one listened to, as a person reads it.
AUDIO_CHOICE = {"default-flagged": "default-flagged", "language": "preferred language", "first": "first track",
                "only": "only track"}
EMOTION_COLOURS = {"joy": "#f5b301", "surprise": "#ff7a45", "neutral": "#8c8c8c", "sadness": "#4a7bd0",
                   "fear": "#8e5bd6", "anger": "#e0413a", "disgust": "#4f9a4a"}


# -- set-up: the session key, template helpers -------------------------------------------------------

@pages.record_once
def _configure(state):
    app = state.app
    if not app.secret_key:
        app.secret_key = _secret_key(app.config["REELSCOPE"].data_dir)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_NAME", "reelscope_session")


def _secret_key(data_dir: Path) -> bytes:
    """Kept in the data dir so sessions survive restarts and are shared by every serving process."""
    path = Path(data_dir) / "secret_key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes()
    except OSError as exc:
        log.warning("cannot keep the session key in %s (%s): sessions end when this process does", path, exc)
    return key


@pages.app_template_filter("clock")
def clock(seconds) -> str:
    if seconds is None:
        return "–"
    total = int(max(float(seconds), 0.0))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@pages.app_template_filter("language_name")
def language_name(code) -> str:
    """The English name of an ISO 639-1 code (indexer/languages.py); any other code as it is."""
    return LANGUAGE_NAMES.get(str(code).lower(), str(code)) if code else ""


@pages.app_template_filter("marked")
def marked(text: str, highlights) -> Markup:
    """The snippet with the matched words in <mark>; every piece escaped."""
    out, at = [], 0
    for start, end in sorted(highlights or []):
        if start < at or end <= start:
            continue
        out += [escape(text[at:start]), Markup("<mark>"), escape(text[start:end]), Markup("</mark>")]
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


@pages.app_context_processor
def _layout_values():
    return {"csrf_token": csrf_token, "current_user": current_user, "nav": request.endpoint or ""}


def catalog():
    return current_app.extensions["catalog"]


def engine():
    return current_app.extensions["engine"]


# -- identity and CSRF --------------------------------------------------------------------------------

def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@pages.before_request
def _check_csrf():
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    if request.is_json and not sent:
        sent = str((request.get_json(silent=True) or {}).get("csrf_token") or "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "this form has expired or did not come from this site; reload the page and try again")


def current_user() -> User | None:
    if "user" not in g:
        g.user = None
        user_id = session.get("user_id")
        if isinstance(user_id, int):
            with catalog().session() as s:
                g.user = s.get(User, user_id)
                if g.user is not None:
                    s.expunge(g.user)
    return g.user


def _is_admin() -> bool:
    token = current_app.config["REELSCOPE"].admin_token
    # the session remembers which token it logged in with: changing the token logs everyone out
    return bool(token) and hmac.compare_digest(session.get("admin", ""), _token_mark(token))


def _token_mark(token: str) -> str:
    return hmac.new(current_app.secret_key if isinstance(current_app.secret_key, bytes)
                    else current_app.secret_key.encode(), token.encode(), "sha256").hexdigest()


def _back(default: str) -> str:
    """Where a form came from, when that is on this site (never an open redirect)."""
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@pages.errorhandler(HTTPException)
def _page_error(error: HTTPException):
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return jsonify(error=error.name.lower().replace(" ", "_"), message=error.description), error.code
    return render_template("error.html", error=error), error.code


# -- search -------------------------------------------------------------------------------------------

def _tag_choices() -> dict[str, list[str]]:
    """Labels that exist in the catalog, by kind: the filter menus offer only what can match."""
    with catalog().session() as s:
        rows = s.execute(select(Tag.kind, Tag.label).where(Tag.owner_kind != "video").distinct()).all()
    choices: dict[str, list[str]] = {}
    for kind, label in rows:
        choices.setdefault(kind, []).append(label)
    return {k: sorted(v) for k, v in choices.items()}


def _moment_tags(moments) -> list[list[tuple[str, str]]]:
    """For each moment, the strongest emotion and content labels on the stretch it covers."""
    if not moments:
        return []
    with catalog().session() as s:
        rows = s.execute(select(Tag.video_id, Tag.kind, Tag.label, Tag.confidence, Tag.start, Tag.end)
                         .where(Tag.video_id.in_({m.video_id for m in moments}), Tag.owner_kind != "video",
                                Tag.kind != TagKind.SAFETY, Tag.confidence >= TAG_MIN_CONFIDENCE)).all()
    out = []
    for m in moments:
        best: dict[tuple[str, str], float] = {}
        for video_id, kind, label, conf, start, end in rows:
            if video_id != m.video_id or start is None or end is None or end <= m.start or start >= m.end:
                continue
            if kind == TagKind.EMOTION and label == "neutral":
                continue  # says nothing worth a chip
            best[(kind, label)] = max(best.get((kind, label), 0.0), conf)
        out.append([key for key, _ in sorted(best.items(), key=lambda kv: -kv[1])[:4]])
    return out


def _recent_videos(limit: int = 8) -> list[dict]:
    with catalog().session() as s:
        videos = s.scalars(select(Video).where(Video.status == VideoStatus.INDEXED)
                           .order_by(Video.added_at.desc(), Video.id.desc()).limit(limit)).all()
        firsts = _first_keyframes(s, [v.id for v in videos])
        return [{"id": v.id, "title": v.title, "duration": v.duration, "thumbnail_url": thumbnail_url(firsts.get(v.id))}
                for v in videos]


def _first_keyframes(s, video_ids: list[int]) -> dict[int, int]:
    if not video_ids:
        return {}
    return dict(s.execute(select(Keyframe.video_id, func.min(Keyframe.id)).where(Keyframe.video_id.in_(video_ids))
                          .group_by(Keyframe.video_id)).all())


def _parse_offset(raw: str | None) -> int:
    try:
        return min(max(int(raw or 0), 0), 1000 - RESULTS_PER_PAGE)
    except ValueError:
        return 0


@pages.get("/")
def search_page():
    form = {"q": request.args.get("q", "").strip()[:500], "mode": request.args.get("mode", "hybrid"),
            "dur": request.args.get("dur", ""), "emotion": request.args.get("emotion", ""),
            "tag": request.args.get("tag", "")}
    offset = _parse_offset(request.args.get("offset"))
    visual = engine().visual_availability()
    choices = _tag_choices()
    result, error, tags = None, None, []
    browsing = bool(form["emotion"] or form["tag"])  # filters alone list the tagged moments
    if form["q"] or browsing:
        dur = DURATIONS.get(form["dur"])
        search = SearchRequest(text=form["q"], k=RESULTS_PER_PAGE, offset=offset,
                               mode=form["mode"] if form["mode"] in MODES else "hybrid",
                               min_duration=dur[1] if dur else None, max_duration=dur[2] if dur else None,
                               emotions=[form["emotion"]] if form["emotion"] else None,
                               tags=[form["tag"]] if form["tag"] else None)
        try:
            result = engine().search(search)
            tags = _moment_tags(result.moments)
        except QueryError as exc:
            error = str(exc)
    context = {"form": form, "offset": offset, "result": result, "error": error, "tags": tags,
               "visual": visual, "durations": DURATIONS, "choices": choices,
               "emotion_filter": bool(choices.get(TagKind.EMOTION)),
               "tag_filter": any(choices.get(k) for k in (TagKind.SCENE, TagKind.OBJECT)),
               "per_page": RESULTS_PER_PAGE}
    if request.headers.get("X-Fragment") == "results":
        response = current_app.make_response(render_template("_results.html", **context))
    else:
        context["recent"] = [] if result is not None or error else _recent_videos()
        context["video_count"] = catalog().counts()["by_status"][VideoStatus.INDEXED]
        response = current_app.make_response(render_template("search.html", **context))
    response.vary.add("X-Fragment")
    return response


# -- watch --------------------------------------------------------------------------------------------

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
    parts = [f"Audio: track {audio.get('position') or '?'} of {audio['count']}"]
    if audio.get("language"):
        parts.append(language_name(audio["language"]))
    if audio.get("chosen_because"):
        parts.append(AUDIO_CHOICE.get(audio["chosen_because"], str(audio["chosen_because"])))
    return " · ".join(parts)


def _transcripts(video: Video, tracks: dict) -> list[dict]:
    """The text tracks the player offers and the transcript panel switches between, with their lines."""
    by_key: dict[str, list[dict]] = {}
    for seg in video.segments:
        by_key.setdefault(segment_track(seg), []).append({"start": seg.start, "end": seg.end, "text": seg.text})
    listed = ([tracks["speech"]] if tracks["speech"] else []) + [t for t in tracks["subtitles"] if t["cues"]]
    return [{"key": t["key"], "label": t["label"], "language": t["language"], "url": t["url"],
             "segments": by_key.get(t["key"], [])} for t in listed]


@pages.get("/watch/<id:video_id>")
def watch_page(video_id):
    try:
        start = float(request.args.get("t", 0) or 0)
    except ValueError:
        start = 0.0
    start = start if math.isfinite(start) and start > 0 else 0.0
    with catalog().session() as s:
        video = s.get(Video, video_id)
        if video is None:
            abort(404, f"There is no video {video_id} in this library.")
        tags = s.scalars(select(Tag).where(Tag.video_id == video_id).order_by(Tag.start, Tag.id)).all()
        tracks = text_tracks(video)
        transcripts = _transcripts(video, tracks)
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
            "file_present": Path(video.path).is_file(),
        }
        rating = None
        user = current_user()
        if user is not None:
            rating = s.scalar(select(Event.type).where(Event.user_id == user.id, Event.video_id == video_id,
                                                        Event.type.in_((EventType.LIKE, EventType.DISLIKE)))
                              .order_by(Event.id.desc()).limit(1))
    return render_template("watch.html", start=start, rating=rating, **data)


def _record(user_id: int, video_id: int, kind: str, position: float | None = None,
            watch_seconds: float | None = None, client_event_id: str | None = None) -> bool:
    """One event, through the same store as POST /api/v1/events; False when already stored (a retry)."""
    with catalog().session() as s:
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


@pages.post("/ui/events")
def player_event():
    """What the player saw the current user do (view, progress, complete)."""
    user = current_user()
    if user is None:
        return jsonify(error="no_user", message="pick a user first (/me) to have your viewing remembered"), 401
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
    with catalog().session() as s:
        if s.get(Video, video_id) is None:
            abort(404, f"no video with id {video_id}")
    stored = _record(user.id, video_id, kind, _finite(body.get("position"), 0.0, 1e7),
                     _finite(body.get("watch_seconds"), 0.0, 86400.0), client_id)
    return jsonify(stored=stored), 201 if stored else 200


@pages.post("/watch/<id:video_id>/rate")
def rate(video_id):
    user = current_user()
    if user is None:
        flash("Pick a user first: ratings shape your own feed.")
        return redirect(url_for("pages.me", next=_back(url_for("pages.watch_page", video_id=video_id))))
    kind = request.form.get("rating")
    if kind not in (EventType.LIKE, EventType.DISLIKE):
        abort(400, "rating must be like or dislike")
    with catalog().session() as s:
        video = s.get(Video, video_id)
        if video is None:
            abort(404, f"There is no video {video_id} in this library.")
        title = video.title
    _record(user.id, video_id, kind)
    flash(f"{'Liked' if kind == EventType.LIKE else 'Disliked'} “{title}”: your feed now takes it into account.")
    return redirect(_back(url_for("pages.watch_page", video_id=video_id)))


# -- for you ------------------------------------------------------------------------------------------

def _recommendations(user_id: int, k: int) -> list | None:
    """The recommender's feed (the same as GET /api/v1/users/<id>/recommendations), None without one."""
    recommender = current_app.extensions.get("recommender")
    if recommender is None:
        return None
    try:
        return recommender.recommend(user_id, k).items
    except UnknownUser:
        session.pop("user_id", None)  # the user was deleted meanwhile
        return []


@pages.get("/for-you")
def feed_page():
    user = current_user()
    items, available = [], True
    if user is not None:
        feed = _recommendations(user.id, FEED_SIZE)
        available = feed is not None
        ids = [item.video_id for item in feed or []]
        with catalog().session() as s:
            videos = {v.id: v for v in s.scalars(select(Video).where(Video.id.in_(ids)))}
            firsts = _first_keyframes(s, ids)
            ratings = dict(s.execute(select(Event.video_id, Event.type).where(
                Event.user_id == user.id, Event.video_id.in_(ids),
                Event.type.in_((EventType.LIKE, EventType.DISLIKE))).order_by(Event.id)).all())
            for item in feed or []:
                video = videos.get(item.video_id)
                if video is None:
                    continue
                items.append({"id": video.id, "title": video.title, "duration": video.duration,
                              "start": item.start, "thumbnail_url": thumbnail_url(firsts.get(video.id)),
                              "reasons": item.reasons, "rating": ratings.get(video.id)})
    return render_template("foryou.html", items=items, available=available)


# -- library ------------------------------------------------------------------------------------------

LIBRARY_SORTS = {"added": (Video.added_at.desc(), Video.id.desc()), "title": (Video.title, Video.id),
                 "duration": (Video.duration.desc(), Video.id), "status": (Video.status, Video.id)}


def _skipped(video: Video) -> list[dict]:
    tracks = video.tracks if isinstance(video.tracks, dict) else {}
    return [t for t in tracks.get("skipped") or [] if isinstance(t, dict)]


@pages.get("/library")
def library_page():
    sort = request.args.get("sort", "added")
    sort = sort if sort in LIBRARY_SORTS else "added"
    status = request.args.get("status", "")
    status = status if status in VideoStatus.ALL else ""
    with catalog().session() as s:
        q = select(Video)
        if status:
            q = q.where(Video.status == status)
        videos = s.scalars(q.order_by(*LIBRARY_SORTS[sort]).limit(1000)).all()
        ids = [v.id for v in videos]
        firsts = _first_keyframes(s, ids)
        # the newest job per video says how far an index run has got
        latest = dict(s.execute(select(Job.video_id, func.max(Job.id)).where(Job.video_id.in_(ids))
                                .group_by(Job.video_id)).all())
        jobs = {j.video_id: j for j in s.scalars(select(Job).where(Job.id.in_(latest.values())))}
        rows = [{"id": v.id, "title": v.title, "status": v.status, "error": v.error, "duration": v.duration,
                 "added_at": v.added_at, "file_name": Path(v.path).name, "audio_only": v.has_video is False,
                 "warnings": [str(w) for w in v.warnings or []], "skipped": _skipped(v),
                 "thumbnail_url": thumbnail_url(firsts.get(v.id)),
                 "progress": jobs[v.id].progress if v.id in jobs and jobs[v.id].status == "running" else None,
                 "stage": jobs[v.id].stage if v.id in jobs else None} for v in videos]
    counts = catalog().counts()["by_status"]
    return render_template("library.html", videos=rows, sort=sort, status=status, counts=counts,
                           statuses=VideoStatus.ALL)


# -- admin --------------------------------------------------------------------------------------------

def _admin_report() -> dict:
    from indexer.status import status_report

    report = status_report(current_app.config["REELSCOPE"], catalog())
    del report["catalog"]
    return report


@pages.get("/admin")
def admin_page():
    configured = bool(current_app.config["REELSCOPE"].admin_token)
    if not configured or not _is_admin():
        return render_template("admin_login.html", configured=configured)
    return render_template("admin.html", report=_admin_report(), jobs=admin_api.jobs(30))


@pages.get("/admin/jobs")
def admin_jobs_fragment():
    """The job table alone, polled by the admin page while it is open."""
    if not _is_admin():
        abort(403, "log in as admin first")
    return render_template("_jobs.html", jobs=admin_api.jobs(30), report=_admin_report())


@pages.post("/admin/login")
def admin_login():
    token = current_app.config["REELSCOPE"].admin_token
    if not token:
        abort(403, "admin is off: set REELSCOPE_ADMIN_TOKEN on the server")
    if not admin_api.token_matches(request.form.get("token", "").strip()):
        flash("That is not the admin token.", "error")
        return redirect(url_for("pages.admin_page"))
    session["admin"] = _token_mark(token)
    return redirect(url_for("pages.admin_page"))


@pages.post("/admin/logout")
def admin_logout():
    session.pop("admin", None)
    return redirect(url_for("pages.admin_page"))


@pages.post("/admin/<any(index, retry, reindex):action>")
def admin_action(action):
    if not _is_admin():
        abort(403, "log in as admin first")
    try:
        if action == "index":
            started = admin_api.index_path(request.form.get("path", ""), force=bool(request.form.get("force")))
        elif action == "retry":
            started = admin_api.retry_failed()
        else:
            started = admin_api.reindex(everything=bool(request.form.get("all")))
    except admin_api.AdminError as exc:
        flash(exc.message, "error")
        return redirect(url_for("pages.admin_page"))
    if started["files"]:
        flash(f"Queued {started['files']} file(s); progress shows below.")
    else:
        flash({"retry": "Nothing has failed: nothing to retry.",
               "reindex": "Nothing to re-index: every video was made by the current models."}.get(action, ""))
    return redirect(url_for("pages.admin_page"))


# -- users --------------------------------------------------------------------------------------------

@pages.get("/me")
def me():
    with catalog().session() as s:
        users = [{"id": u.id, "name": u.name} for u in s.scalars(select(User).order_by(User.name, User.id).limit(500))]
    return render_template("me.html", users=users, next=request.args.get("next", ""))


@pages.post("/me")
def choose_user():
    name = " ".join(request.form.get("name", "").split())
    picked = request.form.get("user_id", "")
    with catalog().session() as s:
        if name:
            if len(name) > MAX_USER_NAME:
                flash(f"A name has at most {MAX_USER_NAME} characters.", "error")
                return redirect(url_for("pages.me"))
            user = user_events.create_user(s, name)  # commits
        elif picked.isdigit() and len(picked) < 10:
            user = s.get(User, int(picked))
            if user is None:
                abort(404, "no such user")
        else:
            flash("Type a name, or pick someone from the list.", "error")
            return redirect(url_for("pages.me"))
        session["user_id"], user_name = user.id, user.name
    flash(f"Hello, {user_name}. What you watch and rate now shapes your feed.")
    return redirect(_back(url_for("pages.feed_page")))


@pages.post("/me/leave")
def leave():
    session.pop("user_id", None)
    return redirect(url_for("pages.search_page"))
