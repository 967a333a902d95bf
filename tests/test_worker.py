"""Distributed indexing with real parts: PostgreSQL catalog, Redis broker, `reelscope worker` processes.

Each test uses its own queue on Redis database 7 (flushed here, and only that one), so workers of
one test never take another's jobs.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

import samples
from indexer.jobs import enqueue
from indexer.tasks import DEAD_LETTER_KEY, dead_letters, make_app, send_jobs
from catalog import Catalog, Embedding, Job, Shot, TranscriptSegment, Video, VideoStatus, upgrade
from tests.conftest import ROOT, fresh_postgres_database, make_settings, service_missing

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("REELSCOPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


@pytest.fixture(scope="module")
def redis_db():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_missing(f"Redis not reachable at {REDIS_URL} ({exc}); set REELSCOPE_TEST_REDIS_URL")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def database():
    """A PostgreSQL database of this module's own: the tests switch its connections off and on."""
    with fresh_postgres_database("reelscope_worker") as (admin, name, url):
        upgrade(url)
        yield Database(admin, name, url)


class Database:
    def __init__(self, admin, name, url):
        self.admin, self.name, self.url = admin, name, url

    def go_away(self):
        """What a worker sees when PostgreSQL restarts: connections dropped, new ones refused."""
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false'))
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": self.name})

    def come_back(self):
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true'))


@pytest.fixture(scope="module")
def setup(tmp_path_factory, database, redis_db):
    data = tmp_path_factory.mktemp("worker-data")
    settings = make_settings(data, database_url=database.url)
    settings = replace(settings, broker_url=REDIS_URL)
    catalog = Catalog(settings.catalog_url)
    yield settings, catalog
    catalog.dispose()


SENTENCES = ["The train leaves the station at nine in the morning.",
             "Please water the tomatoes in the greenhouse every evening.",
             "Our team won the football match on Saturday afternoon.",
             "The library closes early on public holidays.",
             "Turn left at the bakery and the museum is on your right."]
