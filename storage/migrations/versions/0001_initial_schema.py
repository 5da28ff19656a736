"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 13:40:48.448864
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest_day', sa.Date(), nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=False),
    sa.Column('page', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=True),
    sa.Column('thread_ts', sa.String(length=32), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('deadline', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('posted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest_day', 'owner', 'page', name='uq_digest_page')
    )
    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.create_index('ix_digest_channel_ts', ['channel', 'ts'], unique=False)

    op.create_table('import_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_batch_sha256'), ['sha256'], unique=False)

    op.create_table('reaction_effect',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('message_ts', sa.String(length=32), nullable=False),
    sa.Column('user', sa.String(length=32), nullable=False),
    sa.Column('reaction', sa.String(length=64), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('item_ids', sa.Text(), nullable=False),
    sa.Column('undone_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reaction_effect', schema=None) as batch_op:
        batch_op.create_index('ix_reaction_lookup', ['channel', 'message_ts', 'user', 'reaction'], unique=False)

    op.create_table('side_effect',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('claimed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=False),
    sa.Column('rejected_on', sa.Date(), nullable=False),
    sa.Column('branch', sa.String(length=128), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('scenario', sa.String(length=32), nullable=True),
    sa.Column('customer', sa.Text(), nullable=False),
    sa.Column('callback_agent', sa.String(length=64), nullable=False),
    sa.Column('callback_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=True),
    sa.Column('digest_message_id', sa.Integer(), nullable=True),
    sa.Column('deadline', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_actor', sa.String(length=64), nullable=True),
    sa.Column('last_surface', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], ),
    sa.ForeignKeyConstraint(['digest_message_id'], ['digest_message.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_no', 'rejected_on', name='uq_item_order_day')
    )
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_digest_message_id'), ['digest_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_order_no'), ['order_no'], unique=False)
        batch_op.create_index('ix_item_status_owner', ['status', 'owner'], unique=False)

    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('surface', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=False),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_item_id'), ['item_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_item_id'))

    op.drop_table('audit_entry')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index('ix_item_status_owner')
        batch_op.drop_index(batch_op.f('ix_item_order_no'))
        batch_op.drop_index(batch_op.f('ix_item_digest_message_id'))

    op.drop_table('item')
    op.drop_table('side_effect')
    with op.batch_alter_table('reaction_effect', schema=None) as batch_op:
        batch_op.drop_index('ix_reaction_lookup')

    op.drop_table('reaction_effect')
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_batch_sha256'))

    op.drop_table('import_batch')
    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_channel_ts')

    op.drop_table('digest_message')
