"""message versions and keyed follow-up sends

Digest messages record what they last showed (``version`` grows with every
change to an item they show, ``shown_version`` is the version last rendered
to Slack), so a tick can refresh the messages that fell behind. Follow-ups
record the key their message carries, the send attempts, the failure, the
lease of a send in flight and when the bot gave up, so a send that timed out
or crashed is looked up by its key and finished, once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 00:30:00
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('shown_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('refresh_until', storage.types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('lease_until', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('gave_up_at', storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_column('gave_up_at')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('error')
        batch_op.drop_column('attempts')
        batch_op.drop_column('message_key')

    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.drop_column('refresh_until')
        batch_op.drop_column('shown_version')
        batch_op.drop_column('version')
