"""Firehose streams: how many of their new listings some rider wants, a minute.

The planner shares the budget by need: a stream is worth what its riders want from it,
not every listing of its category (a marketplace's stream carries every site's listings
that ship there, and most listings nobody searches for).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("firehose_streams") as batch:
        batch.add_column(sa.Column("wanted_per_min", sa.Float))
