"""Add reconciliation runs

One row per reading of a month from Fortnox ("Avstämning"): its progress and its stored result.

Revision ID: e2d6a41f8c03
Revises: c7e41d2a9b35
Create Date: 2026-12-01 09:30:36.591331+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'e2d6a41f8c03'
down_revision = 'c7e41d2a9b35'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconcile_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('started_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=80), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error_detail', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_reconcile_run_company_id_company')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconcile_run'))
    )
    with op.batch_alter_table('reconcile_run', schema=None) as batch_op:
        batch_op.create_index('ix_reconcile_run_company_id_month', ['company_id', 'month'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reconcile_run', schema=None) as batch_op:
        batch_op.drop_index('ix_reconcile_run_company_id_month')

    op.drop_table('reconcile_run')
