"""draw, draw_application, booking_slot.draw_id: places of a scarce service given by a verifiable draw

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import config.db

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('draw',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('centres', sa.JSON(), nullable=False),
    sa.Column('opens_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.Column('offer_hours', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('drawn_at', config.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('list_digest', sa.String(length=64), nullable=True),
    sa.Column('places', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('draw_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=19), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('national_id_hash', sa.String(length=64), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('device_hash', sa.String(length=64), nullable=True),
    sa.Column('address_hash', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('created_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('excluded_reason', sa.String(length=200), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('won_centre', sa.String(length=16), nullable=True),
    sa.Column('won_start', config.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('waiting', sa.Integer(), nullable=True),
    sa.Column('offer_centre', sa.String(length=16), nullable=True),
    sa.Column('offer_start', config.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('offer_expires_at', config.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], ),
    sa.ForeignKeyConstraint(['draw_id'], ['draw.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draw_id', 'national_id_hash'),
    sa.UniqueConstraint('draw_id', 'pseudonym'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('draw_application', schema=None) as batch_op:
        batch_op.create_index('ix_draw_application_device', ['draw_id', 'device_hash'], unique=False)
        batch_op.create_index('ix_draw_application_phone', ['draw_id', 'phone'], unique=False)
        batch_op.create_index('ix_draw_application_waiting', ['draw_id', 'status', 'waiting'], unique=False)
    with op.batch_alter_table('booking_slot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draw_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_booking_slot_draw', 'draw', ['draw_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('booking_slot', schema=None) as batch_op:
        batch_op.drop_constraint('fk_booking_slot_draw', type_='foreignkey')
        batch_op.drop_column('draw_id')
    with op.batch_alter_table('draw_application', schema=None) as batch_op:
        batch_op.drop_index('ix_draw_application_waiting')
        batch_op.drop_index('ix_draw_application_phone')
        batch_op.drop_index('ix_draw_application_device')
    op.drop_table('draw_application')
    op.drop_table('draw')
