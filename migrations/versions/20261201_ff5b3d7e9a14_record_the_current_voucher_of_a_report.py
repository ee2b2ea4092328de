"""Record the current voucher of a corrected report, and the voucher a correction's PDF goes to

"Rätta dag": ``export_job.current_*`` is the report's voucher in Fortnox after a correction (the
last correction's new voucher), shown by ``export status``; ``voucher_attachment.voucher_*`` names
the voucher a correction's Z-report PDF is connected to, so attaching needs no knowledge of
corrections.

Revision ID: ff5b3d7e9a14
Revises: ff2a6c1e0d47
Create Date: 2026-12-01 13:40:00.000000+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'ff5b3d7e9a14'
down_revision = 'ff2a6c1e0d47'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('current_series', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('current_number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('current_year', sa.Integer(), nullable=True))
    with op.batch_alter_table('voucher_attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voucher_series', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('voucher_number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('voucher_year', sa.Integer(), nullable=True))
    # A correction's attachment made before this revision goes to its correction's new voucher.
    op.execute(
        "UPDATE voucher_attachment SET "
        "voucher_series = (SELECT c.new_series FROM correction c WHERE c.id = voucher_attachment.correction_id), "
        "voucher_number = (SELECT c.new_number FROM correction c WHERE c.id = voucher_attachment.correction_id), "
        "voucher_year = (SELECT c.new_year FROM correction c WHERE c.id = voucher_attachment.correction_id) "
        "WHERE correction_id IS NOT NULL"
    )
    # A report corrected before this revision: its current voucher is its last correction's new one.
    last = ("(SELECT c.{column} FROM correction c WHERE c.job_id = export_job.id AND c.new_number IS NOT NULL "
            "ORDER BY c.sequence DESC LIMIT 1)")
    op.execute(
        f"UPDATE export_job SET current_series = {last.format(column='new_series')}, "
        f"current_number = {last.format(column='new_number')}, current_year = {last.format(column='new_year')} "
        "WHERE id IN (SELECT job_id FROM correction WHERE new_number IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table('voucher_attachment', schema=None) as batch_op:
        batch_op.drop_column('voucher_year')
        batch_op.drop_column('voucher_number')
        batch_op.drop_column('voucher_series')
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_column('current_year')
        batch_op.drop_column('current_number')
        batch_op.drop_column('current_series')
