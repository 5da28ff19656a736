"""stand-ins for owners on leave

``/reject away``: a ``stand_in`` table (keyed by the owner's Slack user,
which outlives a rename in the routing file), and audit rows that record a
stand-in named or ended (``audit_entry.stand_in_id``; their ``item_id`` is
empty, so it becomes nullable).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 04:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stand_in',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user', sa.String(length=32), nullable=False),
    sa.Column('user', sa.String(length=32), nullable=False),
    sa.Column('starts_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('ends_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('set_by', sa.String(length=32), nullable=False),
    sa.Column('ended_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stand_in', schema=None) as batch_op:
        batch_op.create_index('ix_stand_in_owner_user_ended', ['owner_user', 'ended_at'], unique=False)

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stand_in_id', sa.Integer(), nullable=True))
        batch_op.alter_column('item_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_audit_entry_stand_in_id'), ['stand_in_id'], unique=False)
        batch_op.create_foreign_key('fk_audit_entry_stand_in_id', 'stand_in', ['stand_in_id'], ['id'])


def downgrade() -> None:
    op.execute("DELETE FROM audit_entry WHERE item_id IS NULL")
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_constraint('fk_audit_entry_stand_in_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_entry_stand_in_id'))
        batch_op.alter_column('item_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('stand_in_id')

    with op.batch_alter_table('stand_in', schema=None) as batch_op:
        batch_op.drop_index('ix_stand_in_owner_user_ended')
    op.drop_table('stand_in')
