"""Initial schema: catalog, listings, searches, chats, alert log, API usage, job runs.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from vinyl_detective.storage.fulltext import FTS5_SQLITE_DDL
from vinyl_detective.storage.schema import UTCDateTime

revision = "0001"
down_revision = None

Money = sa.Numeric(12, 2)


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("artist", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("labels", sa.Text),
        sa.Column("catalog_no", sa.Text),
        sa.Column("barcode", sa.Text),
        sa.Column("format", sa.Text),
        sa.Column("format_descriptions", sa.Text),
        sa.Column("country", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("master_id", sa.BigInteger),
        sa.Column("genres", sa.Text),
        sa.Column("styles", sa.Text),
        sa.Column("status", sa.Text),
        sa.Column("price_currency", sa.String(3)),
        sa.Column("prices_json", sa.Text),
        sa.Column("lowest_price", Money),
        sa.Column("num_for_sale", sa.Integer),
        sa.Column("prices_updated_at", UTCDateTime),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "release_identifiers",
        sa.Column(
            "release_id",
            sa.BigInteger,
            sa.ForeignKey("releases.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", "release_id"),
    )
    op.create_index("ix_release_identifiers_release", "release_identifiers", ["release_id"])
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger),
        sa.Column("name", sa.Text),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("category_id", sa.String(16)),
        sa.Column("marketplace", sa.String(16), nullable=False, server_default="EBAY_US"),
        sa.Column("min_deal_score", sa.Float, nullable=False, server_default="0.25"),
        sa.Column("poll_minutes", sa.Integer, nullable=False, server_default="30"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("rule", sa.Text),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("channels", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_run_at", UTCDateTime),
        sa.Column("next_run_at", UTCDateTime),
    )
    op.create_index("ix_saved_searches_chat", "saved_searches", ["chat_id"])
    op.create_table(
        "listings",
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False, server_default="ebay"),
        sa.Column("marketplace", sa.String(16)),
        sa.Column("search_id", sa.Integer),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("price", Money, nullable=False),
        sa.Column("shipping", Money),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("condition", sa.Text),
        sa.Column("condition_id", sa.String(8)),
        sa.Column("buying_option", sa.String(16)),
        sa.Column("seller_username", sa.Text),
        sa.Column("seller_feedback_pct", sa.Float),
        sa.Column("seller_feedback_score", sa.Integer),
        sa.Column("url", sa.Text),
        sa.Column("affiliate_url", sa.Text),
        sa.Column("image_url", sa.Text),
        sa.Column("country", sa.String(8)),
        sa.Column("category_id", sa.String(16)),
        sa.Column("listed_at", UTCDateTime),
        sa.Column("ends_at", UTCDateTime),
        sa.Column("catalog_no_hint", sa.Text),
        sa.Column("barcode_hint", sa.Text),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("match_release_id", sa.BigInteger),
        sa.Column("match_method", sa.String(16)),
        sa.Column("match_confidence", sa.Float),
        sa.Column("reference_price", Money),
        sa.Column("reference_currency", sa.String(3)),
        sa.Column("deal_score", sa.Float),
        sa.Column("priority", sa.String(8)),
        sa.Column("processed_at", UTCDateTime),
    )
    op.create_index("ix_listings_match", "listings", ["match_release_id"])
    op.create_index("ix_listings_first_seen", "listings", ["first_seen"])
    op.create_table(
        "chats",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "alert_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("search_id", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("deal_score", sa.Float),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.UniqueConstraint("recipient", "item_id", name="uq_alert_log_recipient_item_id"),
    )
    op.create_index("ix_alert_log_created", "alert_log", ["created_at"])
    op.create_table(
        "api_usage",
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("service", "day"),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_type", sa.String(32), nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("fetched", sa.Integer, nullable=False, server_default="0"),
        sa.Column("inserted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_job_runs_type_started", "job_runs", ["job_type", "started_at"])
    op.create_table(
        "kv",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in FTS5_SQLITE_DDL:
            op.execute(statement)
