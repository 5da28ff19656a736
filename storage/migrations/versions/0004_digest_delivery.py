"""digest delivery: attempts and last error of each digest message

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:40:00
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('attempted_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('in_doubt', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.drop_column('in_doubt')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempted_at')
        batch_op.drop_column('attempts')
