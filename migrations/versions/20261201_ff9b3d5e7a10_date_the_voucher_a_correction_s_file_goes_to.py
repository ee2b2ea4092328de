"""Date the voucher a correction's file goes to

A correction's Z-report PDF goes to the correction's new voucher, in that voucher's own financial
year, so the attachment keeps the voucher's date beside its series, number and year
(``voucher_attachment.voucher_date``) instead of reading the correction back. Existing rows take
their correction's booking date.

Revision ID: ff9b3d5e7a10
Revises: ff8e4c2a1b96
Create Date: 2026-12-01 20:00:00.000000+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'ff9b3d5e7a10'
down_revision = 'ff8e4c2a1b96'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voucher_attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voucher_date', sa.Date(), nullable=True))
    op.execute(
        "UPDATE voucher_attachment SET voucher_date = "
        "(SELECT correction.booking_date FROM correction WHERE correction.id = voucher_attachment.correction_id) "
        "WHERE correction_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('voucher_attachment', schema=None) as batch_op:
        batch_op.drop_column('voucher_date')
