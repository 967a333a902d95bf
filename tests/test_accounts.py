"""Accounts and privacy: each viewer's history and feed are theirs alone (SQLite and PostgreSQL).

Over HTTP through the real app: who may read and change what, sign-in and its limits, API keys,
CSRF, library roots, export and deletion, the proxy mode, and users from before accounts.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command

from catalog import Catalog, Event, User, Video, VideoStatus, alembic_config, upgrade
from tests.conftest import (PASSWORD, api_key, keyed_client, make_account, make_settings, run_cli, session_csrf,
                            sign_in)
from web import create_app

ADMIN_TOKEN = "site-admin-token-for-tests"


@pytest.fixture
def site(catalog, catalog_url, tmp_path):
    """A served catalog with two videos (one failed), viewers Ann and Bob, and admin Ada."""
    with catalog.session() as s:
        good = Video(path="/library/cooking.mp4", title="cooking", status=VideoStatus.INDEXED, duration=60.0)
        bad = Video(path="/etc/passwd", title="passwd", status=VideoStatus.FAILED, error="no video or audio stream")
        s.add_all([good, bad])
        s.commit()
        ids = {"good": good.id, "failed": bad.id}
    settings = make_settings(tmp_path / "data", database_url=catalog_url, admin_token=ADMIN_TOKEN)
    app = create_app(settings)
    people = {name: make_account(catalog, name, admin=name == "ada") for name in ("ann", "bob", "ada")}
    for name in ("ann", "bob"):
        with catalog.session() as s:
            s.add(Event(user_id=people[name], video_id=ids["good"], type="search", query=f"{name}'s secret search"))
            s.commit()
    return {"app": app, "catalog": catalog, "ids": ids, "people": people, "settings": settings}


def user_routes(user_id: int) -> list[tuple[str, str, dict | None]]:
    """Every route that reads or changes one user's data, with a body a valid request would send."""
    return [
        ("GET", f"/api/v1/users/{user_id}", None),
        ("GET", f"/api/v1/users/{user_id}/history", None),
        ("DELETE", f"/api/v1/users/{user_id}/history", None),
        ("GET", f"/api/v1/users/{user_id}/recommendations", None),
        ("DELETE", f"/api/v1/users/{user_id}", None),
        ("POST", "/api/v1/events", {"user_id": user_id, "video_id": 1, "type": "like"}),
        ("POST", "/api/v1/events/batch", {"events": [{"user_id": user_id, "video_id": 1, "type": "like"}]}),
    ]


def me_routes() -> list[tuple[str, str, dict | None]]:
    return [("GET", "/api/v1/me", None), ("GET", "/api/v1/me/export", None), ("GET", "/api/v1/me/keys", None),
            ("POST", "/api/v1/me/keys", {"name": "x"}), ("DELETE", "/api/v1/me/keys/1", None),
            ("DELETE", "/api/v1/me", None), ("GET", "/api/v1/users", None),
            ("POST", "/api/v1/users", {"username": "eve", "password": PASSWORD})]


def history_total(catalog: Catalog, user_id: int) -> int:
    with catalog.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.user_id == user_id))


