"""Add corrections of booked days

"Rätta dag" (issue 18): ``correction_run`` per confirmed request, ``correction`` per report (its
reversal and new voucher, each written ahead with its token). A correction's new voucher gets its
Z-report PDF as a ``voucher_attachment`` of its own, so an export job may now have several
attachments: ``job_id`` is no longer unique there, ``correction_id`` is.

Revision ID: ff2a6c1e0d47
Revises: fe604c0f082e
Create Date: 2026-12-01 12:53:18.483995+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'ff2a6c1e0d47'
down_revision = 'fe604c0f082e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('correction_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('started_by', sa.String(length=254), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('why', sa.String(length=200), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_correction_run_company_id_company')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_run'))
    )
    with op.batch_alter_table('correction_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_run_company_id'), ['company_id'], unique=False)

    op.create_table('correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('zreport_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason_code', sa.String(length=40), nullable=True),
    sa.Column('reason_detail', sa.Text(), nullable=True),
    sa.Column('corrected_series', sa.String(length=10), nullable=False),
    sa.Column('corrected_number', sa.Integer(), nullable=False),
    sa.Column('corrected_year', sa.Integer(), nullable=False),
    sa.Column('corrected_date', sa.Date(), nullable=False),
    sa.Column('corrected_description', sa.String(length=200), nullable=False),
    sa.Column('corrected_rows', sa.Text(), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=True),
    sa.Column('reversal_token', sa.String(length=40), nullable=True),
    sa.Column('reversal_in_doubt', sa.Boolean(), nullable=False),
    sa.Column('reversal_body', sa.Text(), nullable=True),
    sa.Column('reversal_series', sa.String(length=10), nullable=True),
    sa.Column('reversal_number', sa.Integer(), nullable=True),
    sa.Column('reversal_year', sa.Integer(), nullable=True),
    sa.Column('new_token', sa.String(length=40), nullable=True),
    sa.Column('new_in_doubt', sa.Boolean(), nullable=False),
    sa.Column('new_body', sa.Text(), nullable=True),
    sa.Column('new_series', sa.String(length=10), nullable=True),
    sa.Column('new_number', sa.Integer(), nullable=True),
    sa.Column('new_year', sa.Integer(), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=80), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_correction_company_id_company')),
    sa.ForeignKeyConstraint(['job_id'], ['export_job.id'], name=op.f('fk_correction_job_id_export_job')),
    sa.ForeignKeyConstraint(['run_id'], ['correction_run.id'], name=op.f('fk_correction_run_id_correction_run')),
    sa.ForeignKeyConstraint(['zreport_id'], ['zreport.id'], name=op.f('fk_correction_zreport_id_zreport')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction')),
    sa.UniqueConstraint('new_token', name=op.f('uq_correction_new_token')),
    sa.UniqueConstraint('reversal_token', name=op.f('uq_correction_reversal_token')),
    sa.UniqueConstraint('zreport_id', 'sequence', name=op.f('uq_correction_zreport_id_sequence'))
    )
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_company_id'), ['company_id'], unique=False)
        batch_op.create_index('ix_correction_due', ['state', 'retry_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_correction_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_correction_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_correction_zreport_id'), ['zreport_id'], unique=False)

    with op.batch_alter_table('voucher_attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correction_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_voucher_attachment_job_id'), type_='unique')
        batch_op.create_index(batch_op.f('ix_voucher_attachment_job_id'), ['job_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_voucher_attachment_correction_id'), ['correction_id'])
        batch_op.create_foreign_key(batch_op.f('fk_voucher_attachment_correction_id_correction'), 'correction', ['correction_id'], ['id'])



def downgrade() -> None:
    op.execute("DELETE FROM voucher_attachment WHERE correction_id IS NOT NULL")
    with op.batch_alter_table('voucher_attachment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_voucher_attachment_correction_id_correction'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_voucher_attachment_correction_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_voucher_attachment_job_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_voucher_attachment_job_id'), ['job_id'])
        batch_op.drop_column('correction_id')

    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correction_zreport_id'))
        batch_op.drop_index(batch_op.f('ix_correction_run_id'))
        batch_op.drop_index(batch_op.f('ix_correction_job_id'))
        batch_op.drop_index('ix_correction_due')
        batch_op.drop_index(batch_op.f('ix_correction_company_id'))

    op.drop_table('correction')
    with op.batch_alter_table('correction_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correction_run_company_id'))

    op.drop_table('correction_run')
