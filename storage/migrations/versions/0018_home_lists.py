"""home lists: an index for the App Home's per-person lists

Each Home now asks for its own lists (the first items and a count) instead
of loading every open item: an owner's items are those of the statuses
wanted whose delivery type and branch the owner covers, which the index
(status, category, branch) finds without reading the rest; the index also
holds what says whose an item is now (owner) and the lists' order
(deadline, rejected_on, order_no), so the count and the first ones are read
from the index alone, and only the rows shown are read from the table.

Revision ID: 0018
Revises: 0015
Create Date: 2026-11-30 10:50:00
"""
from alembic import op

revision = '0018'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_item_home', 'item', ['status', 'category', 'branch', 'owner', 'deadline', 'rejected_on', 'order_no'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_item_home', table_name='item')
