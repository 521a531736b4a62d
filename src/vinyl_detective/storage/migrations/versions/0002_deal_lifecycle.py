"""Deal lifecycle: tracked deals, their transition history, and the event outbox.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from vinyl_detective.storage.schema import UTCDateTime

revision = "0002"
down_revision = "0001"

Money = sa.Numeric(12, 2)


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("release_id", sa.BigInteger),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("artist", sa.Text),
        sa.Column("release_title", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("image_url", sa.Text),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("found_price", Money, nullable=False),
        sa.Column("reference_price", Money),
        sa.Column("deal_score", sa.Float),
        sa.Column("priority", sa.String(8)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_changed_at", UTCDateTime, nullable=False),
        sa.Column("purchase_price", Money),
        sa.Column("sale_price", Money),
        sa.Column("fees", Money),
        sa.Column("profit", Money),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_deals_state_changed", "deals", ["state", "state_changed_at"])
    op.create_table(
        "deal_transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "item_id",
            sa.String(64),
            sa.ForeignKey(
                "deals.item_id",
                ondelete="CASCADE",
                name="fk_deal_transitions_item_id_deals",
            ),
            nullable=False,
        ),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("purchase_price", Money),
        sa.Column("sale_price", Money),
        sa.Column("fees", Money),
    )
    op.create_index("ix_deal_transitions_item", "deal_transitions", ["item_id", "id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_deal_transitions_item", table_name="deal_transitions")
    op.drop_table("deal_transitions")
    op.drop_index("ix_deals_state_changed", table_name="deals")
    op.drop_table("deals")
