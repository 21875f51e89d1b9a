"""ix_ticket_line covers the line: people ahead are counted in the index alone

people_ahead counts the waiting tickets of a service that go before one, and whether a ticket is a
due appointment decides part of that: without appointment_at in the index, SQLite read each waiting
ticket's row for it (0.94 ms at 2,000 waiting; 0.55 ms from the index alone). `id` comes before
it, so that the index still gives each line in its order (arrival, then id) and a call stops at its
LIMIT: with appointment_at right after arrived_at, SQLite read the lines through ix_ticket_arrived,
the centre's whole history (tests/test_queue_heads.py). Rebuilt in the
migration's transaction, as 0017: on PostgreSQL writes to `ticket` wait while it builds
(docs/operations.md).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINE = ['centre_id', 'status', 'service_id', 'priority', 'arrived_at']


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_line')
        batch_op.create_index('ix_ticket_line', [*LINE, 'id', 'appointment_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_line')
        batch_op.create_index('ix_ticket_line', LINE, unique=False)
