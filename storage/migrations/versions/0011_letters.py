"""letters: the work contact letter (工作联系函)

``letter`` (draft to acknowledgment, with the approved files and their
SHA-256), ``letter_event`` (every step, each acknowledgment) and
``letter_counter`` (the last number given per year: sequential, no gaps).

Revision ID: 0011
Revises: 0010 (monthly; re-chain at merge)
Create Date: 2026-11-30 06:30:00
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('letter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_key', sa.String(length=200), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('owner', sa.String(length=128), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('improvement', sa.Text(), nullable=False),
    sa.Column('reply_days', sa.Integer(), nullable=False),
    sa.Column('reply_by', sa.Date(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('draft_channel', sa.String(length=32), nullable=True),
    sa.Column('draft_ts', sa.String(length=32), nullable=True),
    sa.Column('approved_by', sa.String(length=32), nullable=True),
    sa.Column('approved_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('docx', sa.LargeBinary(), nullable=True),
    sa.Column('docx_sha256', sa.String(length=64), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('delivered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('announced_ts', sa.String(length=32), nullable=True),
    sa.Column('digest_ts', sa.String(length=32), nullable=True),
    sa.Column('acknowledged_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=32), nullable=True),
    sa.Column('overdue_told_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('discarded_by', sa.String(length=32), nullable=True),
    sa.Column('discarded_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draft_key'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('year', 'seq', name='uq_letter_year_seq')
    )
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.create_index('ix_letter_owner_month', ['owner', 'month'], unique=False)
        batch_op.create_index('ix_letter_status', ['status'], unique=False)

    op.create_table('letter_counter',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('letter_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['letter_id'], ['letter.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('letter_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letter_event_letter_id'), ['letter_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('letter_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letter_event_letter_id'))

    op.drop_table('letter_event')
    op.drop_table('letter_counter')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_index('ix_letter_status')
        batch_op.drop_index('ix_letter_owner_month')

    op.drop_table('letter')
