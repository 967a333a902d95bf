"""One rule for "which videos need indexing again": the CLI, the admin API and a worker agree, a video
indexed before CLIP weights were imported included (the worker's own copy of the rule missed it)."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select

import samples
from indexer.jobs import enqueue
from indexer.pipeline import Indexer
from catalog import Catalog, Job, upgrade
from tests.conftest import make_settings, run_cli
from tests.test_admin_api import TOKEN, _auth, _wait_idle

pytestmark = pytest.mark.slow


def test_cli_admin_api_and_worker_pick_the_same_videos_to_reindex(tmp_path):
    from indexer.tasks import _prepare
    from web import create_app

    media = tmp_path / "media"
    quiet = samples.make_video(media / "sky.mp4", [samples.Scene(2.0, photo="rocket")], audio=False,
                               size=(320, 180)).path
    podcast = samples.make_audio_only(media / "podcast.m4a", [samples.Utterance(0.5, "A short spoken note.")], 3.0)
    settings = make_settings(tmp_path / "data")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    try:
        indexer = Indexer(settings, catalog)
        assert {indexer.index_path(p).status for p in (quiet, podcast)} == {"indexed"}

        # CLIP weights arrive (here the test-only random model): the video lacks keyframe vectors,
        # the audio file has no pictures to embed
        with_clip = replace(settings, clip_model="test-tiny-random", admin_token=TOKEN)
        expected = [str(quiet)]

        cli = run_cli(["index", "reindex", "--dry-run", "--json"], with_clip)
        assert cli.returncode == 0, cli.stderr
        assert [json.loads(line)["path"] for line in cli.stdout.splitlines()] == expected

        worker = Indexer(with_clip, catalog)
        decisions = {}
        for job_id in enqueue(catalog, [quiet, podcast], force=False):
            path, force, _ = _prepare(worker, job_id, retrying=False)
            decisions[str(path)] = force
        assert [path for path, force in decisions.items() if force] == expected

        client = create_app(with_clip).test_client()
        started = client.post("/api/v1/admin/reindex", json={}, headers=_auth())
        assert started.status_code == 202, started.get_json()
        with catalog.session() as s:
            assert [s.get(Job, job_id).path for job_id in started.get_json()["jobs"]] == expected
            assert len(s.scalars(select(Job)).all()) == 3  # the two the worker weighed, one from the admin
        _wait_idle(client)
    finally:
        catalog.dispose()
