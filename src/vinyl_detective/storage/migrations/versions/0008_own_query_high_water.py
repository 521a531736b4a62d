"""Searches that query on their own keep a high-water mark and an arrival rate.

A poll pages down to the newest listing the search itself saw last time (not to any
listing stored by anyone), and the planner keeps its interval short enough for the pages
a poll may read.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from vinyl_detective.storage.schema import UTCDateTime

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("search_schedules") as batch:
        batch.add_column(sa.Column("newest_listed_at", UTCDateTime))
        batch.add_column(sa.Column("newest_item_id", sa.String(64)))
        batch.add_column(sa.Column("last_poll_at", UTCDateTime))
        batch.add_column(sa.Column("arrivals_per_min", sa.Float))
