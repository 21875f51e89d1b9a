"""audit chain: every event carries the SHA-256 chaining it to the one before (eventlog/chain.py);
the events already written get theirs here

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from config.db import UtcDateTime
from eventlog.chain import Entry, chain

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The event table as this revision knows it (the application's model may have moved on since).
event = sa.table(
    'event',
    sa.column('id', sa.Integer()),
    sa.column('centre_id', sa.Integer()),
    sa.column('seq', sa.Integer()),
    sa.column('type', sa.String()),
    sa.column('ticket_id', sa.Integer()),
    sa.column('counter_id', sa.Integer()),
    sa.column('actor', sa.String()),
    sa.column('at', UtcDateTime()),
    sa.column('data', sa.JSON()),
    sa.column('hash', sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash', sa.String(length=64), server_default='', nullable=False))
    connection = op.get_bind()
    centres = connection.execute(sa.select(event.c.centre_id).distinct()).scalars().all()
    for centre_id in centres:
        rows = connection.execute(
            sa.select(event).where(event.c.centre_id == centre_id).order_by(event.c.seq)
        ).all()
        entries = (
            Entry(r.centre_id, r.seq, r.type, r.ticket_id, r.counter_id, r.actor, r.at, r.data, None)
            for r in rows
        )
        for row, (_, digest) in zip(rows, chain(entries), strict=True):
            connection.execute(sa.update(event).where(event.c.id == row.id).values(hash=digest))


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('hash')
