"""Record who settled an export attempt by hand

A job blocked because Fortnox holds its voucher otherwise than sent (``voucher_differs``) is
settled by an admin: Fortnox's voucher is accepted as the report's booking, or read again. The
attempt that records it names the person (``export_attempt.actor``).

Revision ID: ff7d2a4c6e38
Revises: ff6c0a1e3b72
Create Date: 2026-12-01 13:30:00.000000+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'ff7d2a4c6e38'
down_revision = 'ff6c0a1e3b72'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor', sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('export_attempt', schema=None) as batch_op:
        batch_op.drop_column('actor')
