"""Scheduling, firehose and backfill: search checkpoints, search schedules, streams.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from vinyl_detective.storage.schema import UTCDateTime

revision = "0003"
down_revision = "0002"


def _search_fk(table: str) -> sa.Column[int]:
    return sa.Column(
        "search_id",
        sa.Integer,
        sa.ForeignKey(
            "saved_searches.id",
            ondelete="CASCADE",
            name=f"fk_{table}_search_id_saved_searches",
        ),
        primary_key=True,
        autoincrement=False,
    )


def upgrade() -> None:
    op.create_table(
        "search_checkpoints",
        _search_fk("search_checkpoints"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime),
        sa.Column("completed_at", UTCDateTime),
        sa.Column("earliest_seen", UTCDateTime),
        sa.Column("last_cursor", sa.Text),
        sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "search_schedules",
        _search_fk("search_schedules"),
        sa.Column("mode", sa.String(16), nullable=False, server_default="firehose"),
        sa.Column("min_minutes", sa.Float),
        sa.Column("max_minutes", sa.Float),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("interval_minutes", sa.Float),
        sa.Column("runs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("deals_found", sa.Integer, nullable=False, server_default="0"),
        sa.Column("recent_runs", sa.Float, nullable=False, server_default="0"),
        sa.Column("recent_deals", sa.Float, nullable=False, server_default="0"),
        sa.Column("runs_since_deal", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_deal_at", UTCDateTime),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UTCDateTime),
    )
    op.create_table(
        "firehose_streams",
        sa.Column("stream", sa.String(64), primary_key=True),
        sa.Column("marketplace", sa.String(16), nullable=False),
        sa.Column("category_id", sa.String(16), nullable=False),
        sa.Column("newest_listed_at", UTCDateTime),
        sa.Column("newest_item_id", sa.String(64)),
        sa.Column("last_poll_at", UTCDateTime),
        sa.Column("arrivals_per_min", sa.Float),
        sa.Column("interval_minutes", sa.Float),
        sa.Column("next_run_at", UTCDateTime),
        sa.Column("polls", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UTCDateTime),
    )


def downgrade() -> None:
    op.drop_table("firehose_streams")
    op.drop_table("search_schedules")
    op.drop_table("search_checkpoints")
