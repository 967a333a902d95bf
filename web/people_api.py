"""People: who is seen and heard in the library. Anyone who may search may look; only an admin names,
hides, merges, splits or forgets a person."""
from __future__ import annotations

from pathlib import Path

import marshmallow as ma
from flask import current_app, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from werkzeug.security import safe_join

from catalog import Face, Person
from people import library

from . import auth
from .api import API_PREFIX, needs_caller
from .extensions import current_catalog

bp = Blueprint("people", __name__, url_prefix=API_PREFIX,
               description="People: faces and voices grouped across the library; changes need an admin")

MAX_IDS = 500
GALLERY = 60


def face_url(face_id: int | None) -> str | None:
    return f"{API_PREFIX}/faces/{face_id}/picture.jpg" if face_id else None


class PeopleArgs(ma.Schema):
    include_hidden = ma.fields.Boolean(load_default=False, metadata={"description": "hidden people too (admins)"})


class PersonSummary(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(allow_none=True)
    label = ma.fields.String(required=True, metadata={"description": "the name, or 'Person <id>' until named"})
    hidden = ma.fields.Boolean(required=True)
    faces = ma.fields.Integer(required=True)
    videos_seen = ma.fields.Integer(required=True)
    videos_heard = ma.fields.Integer(required=True)
    speaking_seconds = ma.fields.Float(required=True)
    picture_url = ma.fields.String(allow_none=True)


class PeopleList(ma.Schema):
    people = ma.fields.List(ma.fields.Nested(PersonSummary), required=True)
    enabled = ma.fields.Boolean(required=True, metadata={"description": "false with REELSCOPE_PEOPLE=0"})


class FaceSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    video_id = ma.fields.Integer(required=True)
    time = ma.fields.Float(required=True)
    picture_url = ma.fields.String(required=True)


class Appearance(ma.Schema):
    video_id = ma.fields.Integer(required=True)
    title = ma.fields.String(allow_none=True)
    appears = ma.fields.List(ma.fields.List(ma.fields.Float()), required=True,
                             metadata={"description": "[start, end] spans where the face is on screen"})
    speaks = ma.fields.List(ma.fields.List(ma.fields.Float()), required=True,
                            metadata={"description": "[start, end] spans where the voice speaks"})


class PersonDetail(PersonSummary):
    gallery = ma.fields.List(ma.fields.Nested(FaceSchema), required=True)
    timeline = ma.fields.List(ma.fields.Nested(Appearance), required=True)


class PersonEdit(ma.Schema):
    name = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200),
                            metadata={"description": "empty or null: unnamed again"})
    hidden = ma.fields.Boolean()


class MergeArgs(ma.Schema):
    people = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(1, 2**31 - 1)), required=True,
                            validate=ma.validate.Length(1, MAX_IDS),
                            metadata={"description": "people who are this person: their faces and voices join"})


class SplitArgs(ma.Schema):
    faces = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(1, 2**31 - 1)), required=True,
                           validate=ma.validate.Length(1, MAX_IDS),
                           metadata={"description": "this person's faces that are someone else"})


def _admin_only(view):
    return needs_caller(bp, view, forbidden="not an admin")


