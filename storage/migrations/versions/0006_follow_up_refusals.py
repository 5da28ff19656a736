"""follow-up refusals counted apart from ambiguous failures

A follow-up is given up after three definitive refusals by Slack; timeouts
and 5xx answers (ambiguous failures) do not count toward that, so they are
kept apart in ``refusals``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refusals', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_column('refusals')
