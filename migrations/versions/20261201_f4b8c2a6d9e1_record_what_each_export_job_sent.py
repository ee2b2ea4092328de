"""Record what each export job sent: its token, series, financial year and date

Revision ID: f4b8c2a6d9e1
Revises: e2d6a41f8c03
Create Date: 2026-12-01 10:10:00+00:00

A job in doubt looks up the voucher it sent, not one built from today's mapping. Jobs already in
doubt when this runs get the series and date of their last request body (their "sending" attempt);
they have no token, so the engine finds their voucher by its description (export.engine).
"""

import json
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = 'f4b8c2a6d9e1'
down_revision = 'e2d6a41f8c03'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voucher_token', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('sent_series', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('sent_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sent_date', sa.Date(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_export_job_voucher_token'), ['voucher_token'])
    connection = op.get_bind()
    jobs = connection.execute(sa.text(
        "SELECT j.id, a.request_body FROM export_job j JOIN export_attempt a ON a.job_id = j.id "
        "WHERE j.in_doubt AND a.request_body IS NOT NULL ORDER BY j.id, a.id"
    )).all()
    last_body = {job_id: body for job_id, body in jobs}
    for job_id, body in last_body.items():
        voucher = json.loads(body).get("Voucher") or {}
        connection.execute(
            sa.text("UPDATE export_job SET sent_series = :series, sent_date = :day WHERE id = :id"),
            {"series": voucher.get("VoucherSeries"), "id": job_id,
             "day": date.fromisoformat(voucher["TransactionDate"]) if voucher.get("TransactionDate") else None},
        )


def downgrade() -> None:
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_export_job_voucher_token'), type_='unique')
        batch_op.drop_column('sent_date')
        batch_op.drop_column('sent_year')
        batch_op.drop_column('sent_series')
        batch_op.drop_column('voucher_token')
