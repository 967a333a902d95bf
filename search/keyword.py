"""Keyword channels: full-text search over transcript segments, and over on-screen text, by the same rules
(SQLite FTS5 / PostgreSQL tsvector over each row's `search_text`, its words as catalog/words.py cuts
them; both tables get their full-text index from the migrations)."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from sqlalchemy import text

from .query import ParsedQuery, fts5_expression, tsquery_expression


# searchable table -> its FTS5 table (SQLite); on PostgreSQL each table has a `search_vector` column
FULL_TEXT_TABLES = {"transcript_segments": "segments_fts", "screen_texts": "screen_texts_fts"}
# what a hit carries besides its id, video and text: where it is (a segment's time, a text's keyframe)
PLACE_COLUMNS = {"transcript_segments": ('start', '"end"'), "screen_texts": ("keyframe_id",)}
# past this many groups of terms a long query matches any of its terms instead (ranked the same)
MAX_COMBINATIONS = 35


@dataclass
class KeywordHit:
    row_id: int  # in the table searched
    video_id: int
    rank: int
    text: str = ""
    words: str = ""  # the row's text as the index reads it (catalog/words.py): what coverage is scored on
    place: tuple = ()  # PLACE_COLUMNS of the row: (start, end) of a segment, (keyframe_id,) of screen text


def search_keywords(session, parsed: ParsedQuery, limit: int, video_ids: list[int] | None = None,
                    at_least: int | None = None, table: str = "transcript_segments") -> list[KeywordHit]:
    """Best matches first. `at_least=None`: all terms must match, and when that finds nothing, any
    content word may; a number: rows holding at least that many of the terms (any order)."""
    if not parsed.terms:
        return []
    if at_least is not None:
        return _run(session, table, parsed.terms, at_least, limit, video_ids)
    hits = _run(session, table, parsed.terms, len(parsed.terms), limit, video_ids)
    content = parsed.content_terms
    if not hits and len(content) > 1:
        hits = _run(session, table, content, 1, limit, video_ids)
    return hits


def match_expression(dialect: str, terms, at_least: int) -> str:
    """Rows holding at least `at_least` of the terms: an OR of every such AND. Each term appears in
    as many of them as any other, so bm25 / ts_rank order the rows as for "any term", and the engine
    gets the rows it keeps (those covering half the query) without ranking every row that shares one
    common word with it (at 1M segments 16 ms -> 1.5 ms for a 3-word query)."""
    build = fts5_expression if dialect == "sqlite" else tsquery_expression
    if at_least >= len(terms):
        return build(terms)
    if at_least <= 1 or math.comb(len(terms), at_least) > MAX_COMBINATIONS:
        return build(terms, any_term=True)
    joined = " OR " if dialect == "sqlite" else " | "
    return joined.join(f"({build(list(group))})" for group in itertools.combinations(terms, at_least))


def _run(session, table: str, terms, at_least: int, limit: int, video_ids) -> list[KeywordHit]:
    fts = FULL_TEXT_TABLES[table]
    # the row's own columns come with the match: no second query for them
    columns = ", ".join(f"s.{c}" for c in ("id", "video_id", "text", "search_text") + PLACE_COLUMNS[table])
    dialect = session.get_bind().dialect.name
    params: dict = {"limit": limit}
    video_filter = ""
    if video_ids is not None:
        if not video_ids:
            return []
        video_filter = " AND s.video_id IN (" + ", ".join(f":v{i}" for i in range(len(video_ids))) + ")"
        params.update({f"v{i}": v for i, v in enumerate(video_ids)})
    if dialect == "sqlite":
        params["q"] = match_expression(dialect, terms, at_least)
        if video_filter:
            sql = (f"SELECT {columns} FROM {fts} f JOIN {table} s ON s.id = f.rowid "
                   f"WHERE {fts} MATCH :q{video_filter} ORDER BY bm25({fts}), s.id LIMIT :limit")
        else:  # rank in the full-text index alone, then read just the rows kept (a common word matches 100k)
            sql = (f"SELECT {columns} FROM (SELECT rowid, bm25({fts}) AS score FROM {fts} WHERE {fts} MATCH :q "
                   f"ORDER BY score, rowid LIMIT :limit) f JOIN {table} s ON s.id = f.rowid ORDER BY f.score, s.id")
    else:
        params["q"] = match_expression(dialect, terms, at_least)
        sql = (f"SELECT {columns} FROM {table} s, to_tsquery('simple', :q) q "
               f"WHERE s.search_vector @@ q{video_filter} "
               "ORDER BY ts_rank_cd(s.search_vector, q) DESC, s.id LIMIT :limit")
    rows = session.execute(text(sql), params).all()
    return [KeywordHit(row_id=r[0], video_id=r[1], rank=i + 1, text=r[2], words=r[3] or r[2], place=tuple(r[4:]))
            for i, r in enumerate(rows)]