def _person(session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None or (person.hidden and not auth.caller_is_admin()):
        abort(404, message=f"no person with id {person_id}")
    return person


def _with_picture(summary: dict) -> dict:
    """A person's summary as the API and the pages show it: their first face as a picture URL."""
    summary["picture_url"] = face_url(summary.pop("cover_face"))
    return summary


def people_list(session, include_hidden: bool) -> list[dict]:
    return [_with_picture(body) for body in library.list_people(session, include_hidden)]


def person_detail(session, person: Person) -> dict:
    body = _with_picture(library.person_summary(session, person))
    faces = session.execute(select(Face.id, Face.video_id, Face.time).where(Face.person_id == person.id)
                            .order_by(Face.video_id, Face.time).limit(GALLERY)).all()
    body["gallery"] = [{"id": f.id, "video_id": f.video_id, "time": f.time, "picture_url": face_url(f.id)}
                       for f in faces]
    body["timeline"] = library.timeline(session, person.id)
    return body


@bp.route("/people")
class People(MethodView):
    @bp.arguments(PeopleArgs, location="query", as_kwargs=True)
    @bp.response(200, PeopleList)
    def get(self, include_hidden):
        """Everyone seen or heard, named first."""
        with current_catalog().session() as s:
            people = people_list(s, include_hidden and auth.caller_is_admin())
        return {"people": people, "enabled": current_app.config["REELSCOPE"].people}


@bp.route("/people/<id:person_id>")
class PersonById(MethodView):
    @bp.response(200, PersonDetail)
    @bp.alt_response(404, schema=None, description="no such person")
    def get(self, person_id):
        """One person: their faces and where in the library they are seen and heard."""
        with current_catalog().session() as s:
            return person_detail(s, _person(s, person_id))

    @bp.arguments(PersonEdit)
    @bp.response(200, PersonDetail)
    @bp.alt_response(404, schema=None, description="no such person")
    @_admin_only
    def patch(self, edit, person_id):
        """Name or hide a person (admin)."""
        auth.admin()
        with current_catalog().session() as s, s.begin():
            person = _person(s, person_id)
            if "name" in edit:
                person.name = (edit["name"] or "").strip() or None
            if "hidden" in edit:
                person.hidden = edit["hidden"]
            s.flush()
            return person_detail(s, person)

    @bp.response(204)
    @bp.alt_response(404, schema=None, description="no such person")
    @_admin_only
    def delete(self, person_id):
        """Forget a person (admin): their face descriptors, face pictures and voices are removed."""
        auth.admin()
        with current_catalog().session() as s, s.begin():
            library.forget(s, _person(s, person_id), current_app.config["REELSCOPE"].thumbnails_dir)
        return None


@bp.route("/people/<id:person_id>/merge")
class MergePeople(MethodView):
    @bp.arguments(MergeArgs)
    @bp.response(200, PersonDetail)
    @bp.alt_response(404, schema=None, description="no such person")
    @_admin_only
    def post(self, args, person_id):
        """These people are one (admin): theirs become this person's faces, voices and turns."""
        auth.admin()
        with current_catalog().session() as s, s.begin():
            into = _person(s, person_id)
            others = [_person(s, pid) for pid in sorted(set(args["people"]) - {person_id})]
            library.merge(s, into, others)
            s.flush()
            return person_detail(s, into)


@bp.route("/people/<id:person_id>/split")
class SplitPerson(MethodView):
    @bp.arguments(SplitArgs)
    @bp.response(201, PersonDetail)
    @bp.alt_response(404, schema=None, description="no such person")
    @bp.alt_response(422, schema=None, description="none of those faces is this person's")
    @_admin_only
    def post(self, args, person_id):
        """These faces are someone else (admin): a new person made of them."""
        auth.admin()
        with current_catalog().session() as s, s.begin():
            try:
                new = library.split(s, _person(s, person_id), args["faces"])
            except ValueError as exc:
                abort(422, message=str(exc))
            s.flush()
            return person_detail(s, new)


@bp.route("/faces/<id:face_id>/picture.jpg")
@bp.doc(responses={200: {"description": "JPEG of the face", "content": {"image/jpeg": {}}},
                   404: {"description": "no such face"}})
def face_picture(face_id):
    """One face's picture, cut from its keyframe."""
    with current_catalog().session() as s:
        face = s.get(Face, face_id)
        person = s.get(Person, face.person_id) if face is not None and face.person_id else None
        if face is None or (person is not None and person.hidden and not auth.caller_is_admin()):
            abort(404, message=f"no face with id {face_id}")
        relative = face.thumbnail
    path = safe_join(str(current_app.config["REELSCOPE"].thumbnails_dir), relative)
    if path is None or not Path(path).is_file():
        abort(404, message="the face picture is missing on disk; index the video again to make it")
    return send_file(path, mimetype="image/jpeg", conditional=True, max_age=86400)