PHOTOS = ["astronaut", "coffee", "chelsea", "rocket"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Six short talking videos, each different (same bytes would be recognised as one video)."""
    folder = tmp_path_factory.mktemp("worker-media")
    return [samples.make_video(folder / f"clip {i}.mp4",
                               [samples.Scene(3.5, photo=PHOTOS[i % 4]), samples.Scene(2.0, colour=(40 * i, 90, 160))],
                               [samples.Utterance(0.5, SENTENCES[i])], size=(320, 180)).path
            for i in range(len(SENTENCES))]


def _env(settings) -> dict:
    return dict(os.environ, REELSCOPE_DATA_DIR=str(settings.data_dir), REELSCOPE_DATABASE_URL=settings.database_url,
                REELSCOPE_BROKER_URL=settings.broker_url, REELSCOPE_DEVICE="cpu", REELSCOPE_SCREEN_TEXT="0",
                REELSCOPE_CLIP_MODEL=settings.clip_model, REELSCOPE_KEYFRAME_INTERVAL=str(settings.keyframe_interval))


def _cli(settings, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "web.cli", *args], env=_env(settings), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


class Worker:
    """`reelscope worker` in its own process group, so a SIGKILL takes its pool children too."""

    def __init__(self, settings, queue: str, log: Path, *options: str):
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "worker", "-Q", queue, "--loglevel", "INFO", *options],
            env=_env(settings), cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.proc.poll() is None, f"worker exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} in the worker log:\n{self.output()}"
            time.sleep(0.1)

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


# Short retry delays and visibility timeout, so retries and redeliveries happen within a test.
FAST = ("--max-retries", "2", "--retry-delay", "1", "--visibility-timeout", "4")


@pytest.fixture(scope="module")
def shared_worker(setup, tmp_path_factory):
    """One worker for the module (it loads the models once); each test has a queue of its own."""
    name = f"shared-{uuid.uuid4().hex[:6]}@test"
    worker = Worker(setup[0], "q-batch,q-twice,q-retry", tmp_path_factory.mktemp("logs") / "shared.log",
                    "-n", name, *FAST)
    worker.name = name
    worker.wait_for("ready.")
    yield worker
    worker.stop()


@pytest.fixture
def start_worker(setup, tmp_path):
    workers: list[Worker] = []

    def start(queue: str, *options: str) -> Worker:
        worker = Worker(setup[0], queue, tmp_path / f"worker{len(workers)}.log", *options)
        workers.append(worker)
        worker.wait_for("ready.")
        return worker

    yield start
    for worker in workers:
        worker.stop()


def _jobs(catalog, ids) -> dict[int, Job]:
    with catalog.session() as s:
        return {j.id: j for j in s.scalars(select(Job).where(Job.id.in_(ids)))}


def _wait_jobs(catalog, ids, timeout=150, worker: Worker | None = None) -> dict[int, Job]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = _jobs(catalog, ids)
        if all(j.status in ("done", "failed", "cancelled") for j in jobs.values()):
            return jobs
        log = worker.output()[-3000:] if worker else ""
        assert time.monotonic() < deadline, f"jobs not finished: {[(j.id, j.status, j.message) for j in jobs.values()]}" \
                                            f"\n{log}"
        time.sleep(0.2)


def _rows_of(catalog, path: Path) -> dict:
    with catalog.session() as s:
        videos = s.scalars(select(Video).where(Video.path == str(path))).all()
        assert len(videos) == 1, f"{path}: {len(videos)} video rows"
        vid = videos[0].id
        count = lambda t: s.scalar(select(func.count()).select_from(t).where(t.video_id == vid))  # noqa: E731
        return {"id": vid, "status": videos[0].status, "error": videos[0].error, "shots": count(Shot),
                "segments": count(TranscriptSegment), "embeddings": count(Embedding)}


def test_queued_files_are_indexed_by_a_worker_and_a_broken_one_fails_with_its_reason(setup, clips, tmp_path,
                                                                                       shared_worker):
    settings, catalog = setup
    folder = tmp_path / "batch"
    folder.mkdir()
    for clip in clips[:2]:
        (folder / clip.name).symlink_to(clip)
    (folder / "broken.mp4").write_bytes(b"this is not a video, whatever its name says" * 20)
    queued = _cli(settings, "index", "add", "--queue", "--queue-name", "q-batch", "--json", str(folder))
    assert queued.returncode == 0, queued.stderr
    rows = [json.loads(line) for line in queued.stdout.splitlines()]
    assert len(rows) == 3 and all(r["status"] == "queued" for r in rows)

    worker = shared_worker
    jobs = _wait_jobs(catalog, [r["job_id"] for r in rows], worker=worker)
    by_name = {Path(j.path).name: j for j in jobs.values()}
    assert by_name["broken.mp4"].status == "failed"
    assert "not a media file" in by_name["broken.mp4"].message
    for clip in clips[:2]:
        assert by_name[clip.name].status == "done", by_name[clip.name].message
        assert _rows_of(catalog, folder / clip.name) | {"id": 0} == {
            "id": 0, "status": VideoStatus.INDEXED, "error": None, "shots": 2, "segments": 1, "embeddings": 1}

    status = json.loads(_cli(settings, "index", "status", "--json").stdout)
    assert [Path(f["path"]).name for f in status["failed"]] == ["broken.mp4"]
    assert "not a media file" in status["failed"][0]["error"]
    assert shared_worker.name in [w["name"] for w in status["workers"]["workers"]], status["workers"]
    text = _cli(settings, "index", "status").stdout
    assert "1 online" in text and "answered within 1 s" in text and "broken.mp4" in text
    verified = _cli(settings, "index", "verify")
    assert verified.returncode == 0, verified.stdout


def test_server_status_shows_live_workers_without_waiting_for_their_replies(setup, shared_worker):
    from web import create_app

    settings, _ = setup
    client = create_app(settings).test_client()
    deadline = time.monotonic() + 20
    while True:
        started = time.perf_counter()
        workers = client.get("/api/v1/status").get_json()["workers"]
        assert time.perf_counter() - started < 0.5  # the replies (1 s) are waited for in the background
        if shared_worker.name in [w["name"] for w in workers["workers"]]:
            break
        assert time.monotonic() < deadline, workers
        time.sleep(0.2)
    assert workers["checked_at"] and "error" not in workers


def test_enqueuing_again_or_delivering_twice_indexes_once(setup, clips, shared_worker):
    settings, catalog = setup
    clip = clips[2]
    worker = shared_worker
    done_before = worker.output().count("'nothing to do'")
    # the same job delivered three times (a re-sent message, a redelivery): one video, indexed once
    [job_id] = enqueue(catalog, [clip])
    send_jobs(settings, [job_id, job_id, job_id], "q-twice")
    job = _wait_jobs(catalog, [job_id], worker=worker)[job_id]
    assert job.status == "done" and job.attempts == 1
    before = _rows_of(catalog, clip)
    assert before["status"] == VideoStatus.INDEXED and before["segments"] == 1
    deadline = time.monotonic() + 30
    while worker.output().count("'nothing to do'") < done_before + 2:
        assert time.monotonic() < deadline, worker.output()[-2000:]
        time.sleep(0.2)

    # enqueuing the same file again: a new job that finds the content hash and models unchanged
    again = _cli(settings, "index", "add", "--queue", "--queue-name", "q-twice", "--json", str(clip))
    assert again.returncode == 0, again.stderr
    [row] = map(json.loads, again.stdout.splitlines())
    job = _wait_jobs(catalog, [row["job_id"]], worker=worker)[row["job_id"]]
    assert job.status == "done" and job.message == "already indexed"
    assert _rows_of(catalog, clip) == before


def test_worker_killed_mid_video_is_replaced_and_nothing_is_doubled(setup, clips, start_worker, shared_worker):
    settings, catalog = setup
    targets = clips[3:4]
    job_ids = enqueue(catalog, targets)
    send_jobs(settings, job_ids, "q-kill")
    first = start_worker("q-kill", *FAST)
    deadline = time.monotonic() + 90
    while True:  # until the worker holds a video mid-way
        with catalog.session() as s:
            claimed = s.scalars(select(Video).where(Video.status == VideoStatus.INDEXING)).all()
        if claimed:
            break
        assert time.monotonic() < deadline, first.output()[-2000:]
        time.sleep(0.05)
    first.kill(signal.SIGKILL)
    victim = Path(claimed[0].path)
    status = json.loads(_cli(settings, "index", "status", "--json").stdout)
    assert [v["path"] for v in status["interrupted"]] == [str(victim)]

    # another worker (already running, models loaded) takes over the queue: the broker hands it the
    # killed worker's unacknowledged message once the visibility timeout has passed
    app = make_app(settings)
    assert app.control.add_consumer("q-kill", destination=[shared_worker.name], reply=True)
    app.close()
    jobs = _wait_jobs(catalog, job_ids, timeout=180, worker=shared_worker)
    assert all(j.status == "done" for j in jobs.values()), [(j.path, j.status, j.message) for j in jobs.values()]
    victim_job = next(j for j in jobs.values() if j.path == str(victim))
    assert victim_job.attempts == 2  # claimed by the killed worker, then by its replacement
    for clip in targets:
        rows = _rows_of(catalog, clip)
        assert (rows["status"], rows["shots"], rows["segments"], rows["embeddings"]) == (VideoStatus.INDEXED, 2, 1, 1)
    verified = _cli(settings, "index", "verify")
    assert verified.returncode == 0, verified.stdout


def test_database_going_away_is_retried_until_it_comes_back(setup, database, clips, shared_worker):
    retry_worker = shared_worker
    settings, catalog = setup
    [job_id] = enqueue(catalog, [clips[4]])
    catalog.engine.dispose()
    database.go_away()
    try:
        send_jobs(settings, [job_id], "q-retry")
        retry_worker.wait_for(f"job {job_id} attempt 1 failed (OperationalError")
    finally:
        database.come_back()
    job = _wait_jobs(catalog, [job_id], worker=retry_worker)[job_id]
    assert job.status == "done", job.message
    assert _rows_of(catalog, clips[4])["segments"] == 1
    assert not [d for d in dead_letters(settings) if d["job_id"] == job_id]


def test_database_away_for_good_dead_letters_the_job_with_its_error(setup, database, clips, shared_worker, redis_db):
    retry_worker = shared_worker
    settings, catalog = setup
    [job_id] = enqueue(catalog, [clips[0]], force=True)
    catalog.engine.dispose()
    database.go_away()
    try:
        send_jobs(settings, [job_id], "q-retry")
        deadline = time.monotonic() + 60
        while not (letters := [d for d in dead_letters(settings) if d["job_id"] == job_id]):
            assert time.monotonic() < deadline, retry_worker.output()[-3000:]
            time.sleep(0.2)
    finally:
        database.come_back()
    [letter] = letters
    assert letter["attempts"] == 3 and "gave up after 3 attempts" in letter["error"]
    assert "OperationalError" in letter["error"] and letter["catalog_error"]
    assert retry_worker.output().count(f"job {job_id} attempt") == 2  # two retries, each logged
    # the catalog was down when it was given up on: the worker records it on the job once it is back
    send_jobs(settings, [job_id], "q-retry")
    deadline = time.monotonic() + 30
    while (job := _jobs(catalog, [job_id])[job_id]).status != "failed":
        assert time.monotonic() < deadline, (job.status, job.message, retry_worker.output()[-2000:])
        time.sleep(0.2)
    assert job.attempts == 3 and "gave up after 3 attempts" in job.message and "OperationalError" in job.message
    status = json.loads(_cli(settings, "index", "status", "--json").stdout)
    assert any(d["job_id"] == job_id for d in status["workers"]["dead_letters"])
    assert redis_db.llen(DEAD_LETTER_KEY) >= 1