def test_without_credentials_every_user_scoped_route_answers_401(site):
    client, ann = site["app"].test_client(), site["people"]["ann"]
    for method, url, body in user_routes(ann) + me_routes():
        response = client.open(url, method=method, json=body)
        assert response.status_code == 401, (method, url, response.get_json())
        assert "sign in" in response.get_json()["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert history_total(site["catalog"], ann) == 1  # nothing was recorded, nothing deleted
    for page in ("/for-you", "/me"):
        assert client.get(page).headers["Location"].startswith("/login")


def test_a_viewer_reads_and_changes_only_their_own_data(site):
    people, catalog = site["people"], site["catalog"]
    ann = keyed_client(site["app"], api_key(catalog, people["ann"]))
    for method, url, body in user_routes(people["bob"]) + user_routes(424242):
        response = ann.open(url, method=method, json=body)
        assert response.status_code == 403, (method, url, response.get_json())
    assert history_total(catalog, people["bob"]) == 1
    assert ann.get("/api/v1/users").status_code == 403
    own = ann.get(f"/api/v1/users/{people['ann']}/history").get_json()
    assert [e["query"] for e in own["events"]] == ["ann's secret search"]
    stored = ann.post("/api/v1/events", json={"video_id": site["ids"]["good"], "type": "like"})  # user_id left out
    assert stored.status_code == 201
    assert history_total(catalog, people["ann"]) == 2
    assert ann.get(f"/api/v1/users/{people['ann']}/recommendations").status_code == 200


def test_an_admin_manages_users_and_the_admin_token_still_works(site):
    people, catalog = site["people"], site["catalog"]
    for client in (keyed_client(site["app"], api_key(catalog, people["ada"])), keyed_client(site["app"], ADMIN_TOKEN)):
        listed = client.get("/api/v1/users").get_json()
        assert [u["username"] for u in listed["users"]] == ["ann", "bob", "ada"]
        assert client.get(f"/api/v1/users/{people['bob']}/history").get_json()["total"] == 1
        assert client.get("/api/v1/users/424242").status_code == 404
    admin = keyed_client(site["app"], ADMIN_TOKEN)
    made = admin.post("/api/v1/users", json={"username": "Eve", "password": PASSWORD})
    assert made.status_code == 201 and made.get_json()["username"] == "eve"
    taken = admin.post("/api/v1/users", json={"username": "eve", "password": PASSWORD})
    assert taken.status_code == 422 and "taken" in taken.get_json()["message"]
    assert admin.post("/api/v1/events", json={"video_id": site["ids"]["good"], "type": "like"}).status_code == 422
    assert admin.get("/api/v1/me").status_code == 403  # the token is no one's account


def test_sign_in_says_the_same_for_a_wrong_name_and_a_wrong_password_and_slows_a_guesser(site):
    client = site["app"].test_client()
    wrong_name, wrong_password = sign_in(client, "nobody", PASSWORD), sign_in(client, "ann", "not the password")
    assert wrong_name.status_code == wrong_password.status_code == 401
    assert b"Wrong user name or password." in wrong_name.data and b"Wrong user name or password." in wrong_password.data
    for _ in range(8):  # ten failures a minute from one address
        sign_in(client, "ann", "guess")
    refused = sign_in(client, "ann", PASSWORD)
    assert refused.status_code == 429 and b"too many failed sign-ins" in refused.data
    other_address = site["app"].test_client()
    other_address.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert sign_in(other_address, "ann", PASSWORD).status_code == 302


def test_a_forged_cross_site_post_is_refused(site):
    catalog, ann = site["catalog"], site["people"]["ann"]
    client = site["app"].test_client()
    assert sign_in(client, "ann").status_code == 302
    video = site["ids"]["good"]
    forged_api = client.post("/api/v1/events", json={"video_id": video, "type": "like"})
    assert forged_api.status_code == 403 and "X-CSRF-Token" in forged_api.get_json()["message"]
    forged_form = client.post(f"/watch/{video}/rate", data={"rating": "like"})
    assert forged_form.status_code == 400
    assert client.delete(f"/api/v1/users/{ann}/history").status_code == 403
    assert history_total(catalog, ann) == 1
    token = session_csrf(client)
    same_site = client.post("/api/v1/events", json={"video_id": video, "type": "like"}, headers={"X-CSRF-Token": token})
    assert same_site.status_code == 201 and history_total(catalog, ann) == 2


def test_the_session_cookie_is_http_only_same_site_and_secure_over_https(site):
    client = site["app"].test_client()
    cookie = sign_in(client, "ann").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = site["app"].test_client()
    secure.get("/login", base_url="https://reelscope.example")
    with secure.session_transaction(base_url="https://reelscope.example") as s:
        token = s["csrf"]
    over_https = secure.post("/login", base_url="https://reelscope.example",
                             data={"username": "ann", "password": PASSWORD, "csrf_token": token})
    assert "Secure" in over_https.headers["Set-Cookie"]


def test_every_response_carries_the_security_headers(site):
    client = site["app"].test_client()
    for url in ("/", "/login", "/api/v1/status", "/api/v1/users", "/no-such-page"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_new_password_signs_out_the_other_sessions(site):
    phone, laptop = site["app"].test_client(), site["app"].test_client()
    sign_in(phone, "ann"), sign_in(laptop, "ann")
    changed = laptop.post("/me/password", data={"current": PASSWORD, "password": "a whole new password",
                                                 "password_again": "a whole new password",
                                                 "csrf_token": session_csrf(laptop)})
    assert changed.status_code == 302
    assert laptop.get("/api/v1/me").status_code == 200
    assert phone.get("/api/v1/me").status_code == 401
    assert sign_in(phone, "ann", "a whole new password").status_code == 302


def test_api_keys_work_until_revoked(site):
    client = site["app"].test_client()
    sign_in(client, "bob")
    made = client.post("/api/v1/me/keys", json={"name": "phone app"}, headers={"X-CSRF-Token": session_csrf(client)})
    assert made.status_code == 201
    key = made.get_json()
    script = keyed_client(site["app"], key["key"])
    assert script.get("/api/v1/me").get_json()["username"] == "bob"
    listed = client.get("/api/v1/me/keys").get_json()["keys"]
    assert [k["name"] for k in listed] == ["phone app"] and "key" not in listed[0]
    assert listed[0]["last_used_at"] is not None
    assert keyed_client(site["app"], api_key(site["catalog"], site["people"]["ann"])).delete(
        f"/api/v1/me/keys/{key['id']}").status_code == 404  # not Ann's to revoke
    assert client.delete(f"/api/v1/me/keys/{key['id']}", headers={"X-CSRF-Token": session_csrf(client)}).status_code == 204
    refused = script.get("/api/v1/me")
    assert refused.status_code == 401 and "not valid" in refused.get_json()["message"]
    page = script.get("/")  # a page asked with a dead key says so, too (and is no 500)
    assert page.status_code == 401 and b"not valid" in page.data


def test_a_viewer_exports_and_deletes_their_account_with_its_searches(site):
    catalog, bob = site["catalog"], site["people"]["bob"]
    client = site["app"].test_client()
    sign_in(client, "bob")
    exported = client.get("/me/export")
    assert "attachment" in exported.headers["Content-Disposition"]
    data = json.loads(exported.data)
    assert data["account"]["username"] == "bob"
    assert [e["query"] for e in data["events"]] == ["bob's secret search"]
    wrong = client.post("/me/delete", data={"password": "not it", "csrf_token": session_csrf(client)})
    assert wrong.status_code == 403 and history_total(catalog, bob) == 1
    gone = client.post("/me/delete", data={"password": PASSWORD, "csrf_token": session_csrf(client)})
    assert gone.status_code == 302
    with catalog.session() as s:
        assert s.get(User, bob) is None
    assert history_total(catalog, bob) == 0
    assert history_total(catalog, site["people"]["ann"]) == 1
    assert client.get("/api/v1/me").status_code == 401
    assert sign_in(client, "bob").status_code == 401


def test_a_deleted_users_cookie_does_not_open_the_next_account_given_their_id(site):
    catalog = site["catalog"]
    zed = make_account(catalog, "zed")  # the newest row: SQLite gives its id to the next user
    phone = site["app"].test_client()
    sign_in(phone, "zed")
    assert keyed_client(site["app"], api_key(catalog, zed)).delete("/api/v1/me").get_json() == {"deleted": zed}
    newcomer = make_account(catalog, "yan")
    if catalog.engine.dialect.name == "sqlite":
        assert newcomer == zed
    assert phone.get("/api/v1/me").status_code == 401


def test_failures_of_admin_jobs_are_shown_to_admins_not_viewers(site):
    ids, catalog = site["ids"], site["catalog"]
    viewer = keyed_client(site["app"], api_key(catalog, site["people"]["ann"]))
    anyone = site["app"].test_client()
    admin = keyed_client(site["app"], ADMIN_TOKEN)
    for client in (viewer, anyone):
        assert [v["id"] for v in client.get("/api/v1/videos").get_json()["videos"]] == [ids["good"]]
        assert client.get(f"/api/v1/videos/{ids['failed']}").status_code == 404
        assert client.get("/api/v1/status").get_json()["failed"] == []
        assert b"passwd" not in client.get("/library").data
    assert {v["id"] for v in admin.get("/api/v1/videos").get_json()["videos"]} == set(ids.values())
    assert admin.get("/api/v1/status").get_json()["failed"][0]["path"] == "/etc/passwd"
    signed_in_admin = site["app"].test_client()
    sign_in(signed_in_admin, "ada")
    assert b"passwd" in signed_in_admin.get("/library").data


def test_admin_index_accepts_only_paths_inside_the_library_roots(site, tmp_path):
    library, outside = tmp_path / "library", tmp_path / "elsewhere"
    library.mkdir(), outside.mkdir()
    (outside / "secret.mp4").write_bytes(b"not for the web")
    (library / "escape").symlink_to(outside, target_is_directory=True)
    (library / "link.mp4").symlink_to(outside / "secret.mp4")
    settings = make_settings(site["settings"].data_dir, database_url=site["settings"].database_url,
                             admin_token=ADMIN_TOKEN, library_roots=str(library))
    admin = keyed_client(create_app(settings), ADMIN_TOKEN)
    for path in ("/etc/passwd", str(outside), str(library / "escape"), str(library / "link.mp4"),
                 str(library / ".." / "elsewhere" / "secret.mp4")):
        refused = admin.post("/api/v1/admin/index", json={"path": path})
        assert refused.status_code == 403, (path, refused.get_json())
        assert "outside the library folders" in refused.get_json()["message"]
    # walking the root itself finds the link and leaves it out
    walked = admin.post("/api/v1/admin/index", json={"path": str(library)})
    assert walked.status_code == 202, walked.get_json()
    assert (walked.get_json()["files"], walked.get_json()["skipped"]) == (0, 1)
    assert "links leading out" in walked.get_json()["notes"][0]
    with site["catalog"].session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Video).where(Video.path.like(f"{outside}%"))) == 0
    viewer = keyed_client(create_app(settings), api_key(site["catalog"], site["people"]["ann"]))
    assert viewer.post("/api/v1/admin/index", json={"path": str(library)}).status_code == 403


