"""The keyword channel: full-text search over transcript segments (SQLite FTS5 / PostgreSQL tsvector)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from .query import ParsedQuery, fts5_expression, tsquery_expression


@dataclass
class KeywordHit:
    segment_id: int
    video_id: int
    rank: int


def search_keywords(session, parsed: ParsedQuery, limit: int, video_ids: list[int] | None = None,
                    match_all: bool | None = None) -> list[KeywordHit]:
    """Best matches first. `match_all=None`: all terms must match, and when that finds nothing,
    any content word may; True or False: only that."""
    if not parsed.terms:
        return []
    if match_all is not None:
        return _run(session, parsed.terms, not match_all, limit, video_ids)
    hits = _run(session, parsed.terms, False, limit, video_ids)
    content = parsed.content_terms
    if not hits and len(content) > 1:
        hits = _run(session, content, True, limit, video_ids)
    return hits


def _run(session, terms, any_term: bool, limit: int, video_ids) -> list[KeywordHit]:
    dialect = session.get_bind().dialect.name
    params: dict = {"limit": limit}
    video_filter = ""
    if video_ids is not None:
        if not video_ids:
            return []
        video_filter = " AND s.video_id IN (" + ", ".join(f":v{i}" for i in range(len(video_ids))) + ")"
        params.update({f"v{i}": v for i, v in enumerate(video_ids)})
    if dialect == "sqlite":
        params["q"] = fts5_expression(terms, any_term)
        sql = ("SELECT s.id, s.video_id FROM segments_fts f JOIN transcript_segments s ON s.id = f.rowid "
               f"WHERE segments_fts MATCH :q{video_filter} ORDER BY bm25(segments_fts), s.id LIMIT :limit")
    else:
        params["q"] = tsquery_expression(terms, any_term)
        sql = ("SELECT s.id, s.video_id FROM transcript_segments s, to_tsquery('simple', :q) q "
               f"WHERE s.search_vector @@ q{video_filter} "
               "ORDER BY ts_rank_cd(s.search_vector, q) DESC, s.id LIMIT :limit")
    rows = session.execute(text(sql), params).all()
    return [KeywordHit(segment_id=r[0], video_id=r[1], rank=i + 1) for i, r in enumerate(rows)]
