"""Notification digests: lower-priority deals queued for a channel's periodic summary.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from vinyl_detective.storage.schema import UTCDateTime

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "digest_queue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_key", sa.Text, nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("deal_score", sa.Float),
        sa.Column("queued_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.UniqueConstraint("channel_key", "item_id", name="uq_digest_queue_channel_key_item_id"),
    )
    op.create_index("ix_digest_queue_channel_sent", "digest_queue", ["channel_key", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_digest_queue_channel_sent", table_name="digest_queue")
    op.drop_table("digest_queue")
