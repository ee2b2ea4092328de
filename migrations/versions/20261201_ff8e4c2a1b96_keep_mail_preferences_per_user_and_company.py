"""Keep mail preferences per user and company

A user of several companies (an owner's restaurants, a byrå's clients) chooses per company which
mails they get. Each user's one choice of before becomes their choice for every company they are a
member of; no row stays the default of their role there. A preference now belongs to its membership.

Revision ID: ff8e4c2a1b96
Revises: ff7d2a4c6e38
Create Date: 2026-12-01 16:30:00.000000+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'ff8e4c2a1b96'
down_revision = 'ff7d2a4c6e38'
branch_labels = None
depends_on = None


def _set_aside() -> None:
    """Copy the choices to a plain table of their own, and drop ``mail_preference``."""
    op.execute("CREATE TABLE mail_preference_set_aside AS SELECT * FROM mail_preference")
    op.drop_table('mail_preference')


def upgrade() -> None:
    _set_aside()
    op.create_table('mail_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('problems', sa.Boolean(), nullable=False),
    sa.Column('weekly', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id', 'company_id'], ['membership.user_id', 'membership.company_id'], name=op.f('fk_mail_preference_user_id_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'company_id', name=op.f('pk_mail_preference'))
    )
    op.execute(
        "INSERT INTO mail_preference (user_id, company_id, problems, weekly, updated_at)"
        " SELECT p.user_id, m.company_id, p.problems, p.weekly, p.updated_at"
        " FROM mail_preference_set_aside p JOIN membership m ON m.user_id = p.user_id"
    )
    op.drop_table('mail_preference_set_aside')


def downgrade() -> None:
    # One choice per user again: a mail they chose for any of their companies.
    _set_aside()
    op.create_table('mail_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('problems', sa.Boolean(), nullable=False),
    sa.Column('weekly', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_mail_preference_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_mail_preference'))
    )
    op.execute(
        "INSERT INTO mail_preference (user_id, problems, weekly, updated_at)"
        " SELECT user_id, MAX(CASE WHEN problems THEN 1 ELSE 0 END) = 1, MAX(CASE WHEN weekly THEN 1 ELSE 0 END) = 1,"
        " MAX(updated_at) FROM mail_preference_set_aside GROUP BY user_id"
    )
    op.drop_table('mail_preference_set_aside')
