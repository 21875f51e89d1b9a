"""centre.booking_*: a centre's own walk-in share, booking horizon and target load (null: the national
setting)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('centre', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_walk_in_share', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('booking_horizon_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('booking_target_load', sa.Float(), nullable=True))


def downgrade() -> None:
    # SQLite drops the columns in place: recreating the table would break its foreign keys.
    with op.batch_alter_table('centre', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('booking_target_load')
        batch_op.drop_column('booking_horizon_days')
        batch_op.drop_column('booking_walk_in_share')
