"""predicted wait: the wait a walk-in's ticket was promised when it was issued, and the indexes
the forecasts read a centre's last hours by

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('predicted_wait_s', sa.Integer(), nullable=True))
        batch_op.create_index('ix_ticket_arrived', ['centre_id', 'arrived_at'], unique=False)
        batch_op.create_index('ix_ticket_ended', ['centre_id', 'ended_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_ended')
        batch_op.drop_index('ix_ticket_arrived')
        batch_op.drop_column('predicted_wait_s')
