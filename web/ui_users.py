"""The signed-in user's "For you" feed (`/for-you`)."""
from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import select

from catalog import Video
from search.recommend import UnknownUser

from .api import first_keyframes, thumbnail_url
from .extensions import current_catalog
from .ui_session import sign_in_redirect, viewer
from .ui_watch import ratings

FEED_SIZE = 24


def _recommendations(user_id: int, k: int) -> list | None:
    """The recommender's feed (the same as GET /api/v1/users/<id>/recommendations), None without one."""
    recommender = current_app.extensions.get("recommender")
    if recommender is None:
        return None
    try:
        return recommender.recommend(user_id, k).items
    except UnknownUser:
        return []


def feed_page():
    user = viewer()
    if user is None:
        return sign_in_redirect()
    items = []
    feed = _recommendations(user.id, FEED_SIZE)
    available = feed is not None
    ids = [item.video_id for item in feed or []]
    with current_catalog().session() as s:
        videos = {v.id: v for v in s.scalars(select(Video).where(Video.id.in_(ids)))}
        firsts = first_keyframes(s, ids)
        rated = ratings(s, user.id, ids)
        for item in feed or []:
            video = videos.get(item.video_id)
            if video is None:
                continue
            items.append({"id": video.id, "title": video.title, "duration": video.duration,
                          "start": item.start, "thumbnail_url": thumbnail_url(firsts.get(video.id)),
                          "reasons": item.reasons, "rating": rated.get(video.id)})
    return render_template("foryou.html", items=items, available=available)
