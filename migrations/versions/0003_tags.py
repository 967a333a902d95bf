"""tags: emotion and content tags per segment, shot and video; on-screen text per keyframe

Tags hang off a video and name their owner (a transcript segment, a shot, or the video itself)
by kind and id, so one table and one index answer both "tags of this video" and "videos with
this tag". On-screen text gets the same full-text treatment as the transcript (0002).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("start", sa.Float(), nullable=True),
        sa.Column("end", sa.Float(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index("ix_tags_video_id", ["video_id"], unique=False)
        batch_op.create_index("ix_tags_kind_label", ["kind", "label", "confidence"], unique=False)
        batch_op.create_index("ix_tags_owner", ["owner_kind", "owner_id"], unique=False)

    op.create_table(
        "screen_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("keyframe_id", sa.Integer(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["keyframe_id"], ["keyframes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("screen_texts", schema=None) as batch_op:
        batch_op.create_index("ix_screen_texts_video_id", ["video_id"], unique=False)
        batch_op.create_index("ix_screen_texts_keyframe_id", ["keyframe_id"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE screen_texts_fts USING fts5(text, content='screen_texts', "
                   "content_rowid='id', tokenize='unicode61 remove_diacritics 0')")
        op.execute("CREATE TRIGGER screen_texts_fts_ai AFTER INSERT ON screen_texts BEGIN "
                   "INSERT INTO screen_texts_fts(rowid, text) VALUES (new.id, new.text); END")
        op.execute("CREATE TRIGGER screen_texts_fts_ad AFTER DELETE ON screen_texts BEGIN "
                   "INSERT INTO screen_texts_fts(screen_texts_fts, rowid, text) VALUES ('delete', old.id, old.text); "
                   "END")
        op.execute("CREATE TRIGGER screen_texts_fts_au AFTER UPDATE ON screen_texts BEGIN "
                   "INSERT INTO screen_texts_fts(screen_texts_fts, rowid, text) VALUES ('delete', old.id, old.text); "
                   "INSERT INTO screen_texts_fts(rowid, text) VALUES (new.id, new.text); END")
    else:
        op.execute("ALTER TABLE screen_texts ADD COLUMN search_vector tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED")
        op.execute("CREATE INDEX ix_screen_texts_search ON screen_texts USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("screen_texts_fts_ai", "screen_texts_fts_ad", "screen_texts_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS screen_texts_fts")
    op.drop_table("screen_texts")
    op.drop_table("tags")
