"""Index Z-reports by company and business date

A company's newest report (the wizard's preview, the Z-report list) is ordered by business date;
with only single-column indexes SQLite read and sorted all of the company's reports for it (22 ms
for 11,000 reports). The new index leads with company_id, so it also serves everything the
single-column company index did, which it replaces: the intake keeps the same number of indexes.

Revision ID: b1793991d1d8
Revises: fe5ebd9f4154
Create Date: 2026-11-23 12:40:00.000000+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'b1793991d1d8'
down_revision = 'fe5ebd9f4154'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('zreport', schema=None) as batch_op:
        batch_op.create_index('ix_zreport_company_id_business_date', ['company_id', 'business_date'], unique=False)
        batch_op.drop_index(batch_op.f('ix_zreport_company_id'))


def downgrade() -> None:
    with op.batch_alter_table('zreport', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zreport_company_id'), ['company_id'], unique=False)
        batch_op.drop_index('ix_zreport_company_id_business_date')
