"""intake stop per service and day

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('centre_service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intake_stopped_on', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('centre_service', schema=None) as batch_op:
        batch_op.drop_column('intake_stopped_on')

