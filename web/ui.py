"""The web UI: server-rendered pages over the same engine and catalog as the JSON API.

Search (`/`), watch (`/watch/<id>`), the feed (`/for-you`), the library, admin, signing in (`/login`,
`/setup` for the first admin) and your account (`/me`). Who is asking is `auth`'s business (a signed
cookie session, or an auth proxy's header). Every POST here carries the session's CSRF token (a form
field, or the X-CSRF-Token header from page scripts).

This module is the UI's one blueprint, `pages`: every page's URL and the hooks all pages share. The
views live by page in ui_search, ui_watch, ui_users, ui_library, ui_people, ui_admin and ui_account; the
page hooks in ui_session; the template filters in ui_display.
"""
from __future__ import annotations

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from . import (i18n, ui_messages, ui_account, ui_admin, ui_display, ui_library, ui_people, ui_search, ui_session, ui_users,
               ui_watch)

pages = Blueprint("pages", __name__)

pages.record_once(ui_session.configure)  # the session key and cookie, once per app
pages.before_request(ui_session.check_csrf)
pages.register_error_handler(HTTPException, ui_session.page_error)
pages.app_context_processor(ui_session.layout_values)
pages.add_app_template_filter(ui_display.clock, "clock")
pages.add_app_template_filter(ui_display.language_name, "language_name")
pages.add_app_template_filter(ui_display.marked, "marked")
pages.add_app_template_filter(ui_display.status_name, "status_name")
pages.add_app_template_filter(ui_display.emotion_name, "emotion_name")
pages.add_app_template_filter(ui_messages.reason, "reason")
pages.add_app_template_filter(ui_messages.visual_state, "visual_state")
pages.add_app_template_filter(ui_messages.notice, "notice")
pages.add_app_template_global(ui_display.data, "data")
pages.after_request(ui_session.vary_by_language)

# (rule, method, view); each view's endpoint is its function's name: url_for("pages.watch_page", ...)
URLS = [
    ("/", "GET", ui_search.search_page),
    ("/picture", "POST", ui_search.picture_search),
    ("/watch/<id:video_id>", "GET", ui_watch.watch_page),
    ("/ui/events", "POST", ui_watch.player_event),
    ("/watch/<id:video_id>/rate", "POST", ui_watch.rate),
    ("/for-you", "GET", ui_users.feed_page),
    ("/library", "GET", ui_library.library_page),
    ("/people", "GET", ui_people.people_page),
    ("/people/<id:person_id>", "GET", ui_people.person_page),
    ("/people/<id:person_id>/<any(name, hide, show, merge, split, forget):action>", "POST", ui_people.person_action),
    ("/admin", "GET", ui_admin.admin_page),
    ("/admin/jobs", "GET", ui_admin.admin_jobs_fragment),
    ("/admin/login", "POST", ui_admin.admin_login),
    ("/admin/logout", "POST", ui_admin.admin_logout),
    ("/admin/<any(index, retry, reindex):action>", "POST", ui_admin.admin_action),
    ("/admin/users", "POST", ui_admin.create_user),
    ("/admin/users/<id:user_id>/<any(claim, admin, viewer, remove):action>", "POST", ui_admin.user_action),
    ("/login", "GET", ui_account.sign_in_page),
    ("/login", "POST", ui_account.sign_in),
    ("/logout", "POST", ui_account.sign_out),
    ("/setup", "GET", ui_account.setup_page),
    ("/setup", "POST", ui_account.setup),
    ("/me", "GET", ui_account.account_page),
    ("/me/password", "POST", ui_account.change_password),
    ("/me/keys", "POST", ui_account.create_key),
    ("/me/keys/<id:key_id>/revoke", "POST", ui_account.revoke_key),
    ("/me/export", "GET", ui_account.export_account),
    ("/me/delete", "POST", ui_account.delete_account),
    ("/lang/<any(en, 'zh-Hans'):tag>", "GET", i18n.switch_language),
]
for rule, method, view in URLS:
    pages.add_url_rule(rule, view_func=view, methods=[method])
