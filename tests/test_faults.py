"""Faults and hostile input: a full disk, a swapped file, catalog changes under live search nodes,
path tricks on the file routes, and files crafted to decode into enormous frames.

After each: no lost or doubled videos, `index verify` agrees, and the error says what happened.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import func, select, update

import samples
from indexer.status import status_report
from indexer.pipeline import Indexer
from indexer.verify import verify
from catalog import Catalog, Keyframe, Shot, Video, VideoStatus, upgrade
from tests.conftest import ROOT, make_settings, run_cli, service_missing
from web import create_app

pytestmark = pytest.mark.slow


# -- a full disk ---------------------------------------------------------------------------------------

@pytest.fixture
def tiny_disk():
    """Mounts a small tmpfs at a folder and fills it but for `free` bytes: a real ENOSPC, not a mock."""
    mounted: list[Path] = []

    def mount(folder: Path, free: int) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            service_missing(f"cannot mount a tmpfs here ({result.stderr.strip()}); needs root")
        mounted.append(folder)
        filler = folder / "filler"
        stats = os.statvfs(folder)
        # leave `free` bytes: the first small writes succeed, the rest hit the wall
        with open(filler, "wb") as f:
            os.posix_fallocate(f.fileno(), 0, stats.f_bavail * stats.f_frsize - free)
        return filler

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _counts(catalog: Catalog) -> dict:
    with catalog.session() as s:
        return {"videos": s.scalar(select(func.count()).select_from(Video)),
                "shots": s.scalar(select(func.count()).select_from(Shot)),
                "keyframes": s.scalar(select(func.count()).select_from(Keyframe))}


def test_disk_full_while_writing_thumbnails_fails_the_video_cleanly_then_recovers(empty_catalog, media, tiny_disk):
    settings, catalog = empty_catalog
    filler = tiny_disk(settings.thumbnails_dir, free=8 * 1024)
    outcome = Indexer(settings, catalog).index_path(media["quiet"].path)
    assert outcome.status == "failed" and "No space left on device" in outcome.message, outcome
    assert "thumbnails" in outcome.message
    assert _counts(catalog) == {"videos": 1, "shots": 0, "keyframes": 0}
    assert not [p for p in settings.thumbnails_dir.rglob("*") if ".tmp" in p.name], "temporary files left behind"
    report = status_report(settings, catalog)
    assert [f["error"] for f in report["failed"]] == [outcome.message]

    filler.unlink()  # space freed: the same command now works, and nothing is doubled
    again = Indexer(settings, catalog).index_path(media["quiet"].path)
    assert again.status == "indexed" and again.video_id == outcome.video_id
    assert _counts(catalog) == {"videos": 1, "shots": 2, "keyframes": 2}
    assert verify(settings, catalog) == []


def _copy_catalog(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite catalog (WAL included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _search(client, q: str) -> list[int]:
    response = client.get("/api/v1/search", query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    return [m["video_id"] for m in response.get_json()["moments"]]


def test_disk_full_while_writing_the_vector_index_does_not_fail_searches(search_library, tmp_path, tiny_disk):
    settings, _, _ = search_library
    own = make_settings(tmp_path / "data")
    _copy_catalog(settings.data_dir / "catalog.sqlite3", own.data_dir / "catalog.sqlite3")
    queries = ["how long should bread dough rise", "rocket boosters falling into the sea"]
    expected = [_search(create_app(settings).test_client(), q) for q in queries]

    filler = tiny_disk(own.data_dir / "vectors", free=1024)
    client = create_app(own).test_client()
    assert [_search(client, q) for q in queries] == expected  # built in memory; saving it failed
    assert not [p for p in (own.data_dir / "vectors").iterdir() if p.name != "filler"], "half-written index files"

    filler.unlink()
    fresh = create_app(own).test_client()  # a restart with space again: rebuilt, saved, same answers
    assert [_search(fresh, q) for q in queries] == expected
    assert (own.data_dir / "vectors" / "segment.faiss").is_file()


# -- a file swapped for another under the same name -------------------------------------------------------

def _replace_and_reindex(settings, catalog, tmp_path, media):
    path = tmp_path / "library" / "holiday.mp4"
    path.parent.mkdir()
    shutil.copy(media["quiet"].path, path)
    first = Indexer(settings, catalog).index_path(path)
    assert first.status == "indexed"
    other = samples.make_video(tmp_path / "other.mp4", [samples.Scene(2.0, photo="coffee"),
                                                        samples.Scene(2.0, colour=(20, 200, 40)),
                                                        samples.Scene(2.0, photo="rocket")], audio=False)
    shutil.copy(other.path, path)
    problems = [p["problem"] for p in verify(settings, catalog, check_hashes=True)]
    assert any("changed" in p for p in problems), problems
    again = Indexer(settings, catalog).index_path(path)
    return first, again


def test_video_replaced_by_another_with_the_same_name_is_redone_in_place(empty_catalog, tmp_path, media):
    settings, catalog = empty_catalog
    first, again = _replace_and_reindex(settings, catalog, tmp_path, media)
    assert again.status == "indexed" and again.video_id == first.video_id  # the same entry, redone
    with catalog.session() as s:
        video = s.get(Video, first.video_id)
        assert len(video.shots) == 3 and abs(video.duration - 6.0) < 0.2
        assert s.scalar(select(func.count()).select_from(Video)) == 1
        assert all((settings.thumbnails_dir / k.thumbnail).is_file() for k in video.keyframes)
    assert verify(settings, catalog, check_hashes=True) == [], "the replaced content's thumbnails are gone too"


# -- search nodes sharing one catalog -----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_search_nodes_follow_catalog_changes_without_restart_or_failed_requests(search_library, media, tmp_path):
    settings, _, _ = search_library
    shared = tmp_path / "shared" / "catalog.sqlite3"
    _copy_catalog(settings.data_dir / "catalog.sqlite3", shared)
    url = f"sqlite:///{shared}"
    nodes = []
    for i in range(2):  # each node its own data dir (its own FAISS files), one catalog between them
        node = make_settings(tmp_path / f"node{i}", database_url=url)
        port = _free_port()
        proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port), "--threads", "4"],
                                env={**_node_env(node)}, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        nodes.append((proc, f"http://127.0.0.1:{port}"))
    try:
        for proc, base in nodes:
            _wait_until_serving(proc, base)
        question = "what will the weather be like tomorrow"
        results: list[int] = []
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                for _, base in nodes:
                    status, _ = _get(f"{base}/api/v1/search?q=bread+dough&k=5")
                    results.append(status)

        threads = [threading.Thread(target=hammer) for _ in range(2)]
        for t in threads:
            t.start()
        # another process adds a video to the shared catalog (here: this one, as a worker would)
        shared_settings = make_settings(tmp_path / "indexer", database_url=url)
        catalog = Catalog(url)
        added = Indexer(shared_settings, catalog).index_path(media["talk"].path)
        assert added.status == "indexed", added.message
        for _, base in nodes:
            top = _get(f"{base}/api/v1/search?q={urllib.parse.quote(question)}")[1]["moments"][0]
            assert top["video_id"] == added.video_id, f"{base} did not pick up the new video"
        removed = run_cli(["index", "remove", str(added.video_id)], shared_settings)
        assert removed.returncode == 0, removed.stderr
        for _, base in nodes:
            moments = _get(f"{base}/api/v1/search?q={urllib.parse.quote(question)}")[1]["moments"]
            assert added.video_id not in [m["video_id"] for m in moments], f"{base} still shows the removed video"
        stop.set()
        for t in threads:
            t.join(timeout=60)
        catalog.dispose()
        assert len(results) > 10 and set(results) == {200}, f"{len(results)} requests: {sorted(set(results))}"
    finally:
        for proc, _ in nodes:
            proc.terminate()
            proc.wait(timeout=30)


def _node_env(settings) -> dict:
    return dict(os.environ, REELSCOPE_DATA_DIR=str(settings.data_dir), REELSCOPE_DATABASE_URL=settings.database_url,
                REELSCOPE_DEVICE="cpu", REELSCOPE_CLIP_MODEL=settings.clip_model)


def _wait_until_serving(proc, base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            if _get(f"{base}/api/v1/status")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{base} never answered")


# -- hostile requests ------------------------------------------------------------------------------------

@pytest.fixture
def tampered(search_library, tmp_path):
    """A copy of the sample catalog where rows point outside the library, as a tampered catalog would."""
    settings, _, ids = search_library
    own = make_settings(tmp_path / "data")
    _copy_catalog(settings.data_dir / "catalog.sqlite3", own.data_dir / "catalog.sqlite3")
    shutil.copytree(settings.thumbnails_dir, own.thumbnails_dir)
    catalog = Catalog(own.catalog_url)
    with catalog.session() as s, s.begin():
        frames = s.scalars(select(Keyframe.id).order_by(Keyframe.id).limit(3)).all()
        for frame_id, name in zip(frames, ["../../../../../etc/passwd", "/etc/passwd", "../catalog.sqlite3"]):
            s.execute(update(Keyframe).where(Keyframe.id == frame_id).values(thumbnail=name))
        s.execute(update(Video).where(Video.id == ids["Our cat Chelsea"]).values(path=str(tmp_path)))
    catalog.dispose()
    return create_app(own).test_client(), frames, ids


def test_path_tricks_on_media_and_thumbnail_routes_reach_no_file(tampered):
    client, frames, ids = tampered
    urls = ["/api/v1/videos/..%2F..%2Fetc%2Fpasswd/media", "/api/v1/videos/%2e%2e/media",
            "/api/v1/videos/-1/media", "/api/v1/videos/1%00/media", "/api/v1/videos/1.0/media",
            "/api/v1/videos/99999999999999999999999999/media", "/api/v1/videos/1/media/../../../etc/passwd",
            "/api/v1/keyframes/..%252F..%252Fetc%252Fpasswd/thumbnail.jpg", "/api/v1/keyframes/1;ls/thumbnail.jpg",
            "/api/v1/keyframes/%2Fetc%2Fpasswd/thumbnail.jpg", "/api/v1/videos/1/subtitles.vtt%00.jpg",
            "/static/..%2F..%2F..%2Fetc%2Fpasswd", "/api/v1/../../etc/passwd"]
    urls += [f"/api/v1/keyframes/{f}/thumbnail.jpg" for f in frames]  # stored names that escape the folder
    urls.append(f"/api/v1/videos/{ids['Our cat Chelsea']}/media")  # a stored path that is a folder
    for url in urls:
        response = client.get(url)
        assert response.status_code in (400, 404, 405), (url, response.status_code)
        assert b"root:" not in response.data and b"SQLite format" not in response.data, url
        if url.startswith("/api/v1/") and response.is_json:
            body = response.get_json()
            assert body["error"] and body["message"], (url, body)


def test_oversized_uploads_and_queries_get_a_4xx_json(tampered):
    client = tampered[0]
    huge = client.post("/api/v1/search/similar", data={"image": (io.BytesIO(b"\xff" * (17 * 1024 * 1024)), "a.jpg")},
                       content_type="multipart/form-data")
    assert huge.status_code == 413
    assert huge.is_json and huge.get_json()["message"], huge.data[:200]
    long_query = client.get("/api/v1/search", query_string={"q": "cat " * 20_000})
    assert long_query.status_code in (414, 422) and long_query.get_json()["message"]
    for q in ["%' OR '1'='1", 'cat" OR "1"="1', "cat) UNION SELECT path FROM videos --", "NEAR(cat, 5) AND ^ *"]:
        response = client.get("/api/v1/search", query_string={"q": q, "mode": "keyword"})
        assert response.status_code == 200, (q, response.get_json())
        assert "/" not in json.dumps([m["snippet"] for m in response.get_json()["moments"]]), q


# -- files crafted to decode into enormous frames ------------------------------------------------------

def _mjpeg_declaring(path: Path, width: int, height: int) -> Path:
    """A small MJPEG video whose JPEG headers claim width x height: the container says 64x48, the
    decoder would allocate for the header's size."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            for packet in stream.encode(frame.reformat(format="yuvj420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = bytearray(path.read_bytes())
    at = data.find(b"\xff\xc0")  # start of frame: marker, length, precision, height, width
    while at != -1:
        data[at + 5:at + 9] = struct.pack(">HH", height, width)
        at = data.find(b"\xff\xc0", at + 2)
    path.write_bytes(bytes(data))
    return path


