"""The people pages: everyone seen or heard (`/people`), one person (`/people/<id>`) with their faces
and where they are; an admin names, hides, merges, splits and forgets people here (the API's functions)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from catalog import Person
from people import library

from . import auth
from .extensions import current_catalog
from .people_api import people_list, person_detail


def people_page():
    admin = auth.caller_is_admin()
    with current_catalog().session() as s:
        people = people_list(s, include_hidden=admin)
    return render_template("people.html", people=people, admin=admin, nav="pages.people_page",
                           enabled=current_app.config["REELSCOPE"].people)


def person_page(person_id):
    admin = auth.caller_is_admin()
    with current_catalog().session() as s:
        person = s.get(Person, person_id)
        if person is None or (person.hidden and not admin):
            abort(404)
        detail = person_detail(s, person)
        others = [p for p in library.list_people(s, include_hidden=admin) if p["id"] != person_id] if admin else []
    return render_template("person.html", person=detail, admin=admin, others=others, nav="pages.people_page")


def person_action(person_id, action):
    auth.admin()
    with current_catalog().session() as s, s.begin():
        person = s.get(Person, person_id)
        if person is None:
            abort(404)
        if action == "name":
            person.name = request.form.get("name", "").strip()[:200] or None
            flash(_("Saved."))
        elif action in ("hide", "show"):
            person.hidden = action == "hide"
            flash(_("Hidden: this person is still recognised, but not listed or searchable.") if person.hidden
                  else _("Shown again."))
        elif action == "merge":
            other = request.form.get("other", "")
            others = [s.get(Person, int(other))] if other.isdigit() and int(other) < 2**31 else []
            if not others or others[0] is None or others[0].id == person.id:
                flash(_("Choose someone else to merge."), "error")
            else:
                library.merge(s, person, others)
                flash(_("Merged: their faces and voice are this person's now."))
        elif action == "split":
            faces = [int(f) for f in request.form.getlist("face") if f.isdigit() and int(f) < 2**31]
            try:
                new = library.split(s, person, faces)
            except ValueError:
                flash(_("Tick the faces that are someone else first."), "error")
            else:
                flash(_("Split: the ticked faces are a person of their own now."))
                s.flush()
                return redirect(url_for("pages.person_page", person_id=new.id))
        else:  # forget
            library.forget(s, person, current_app.config["REELSCOPE"].thumbnails_dir)
            flash(_("Forgotten: their faces and voice were removed."))
            return redirect(url_for("pages.people_page"))
    return redirect(url_for("pages.person_page", person_id=person_id))
