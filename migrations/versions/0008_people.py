"""people: faces in keyframes and voices in speech, grouped into people across the library

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _video_id() -> sa.Column:
    return sa.Column("video_id", sa.Integer(), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False)


def _person_id() -> sa.Column:
    return sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="SET NULL"), nullable=True)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("face_exemplars", sa.LargeBinary(), nullable=True),
        sa.Column("face_model", sa.String(length=128), nullable=True),
        sa.Column("voice", sa.LargeBinary(), nullable=True),
        sa.Column("voice_model", sa.String(length=128), nullable=True),
    )
    op.create_table(
        "faces",
        sa.Column("id", sa.Integer(), primary_key=True),
        _video_id(), _person_id(),
        sa.Column("keyframe_id", sa.Integer(), sa.ForeignKey("keyframes.id", ondelete="CASCADE"), nullable=True),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("descriptor", sa.LargeBinary(), nullable=False),
        sa.Column("thumbnail", sa.Text(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
    )
    op.create_table(
        "speaker_turns",
        sa.Column("id", sa.Integer(), primary_key=True),
        _video_id(), _person_id(),
        sa.Column("speaker", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
    )
    op.create_table(
        "voices",
        sa.Column("id", sa.Integer(), primary_key=True),
        _video_id(), _person_id(),
        sa.Column("speaker", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
    )
    for table in ("faces", "speaker_turns", "voices"):
        op.create_index(f"ix_{table}_video_id", table, ["video_id"])
        op.create_index(f"ix_{table}_person_id", table, ["person_id"])


def downgrade() -> None:
    for table in ("voices", "speaker_turns", "faces"):
        op.drop_table(table)
    op.drop_table("people")