def test_without_configured_roots_the_folders_already_indexed_are_the_roots(site):
    admin = keyed_client(site["app"], ADMIN_TOKEN)
    inside = admin.post("/api/v1/admin/index", json={"path": "/library/new.mp4"})
    assert inside.status_code == 404 and "does not exist" in inside.get_json()["message"]  # inside /library
    outside = admin.post("/api/v1/admin/index", json={"path": "/etc"})  # a failure there makes it no root
    assert outside.status_code == 403 and "/library" in outside.get_json()["message"]


def test_the_admin_page_makes_claims_promotes_and_removes_accounts(site):
    catalog, people = site["catalog"], site["people"]
    with catalog.session() as s:
        grandpa = User(name="Grandpa")  # a user from before accounts
        s.add(grandpa)
        s.commit()
        grandpa = grandpa.id
    viewer = site["app"].test_client()
    sign_in(viewer, "ann")
    assert viewer.post("/admin/users", data={"username": "cy", "password": PASSWORD,
                                             "csrf_token": session_csrf(viewer)}).status_code == 403
    admin = site["app"].test_client()
    sign_in(admin, "ada")
    page = admin.get("/admin").data.decode()
    assert "<title>Admin · Reelscope</title>" in page and page.count('id="users-h"') == 1
    assert "from before accounts" in page and "Grandpa" in page

    def post(url, **form):
        return admin.post(url, data={**form, "csrf_token": session_csrf(admin)})

    assert post("/admin/users", username="cy", password=PASSWORD, name="Cy").status_code == 302
    assert post(f"/admin/users/{grandpa}/claim", username="grandpa", password=PASSWORD).status_code == 302
    assert post(f"/admin/users/{people['bob']}/admin").status_code == 302
    with catalog.session() as s:
        cy = s.scalar(sa.select(User).where(User.username == "cy"))
        assert cy.name == "Cy" and not cy.is_admin
        assert s.get(User, people["bob"]).is_admin
        cy = cy.id
    assert sign_in(site["app"].test_client(), "grandpa").status_code == 302
    assert post(f"/admin/users/{cy}/remove").status_code == 302
    with catalog.session() as s:
        assert s.get(User, cy) is None
    assert post("/admin/users/424242/remove").status_code == 404


