"""Indexing real media with the real models: what a person would notice in the catalog."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

import samples
from indexer.maintenance import stale_videos
from indexer.pipeline import Indexer
from indexer.verify import verify
from catalog import (Catalog, Embedding, Keyframe, Shot, TranscriptSegment, Video, VideoStatus, upgrade)
from tests.conftest import ROOT, make_settings, run_cli

pytestmark = pytest.mark.slow


def _words(catalog: Catalog, video_id: int) -> list[tuple[str, float]]:
    with catalog.session() as s:
        segments = s.scalars(select(TranscriptSegment).where(TranscriptSegment.video_id == video_id)
                             .order_by(TranscriptSegment.start)).all()
        return [(w[0].strip(".,!?").lower(), w[1]) for seg in segments for w in seg.words]


def _row_counts(catalog: Catalog) -> dict:
    with catalog.session() as s:
        return {t.__name__: s.scalar(select(func.count()).select_from(t))
                for t in (Video, Shot, Keyframe, TranscriptSegment, Embedding)}


@pytest.fixture(scope="module")
def library(tmp_path_factory, media):
    """The shared media indexed once into a fresh SQLite catalog."""
    data_dir = tmp_path_factory.mktemp("data")
    settings = make_settings(data_dir)
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    indexer = Indexer(settings, catalog)
    outcomes = {name: indexer.index_path(video.path) for name, video in media.items()}
    yield settings, catalog, indexer, outcomes
    catalog.dispose()


def test_spoken_words_come_back_at_the_time_they_were_said(library, media):
    _, catalog, _, outcomes = library
    assert outcomes["talk"].status == "indexed", outcomes["talk"].message
    words = _words(catalog, outcomes["talk"].video_id)
    spoken = [w for w, _ in words]
    for utterance in media["talk"].utterances:
        expected = [w.strip(",.").lower() for w in utterance.text.split()]
        first = expected[0]
        # the utterance's first word, found at the right moment
        times = [t for w, t in words if w == first and abs(t - utterance.start) <= 1.0]
        assert times, f"{first!r} not found within 1 s of {utterance.start}: {words}"
        # and most of its words are heard
        heard = sum(w in spoken for w in expected)
        assert heard >= 0.8 * len(expected), (utterance.text, spoken)
    with catalog.session() as s:
        video = s.get(Video, outcomes["talk"].video_id)
        assert video.language == "en"
        assert video.model_versions["speech"].startswith("whisper-base@")


def test_shots_keyframes_and_thumbnails_match_the_planted_cuts(library, media):
    settings, catalog, _, outcomes = library
    with catalog.session() as s:
        video = s.get(Video, outcomes["talk"].video_id)
        starts = [shot.start for shot in video.shots]
        assert len(starts) == len(media["talk"].cuts) + 1
        for planted, found in zip(media["talk"].cuts, starts[1:]):
            assert abs(planted - found) <= 1 / media["talk"].fps + 1e-6
        assert {k.shot_index for k in video.keyframes} == set(range(len(starts)))
        for frame in video.keyframes:
            data = (settings.thumbnails_dir / frame.thumbnail).read_bytes()
            assert data[:3] == b"\xff\xd8\xff"  # a JPEG


def test_transcript_vectors_find_a_paraphrase(library):
    """The text embeddings stored for segments answer a question phrased differently."""
    _, catalog, indexer, outcomes = library
    with catalog.session() as s:
        rows = s.execute(select(TranscriptSegment.text, Embedding.vector, Embedding.model_version)
                         .join(Embedding, (Embedding.owner_id == TranscriptSegment.id)
                               & (Embedding.owner_kind == "segment"))
                         .where(TranscriptSegment.video_id == outcomes["talk"].video_id)).all()
    assert len(rows) >= 2 and all(r.model_version.startswith("all-MiniLM-L6-v2@") for r in rows)
    vectors = np.stack([np.frombuffer(r.vector, dtype=np.float32) for r in rows])
    query = indexer.models.text().encode(["what is the forecast for the next day"])[0]
    best = rows[int(np.argmax(vectors @ query))].text.lower()
    assert "weather" in best


def test_video_without_audio_is_indexed_pictures_only(library):
    _, catalog, _, outcomes = library
    assert outcomes["quiet"].status == "indexed"
    assert "no audio track" in outcomes["quiet"].message
    with catalog.session() as s:
        video = s.get(Video, outcomes["quiet"].video_id)
        assert not video.has_audio and video.segments == [] and len(video.shots) == 2


def test_second_add_does_nothing_and_force_redoes_without_doubling(library, media):
    _, catalog, indexer, outcomes = library
    before = _row_counts(catalog)
    again = indexer.index_path(media["talk"].path)
    assert again.status == "skipped" and again.video_id == outcomes["talk"].video_id
    assert _row_counts(catalog) == before
    forced = indexer.index_path(media["talk"].path, force=True)
    assert forced.status == "indexed" and forced.video_id == outcomes["talk"].video_id
    assert _row_counts(catalog) == before


def test_verify_finds_missing_thumbnails_and_files(empty_catalog, tmp_path, media):
    settings, catalog = empty_catalog
    moved = tmp_path / "clip.mp4"
    moved.write_bytes(media["quiet"].path.read_bytes())
    outcome = Indexer(settings, catalog).index_path(moved)
    assert verify(settings, catalog) == []
    with catalog.session() as s:
        thumb = s.scalars(select(Keyframe.thumbnail)).first()
    (settings.thumbnails_dir / thumb).unlink()
    moved.rename(tmp_path / "renamed.mp4")
    problems = [p["problem"] for p in verify(settings, catalog)]
    assert any("thumbnail missing" in p for p in problems)
    assert any("missing on disk" in p for p in problems)
    # indexing the renamed file recognises the move instead of indexing twice
    again = Indexer(settings, catalog).index_path(tmp_path / "renamed.mp4")
    assert again.status == "skipped" and again.video_id == outcome.video_id and "moved" in again.message


def test_file_vanishing_mid_run_fails_cleanly(empty_catalog, tmp_path, media):
    settings, catalog = empty_catalog
    doomed = tmp_path / "doomed.mp4"
    doomed.write_bytes(media["talk"].path.read_bytes())

    def vanish(path, stage, fraction):
        if stage in ("pictures", "speech") and doomed.exists():
            doomed.unlink()

    outcome = Indexer(settings, catalog, on_progress=vanish).index_path(doomed)
    assert outcome.status == "failed" and "vanished" in outcome.message
    counts = _row_counts(catalog)
    assert counts["Video"] == 1 and counts["Shot"] == counts["TranscriptSegment"] == counts["Embedding"] == 0


def test_reindex_after_a_model_change_redoes_only_stale_videos(empty_catalog, media):
    """Turning on a visual model (here the test-only random CLIP) makes the indexed videos stale."""
    settings, catalog = empty_catalog
    video_id = Indexer(settings, catalog).index_path(media["quiet"].path).video_id
    with catalog.session() as s:
        assert s.scalar(select(func.count()).select_from(Embedding).where(Embedding.owner_kind == "keyframe")) == 0
    with_clip = make_settings(settings.data_dir, clip_model="test-tiny-random")
    indexer = Indexer(with_clip, catalog)
    assert [v.id for v in stale_videos(catalog, indexer.models.versions())] == [video_id]
    result = run_cli(["index", "reindex", "--json"], with_clip)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["status"] == "indexed"
    with catalog.session() as s:
        video = s.get(Video, video_id)
        assert video.model_versions["clip"].startswith("test-tiny-random@")
        n_vectors = s.scalar(select(func.count()).select_from(Embedding).where(Embedding.owner_kind == "keyframe"))
        assert n_vectors == len(video.keyframes) > 0
    assert stale_videos(catalog, indexer.models.versions()) == []


def test_bad_inputs_each_get_a_status_and_the_batch_goes_on(tmp_path):
    bad = samples.make_bad_files(tmp_path / "bad")
    settings = make_settings(tmp_path / "data")
    assert run_cli(["init"], settings).returncode == 0
    # the folder alone: its audio-only file is found by the scan like the videos
    result = run_cli(["index", "add", str(tmp_path / "bad"), "--json"], settings)
    assert result.returncode == 1, "a batch with failures exits 1"
    outcomes = {Path(o["path"]).name: o for o in map(json.loads, result.stdout.splitlines())}
    by_kind = {kind: outcomes[path.name] for kind, path in bad.items()}
    assert by_kind["truncated"]["status"] == "failed" and "truncated" in by_kind["truncated"]["message"]
    assert by_kind["not_video"]["status"] == "failed" and "not a media file" in by_kind["not_video"]["message"]
    assert by_kind["zero_length"]["status"] == "failed" and "empty file" in by_kind["zero_length"]["message"]
    assert by_kind["no_audio"]["status"] == "indexed" and "no audio track" in by_kind["no_audio"]["message"]
    assert by_kind["silent"]["status"] == "indexed" and "silent" in by_kind["silent"]["message"]
    assert by_kind["audio_only"]["status"] == "indexed" and "audio only" in by_kind["audio_only"]["message"]
    assert by_kind["odd_name"]["status"] == "indexed", by_kind["odd_name"]
    catalog = Catalog(settings.catalog_url)
    with catalog.session() as s:
        for video in s.scalars(select(Video)):
            if video.status == VideoStatus.FAILED:
                assert video.error and not video.shots and not video.segments and not video.keyframes
        odd = s.scalar(select(Video).where(Video.path == str(bad["odd_name"])))
        assert odd.title == "Réunion d'équipe – 2026 (1)"
        assert "short test" in " ".join(seg.text for seg in odd.segments).lower()
        audio_only = s.scalar(select(Video).where(Video.path == str(bad["audio_only"])))
        assert audio_only.segments and not audio_only.shots
    status = json.loads(run_cli(["index", "status", "--json"], settings).stdout)
    assert {Path(f["path"]).name for f in status["failed"]} == {bad[k].name for k in ("truncated", "not_video",
                                                                                      "zero_length")}
    assert "visual search off" in status["visual"]["message"]
    catalog.dispose()


def _library_of(folder: Path, count: int) -> list[samples.SampleVideo]:
    sentences = ["The train leaves the station at nine in the morning.",
                 "Please water the tomatoes in the greenhouse every evening.",
                 "Our team won the football match on Saturday afternoon.",
                 "The library closes early on public holidays."]
    photos = ["astronaut", "coffee", "chelsea", "rocket"]
    return [samples.make_video(folder / f"clip {i}.mp4",
                               [samples.Scene(4.0, photo=photos[i % 4]), samples.Scene(4.0, photo=photos[(i + 1) % 4])],
                               [samples.Utterance(1.0, sentences[i % 4])], size=(480, 270))
            for i in range(count)]


def _index_add_process(settings, folder: Path) -> subprocess.Popen:
    env = dict(os.environ, REELSCOPE_DATA_DIR=str(settings.data_dir), REELSCOPE_DEVICE="cpu")
    return subprocess.Popen([sys.executable, "-m", "web.cli", "index", "add", str(folder), "--json"], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_claim(catalog: Catalog, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the child has indexed one video and claimed the next."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        with catalog.session() as s:
            indexed = s.scalar(select(func.count()).select_from(Video).where(Video.status == VideoStatus.INDEXED))
            claimed = s.scalar(select(func.count()).select_from(Video).where(Video.status == VideoStatus.INDEXING))
        if indexed >= 1 and claimed >= 1:
            return
        time.sleep(0.05)
    raise AssertionError("the indexer never got going")


@pytest.mark.parametrize("how", ["sigkill", "ctrl-c"])
def test_killed_indexer_resumes_without_losing_or_doubling(tmp_path, how):
    folder = tmp_path / "library"
    videos = _library_of(folder, 4)
    settings = make_settings(tmp_path / "data")
    assert run_cli(["init"], settings).returncode == 0
    catalog = Catalog(settings.catalog_url)
    proc = _index_add_process(settings, folder)
    _wait_for_claim(catalog, proc)
    proc.send_signal(signal.SIGKILL if how == "sigkill" else signal.SIGINT)
    proc.wait(timeout=120)
    if how == "ctrl-c":
        assert proc.returncode == 130
        assert "interrupted" in proc.stderr.read()
        with catalog.session() as s:  # a clean stop leaves nothing claimed
            assert s.scalar(select(func.count()).select_from(Video).where(Video.status == VideoStatus.INDEXING)) == 0
    else:
        status = json.loads(run_cli(["index", "status", "--json"], settings).stdout)
        assert len(status["interrupted"]) == 1
    with catalog.session() as s:
        done_before = s.scalar(select(func.count()).select_from(Video).where(Video.status == VideoStatus.INDEXED))
    assert 1 <= done_before < len(videos)

    rerun = run_cli(["index", "add", str(folder), "--json"], settings)
    assert rerun.returncode == 0, rerun.stderr
    statuses = [json.loads(line)["status"] for line in rerun.stdout.splitlines()]
    assert statuses.count("skipped") == done_before and statuses.count("indexed") == len(videos) - done_before
    with catalog.session() as s:
        rows = s.scalars(select(Video)).all()
        assert sorted(v.path for v in rows) == sorted(str(v.path) for v in videos)
        assert all(v.status == VideoStatus.INDEXED for v in rows)
        for video in rows:
            assert len(video.segments) == 1, f"{video.path}: {[seg.text for seg in video.segments]}"
            assert len(video.shots) == 2
    verified = run_cli(["index", "verify"], settings)
    assert verified.returncode == 0, verified.stdout
    catalog.dispose()


def test_remove_deletes_rows_and_thumbnails(empty_catalog, media):
    settings, catalog = empty_catalog
    outcome = Indexer(settings, catalog).index_path(media["quiet"].path)
    assert any(settings.thumbnails_dir.rglob("*.jpg"))
    result = run_cli(["index", "remove", str(outcome.video_id)], settings)
    assert result.returncode == 0, result.stderr
    assert _row_counts(catalog) == {"Video": 0, "Shot": 0, "Keyframe": 0, "TranscriptSegment": 0, "Embedding": 0}
    assert not any(settings.thumbnails_dir.rglob("*.jpg"))
    missing = run_cli(["index", "remove", "999"], settings)
    assert missing.returncode != 0 and "no video with id 999" in missing.stderr


def test_video_removed_while_indexing_leaves_nothing_behind(empty_catalog, media):
    settings, catalog = empty_catalog

    def remove_it(path, stage, fraction):
        with catalog.session() as s, s.begin():
            video = s.scalar(select(Video).where(Video.path == path))
            if video is not None:
                s.delete(video)

    outcome = Indexer(settings, catalog, on_progress=remove_it).index_path(media["quiet"].path)
    assert outcome.status == "skipped" and "nothing written" in outcome.message
    assert _row_counts(catalog) == {"Video": 0, "Shot": 0, "Keyframe": 0, "TranscriptSegment": 0, "Embedding": 0}


def test_a_claim_held_by_a_killed_unreaped_process_is_dead():
    """Right after a SIGKILL the holder is a zombie until its parent reaps it: its claim must not block."""
    import socket

    from indexer.claims import claim_is_alive

    holder = subprocess.Popen(["sleep", "60"])
    claim = f"{socket.gethostname()}:{holder.pid}"
    assert claim_is_alive(claim, None)
    holder.kill()
    deadline = time.monotonic() + 5
    while claim_is_alive(claim, None):
        assert time.monotonic() < deadline, "a zombie's claim still counts as alive"
        time.sleep(0.05)
    holder.wait()
