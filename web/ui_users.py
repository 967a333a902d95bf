"""Who is watching: picking a user (`/me`) and their "For you" feed (`/for-you`)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from sqlalchemy import select

from catalog import User, Video
from search.recommend import UnknownUser
from search.recommend import events as user_events

from .api import first_keyframes, thumbnail_url
from .extensions import current_catalog
from .ui_session import back, current_user
from .ui_watch import ratings

FEED_SIZE = 24
MAX_USER_NAME = 64


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


def feed_page():
    user = current_user()
    items, available = [], True
    if user is not None:
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


def me():
    with current_catalog().session() as s:
        users = [{"id": u.id, "name": u.name} for u in s.scalars(select(User).order_by(User.name, User.id).limit(500))]
    return render_template("me.html", users=users, next=request.args.get("next", ""))


def choose_user():
    name = " ".join(request.form.get("name", "").split())
    picked = request.form.get("user_id", "")
    with current_catalog().session() as s:
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
    return redirect(back(url_for("pages.feed_page")))


def leave():
    session.pop("user_id", None)
    return redirect(url_for("pages.search_page"))
