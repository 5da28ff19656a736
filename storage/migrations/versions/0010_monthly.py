"""monthly: the monthly notices posted (月度通报) and their corrections

One row per notice and month: version 0 the notice, version N its N-th
correction. The as-of moment and the figures (JSON) are stored when the
notice is claimed, so a resumed run posts the same figures, and a reissue
says what changed against the last one posted.

Revision ID: 0010
Revises: 0009 (uploads; chained in h-letters, the lead re-chains)
Create Date: 2026-11-30 07:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'monthly_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('as_of', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('figures', sa.Text(), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('ts', sa.String(length=32), nullable=True),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('posted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('correction_of', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['correction_of'], ['monthly_notice.id'], name='fk_monthly_notice_correction_of'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('month', 'version', name='uq_monthly_notice_version'),
    )


def downgrade() -> None:
    op.drop_table('monthly_notice')
