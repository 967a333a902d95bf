"""The catalog schema on both backends: built only by the migrations, and behaving as the code expects."""
from __future__ import annotations

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from catalog import (Base, Catalog, CatalogNotReady, Embedding, Keyframe, Shot, TranscriptSegment, Video,
                     VideoStatus, current_revision, head_revision, include_object, upgrade, vector_bytes)


def test_migrations_build_exactly_the_models_schema(catalog_url):
    assert current_revision(catalog_url) is None
    assert upgrade(catalog_url) == head_revision()
    catalog = Catalog(catalog_url)
    with catalog.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}),
                                Base.metadata)
    catalog.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"
    # running it again is a no-op
    assert upgrade(catalog_url) == head_revision()


def test_unmigrated_catalog_is_refused_with_a_hint(catalog_url):
    catalog = Catalog(catalog_url)
    with pytest.raises(CatalogNotReady, match="reelscope init"):
        catalog.check_schema()
    catalog.dispose()


def test_video_rows_round_trip_and_cascade(catalog):
    vector = np.random.default_rng(0).standard_normal(384).astype(np.float32)
    with catalog.session() as s, s.begin():
        video = Video(path="/videos/Café – ünïcode.mp4", title="Café", status=VideoStatus.INDEXED,
                      model_versions={"text": "all-MiniLM-L6-v2@0.1.0"}, duration=12.5)
        s.add(video)
        s.flush()
        s.add(Shot(video_id=video.id, index=0, start=0.0, end=12.5))
        s.add(Keyframe(video_id=video.id, shot_index=0, time=0.0, thumbnail="ab/abc/000000000.jpg", width=320,
                       height=180))
        seg = TranscriptSegment(video_id=video.id, index=0, start=1.0, end=2.0, text="hello there", language="en",
                                words=[["hello", 1.0, 1.4, 0.9], ["there", 1.4, 2.0, 0.8]])
        s.add(seg)
        s.flush()
        s.add(Embedding(video_id=video.id, owner_kind="segment", owner_id=seg.id, model="all-MiniLM-L6-v2",
                        model_version="all-MiniLM-L6-v2@0.1.0", dim=384, vector=vector_bytes(vector)))
        video_id = video.id
    with catalog.session() as s:
        video = s.get(Video, video_id)
        assert video.path == "/videos/Café – ünïcode.mp4"
        assert video.segments[0].words[1] == ["there", 1.4, 2.0, 0.8]
        stored = s.scalar(select(Embedding)).as_array()
        assert stored.dtype == np.float32 and np.array_equal(stored, vector)
    assert catalog.counts()["by_status"]["indexed"] == 1
    with catalog.session() as s, s.begin():
        s.delete(s.get(Video, video_id))
    with catalog.session() as s:
        for table in (Shot, Keyframe, TranscriptSegment, Embedding):
            assert s.scalar(select(func.count()).select_from(table)) == 0, f"{table.__name__} rows left behind"


def test_one_row_per_path(catalog):
    import sqlalchemy.exc

    with catalog.session() as s, s.begin():
        s.add(Video(path="/a.mp4", title="a", model_versions={}))
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        with catalog.session() as s, s.begin():
            s.add(Video(path="/a.mp4", title="again", model_versions={}))
