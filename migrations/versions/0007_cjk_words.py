"""cjk words: the full-text indexes read each row's text in index form (catalog/words.py), so that
Chinese is cut into words, kana and hangul into character pairs, and traditional characters are
folded to simplified; existing rows are converted here

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

from catalog.words import index_form

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# searchable table -> its SQLite FTS5 table and triggers' prefix, and its PostgreSQL index
TABLES = {"transcript_segments": ("segments_fts", "ix_transcript_segments_search"),
          "screen_texts": ("screen_texts_fts", "ix_screen_texts_search")}
BATCH = 2000


def _fill(table: str) -> None:
    """search_text for every row; only rows with CJK text differ from their lower-cased text."""
    bind = op.get_bind()
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column("text", sa.Text), sa.column("search_text", sa.Text))
    last = 0
    while True:
        batch = bind.execute(sa.select(rows.c.id, rows.c.text).where(rows.c.id > last)
                             .order_by(rows.c.id).limit(BATCH)).all()
        if not batch:
            return
        bind.execute(rows.update().where(rows.c.id == sa.bindparam("row_id"))
                     .values(search_text=sa.bindparam("form")),
                     [{"row_id": r.id, "form": index_form(r.text)} for r in batch])
        last = batch[-1].id


def _sqlite_full_text(table: str, fts: str, column: str) -> None:
    for suffix in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
    op.execute(f"DROP TABLE IF EXISTS {fts}")
    op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', content_rowid='id', "
               "tokenize='unicode61 remove_diacritics 0')")
    op.execute(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
               f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END")
    op.execute(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
               f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); END")
    op.execute(f"CREATE TRIGGER {fts}_au AFTER UPDATE ON {table} BEGIN "
               f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
               f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END")
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _postgres_full_text(table: str, index: str, column: str) -> None:
    op.execute(f"DROP INDEX IF EXISTS {index}")
    op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
    op.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
               f"GENERATED ALWAYS AS (to_tsvector('simple', coalesce({column}, ''))) STORED")
    op.execute(f"CREATE INDEX {index} ON {table} USING gin (search_vector)")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, (fts, index) in TABLES.items():
        op.add_column(table, sa.Column("search_text", sa.Text(), nullable=True))
        if sqlite:  # the old triggers would index the text again on every row the fill updates
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        _fill(table)
        if sqlite:
            _sqlite_full_text(table, fts, "search_text")
        else:
            _postgres_full_text(table, index, "search_text")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, (fts, index) in TABLES.items():
        if sqlite:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
        else:
            _postgres_full_text(table, index, "text")
        op.drop_column(table, "search_text")
        if sqlite:
            _sqlite_full_text(table, fts, "text")
