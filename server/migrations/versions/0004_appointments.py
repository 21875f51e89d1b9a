"""appointments, kiosk printers, priority choice

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import config.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('appointment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('start', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('end', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('national_id_hash', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('created_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('checked_in_at', config.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['centre_id'], ['centre.id'], ),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_national_id_hash'), ['national_id_hash'], unique=False)
        batch_op.create_index('ix_appointment_slot', ['centre_id', 'service_id', 'start'], unique=False)

    with op.batch_alter_table('centre', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allows_priority', sa.Boolean(), server_default='1', nullable=False))

    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('printer_url', sa.String(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_column('printer_url')

    with op.batch_alter_table('centre', schema=None) as batch_op:
        batch_op.drop_column('allows_priority')

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_slot')
        batch_op.drop_index(batch_op.f('ix_appointment_national_id_hash'))

    op.drop_table('appointment')
