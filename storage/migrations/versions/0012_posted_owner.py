"""posted owner: whom a digest message was posted to, for the monthly figures

``digest_message.owner`` follows the thread when the routing file renames or
replaces an owner (the open items are handed over); ``posted_owner`` keeps
the name the message was posted under, so a past month's figures never move
to another name. Existing rows get their current owner.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posted_owner', sa.String(length=128), nullable=True))
    op.execute("UPDATE digest_message SET posted_owner = owner")


def downgrade() -> None:
    with op.batch_alter_table('digest_message', schema=None) as batch_op:
        batch_op.drop_column('posted_owner')
