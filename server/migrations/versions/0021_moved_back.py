"""ticket.moved_back: how many people its holder, running late, let go first (once per ticket).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moved_back', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    # SQLite drops the column in place: recreating the table would break its foreign keys.
    with op.batch_alter_table('ticket', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('moved_back')
