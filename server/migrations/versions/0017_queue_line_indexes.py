"""ticket indexes for the lines of a queue: a call walked every ticket a centre ever issued

queue_heads reads, per service and priority class, the first waiting tickets by arrival. With only
(centre_id, status, service_id) and (centre_id, arrived_at) to choose from, SQLite walked the
centre's tickets by arrival, served ones included, for each line: a call cost more with every day
of history. ix_ticket_line serves each line in order and stops at its LIMIT; ix_ticket_due the
due appointments; ix_ticket_phone whether anyone with a phone waits. ix_ticket_queue is a prefix of
ix_ticket_line, and goes once the new indexes exist. Built in the migration's transaction, as
0014 and 0015: on PostgreSQL writes to `ticket` wait while they build (docs/operations.md).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHONE = sa.text('phone IS NOT NULL')
INDEXES = {
    'ix_ticket_line': (['centre_id', 'status', 'service_id', 'priority', 'arrived_at'], {}),
    'ix_ticket_due': (['centre_id', 'status', 'appointment_at'], {}),
    'ix_ticket_phone': (
        ['centre_id', 'service_id', 'status'],
        {'sqlite_where': PHONE, 'postgresql_where': PHONE},
    ),
}


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        for name, (columns, where) in INDEXES.items():
            batch_op.create_index(name, columns, unique=False, **where)
        batch_op.drop_index('ix_ticket_queue')


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_queue', ['centre_id', 'status', 'service_id'], unique=False)
        for name in INDEXES:
            batch_op.drop_index(name)
