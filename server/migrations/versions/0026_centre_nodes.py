"""centre nodes: 64-bit ticket ids; node_link and node_outage (the central), pulled (a node)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import config.db

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns that name a ticket. A centre node numbers its tickets from its centre's id times 2^32
# (docs/centre-node.md); SQLite's integers are 64 bits already.
TICKET_COLUMNS = (("ticket", "id"), ("event", "ticket_id"), ("appointment", "ticket_id"), ("feedback", "ticket_id"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in TICKET_COLUMNS:
            op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())
        op.execute("ALTER SEQUENCE ticket_id_seq AS bigint")
    op.create_table('node_link',
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('last_contact_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('node_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['centre.id'], ),
    sa.PrimaryKeyConstraint('centre_id')
    )
    op.create_table('node_outage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('began_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['centre.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('node_outage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_node_outage_centre_id'), ['centre_id'], unique=False)
    op.create_table('pulled',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('pulled_at', config.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('pulled')
    with op.batch_alter_table('node_outage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_node_outage_centre_id'))
    op.drop_table('node_outage')
    op.drop_table('node_link')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER SEQUENCE ticket_id_seq AS integer")
        for table, column in TICKET_COLUMNS:
            op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
