"""The one schema definition. Migrations (storage/migrations) create exactly this.

Portable SQLAlchemy Core tables for SQLite and PostgreSQL. The only SQLite-specific
piece, the FTS5 index over releases, lives behind storage/fulltext.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive ISO text)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(moment, datetime)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


Money = sa.Numeric(12, 2, asdecimal=True)

releases = sa.Table(
    "releases",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),  # Discogs release id
    sa.Column("artist", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("labels", sa.Text),  # "; "-joined label names, for display and rules
    sa.Column("catalog_no", sa.Text),  # the first catalog number, for display and FTS
    sa.Column("barcode", sa.Text),  # the first barcode, normalised digits
    sa.Column("format", sa.Text),  # Vinyl | CD | Cassette | ...
    sa.Column("format_descriptions", sa.Text),  # "LP, Album, Mono"
    sa.Column("country", sa.Text),
    sa.Column("year", sa.Integer),
    sa.Column("master_id", sa.BigInteger),
    sa.Column("genres", sa.Text),
    sa.Column("styles", sa.Text),
    sa.Column("status", sa.Text),
    # Prices: fetched on demand for matched releases, refreshed when stale.
    sa.Column("price_currency", sa.String(3)),
    sa.Column("prices_json", sa.Text),  # {"VG+": "21.50", ...} by grade code
    sa.Column("lowest_price", Money),
    sa.Column("num_for_sale", sa.Integer),
    sa.Column("prices_updated_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Every catalog number and barcode of a release (a release may have several), normalised.
release_identifiers = sa.Table(
    "release_identifiers",
    metadata,
    sa.Column(
        "release_id",
        sa.BigInteger,
        sa.ForeignKey("releases.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(16), nullable=False),  # "catno" | "barcode"
    sa.Column("value", sa.Text, nullable=False),  # normalised: see domain/normalize.py
    sa.PrimaryKeyConstraint("kind", "value", "release_id"),
)
sa.Index("ix_release_identifiers_release", release_identifiers.c.release_id)

saved_searches = sa.Table(
    "saved_searches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chat_id", sa.BigInteger),  # owner; None for searches added from the CLI
    sa.Column("name", sa.Text),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("category_id", sa.String(16)),  # None: all record categories
    sa.Column("marketplace", sa.String(16), nullable=False, server_default="EBAY_US"),
    sa.Column("min_deal_score", sa.Float, nullable=False, server_default="0.25"),
    sa.Column("poll_minutes", sa.Integer, nullable=False, server_default="30"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("rule", sa.Text),  # watch rule expression (domain/rules.py)
    sa.Column("disabled_reason", sa.Text),  # set when the rule stopped validating
    sa.Column("channels", sa.Text),  # JSON list of Apprise URLs for this search
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_run_at", UTCDateTime),
    sa.Column("next_run_at", UTCDateTime),
)
sa.Index("ix_saved_searches_chat", saved_searches.c.chat_id)

listings = sa.Table(
    "listings",
    metadata,
    sa.Column("item_id", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(32), nullable=False, server_default="ebay"),
    sa.Column("marketplace", sa.String(16)),
    sa.Column("search_id", sa.Integer),  # the search that first found it (no FK: may be removed)
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("price", Money, nullable=False),
    sa.Column("shipping", Money),  # NULL = unknown, not free
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
    # Match and score, filled by the pipeline.
    sa.Column("match_release_id", sa.BigInteger),
    sa.Column("match_method", sa.String(16)),
    sa.Column("match_confidence", sa.Float),
    sa.Column("reference_price", Money),
    sa.Column("reference_currency", sa.String(3)),
    sa.Column("deal_score", sa.Float),
    sa.Column("priority", sa.String(8)),
    sa.Column("processed_at", UTCDateTime),
    # Price drops (migration 0009): how many, the total before the latest one and when it
    # was seen; `drop_pending` until its alerts are claimed (a crash leaves it set).
    sa.Column("price_drops", sa.Integer, nullable=False, server_default="0"),
    sa.Column("previous_total", Money),
    sa.Column("price_dropped_at", UTCDateTime),
    sa.Column("drop_pending", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("checked_at", UTCDateTime),  # last item lookup of an open deal
    sa.Column("ended_at", UTCDateTime),  # when an item lookup found it ended or sold
)
sa.Index("ix_listings_match", listings.c.match_release_id)
sa.Index("ix_listings_first_seen", listings.c.first_seen)

# Per-Telegram-chat preferences and state.
chats = sa.Table(
    "chats",
    metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    # blocked: Telegram answered 403 (the user blocked the bot); nothing is sent any more.
    sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# One row per (recipient, listing, occasion): the unique key is what makes alerts
# exactly-once. recipient is "telegram:<chat id>" or "apprise:<channel key>"; occasion is
# "" for the first alert about a listing and "drop:<n>" for its n-th price drop (0009).
alert_log = sa.Table(
    "alert_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("item_id", sa.String(64), nullable=False),
    sa.Column("search_id", sa.Integer),
    sa.Column("status", sa.String(16), nullable=False),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("deal_score", sa.Float),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("last_attempt_at", UTCDateTime),  # added by migration 0005
    sa.Column("occasion", sa.String(32), nullable=False, server_default=""),
    sa.Column("claimed_by", sa.String(128)),  # "host:pid:tag" of the claimer (0010)
    sa.UniqueConstraint("recipient", "item_id", "occasion"),
)
sa.Index("ix_alert_log_created", alert_log.c.created_at)

# API calls spent per service and budget day (eBay's day resets at 07:00 UTC).
api_usage = sa.Table(
    "api_usage",
    metadata,
    sa.Column("service", sa.String(32), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),  # YYYY-MM-DD of the budget window
    sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
    sa.PrimaryKeyConstraint("service", "day"),
)

job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_type", sa.String(32), nullable=False),  # poll | backfill | refresh | ...
    sa.Column("target", sa.Text),  # e.g. "search:12"
    sa.Column("status", sa.String(16), nullable=False),  # running | success | error
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("fetched", sa.Integer, nullable=False, server_default="0"),
    sa.Column("inserted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("owner", sa.String(128)),  # "host:pid" of the process running it (0007)
)
sa.Index("ix_job_runs_type_started", job_runs.c.job_type, job_runs.c.started_at)

# Small key/value state: global rule, Telegram update offset, etc.
kv = sa.Table(
    "kv",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text),
)

# --- Deal lifecycle (migration 0002) -------------------------------------------------------

# A tracked deal: a snapshot of the listing and its pricing, so cleaning up old listings
# never loses a flip in progress. State changes go through storage/deals.py only.
deals = sa.Table(
    "deals",
    metadata,
    sa.Column("item_id", sa.String(64), primary_key=True),
    sa.Column("release_id", sa.BigInteger),
    sa.Column("title", sa.Text, nullable=False),  # the listing's title
    sa.Column("artist", sa.Text),  # the matched release's artist and title
    sa.Column("release_title", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("image_url", sa.Text),
    sa.Column("currency", sa.String(3), nullable=False),  # every amount below is in it
    sa.Column("found_price", Money, nullable=False),  # price + shipping when found
    sa.Column("reference_price", Money),
    sa.Column("deal_score", sa.Float),
    sa.Column("priority", sa.String(8)),
    sa.Column("state", sa.String(16), nullable=False),  # domain/lifecycle.py DealState
    sa.Column("state_changed_at", UTCDateTime, nullable=False),
    sa.Column("purchase_price", Money),
    sa.Column("sale_price", Money),
    sa.Column("fees", Money),
    sa.Column("profit", Money),  # sale - purchase - fees, set on SOLD
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
sa.Index("ix_deals_state_changed", deals.c.state, deals.c.state_changed_at)

# Every step of every deal, including its creation (from_state NULL), in order.
deal_transitions = sa.Table(
    "deal_transitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "item_id",
        sa.String(64),
        sa.ForeignKey("deals.item_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("from_state", sa.String(16)),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("actor", sa.String(16), nullable=False),  # bot | cli | api | timeout | pipeline
    sa.Column("purchase_price", Money),
    sa.Column("sale_price", Money),
    sa.Column("fees", Money),
)
sa.Index("ix_deal_transitions_item", deal_transitions.c.item_id, deal_transitions.c.id)

# Transactional outbox: events are written in the same transaction as the change they
# describe, and the relay (events/relay.py) delivers them in id order, at least once.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False),  # UUID; consumers dedupe on it
    sa.Column("event_type", sa.String(64), nullable=False),  # e.g. listing.state.sold
    sa.Column("aggregate_id", sa.String(64), nullable=False),  # e.g. the item id
    sa.Column("payload", sa.Text, nullable=False),  # JSON object
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime),  # NULL until delivered
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("event_id"),
)
sa.Index("ix_outbox_pending", outbox.c.published_at, outbox.c.id)

# --- Scheduling, firehose and backfill (migration 0003) ------------------------------------

# A search's backfill: paging backwards through older listings, resumable after a crash.
search_checkpoints = sa.Table(
    "search_checkpoints",
    metadata,
    sa.Column(
        "search_id",
        sa.Integer,
        sa.ForeignKey("saved_searches.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("status", sa.String(16), nullable=False),  # idle | syncing | error | paused
    sa.Column("started_at", UTCDateTime),
    sa.Column("completed_at", UTCDateTime),  # set once the backfill is done for good
    sa.Column("earliest_seen", UTCDateTime),  # listed_at of the oldest listing read
    sa.Column("last_cursor", sa.Text),  # where to resume (JSON, see storage/checkpoints.py)
    sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# How each search is scheduled: its mode and bounds, its yield, and a lease so the same
# search never runs twice at once (also across worker processes).
search_schedules = sa.Table(
    "search_schedules",
    metadata,
    sa.Column(
        "search_id",
        sa.Integer,
        sa.ForeignKey("saved_searches.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("mode", sa.String(16), nullable=False, server_default="firehose"),  # | query
    sa.Column("min_minutes", sa.Float),  # NULL: the scheduler's default bounds
    sa.Column("max_minutes", sa.Float),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),  # -2 .. +2
    sa.Column("interval_minutes", sa.Float),  # the planner's current choice
    sa.Column("runs", sa.Integer, nullable=False, server_default="0"),
    sa.Column("deals_found", sa.Integer, nullable=False, server_default="0"),
    sa.Column("recent_runs", sa.Float, nullable=False, server_default="0"),  # decaying
    sa.Column("recent_deals", sa.Float, nullable=False, server_default="0"),
    sa.Column("runs_since_deal", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_deal_at", UTCDateTime),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", UTCDateTime),
    # Its own query's high-water mark and arrival rate (migration 0008), as for a stream.
    sa.Column("newest_listed_at", UTCDateTime),
    sa.Column("newest_item_id", sa.String(64)),
    sa.Column("last_poll_at", UTCDateTime),
    sa.Column("arrivals_per_min", sa.Float),
)

# One firehose stream per (marketplace, record category): what was seen, how busy it is.
firehose_streams = sa.Table(
    "firehose_streams",
    metadata,
    sa.Column("stream", sa.String(64), primary_key=True),  # "EBAY_US:176985"
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
    # New listings a minute that some rider wants (migration 0011): the planner's need.
    sa.Column("wanted_per_min", sa.Float),
)

# --- Notification digests (migration 0004) ------------------------------------------------

# Lower-priority deals waiting for a digest channel's next summary (notify/digest.py).
# The alert log's claim is taken when a deal is queued here; `sent_at` marks the summary
# that carried it, so a deal is never listed in two digests of the same channel.
digest_queue = sa.Table(
    "digest_queue",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel_key", sa.Text, nullable=False),  # the channel's alert-log recipient
    sa.Column("item_id", sa.String(64), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),  # JSON: what the digest shows of the deal
    sa.Column("priority", sa.String(8), nullable=False),
    sa.Column("deal_score", sa.Float),
    sa.Column("queued_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),  # NULL until a digest carried it
    # "" when first queued; a price drop queues the deal again under its own key (0009).
    sa.Column("occasion", sa.String(48), nullable=False, server_default=""),
    sa.UniqueConstraint("channel_key", "item_id", "occasion"),
)
sa.Index("ix_digest_queue_channel_sent", digest_queue.c.channel_key, digest_queue.c.sent_at)
