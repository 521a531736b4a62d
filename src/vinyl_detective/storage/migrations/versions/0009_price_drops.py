"""Price drops: a drop alert has its own alert-log key; listings remember their drops.

The alert log's unique key becomes (recipient, item_id, occasion): the first alert about
a listing has occasion "" (every existing row), the alert about its n-th price drop
"drop:n", so each drop reaches each recipient at most once, also across restarts. The
digest queue gets the same: a deal an earlier digest carried is queued again on a drop.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from vinyl_detective.storage.schema import Money, UTCDateTime

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("alert_log") as batch:
        batch.add_column(sa.Column("occasion", sa.String(32), nullable=False, server_default=""))
        batch.drop_constraint("uq_alert_log_recipient_item_id", type_="unique")
        batch.create_unique_constraint(
            "uq_alert_log_recipient_item_id_occasion", ["recipient", "item_id", "occasion"]
        )
    with op.batch_alter_table("digest_queue") as batch:
        batch.add_column(sa.Column("occasion", sa.String(48), nullable=False, server_default=""))
        batch.drop_constraint("uq_digest_queue_channel_key_item_id", type_="unique")
        batch.create_unique_constraint(
            "uq_digest_queue_channel_key_item_id_occasion", ["channel_key", "item_id", "occasion"]
        )
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("price_drops", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("previous_total", Money))
        batch.add_column(sa.Column("price_dropped_at", UTCDateTime))
        batch.add_column(
            sa.Column("drop_pending", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("checked_at", UTCDateTime))
        batch.add_column(sa.Column("ended_at", UTCDateTime))
