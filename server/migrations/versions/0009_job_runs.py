"""job runs: one row per tick of a periodic job, claimed by the process that runs it

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import config.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_run',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('tick', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('holder', sa.String(length=96), nullable=False),
    sa.Column('started_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', 'tick')
    )


def downgrade() -> None:
    op.drop_table('job_run')
