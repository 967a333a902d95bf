"""Subtitles as a transcript source, through the indexer: a silent film with sidecar subtitles gets a
searchable transcript; speech and subtitles are both kept; bitmap tracks are listed as skipped."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import samples
from catalog import Catalog, Embedding, SegmentSource, TranscriptSegment, Video
from search.engine import SearchEngine, SearchRequest
from tests.test_subtitles import CUES, make_media

pytestmark = pytest.mark.slow

ENGLISH_SRT = """1
00:00:01,000 --> 00:00:03,500
The lighthouse keeper climbs the stairs.

2
00:00:05,000 --> 00:00:07,000
A storm is coming from the north.
"""
CHINESE_SRT = """1
00:00:01,000 --> 00:00:03,500
灯塔看守人爬上楼梯。

2
00:00:05,000 --> 00:00:07,000
甚至出现交易
"""


@pytest.fixture(scope="module")
def indexer(module_indexer):
    return module_indexer


def _segments(catalog: Catalog, video_id: int):
    with catalog.session() as s:
        return [(seg.source, seg.track, seg.language, seg.start, seg.end, seg.text)
                for seg in s.scalars(select(TranscriptSegment).where(TranscriptSegment.video_id == video_id)
                                     .order_by(TranscriptSegment.index))]


def test_a_silent_film_with_sidecar_subtitles_is_searchable_at_the_cue(indexer, tmp_path):
    film = samples.make_video(tmp_path / "silent film.mp4", [samples.Scene(8.0, photo="rocket")], audio=False,
                              size=(320, 180)).path
    (tmp_path / "silent film.en.srt").write_text(ENGLISH_SRT, encoding="utf-8")
    (tmp_path / "silent film.zh.srt").write_bytes(CHINESE_SRT.encode("gbk"))  # a legacy Chinese encoding
    outcome = indexer.index_path(film)
    assert outcome.status == "indexed", outcome.message
    assert "2 subtitle track(s) read" in outcome.message
    rows = _segments(indexer.catalog, outcome.video_id)
    assert {(r[0], r[1], r[2]) for r in rows} == {("subtitles", "sidecar:silent film.en.srt", "en"),
                                                  ("subtitles", "sidecar:silent film.zh.srt", "zh")}
    assert ("subtitles", "sidecar:silent film.zh.srt", "zh", 5.0, 7.0, "甚至出现交易") in rows
    with indexer.catalog.session() as s:
        video = s.get(Video, outcome.video_id)
        assert [t["key"] for t in video.tracks["subtitles"]] == ["sidecar:silent film.en.srt",
                                                                 "sidecar:silent film.zh.srt"]
        assert video.language == "en"
        vectors = s.scalar(select(Embedding.id).where(Embedding.video_id == video.id,
                                                      Embedding.owner_kind == "segment").limit(1))
        assert vectors is not None
    engine = SearchEngine(indexer.settings, indexer.catalog)
    top = engine.search(SearchRequest(text="storm", k=3, mode="keyword")).moments[0]
    assert (top.video_id, round(top.start, 1)) == (outcome.video_id, 5.0)
    top = engine.search(SearchRequest(text="bad weather is on its way", k=3)).moments[0]
    assert (top.video_id, round(top.start, 1)) == (outcome.video_id, 5.0)


def test_speech_and_subtitles_are_both_kept(indexer, tmp_path):
    talk = samples.make_video(tmp_path / "talk.mp4", [samples.Scene(8.0, photo="coffee")],
                              [samples.Utterance(1.0, "Welcome to my kitchen, today we bake bread together.")],
                              size=(320, 180)).path
    (tmp_path / "talk.fr.srt").write_text("1\n00:00:01,000 --> 00:00:04,000\nBienvenue dans ma cuisine.\n",
                                          encoding="utf-8")
    outcome = indexer.index_path(talk)
    assert outcome.status == "indexed", outcome.message
    rows = _segments(indexer.catalog, outcome.video_id)
    speech = [r for r in rows if r[0] == SegmentSource.SPEECH]
    subtitles = [r for r in rows if r[0] == SegmentSource.SUBTITLES]
    assert speech and "kitchen" in speech[0][5].lower() and speech[0][1] is None
    assert subtitles == [("subtitles", "sidecar:talk.fr.srt", "fr", 1.0, 4.0, "Bienvenue dans ma cuisine.")]
    with indexer.catalog.session() as s:
        assert s.get(Video, outcome.video_id).language == "en"  # the speech's


def test_embedded_text_tracks_are_read_and_bitmap_tracks_listed_as_skipped(indexer, tmp_path):
    film = make_media(tmp_path / "tracks.mkv", [("subrip", "eng", CUES), ("dvd_subtitle", "fre", [b"\x00\x01"])],
                      frames=30)
    outcome = indexer.index_path(film)
    assert outcome.status == "indexed", outcome.message
    rows = _segments(indexer.catalog, outcome.video_id)
    assert [r[5] for r in rows] == ["Hello world", "Second line"] and rows[0][1] == "embedded:1"
    with indexer.catalog.session() as s:
        video = s.get(Video, outcome.video_id)
        [skipped] = video.tracks["skipped"]
        assert skipped["key"] == "embedded:2" and "dvd_subtitle" in skipped["reason"]
        assert any("embedded:2 skipped" in w for w in video.warnings)
