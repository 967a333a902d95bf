"""Keyword search in Chinese, Japanese and Korean, the same on SQLite (FTS5) and PostgreSQL (tsvector):
words inside a clause written without spaces, either Chinese script, homophones speech recognition
wrote, catalogs from before, and snippets a reader can read."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from catalog import Catalog, ScreenText, TranscriptSegment, Video, VideoStatus, alembic_config, record_change, upgrade
from search.keyword import search_keywords
from search.moments import _highlight
from search.query import parse
from search.vocabulary import Vocabulary

SPOKEN = [
    # long clauses with no space in them, as Whisper writes Mandarin
    "这个市场里面甚至出现了一些私下交易的情况，大家都说不清楚到底是谁在管",
    "行业协会今天发布了新的规定，要求所有会员在月底之前完成登记",
    "广州的天气最近一直很热，很多人晚上都不愿意出门",
    "東京の会議では新しい計画について話し合いました",  # Japanese
    "오늘 회의에서 새로운 계획을 발표했습니다",  # Korean
    "The quarterly report was published on Friday.",
    "会议讨论了公民的权力",  # 权力 (power) where the speaker meant 权利 (rights): both quánlì
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
            ids.append(seg.id)
    return catalog, ids


def _found(catalog, query: str, table: str = "transcript_segments", **kwargs) -> list[int]:
    parsed = parse(query)
    parsed.terms = Vocabulary(catalog).with_alternatives(parsed.terms)
    with catalog.session() as s:
        return [h.row_id for h in search_keywords(s, parsed, 50, table=table, **kwargs)]


def test_a_chinese_word_inside_a_long_clause_is_found(spoken):
    catalog, ids = spoken
    assert _found(catalog, "交易") == [ids[0]]
    assert _found(catalog, "情况") == [ids[0]]
    assert _found(catalog, "说不清楚") == [ids[0]]
    assert _found(catalog, "清楚") == [ids[0]]  # a word inside a longer one
    assert _found(catalog, "协会 登记") == [ids[1]]
    assert _found(catalog, "交易 登记", at_least=2) == []  # they are in two clauses
    assert set(_found(catalog, "交易 登记")) == {ids[0], ids[1]}  # then any word, as in English
    assert _found(catalog, "交易 的 情况") == [ids[0]]
    assert _found(catalog, "火车") == []


def test_either_script_finds_the_other(spoken):
    catalog, ids = spoken
    assert _found(catalog, "廣州") == [ids[2]]  # traditional query, simplified transcript
    assert _found(catalog, "交易的情況") == [ids[0]]
    assert _found(catalog, "东京") == [ids[3]]  # simplified query, the Japanese text's kanji
    assert set(_found(catalog, "會議")) == {ids[3], ids[6]}  # 会议 in Japanese and in Chinese


def test_japanese_and_korean_by_character_pairs(spoken):
    catalog, ids = spoken
    assert _found(catalog, "話し合いました") == [ids[3]]
    assert _found(catalog, "計画") == [ids[3]]
    assert _found(catalog, "계획을") == [ids[4]]
    assert _found(catalog, "발표") == [ids[4]]
    assert _found(catalog, "quarterly report") == [ids[5]]  # other languages as before


def test_a_homophone_speech_recognition_wrote_still_matches(spoken):
    catalog, ids = spoken
    # the transcripts lack 权利; they hold 权力, which sounds the same
    assert _found(catalog, "权利") == [ids[6]]
    assert _found(catalog, "公民 权利") == [ids[6]]
    assert _found(catalog, "权力") == [ids[6]]
    assert _found(catalog, "协会") == [ids[1]]  # a word they hold matches only itself
    assert _found(catalog, "鞋会") == []  # no word they hold sounds like xie hui, by itself


def test_screen_text_in_chinese_is_found(catalog):
    with catalog.session() as s, s.begin():
        video = Video(path="/v/sign.mp4", title="sign", status=VideoStatus.INDEXED, model_versions={})
        s.add(video)
        s.flush()
        s.execute(sa.text("INSERT INTO keyframes (video_id, shot_index, time, thumbnail, width, height) "
                          "VALUES (:v, 0, 1.0, 't.jpg', 10, 10)"), {"v": video.id})
        keyframe = s.scalar(sa.text("SELECT id FROM keyframes"))
        row = ScreenText(video_id=video.id, keyframe_id=keyframe, time=1.0, text="歡迎光臨北京大學圖書館", confidence=0.9)
        s.add(row)
        s.flush()
        row_id = row.id
    assert _found(catalog, "图书馆", table="screen_texts") == [row_id]


def test_snippets_read_without_spaces_and_mark_the_right_characters():
    text, marks = _highlight(SPOKEN[0], parse("交易 说不清楚"))
    assert text == SPOKEN[0]
    assert [text[a:b] for a, b in marks] == ["交易", "说不清楚"]
    text, marks = _highlight("廣州的天氣很熱", parse("广州 天气"))  # a query in the other script
    assert [text[a:b] for a, b in marks] == ["廣州", "天氣"]
    text, marks = _highlight("東京の会議では新しい計画について話し合いました", parse("話し合いました"))
    assert [text[a:b] for a, b in marks] == ["話し合いました"]
    text, marks = _highlight("Bake the bread, then bake again.", parse("bake"))
    assert [text[a:b] for a, b in marks] == ["Bake", "bake"]


def test_a_catalog_from_before_is_migrated(catalog_url):
    """Rows written before the index read words are converted by the migration, on both backends."""
    command.upgrade(alembic_config(catalog_url), "0006")
    engine = sa.create_engine(catalog_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO videos (path, title, has_video, has_audio, status, model_versions, added_at) "
                             "VALUES ('/v/old.mp4', 'old', true, true, 'indexed', '{}', CURRENT_TIMESTAMP)"))
        video = conn.scalar(sa.text("SELECT id FROM videos"))
        for i, sentence in enumerate(SPOKEN[:3]):
            conn.execute(sa.text('INSERT INTO transcript_segments (video_id, "index", start, "end", text, words, '
                                 "source) VALUES (:v, :i, :i, :i + 1, :t, '[]', 'speech')"),
                         {"v": video, "i": i, "t": sentence})
        # before: a clause is one token, a word in it is not found
        if engine.dialect.name == "sqlite":
            before = conn.scalar(sa.text("SELECT count(*) FROM segments_fts WHERE segments_fts MATCH '\"交易\"'"))
        else:
            before = conn.scalar(sa.text("SELECT count(*) FROM transcript_segments "
                                         "WHERE search_vector @@ to_tsquery('simple', '交易')"))
        assert before == 0
    engine.dispose()
    upgrade(catalog_url)
    catalog = Catalog(catalog_url)
    try:
        assert len(_found(catalog, "交易")) == 1
        assert len(_found(catalog, "廣州")) == 1
        with catalog.session() as s, s.begin():  # rows written after the migration are indexed too
            s.add(TranscriptSegment(video_id=video, index=9, start=9.0, end=10.0, text="新的交易", words=[]))
        assert len(_found(catalog, "交易")) == 2
        command.downgrade(alembic_config(catalog_url), "0006")
        command.upgrade(alembic_config(catalog_url), "head")
        assert len(_found(catalog, "交易")) == 2
    finally:
        catalog.dispose()
