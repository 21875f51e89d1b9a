"""staff password_set_at: when the password was last set by an administrator, so that a reset sent
twice (a double click, two tabs) sets one password rather than two.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from config.db import UtcDateTime

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_set_at', UtcDateTime(), nullable=True))


def downgrade() -> None:
    # SQLite drops the column in place: recreating the table would break its sessions' foreign keys.
    with op.batch_alter_table('staff', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('password_set_at')
