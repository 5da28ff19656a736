"""home lists: an index for the App Home's per-person lists

Each Home now asks for its own lists (the first items and a count) instead
of loading every open item: an owner's items are those of the statuses
wanted whose delivery type and branch the owner covers, which the index
(status, category, branch) finds without reading the rest.

Revision ID: 0018
Revises: 0015
Create Date: 2026-11-30 10:50:00
"""
from alembic import op

revision = '0018'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_item_status_category_branch', 'item', ['status', 'category', 'branch'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_item_status_category_branch', table_name='item')
