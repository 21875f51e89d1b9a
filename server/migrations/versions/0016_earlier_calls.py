"""ticket earlier_calls: a ticket counts the calls it had when it last joined a queue, since a call
and a transfer can share an instant and the time it joined (requeued_at) cannot order them.
requeued_at stays, for the processes of the previous version during a rolling upgrade
(docs/operations.md); a later revision drops it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from config.db import UtcDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The ticket table as this revision knows it (the application's model may have moved on since).
ticket = sa.table(
    'ticket',
    sa.column('id', sa.Integer()),
    sa.column('call_times', sa.JSON()),
    sa.column('requeued_at', UtcDateTime()),
    sa.column('earlier_calls', sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earlier_calls', sa.Integer(), server_default='0', nullable=False))
    connection = op.get_bind()
    requeued = connection.execute(
        sa.select(ticket.c.id, ticket.c.call_times, ticket.c.requeued_at).where(
            ticket.c.requeued_at.is_not(None)
        )
    ).all()
    for row in requeued:
        earlier = sum(datetime.fromisoformat(moment) < row.requeued_at for moment in row.call_times)
        connection.execute(sa.update(ticket).where(ticket.c.id == row.id).values(earlier_calls=earlier))


def downgrade() -> None:
    # SQLite drops the column in place: recreating the table would break the events' foreign keys.
    with op.batch_alter_table('ticket', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('earlier_calls')
