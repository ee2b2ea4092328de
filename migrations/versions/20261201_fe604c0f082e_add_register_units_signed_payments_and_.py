"""Add register units, signed payments and tips paid out in cash

The amended zreport/v1 (docs/contracts/zreport-v1.md):

- A replaced register keeps its id, gets a new serial number and starts again at Z 1, so a report
  is identified by (register, unit, z_number): ``register_unit`` holds each register's units, and
  the unique key of ``zreport`` becomes (unit_id, z_number). Every register gets its unit 1, named
  by the serial number of its latest report (else the register's own), and its reports move to it.
- ``payments[].amount`` is signed: the payment table's check that it is not negative goes.
- ``tips_paid_out_cash``, optional, 0 for every report stored before.

Revision ID: fe604c0f082e
Revises: fb2d4f6a8c01
Create Date: 2026-12-01 09:30:47.308903+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'fe604c0f082e'
down_revision = 'fb2d4f6a8c01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('register_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('register_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('serial_number', sa.String(length=80), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['register_id'], ['register.id'], name=op.f('fk_register_unit_register_id_register')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_unit')),
    sa.UniqueConstraint('register_id', 'number', name=op.f('uq_register_unit_register_id_number'))
    )
    with op.batch_alter_table('zreport', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tips_paid_out_cash', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False))

    if op.get_bind().dialect.name == 'postgresql':
        serial = "(z.document::jsonb -> 'register' ->> 'serial_number')"
    else:
        serial = "json_extract(z.document, '$.register.serial_number')"
    op.execute(
        "INSERT INTO register_unit (register_id, number, serial_number, started_at) "
        "SELECT r.id, 1, COALESCE((SELECT " + serial + " FROM zreport z WHERE z.register_id = r.id "
        "ORDER BY z.z_number DESC LIMIT 1), r.serial_number), "
        "COALESCE((SELECT MIN(z.received_at) FROM zreport z WHERE z.register_id = r.id), r.created_at) "
        "FROM register r"
    )
    op.execute(
        "UPDATE zreport SET unit_id = (SELECT u.id FROM register_unit u WHERE u.register_id = zreport.register_id)"
    )

    with op.batch_alter_table('zreport', schema=None) as batch_op:
        batch_op.alter_column('unit_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_zreport_register_id_z_number'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_zreport_unit_id_z_number'), ['unit_id', 'z_number'])
        batch_op.create_foreign_key(batch_op.f('fk_zreport_unit_id_register_unit'), 'register_unit', ['unit_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_zreport_tips_paid_out_cash_not_negative'), 'tips_paid_out_cash >= 0')
    with op.batch_alter_table('zreport_payment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_zreport_payment_amount_not_negative'), type_='check')


def downgrade() -> None:
    # Only a database without negative payments and without a second unit of any register goes back.
    with op.batch_alter_table('zreport_payment', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_zreport_payment_amount_not_negative'), 'amount >= 0')
    with op.batch_alter_table('zreport', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_zreport_tips_paid_out_cash_not_negative'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_zreport_unit_id_register_unit'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_zreport_unit_id_z_number'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_zreport_register_id_z_number'), ['register_id', 'z_number'])
        batch_op.drop_column('tips_paid_out_cash')
        batch_op.drop_column('unit_id')

    op.drop_table('register_unit')
