"""service icon and centre address: a picture for each service on the kiosk, and where a centre is,
for the citizen's tracker.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('icon', sa.String(length=32), server_default='document', nullable=False))
    with op.batch_alter_table('centre', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_ar', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('address_en', sa.String(), server_default='', nullable=False))


def downgrade() -> None:
    # SQLite drops the columns in place: recreating the tables would break their foreign keys.
    with op.batch_alter_table('centre', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('address_en')
        batch_op.drop_column('address_ar')
    with op.batch_alter_table('service', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('icon')
