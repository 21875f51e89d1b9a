"""counter balancing: a counter's queues have a role (main, backup, boosted); a centre may let the
balancer apply its moves

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('centre', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_balance', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('counter_service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(), server_default='main', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('counter_service', schema=None) as batch_op:
        batch_op.drop_column('role')

    with op.batch_alter_table('centre', schema=None) as batch_op:
        batch_op.drop_column('auto_balance')
