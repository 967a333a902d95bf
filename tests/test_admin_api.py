"""Admin JSON API: token rules, path checks, and real index jobs running in the background thread."""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from tests.conftest import make_settings, service_missing
from catalog import Catalog, Job, Video, VideoStatus, upgrade, utcnow

TOKEN = "admin-test-token"
REDIS_URL = os.environ.get("REELSCOPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """One short silent video (indexes in about a second, no speech model) and one broken file."""
    import samples

    root = tmp_path_factory.mktemp("admin-media")
    samples.make_video(root / "sky.mp4", [samples.Scene(1.5, photo="rocket"), samples.Scene(1.5, photo="moon")],
                       audio=False, size=(320, 180))
    (root / "broken.mp4").write_text("not a video at all\n")
    return root


def _settings(tmp_path, catalog_url="", token=TOKEN, **overrides):
    # every tmp dir of this run (the test's own, the module's media) is a library root
    overrides.setdefault("library_roots", str(tmp_path.parent))
    settings = replace(make_settings(tmp_path / "data", catalog_url), admin_token=token, **overrides)
    upgrade(settings.catalog_url)
    return settings


def _client(tmp_path, catalog_url="", token=TOKEN):
    from web import create_app

    return create_app(_settings(tmp_path, catalog_url, token)).test_client()


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


def test_admin_needs_the_token_or_an_admin_account(tmp_path):
    from tests.conftest import api_key, make_account
    from web import create_app

    settings = _settings(tmp_path, token="")
    client = create_app(settings).test_client()
    for headers in ({}, _auth("anything")):  # no token configured: no bearer value is the token
        assert client.get("/api/v1/admin/jobs", headers=headers).status_code == 401
    catalog = Catalog(settings.catalog_url)
    viewer = make_account(catalog, "viewer")
    admin = make_account(catalog, "boss", admin=True)
    refused = client.get("/api/v1/admin/jobs", headers=_auth(api_key(catalog, viewer)))
    assert refused.status_code == 403 and refused.get_json()["message"] == "only an admin may do this"
    assert client.get("/api/v1/admin/jobs", headers=_auth(api_key(catalog, admin))).get_json() == \
        {"jobs": [], "running": False}
    catalog.dispose()


def test_token_is_required_and_checked(tmp_path):
    client = _client(tmp_path)
    missing = client.post("/api/v1/admin/index", json={"path": "/"})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.get_json()["error"] == "unauthorized"
    assert client.post("/api/v1/admin/index", json={"path": "/"}, headers={"Authorization": TOKEN}).status_code == 401
    wrong = client.get("/api/v1/admin/jobs", headers=_auth("not-the-token"))
    assert wrong.status_code == 401 and "not valid" in wrong.get_json()["message"]
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
    videos = {v["title"]: v for v in client.get("/api/v1/videos", headers=_auth()).get_json()["videos"]}
    assert videos["sky"]["status"] == "indexed" and videos["broken"]["status"] == "failed"

    retried = client.post("/api/v1/admin/jobs/retry-failed", headers=_auth())
    assert retried.status_code == 202 and retried.get_json()["files"] == 1
    newest = _wait_idle(client)[0]
    assert newest["id"] == retried.get_json()["jobs"][0]
    assert newest["path"].endswith("broken.mp4") and newest["status"] == "failed"

    # nothing was made by other models, so only `all` re-indexes
    assert client.post("/api/v1/admin/reindex", json={}, headers=_auth()).get_json() == \
        {"jobs": [], "files": 0, "skipped": 0, "notes": []}
    again = client.post("/api/v1/admin/reindex", json={"all": True}, headers=_auth())
    assert again.status_code == 202 and again.get_json()["files"] == 1
    newest = _wait_idle(client)[0]
    assert newest["path"].endswith("sky.mp4") and newest["status"] == "done"
    assert client.get("/api/v1/videos", headers=_auth()).get_json()["total"] == 2  # re-indexed in place, not added twice


# -- what a restart leaves behind ----------------------------------------------------------------------

def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: nothing answers to this pid any more
    return child.pid


def _leave_running(catalog, path, claimed_by: str) -> int:
    """A job as a server leaves it mid-video: running, its video claimed (by whom is the question)."""
    from indexer.jobs import enqueue

    [job_id] = enqueue(catalog, [path])
    with catalog.session() as s, s.begin():
        video = Video(path=str(path), title=path.stem, model_versions={}, status=VideoStatus.INDEXING,
                      claimed_by=claimed_by, claimed_at=utcnow())
        s.add(video)
        s.flush()
        job = s.get(Job, job_id)
        job.status, job.stage, job.progress, job.video_id, job.attempts = "running", "visual", 0.4, video.id, 1
    return job_id


def _job_states(catalog, ids) -> dict[int, tuple[str, str | None]]:
    with catalog.session() as s:
        return {j.id: (j.status, j.message) for j in s.scalars(select(Job).where(Job.id.in_(ids)))}


def test_jobs_a_stopped_server_left_run_when_the_next_one_starts(tmp_path, folder, catalog_url):
    from indexer.jobs import enqueue
    from web import create_app

    settings = _settings(tmp_path, catalog_url)
    catalog = Catalog(settings.catalog_url)
    [queued] = enqueue(catalog, [folder / "sky.mp4"])
    orphaned = _leave_running(catalog, folder / "broken.mp4", f"{socket.gethostname()}:{_dead_pid()}")
    # another process on this host still working on its video: not the new server's to take over
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        held = _leave_running(catalog, tmp_path / "elsewhere.mp4", f"{socket.gethostname()}:{other.pid}")
        create_app(settings)  # no request after this: the server picks the jobs up by itself
        deadline = time.monotonic() + 120
        while (states := _job_states(catalog, [queued, orphaned]))[queued][0] in ("queued", "running") or \
                states[orphaned][0] in ("queued", "running"):
            assert time.monotonic() < deadline, f"jobs left from before the restart did not run: {states}"
            time.sleep(0.2)
        assert states[queued][0] == "done"
        assert states[orphaned][0] == "failed" and "not a media file" in states[orphaned][1]
        assert _job_states(catalog, [held])[held][0] == "running"
        with catalog.session() as s:
            assert s.scalar(select(Video.status).where(Video.path == str(folder / "sky.mp4"))) == VideoStatus.INDEXED
    finally:
        other.kill()
        other.wait()
        catalog.dispose()


def test_with_a_broker_the_server_leaves_queued_jobs_to_the_workers(tmp_path, folder):
    from indexer.jobs import enqueue
    from web import create_app

    # nothing listens there: the status must say so without waiting for it either
    settings = _settings(tmp_path, broker_url="redis://127.0.0.1:1/0")
    catalog = Catalog(settings.catalog_url)
    [queued] = enqueue(catalog, [folder / "sky.mp4"])
    orphaned = _leave_running(catalog, folder / "broken.mp4", f"{socket.gethostname()}:{_dead_pid()}")
    client = create_app(settings).test_client()
    deadline = time.monotonic() + 10
    while (workers := client.get("/api/v1/status").get_json()["workers"])["checked_at"] is None:
        assert time.monotonic() < deadline, workers
        time.sleep(0.1)
    assert workers["workers"] == [] and "broker unreachable" in workers["error"]
    time.sleep(2)
    assert _job_states(catalog, [queued, orphaned]) == {queued: ("queued", None), orphaned: ("running", None)}
    assert client.get("/api/v1/admin/jobs", headers=_auth()).get_json()["running"] is False
    catalog.dispose()


def test_status_answers_at_once_with_a_broker_and_no_worker(tmp_path):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError as exc:
        service_missing(f"Redis not reachable at {REDIS_URL} ({exc}); set REELSCOPE_TEST_REDIS_URL")
    from web import create_app

    client = create_app(_settings(tmp_path, broker_url=REDIS_URL)).test_client()
    times, checked = [], []
    for _ in range(15):  # over 3 s: the workers were asked (1 s, no one answers) in the background meanwhile
        started = time.perf_counter()
        body = client.get("/api/v1/status").get_json()
        times.append(time.perf_counter() - started)
        checked.append(body["workers"]["checked_at"])
        time.sleep(0.2)
    assert max(times) < 0.5 and statistics.median(times) < 0.1, times
    assert checked[-1] is not None, checked
    assert body["workers"]["workers"] == [] and body["workers"]["waiting"] == {"reelscope.index": 0}
    assert "broker" not in body["workers"] and "dead_letters" not in body["workers"]
