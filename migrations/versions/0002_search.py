"""search: catalog change log (vector index sync) and full-text search over transcript segments

SQLite gets an FTS5 table kept in step by triggers; PostgreSQL a generated tsvector column with a
GIN index. Both tokenise the same way (lower-cased words, no stemming, accents kept), so a keyword
query means the same on either backend.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("catalog_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_changes_video_id"), ["video_id"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE segments_fts USING fts5(text, content='transcript_segments', "
                   "content_rowid='id', tokenize='unicode61 remove_diacritics 0')")
        op.execute("CREATE TRIGGER segments_fts_ai AFTER INSERT ON transcript_segments BEGIN "
                   "INSERT INTO segments_fts(rowid, text) VALUES (new.id, new.text); END")
        op.execute("CREATE TRIGGER segments_fts_ad AFTER DELETE ON transcript_segments BEGIN "
                   "INSERT INTO segments_fts(segments_fts, rowid, text) VALUES ('delete', old.id, old.text); END")
        op.execute("CREATE TRIGGER segments_fts_au AFTER UPDATE ON transcript_segments BEGIN "
                   "INSERT INTO segments_fts(segments_fts, rowid, text) VALUES ('delete', old.id, old.text); "
                   "INSERT INTO segments_fts(rowid, text) VALUES (new.id, new.text); END")
        op.execute("INSERT INTO segments_fts(segments_fts) VALUES ('rebuild')")
    else:
        op.execute("ALTER TABLE transcript_segments ADD COLUMN search_vector tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED")
        op.execute("CREATE INDEX ix_transcript_segments_search ON transcript_segments USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("segments_fts_ai", "segments_fts_ad", "segments_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS segments_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_transcript_segments_search")
        op.execute("ALTER TABLE transcript_segments DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table("catalog_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_changes_video_id"))
    op.drop_table("catalog_changes")
