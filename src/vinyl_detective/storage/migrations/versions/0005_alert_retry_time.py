"""Alert log: when the last delivery attempt was, so retries back off.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from vinyl_detective.storage.schema import UTCDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("alert_log") as batch:
        batch.add_column(sa.Column("last_attempt_at", UTCDateTime))
