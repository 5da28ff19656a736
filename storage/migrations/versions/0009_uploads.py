"""uploads: files shared in Slack exactly once

A ``file_upload`` row per key (``bot.services.uploads.upload_once``): what
the key stands for (channel, filename, SHA-256 and length of the bytes), the
Slack file id once the bytes are uploaded (before the share), when it was
shared, and the lease of the run working on it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 07:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('file_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('prepared_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shared_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('file_upload')