def _stretched_duration(source: Path, path: Path, factor: float) -> Path:
    """A Matroska file whose header claims `factor` times its real duration."""
    data = bytearray(source.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Duration, 8-byte float
    assert at != -1
    (seconds,) = struct.unpack(">d", data[at + 3:at + 11])
    data[at + 3:at + 11] = struct.pack(">d", seconds * factor)
    path.write_bytes(bytes(data))
    return path


def test_files_declaring_huge_frames_or_durations_are_refused_within_memory(tmp_path):
    folder = tmp_path / "crafted"
    folder.mkdir()
    _mjpeg_declaring(folder / "giant frames.mkv", 30000, 30000)
    real = samples.make_video(tmp_path / "short.mkv", [samples.Scene(2.0, photo="coffee"),
                                                       samples.Scene(2.0, colour=(200, 40, 40))], audio=False)
    _stretched_duration(real.path, folder / "forty days.mkv", 1e6)
    settings = make_settings(tmp_path / "data")
    upgrade(settings.catalog_url)
    # run in a child that reports its own peak memory: ~3.4 GB per frame would be allocated if trusted
    # (VmHWM, not ru_maxrss: the latter carries over the forking parent's size across exec)
    script = ("import json, re, sys; from pathlib import Path; from indexer.pipeline import Indexer; "
              "from catalog import Catalog; from tests.conftest import make_settings; "
              "s = make_settings(Path(sys.argv[1])); ix = Indexer(s, Catalog(s.catalog_url)); "
              "out = [ix.index_path(p).as_dict() for p in sorted(Path(sys.argv[2]).iterdir())]; "
              "peak = int(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1)) // 1024; "
              "print(json.dumps({'outcomes': out, 'peak_mb': peak}))")
    result = subprocess.run([sys.executable, "-c", script, str(settings.data_dir), str(folder)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    outcomes = {Path(o["path"]).name: o for o in report["outcomes"]}
    assert outcomes["giant frames.mkv"]["status"] == "failed" and outcomes["giant frames.mkv"]["message"]
    assert outcomes["forty days.mkv"]["status"] == "failed"
    assert "of 4000000.0 s: truncated or corrupt" in outcomes["forty days.mkv"]["message"], outcomes["forty days.mkv"]
    assert report["peak_mb"] < 1000, report
    catalog = Catalog(settings.catalog_url)
    with catalog.session() as s:
        assert {v.status for v in s.scalars(select(Video))} == {VideoStatus.FAILED}
        assert s.scalar(select(func.count()).select_from(Shot)) == 0
    catalog.dispose()