def test_the_first_admin_is_made_through_the_ui_once(empty_catalog):
    settings, catalog = empty_catalog
    client = create_app(settings).test_client()
    page = client.get("/login")
    assert b"Make the first admin account" in page.data
    client.get("/setup")
    made = client.post("/setup", data={"username": "root", "password": PASSWORD, "password_again": PASSWORD,
                                       "csrf_token": session_csrf(client)})
    assert made.status_code == 302 and made.headers["Location"] == "/admin"
    assert client.get("/admin").status_code == 200
    assert client.get("/api/v1/me").get_json()["is_admin"] is True
    late = create_app(settings).test_client()
    assert late.get("/setup").status_code == 404
    late.get("/login")
    assert late.post("/setup", data={"username": "mallory", "password": PASSWORD, "password_again": PASSWORD,
                                     "csrf_token": session_csrf(late)}).status_code == 404


def test_on_a_server_with_users_only_the_admin_token_makes_the_first_admin(empty_catalog):
    from dataclasses import replace

    settings, catalog = empty_catalog
    make_account(catalog, "early")  # e.g. the demo viewer, or users from before accounts
    assert b"reelscope users create" in create_app(settings).test_client().get("/setup").data
    client = create_app(replace(settings, admin_token=ADMIN_TOKEN)).test_client()
    client.get("/setup")
    form = {"username": "mallory", "password": PASSWORD, "password_again": PASSWORD}
    refused = client.post("/setup", data={**form, "token": "a guess", "csrf_token": session_csrf(client)})
    assert refused.status_code == 403
    with catalog.session() as s:
        assert not s.scalar(sa.select(sa.func.count()).select_from(User).where(User.is_admin.is_(True)))
    made = client.post("/setup", data={**form, "username": "owner", "token": ADMIN_TOKEN,
                                       "csrf_token": session_csrf(client)})
    assert made.status_code == 302 and client.get("/api/v1/me").get_json()["username"] == "owner"


