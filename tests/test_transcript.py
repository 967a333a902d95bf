"""Real recorded speech (../shared/real-media) through the indexer: every reference sentence comes back
by its words at the second it was said, across Whisper's 30 s windows and at the very end of a file,
in English and Mandarin; a long, mostly silent recording keeps its moments and its memory bound."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from indexer.pipeline import Indexer
from catalog import Catalog, SegmentSource, TranscriptSegment, upgrade
from search.engine import SearchEngine, SearchRequest
from tests.conftest import ROOT, make_settings, service_missing
from tests.real_media import (REAL_MEDIA, PlacedUtterance, across_boundary, build_recording, reference_words,
                              speech_clips, word_error_rate)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True, scope="module")
def real_media_here():
    if not (REAL_MEDIA / "manifest.json").exists():
        service_missing(f"no real media at {REAL_MEDIA}; set REELSCOPE_REAL_MEDIA")

# how far a sentence's first word may lie from where the sentence was placed
START_TOLERANCE = 0.7


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    settings = make_settings(root / "data")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    indexer = Indexer(settings, catalog)
    library = {}
    for language in ("en", "zh"):
        entries, place = across_boundary(speech_clips((language,)))
        path = root / "library" / f"{language} sentences.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        placed = build_recording(path, entries, place=place, tail=0.0)  # the last word ends the file
        outcome = indexer.index_path(path)
        assert outcome.status == "indexed", outcome.message
        library[language] = (outcome.video_id, placed)
    yield settings, catalog, library
    catalog.dispose()


def _heard(catalog: Catalog, video_id: int) -> list[tuple[str, float, float]]:
    with catalog.session() as s:
        segments = s.scalars(select(TranscriptSegment).where(TranscriptSegment.video_id == video_id)
                             .order_by(TranscriptSegment.start)).all()
        assert all(seg.source == SegmentSource.SPEECH for seg in segments)
        return [(w[0], w[1], w[2]) for seg in segments for w in seg.words]


def _check_sentences(heard, placed: list[PlacedUtterance], language: str, max_error_rate: float) -> None:
    for utterance in placed:
        inside = [w for w in heard if utterance.start - 1.0 <= (w[1] + w[2]) / 2 <= utterance.end + 1.0]
        said = reference_words(utterance.text, language)
        got = reference_words(" ".join(w[0] for w in inside) if language != "zh" else "".join(w[0] for w in inside),
                              language)
        errors, length, deletions = word_error_rate(said, got)
        assert inside, f"nothing heard of {utterance.text!r} at {utterance.start:.1f} s"
        assert errors / length <= max_error_rate, (utterance.text, got)
        assert deletions / length <= 0.25, (utterance.text, got)
        assert abs(inside[0][1] - utterance.start) <= START_TOLERANCE, (utterance.text, inside[0], utterance.start)


def test_every_english_sentence_is_heard_at_its_time(indexed):
    _, catalog, library = indexed
    video_id, placed = library["en"]
    assert any(u.start < 30.0 < u.end for u in placed)  # one runs across Whisper's first window
    assert placed[-1].end == max(u.end for u in placed)  # and the last ends the file
    _check_sentences(_heard(catalog, video_id), placed, "en", max_error_rate=0.35)


def test_every_mandarin_sentence_is_heard_at_its_time(indexed):
    _, catalog, library = indexed
    video_id, placed = library["zh"]
    _check_sentences(_heard(catalog, video_id), placed, "zh", max_error_rate=0.5)


def test_segments_follow_the_speech(indexed):
    _, catalog, library = indexed
    with catalog.session() as s:
        for video_id, _ in library.values():
            for seg in s.scalars(select(TranscriptSegment).where(TranscriptSegment.video_id == video_id)):
                assert seg.end - seg.start <= 30.0
                assert (seg.start, seg.end) == pytest.approx((seg.words[0][1], max(w[2] for w in seg.words)), abs=1e-3)
                gaps = [b[1] - a[2] for a, b in zip(seg.words, seg.words[1:])]
                assert max(gaps, default=0.0) <= 1.5, seg.text


def test_a_spoken_phrase_is_found_at_the_right_second(indexed):
    settings, catalog, library = indexed
    video_id, placed = library["en"]
    engine = SearchEngine(settings, catalog)
    for phrase, needle in (("press yard", "PRESS YARD"), ("a new home in the stars", "home in the stars")):
        said = next(u for u in placed if needle.lower() in u.text.lower())
        result = engine.search(SearchRequest(text=phrase, k=5))
        top = result.moments[0]
        assert top.video_id == video_id, phrase
        assert abs(top.start - said.start) <= 1.5, (phrase, top.start, said.start)


def _peak_rss_indexing(path: Path, data_dir: Path) -> tuple[int, dict]:
    """`reelscope index add` in a child process of its own: its peak RSS (kB) and its JSON outcome."""
    upgrade(make_settings(data_dir).catalog_url)
    code = ("import atexit, resource, sys\n"
            "atexit.register(lambda: print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "file=sys.stderr))\n"
            "from web.cli import cli\n"
            f"cli(['index', 'add', {str(path)!r}, '--json'])\n")
    env = dict(os.environ, REELSCOPE_DATA_DIR=str(data_dir), REELSCOPE_DATABASE_URL="", REELSCOPE_DEVICE="cpu",
               REELSCOPE_CLIP_MODEL="ViT-B-32/laion2b_s34b_b79k")
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    rss = int(next(line.split()[1] for line in result.stderr.splitlines() if line.startswith("MAXRSS")))
    return rss, json.loads(result.stdout.strip().splitlines()[-1])


def test_an_hour_of_mostly_silence_keeps_its_moments_in_the_memory_of_ten_minutes(tmp_path):
    clips = [c for c in speech_clips(("en",)) if 2.5 < c["duration"] < 12][:3]
    runs = {}
    for minutes in (10, 60):
        seconds = minutes * 60.0
        place = {0: 2.0, 1: seconds * 0.55, 2: seconds - clips[2]["duration"] - 2.0}
        path = tmp_path / f"{minutes} minutes.mp4"
        placed = build_recording(path, clips, place=place, total=seconds, width=320, height=240)
        rss, outcome = _peak_rss_indexing(path, tmp_path / f"data{minutes}")
        assert outcome["status"] == "indexed", outcome
        runs[minutes] = (rss, placed, outcome)
    settings = make_settings(tmp_path / "data60")
    catalog = Catalog(settings.catalog_url)
    try:
        rss, placed, outcome = runs[60]
        heard = _heard(catalog, outcome["video_id"])
        with catalog.session() as s:
            starts = sorted(seg.start for seg in s.scalars(select(TranscriptSegment)
                                                            .where(TranscriptSegment.video_id == outcome["video_id"])))
        for utterance in placed:  # each sentence opens the player at its own second, not at 0:01
            assert any(abs(start - utterance.start) <= START_TOLERANCE for start in starts), (utterance, starts)
        assert len(heard) >= sum(len(u.text.split()) for u in placed) * 0.75
    finally:
        catalog.dispose()
    assert runs[60][0] <= 1.2 * runs[10][0], f"peak RSS 60 min {runs[60][0]} kB vs 10 min {runs[10][0]} kB"
