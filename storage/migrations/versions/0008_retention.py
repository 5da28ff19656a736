"""retention: when an item's customer data was masked

A closed item's customer name and phone (in its customer cell, its callback
note and the notes of its audit rows and penalties) are masked
``[privacy] retention_days`` after it closed. ``redacted_at`` says when, so
the job never takes the row again; the index finds the rows still to do.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 04:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_item_unredacted', ['redacted_at', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index('ix_item_unredacted')
        batch_op.drop_column('redacted_at')
