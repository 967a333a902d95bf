"""The search page (`/`): the box, the filters, the results (whole or as the fragment page scripts swap in)."""
from __future__ import annotations

import math

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from catalog import Tag, TagKind, Video, VideoStatus
from people.library import people_choices
from search.channels import VISUAL
from search.request import MODES, QueryError, SearchRequest

from .api import first_keyframes, thumbnail_url
from .extensions import current_catalog, current_engine
from .ui_display import TAG_MIN_CONFIDENCE
from .ui_messages import refusal
from .search_api import PictureError, picture_vector
from .videos_api import VIDEO_SORTS

RESULTS_PER_PAGE = 24
# Durations a person thinks in, as the engine's min/max video duration (seconds).
DURATIONS = {"short": (_l("under 1 min"), None, 60.0), "medium": (_l("1–10 min"), 60.0, 600.0),
             "long": (_l("over 10 min"), 600.0, None)}


def _tag_choices() -> dict[str, list[str]]:
    """Labels that exist in the catalog, by kind: the filter menus offer only what can match."""
    with current_catalog().session() as s:
        rows = s.execute(select(Tag.kind, Tag.label).where(Tag.owner_kind != "video").distinct()).all()
    choices: dict[str, list[str]] = {}
    for kind, label in rows:
        choices.setdefault(kind, []).append(label)
    return {k: sorted(v) for k, v in choices.items()}


def _moment_tags(moments) -> list[list[tuple[str, str]]]:
    """For each moment, the strongest emotion and content labels on the stretch it covers."""
    if not moments:
        return []
    with current_catalog().session() as s:
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


def _languages() -> list[str]:
    """The languages the library's videos are spoken in: the filter offers only what can match."""
    with current_catalog().session() as s:
        return sorted(code for code in s.scalars(select(Video.language).where(
            Video.status == VideoStatus.INDEXED, Video.language.is_not(None)).distinct()) if code)


def _person_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 2**31 else None


def _moment_at(raw_video: str | None, raw_at: str | None) -> tuple[int, float] | None:
    """"More like this": the video and second the link names, when they are numbers."""
    try:
        video, at = int(raw_video or ""), float(raw_at or "")
    except ValueError:
        return None
    return (video, at) if 0 < video < 2**31 and math.isfinite(at) and at >= 0 else None


def _recent_videos(limit: int = 8) -> list[dict]:
    with current_catalog().session() as s:
        videos = s.scalars(select(Video).where(Video.status == VideoStatus.INDEXED)
                           .order_by(*VIDEO_SORTS["added"]).limit(limit)).all()
        firsts = first_keyframes(s, [v.id for v in videos])
        return [{"id": v.id, "title": v.title, "duration": v.duration, "thumbnail_url": thumbnail_url(firsts.get(v.id))}
                for v in videos]


def _parse_offset(raw: str | None) -> int:
    try:
        return min(max(int(raw or 0), 0), 1000 - RESULTS_PER_PAGE)
    except ValueError:
        return 0


def search_page():
    return _search_page()


def picture_search():
    """The search box's "with a picture" form: an uploaded image, and any words, looked for together."""
    engine = current_engine()
    if not engine.visual_availability().enabled:
        return _search_page(error=_("Searching with a picture needs CLIP weights, and this server has none."))
    upload = request.files.get("picture")
    if upload is None or not upload.filename:
        return _search_page(error=_("Choose a picture to search with."))
    try:
        vector = picture_vector(engine, upload)
    except PictureError as exc:
        return _search_page(error=refusal(exc, str(exc)))
    return _search_page(picture=vector)


def _search_page(picture=None, error=None):
    form = {"q": request.args.get("q", "").strip()[:500], "mode": request.args.get("mode", "hybrid"),
            "dur": request.args.get("dur", ""), "emotion": request.args.get("emotion", ""),
            "tag": request.args.get("tag", ""), "lang": request.args.get("lang", "")[:16],
            "then": request.args.get("then", "").strip()[:500], "person": _person_id(request.args.get("person"))}
    like = _moment_at(request.args.get("like"), request.args.get("at"))
    keyframe = request.args.get("keyframe", "")
    if picture is None and error is None and keyframe.isdigit() and 0 < int(keyframe) < 2**31:
        if not current_engine().visual_availability().enabled:
            error = _("Searching with a picture needs CLIP weights, and this server has none.")
        else:
            picture = current_engine().stored_vector(VISUAL, int(keyframe))
            error = None if picture is not None else _("This frame has no picture vector from the current model yet.")
    if picture is not None and request.method == "POST":
        form["q"] = request.form.get("q", "").strip()[:500]
        form["picture"] = True
    offset = _parse_offset(request.args.get("offset"))
    visual = current_engine().visual_availability()
    choices = _tag_choices()
    result, tags = None, []
    browsing = bool(form["emotion"] or form["tag"] or form["person"])  # filters alone list the tagged moments
    languages = _languages()
    if error is not None:
        pass
    elif picture is not None:
        result = (current_engine().search(SearchRequest(text=form["q"], k=RESULTS_PER_PAGE, picture=picture))
                  if form["q"] else current_engine().search_by_vector(picture, RESULTS_PER_PAGE))
        tags = _moment_tags(result.moments)
    elif like is not None:
        with current_catalog().session() as s:
            source = s.get(Video, like[0])
            like_title = source.title if source is not None and source.status == VideoStatus.INDEXED else None
        if like_title is None:
            error = _("There is no video %(id)s in this library.", id=like[0])
        else:
            result = current_engine().more_like_moment(like[0], like[1], RESULTS_PER_PAGE)
            tags = _moment_tags(result.moments)
            form["like_title"], form["like_at"] = like_title, like[1]
    elif form["q"] or browsing or form["then"]:
        dur = DURATIONS.get(form["dur"])
        search = SearchRequest(text=form["q"], k=RESULTS_PER_PAGE, offset=offset,
                               mode=form["mode"] if form["mode"] in MODES else "hybrid",
                               min_duration=dur[1] if dur else None, max_duration=dur[2] if dur else None,
                               emotions=[form["emotion"]] if form["emotion"] else None,
                               tags=[form["tag"]] if form["tag"] else None,
                               languages=[form["lang"]] if form["lang"] else None, then=form["then"] or None,
                               people=[form["person"]] if form["person"] else None)
        try:
            result = current_engine().search(search)
            tags = _moment_tags(result.moments)
        except QueryError as exc:
            error = refusal(exc, str(exc))
    context = {"form": form, "offset": offset, "result": result, "error": error, "tags": tags,
               "visual": visual, "durations": DURATIONS, "choices": choices, "languages": languages,
               "emotion_filter": bool(choices.get(TagKind.EMOTION)),
               "tag_filter": any(choices.get(k) for k in (TagKind.SCENE, TagKind.OBJECT)),
               "per_page": RESULTS_PER_PAGE}
    if request.headers.get("X-Fragment") == "results":
        response = current_app.make_response(render_template("_results.html", **context))
    else:
        context["recent"] = [] if result is not None or error else _recent_videos()
        with current_catalog().session() as s:
            context["people"] = people_choices(s)  # the filter's menu: the page, not the results fragment
        context["video_count"] = current_catalog().counts()["by_status"][VideoStatus.INDEXED]
        response = current_app.make_response(render_template("search.html", **context))
    response.vary.add("X-Fragment")
    return response
