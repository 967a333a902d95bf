"""Admin JSON API: token rules, path checks, and real index jobs running in the background thread."""
from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest

from tests.conftest import make_settings
from search.catalog import upgrade

TOKEN = "admin-test-token"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """One short silent video (indexes in about a second, no speech model) and one broken file."""
    from indexer import samples

    root = tmp_path_factory.mktemp("admin-media")
    samples.make_video(root / "sky.mp4", [samples.Scene(1.5, photo="rocket"), samples.Scene(1.5, photo="moon")],
                       audio=False, size=(320, 180))
    (root / "broken.mp4").write_text("not a video at all\n")
    return root


def _client(tmp_path, catalog_url="", token=TOKEN):
    from web import create_app

    settings = replace(make_settings(tmp_path / "data", catalog_url), admin_token=token)
    upgrade(settings.catalog_url)
    return create_app(settings).test_client()


def _auth(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


def _wait_idle(client, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/api/v1/admin/jobs", headers=_auth()).get_json()
        if not body["running"] and all(j["status"] not in ("queued", "running") for j in body["jobs"]):
            return body["jobs"]
        time.sleep(0.2)
    raise AssertionError(f"jobs still running after {timeout} s: {body}")


def test_admin_is_off_without_a_configured_token(tmp_path):
    client = _client(tmp_path, token="")
    for headers in ({}, _auth("anything")):
        response = client.get("/api/v1/admin/jobs", headers=headers)
        assert response.status_code == 403
        assert "REELSCOPE_ADMIN_TOKEN" in response.get_json()["message"]


def test_token_is_required_and_checked(tmp_path):
    client = _client(tmp_path)
    missing = client.post("/api/v1/admin/index", json={"path": "/"})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.get_json()["error"] == "unauthorized"
    assert client.post("/api/v1/admin/index", json={"path": "/"}, headers={"Authorization": TOKEN}).status_code == 401
    wrong = client.get("/api/v1/admin/jobs", headers=_auth("not-the-token"))
    assert wrong.status_code == 403 and wrong.get_json()["message"] == "wrong admin token"
    assert client.get("/api/v1/admin/jobs", headers=_auth()).get_json() == {"jobs": [], "running": False}


def test_paths_must_exist_be_absolute_and_hold_videos(tmp_path):
    client = _client(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {"relative/videos": (422, "absolute"), str(tmp_path / "nope"): (404, "does not exist"),
             "/tmp/a\x00b": (400, "not a valid path"), str(empty): (422, "no video files"), "   ": (422, "absolute")}
    for path, (status, words) in cases.items():
        response = client.post("/api/v1/admin/index", json={"path": path}, headers=_auth())
        assert response.status_code == status, (path, response.get_json())
        assert words in response.get_json()["message"], response.get_json()
    assert client.post("/api/v1/admin/index", json={}, headers=_auth()).status_code == 422
    if os.getuid() != 0:  # root reads everything
        locked = tmp_path / "locked"
        locked.mkdir(mode=0)
        assert client.post("/api/v1/admin/index", json={"path": str(locked)}, headers=_auth()).status_code == 403


def test_index_a_folder_retry_and_reindex_in_the_background(tmp_path, folder, catalog_url):
    client = _client(tmp_path, catalog_url)
    started = client.post("/api/v1/admin/index", json={"path": str(folder)}, headers=_auth())
    assert started.status_code == 202, started.get_json()
    assert started.get_json()["files"] == 2 and len(started.get_json()["jobs"]) == 2
    jobs = {j["path"].rsplit("/", 1)[-1]: j for j in _wait_idle(client)}
    assert jobs["sky.mp4"]["status"] == "done" and jobs["sky.mp4"]["progress"] == 1.0
    assert jobs["broken.mp4"]["status"] == "failed" and jobs["broken.mp4"]["message"]
    videos = {v["title"]: v for v in client.get("/api/v1/videos").get_json()["videos"]}
    assert videos["sky"]["status"] == "indexed" and videos["broken"]["status"] == "failed"

    retried = client.post("/api/v1/admin/jobs/retry-failed", headers=_auth())
    assert retried.status_code == 202 and retried.get_json()["files"] == 1
    newest = _wait_idle(client)[0]
    assert newest["id"] == retried.get_json()["jobs"][0]
    assert newest["path"].endswith("broken.mp4") and newest["status"] == "failed"

    # nothing was made by other models, so only `all` re-indexes
    assert client.post("/api/v1/admin/reindex", json={}, headers=_auth()).get_json() == {"jobs": [], "files": 0}
    again = client.post("/api/v1/admin/reindex", json={"all": True}, headers=_auth())
    assert again.status_code == 202 and again.get_json()["files"] == 1
    newest = _wait_idle(client)[0]
    assert newest["path"].endswith("sky.mp4") and newest["status"] == "done"
    assert client.get("/api/v1/videos").get_json()["total"] == 2  # re-indexed in place, not added twice