def test_a_server_can_keep_its_whole_library_for_signed_in_users(site):
    from dataclasses import replace

    app = create_app(replace(site["settings"], sign_in_required=True))
    anyone = app.test_client()
    video = site["ids"]["good"]
    for url in ("/api/v1/search?q=bread", "/api/v1/videos", f"/api/v1/videos/{video}/media", "/api/v1/status"):
        assert anyone.get(url).status_code == 401, url
    for page in ("/", f"/watch/{video}", "/library"):
        assert anyone.get(page).headers["Location"].startswith("/login"), page
    assert anyone.get("/login").status_code == 200 and anyone.get("/api/v1/openapi.json").status_code == 200
    assert sign_in(anyone, "ann").status_code == 302
    assert anyone.get("/api/v1/videos").status_code == 200 and anyone.get("/library").status_code == 200
    assert keyed_client(app, api_key(site["catalog"], site["people"]["bob"])).get("/api/v1/videos").status_code == 200


def test_proxy_mode_believes_the_header_only_from_trusted_addresses(empty_catalog):
    settings, catalog = empty_catalog
    from dataclasses import replace

    app = create_app(replace(settings, auth="proxy", auth_header="X-Forwarded-User", trusted_proxies="10.0.0.0/8"))
    proxy = app.test_client()
    proxy.environ_base.update(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_USER="carol")
    me = proxy.get("/api/v1/me")
    assert me.status_code == 200 and me.get_json()["username"] == "carol"
    assert proxy.get("/me").status_code == 200
    direct = app.test_client()
    direct.environ_base.update(REMOTE_ADDR="192.168.1.9", HTTP_X_FORWARDED_USER="carol")
    assert direct.get("/api/v1/me").status_code == 401
    with catalog.session() as s:
        assert [u.username for u in s.scalars(sa.select(User))] == ["carol"]
    # a browser behind the proxy still needs the page's CSRF token for a change
    assert proxy.post("/api/v1/me/keys", json={"name": "x"}).status_code == 403


def test_users_from_before_accounts_are_kept_and_an_admin_claims_them(catalog_url, tmp_path):
    command.upgrade(alembic_config(catalog_url), "0005")
    engine = sa.create_engine(catalog_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (name, created_at) VALUES ('Grandma', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO events (user_id, type, query, at, received_at) "
                             "VALUES (1, 'search', 'knitting', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    engine.dispose()
    upgrade(catalog_url)
    catalog = Catalog(catalog_url)
    try:
        settings = make_settings(tmp_path / "data", database_url=catalog_url)
        listed = run_cli(["users", "list", "--json"], settings)
        assert listed.returncode == 0, listed.stderr
        assert [(u["name"], u["claimed"]) for u in json.loads(listed.stdout)] == [("Grandma", False)]
        client = create_app(settings).test_client()
        assert sign_in(client, "grandma").status_code == 401  # unclaimed: nobody can sign in as her
        claimed = run_cli(["users", "claim", "1", "grandma", "--password", PASSWORD], settings)
        assert claimed.returncode == 0, claimed.stderr
        assert sign_in(client, "grandma").status_code == 302
        history = client.get("/api/v1/users/1/history").get_json()
        assert [e["query"] for e in history["events"]] == ["knitting"]
    finally:
        catalog.dispose()


def test_the_cli_makes_an_admin_and_a_key_a_script_can_use(empty_catalog):
    settings, catalog = empty_catalog
    made = run_cli(["users", "create", "ops", "--admin", "--password", PASSWORD], settings)
    assert made.returncode == 0 and "made admin ops" in made.stdout, made.stderr
    key = run_cli(["users", "key", "ops", "--name", "backup script"], settings)
    assert key.returncode == 0, key.stderr
    script = keyed_client(create_app(settings), key.stdout.strip())
    assert script.get("/api/v1/users").get_json()["users"][0]["username"] == "ops"
    assert run_cli(["users", "remove", "ops"], settings).returncode == 1  # the last admin stays
