"""broker detection: the device and network address a booking came from, and identities blocked
from booking; the national event log (events of no centre)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import config.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.alter_column('centre_id', existing_type=sa.Integer(), nullable=True)

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('address_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_appointment_created', ['created_at'], unique=False)

    op.create_table('booking_block',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('until', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', config.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['centre.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('booking_block', schema=None) as batch_op:
        batch_op.create_index('ix_booking_block_identity', ['kind', 'value_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('booking_block', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_block_identity')

    op.drop_table('booking_block')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_created')
        batch_op.drop_column('address_hash')
        batch_op.drop_column('device_hash')

    op.execute("DELETE FROM event WHERE centre_id IS NULL")  # the national log goes with its column
    op.execute("DELETE FROM serial WHERE name = 'events:national'")
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.alter_column('centre_id', existing_type=sa.Integer(), nullable=False)
