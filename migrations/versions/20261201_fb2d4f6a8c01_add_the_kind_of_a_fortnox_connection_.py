"""Add the kind of a Fortnox connection and when it was last checked

Every existing connection is a person's login (``user``); when Fortnox last accepted it is not
known, so it starts at the row's last update (a token refresh updates the row).

Revision ID: fb2d4f6a8c01
Revises: fa1c3e5b7d90
Create Date: 2026-12-01 10:02:20.368385+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'fb2d4f6a8c01'
down_revision = 'fa1c3e5b7d90'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fortnox_connection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='user'))
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE fortnox_connection SET checked_at = updated_at")
    with op.batch_alter_table('fortnox_connection', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('fortnox_connection', schema=None) as batch_op:
        batch_op.drop_column('checked_at')
        batch_op.drop_column('kind')
