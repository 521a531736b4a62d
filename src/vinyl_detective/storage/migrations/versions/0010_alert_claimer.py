"""Alert log: which process claimed an alert ("host:pid:tag"), so a start resends at once
what a process that died had claimed but not recorded as sent, instead of waiting out
the grace given to a send that may still be in flight.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("alert_log") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128)))
