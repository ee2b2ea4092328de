"""Add mail preferences and the outgoing mail queue

Each user's choice on "E-postnotiser" (no row: the default, problem mails for admins), and the
outbox the worker sends from; its unique dedupe key keeps a problem to one mail a day per person.

Revision ID: fa1c3e5b7d90
Revises: f9c1d5e3a7b2
Create Date: 2026-12-01 09:47:37.226127+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'fa1c3e5b7d90'
down_revision = 'f9c1d5e3a7b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('problems', sa.Boolean(), nullable=False),
    sa.Column('weekly', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_mail_preference_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_mail_preference'))
    )
    op.create_table('outgoing_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_outgoing_mail_company_id_company')),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_outgoing_mail_problem_id_problem'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_outgoing_mail_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mail')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outgoing_mail_dedupe_key'))
    )
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_mail_company_id'), ['company_id'], unique=False)
        batch_op.create_index('ix_outgoing_mail_due', ['sent_at', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_mail_due')
        batch_op.drop_index(batch_op.f('ix_outgoing_mail_company_id'))

    op.drop_table('outgoing_mail')
    op.drop_table('mail_preference')
