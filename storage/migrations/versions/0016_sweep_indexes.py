"""sweep indexes: what the minute's sweep reads, found without reading the history

Partial indexes holding only what the sweep looks for, among the history a
long-lived database keeps: the open items (``ix_item_open``: SQLite with
planner statistics otherwise scans the whole item table for them), the
unfinished one-off messages (``ix_side_effect_unfinished``) and the
follow-ups neither sent nor given up (``ix_follow_up_unsent``). The open
statuses are written out as ``storage.models.OPEN_ITEM_WHERE`` writes them:
SQLite uses a partial index only for a query holding its condition as written.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

OPEN_ITEM_WHERE = "status IN ('awaiting', 'confirmed', 'deemed_confirmed', 'disputed')"
UNSENT_WHERE = "ts IS NULL AND gave_up_at IS NULL"


def upgrade() -> None:
    where = sa.text(OPEN_ITEM_WHERE)
    op.create_index('ix_item_open', 'item', ['status', 'deadline'], unique=False, sqlite_where=where, postgresql_where=where)
    where = sa.text("done_at IS NULL")
    op.create_index('ix_side_effect_unfinished', 'side_effect', ['claimed_at'], unique=False, sqlite_where=where, postgresql_where=where)
    where = sa.text(UNSENT_WHERE)
    op.create_index('ix_follow_up_unsent', 'follow_up', ['attempts'], unique=False, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index('ix_follow_up_unsent', table_name='follow_up')
    op.drop_index('ix_side_effect_unfinished', table_name='side_effect')
    op.drop_index('ix_item_open', table_name='item')
