"""tracks: transcript segments say where their text came from (speech or a subtitle track); videos
record which audio track was heard, which subtitle tracks were read or skipped, and what was kept
from damaged input

Columns are added in place (no table copy): SQLite's full-text triggers on transcript_segments stay.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("transcript_segments", sa.Column("source", sa.String(length=16), nullable=False,
                                                   server_default="speech"))
    op.add_column("transcript_segments", sa.Column("track", sa.String(length=255), nullable=True))
    op.add_column("videos", sa.Column("tracks", sa.JSON(), nullable=True))
    op.add_column("videos", sa.Column("warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("videos", "warnings")
    op.drop_column("videos", "tracks")
    op.drop_column("transcript_segments", "track")
    op.drop_column("transcript_segments", "source")
