"""reports: legitimate-rejection reports (上报)

``rejection_report``: who reported which order as a legitimate rejection,
why and when; the CS record it later matched, and CS's keep or drop.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 07:30:00
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rejection_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reporter', sa.String(length=32), nullable=False),
    sa.Column('reporter_role', sa.String(length=16), nullable=False),
    sa.Column('reporter_owner', sa.String(length=128), nullable=True),
    sa.Column('surface', sa.String(length=16), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('matched_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('owner', sa.String(length=128), nullable=True),
    sa.Column('review_channel', sa.String(length=32), nullable=True),
    sa.Column('review_ts', sa.String(length=32), nullable=True),
    sa.Column('decision', sa.String(length=8), nullable=True),
    sa.Column('decided_by', sa.String(length=32), nullable=True),
    sa.Column('decided_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id'),
    sa.UniqueConstraint('order_no', 'reported_on', name='uq_report_order_day')
    )
    op.create_index('ix_rejection_report_order_no', 'rejection_report', ['order_no'], unique=False)
    op.create_index('ix_report_unmatched', 'rejection_report', ['item_id', 'reported_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_report_unmatched', table_name='rejection_report')
    op.drop_index('ix_rejection_report_order_no', table_name='rejection_report')
    op.drop_table('rejection_report')
