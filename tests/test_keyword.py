"""The keyword channel means the same on SQLite (FTS5) and PostgreSQL (tsvector)."""
from __future__ import annotations

import pytest

from catalog import TranscriptSegment, Video, VideoStatus, record_change
from search.keyword import search_keywords
from search.query import parse
from search.vocabulary import Vocabulary

SPOKEN = [
    "The children built a tree house out of old pallets and a blue tarpoline.",  # as Whisper spelled it
    "Our train was delayed because of a signal failure near the bridge.",
    "The failure of the old signal box delayed everyone.",
    "Bake the bread until the crust is golden; bakers call it the bake.",
    "Don't forget the e-mail to Zoë about the café on Friday.",
]


@pytest.fixture
def spoken(catalog):
    ids = []
    with catalog.session() as s, s.begin():
        for i, sentence in enumerate(SPOKEN):
            video = Video(path=f"/v/{i}.mp4", title=f"v{i}", status=VideoStatus.INDEXED, model_versions={})
            s.add(video)
            s.flush()
            seg = TranscriptSegment(video_id=video.id, index=0, start=1.0, end=4.0, text=sentence, words=[])
            s.add(seg)
            s.flush()
            record_change(s, video.id)
            ids.append((video.id, seg.id))
    return catalog, ids


def _found(catalog, query: str, **kwargs) -> list[int]:
    vocabulary = Vocabulary(catalog)
    parsed = parse(query)
    parsed.terms = vocabulary.with_alternatives(parsed.terms)
    with catalog.session() as s:
        return [h.row_id for h in search_keywords(s, parsed, 50, **kwargs)]


def test_all_words_phrase_and_prefix(spoken):
    catalog, ids = spoken
    seg = [segment for _, segment in ids]
    assert set(_found(catalog, "signal failure")) == {seg[1], seg[2]}
    assert _found(catalog, '"signal failure"') == [seg[1]]
    assert _found(catalog, '"failure signal"') == []
    assert set(_found(catalog, "bak*")) == {seg[3]}
    assert _found(catalog, "CRUST golden") == [seg[3]]
    assert _found(catalog, "zoë café") == [seg[4]]
    assert _found(catalog, "e-mail") == [seg[4]]


def test_when_nothing_has_every_word_any_content_word_may(spoken):
    catalog, ids = spoken
    assert _found(catalog, "the bridge over the river")[0] == ids[1][1]
    assert _found(catalog, "the bridge over the river", at_least=5) == []  # all five


def test_rows_holding_at_least_some_of_the_words_rank_as_for_any_word(spoken):
    """What the fused keyword channel asks for: half the query's words, in any order; same on both backends."""
    catalog, ids = spoken
    seg = [segment for _, segment in ids]
    # "signal" and "delayed" in two sentences, "bread" in another, "river" nowhere
    assert set(_found(catalog, "signal delayed bread river", at_least=2)) == {seg[1], seg[2]}
    assert set(_found(catalog, "signal delayed bread river", at_least=1)) == {seg[1], seg[2], seg[3]}
    assert _found(catalog, "signal delayed bread river", at_least=3) == []
    assert set(_found(catalog, "bak* golden delayed", at_least=2)) == {seg[3]}


def test_query_words_recognition_spelled_otherwise_still_match(spoken):
    catalog, ids = spoken
    assert _found(catalog, "tarpaulin") == [ids[0][1]]
    assert _found(catalog, "zebra") == []  # nothing close: no guess


def test_filter_by_video_and_metacharacters(spoken):
    catalog, ids = spoken
    assert _found(catalog, "signal", video_ids=[ids[2][0]]) == [ids[2][1]]
    assert _found(catalog, "signal", video_ids=[]) == []
    for hostile in ['" OR 1=1 --', "NEAR(signal failure)", "signal:*", "'); DROP TABLE videos; --", "^", "(", "&|!"]:
        _found(catalog, hostile)  # must not raise
    with catalog.session() as s:
        assert s.query(Video).count() == len(SPOKEN)
