"""Add the shared Fortnox rate budget

Fortnox counts 25 requests per 5 s per (client id, tenant), whoever sends them. Each process used
to count alone, so a web process reading the chart of accounts while a worker exported a backlog
met 429s. On PostgreSQL every process now takes one of the tenant's slots in this table first.

Revision ID: 5a1e0b7c9d20
Revises: b1793991d1d8
Create Date: 2026-12-01 09:40:00.000000+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '5a1e0b7c9d20'
down_revision = 'b1793991d1d8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fortnox_rate_slot',
    sa.Column('budget_key', sa.String(length=120), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holder', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('budget_key', 'slot', name=op.f('pk_fortnox_rate_slot'))
    )


def downgrade() -> None:
    op.drop_table('fortnox_rate_slot')
