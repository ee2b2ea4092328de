"""Give users a role in each of several companies (memberships)

Each user's company and role become their one membership; the columns leave ``user_account``.

Revision ID: ff6c0a1e3b72
Revises: ff5b3d7e9a14
Create Date: 2026-12-01 13:05:00.000000+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'ff6c0a1e3b72'
down_revision = 'ff5b3d7e9a14'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_membership_company_id_company')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_membership_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership')),
    sa.UniqueConstraint('user_id', 'company_id', name=op.f('uq_membership_user_id_company_id'))
    )
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_company_id'), ['company_id'], unique=False)
    op.execute(
        "INSERT INTO membership (user_id, company_id, role, created_at)"
        " SELECT id, company_id, role, created_at FROM user_account"
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_company_id'))
        batch_op.drop_constraint(batch_op.f('fk_user_account_company_id_company'), type_='foreignkey')
        batch_op.drop_column('company_id')
        batch_op.drop_column('role')


def downgrade() -> None:
    # A user of several companies keeps the first of them (by membership id) and its role.
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('role', sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE user_account SET company_id = (SELECT m.company_id FROM membership m WHERE m.user_id = user_account.id"
        " ORDER BY m.id LIMIT 1), role = (SELECT m.role FROM membership m WHERE m.user_id = user_account.id"
        " ORDER BY m.id LIMIT 1)"
    )
    op.execute("DELETE FROM user_account WHERE company_id IS NULL")
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('company_id', nullable=False)
        batch_op.alter_column('role', nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_account_company_id_company'), 'company', ['company_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_user_account_company_id'), ['company_id'], unique=False)
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_company_id'))
    op.drop_table('membership')
