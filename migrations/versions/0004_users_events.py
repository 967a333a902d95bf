"""users and their events (views, watch progress, likes, skips, searches) for recommendations

A client may name each event with its own id; (user, client id) is unique, so a retried POST
is stored once.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Float(), nullable=True),
        sa.Column("watch_seconds", sa.Float(), nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("client_event_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "client_event_id", name="uq_events_user_client_id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_user_at", ["user_id", "at"], unique=False)
        batch_op.create_index("ix_events_video_id", ["video_id"], unique=False)
        batch_op.create_index("ix_events_at", ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("users")
