"""indexes on each centre's events by staff member and by kind, in seq order: the audit screen's
searches by either, newest first, without reading the centre's whole log

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_centre_actor_seq', ['centre_id', 'actor', 'seq'], unique=False)
        batch_op.create_index('ix_event_centre_type_seq', ['centre_id', 'type', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_centre_type_seq')
        batch_op.drop_index('ix_event_centre_actor_seq')
