"""app home: the people who opened their App Home tab, and what it shows

One row per person (``home_view``): when they opened it, the SHA-256 of the
view last published (not published again while it is the same), Slack's
hash of it, and the last failure.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 07:30:00
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'home_view',
        sa.Column('user', sa.String(length=32), nullable=False),
        sa.Column('opened_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('published_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('slack_hash', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('user'),
    )


def downgrade() -> None:
    op.drop_table('home_view')
