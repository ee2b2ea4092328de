"""Storing Z-reports: the 201 / 200 / 409 logic of the POS contract's idempotency rule."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backoffice.companies.models import Register, RegisterUnit
from backoffice.db import now_utc
from backoffice.export.jobs import create_job
from backoffice.intake import statements
from backoffice.zreport.models import LineKind, ZReportRecord
from backoffice.zreport.report import ZReport, fingerprint


class ZReportError(Exception):
    """Base of the errors of Z-report intake."""


class ZReportConflictError(ZReportError):
    """The same (register, z_number) is already stored with other content: a Z-report is final."""

    def __init__(self, register_id: str, z_number: int):
        super().__init__(f"Z-report {z_number} of register {register_id} is already stored with other content")
        self.register_id = register_id
        self.z_number = z_number


class WrongRegisterError(ZReportError):
    """The report names another register than the one whose token sent it."""

    def __init__(self, token_register: str, report_register: str):
        super().__init__(f"the token belongs to register {token_register!r}, the report names {report_register!r}")
        self.token_register = token_register
        self.report_register = report_register


@dataclass(frozen=True, slots=True)
class Stored:
    """The outcome of ``store_zreport``: what the POS API answers with, and whether this call created it."""

    zreport_id: int
    register_id: str
    z_number: int
    business_date: date
    received_at: datetime
    #: the JSON document exactly as the register sent it
    document: str
    created: bool

    @classmethod
    def of(cls, record: ZReportRecord, *, created: bool = False) -> Stored:
        return cls(record.id, record.register.pos_id, record.z_number, record.business_date, record.received_at,
                   record.document, created)


class RegisterRef(Protocol):
    """What storing a report needs of its register: an ORM ``Register``, or the POS API's row."""

    @property
    def id(self) -> int: ...
    @property
    def company_id(self) -> int: ...
    @property
    def pos_id(self) -> str: ...


def store_zreport(session: Session, register: RegisterRef, zreport: ZReport, document: dict, raw: str) -> Stored:
    """Store a validated report of ``register``, or recognise an identical repeat.

    Raises ``WrongRegisterError`` when the report is another register's and
    ``ZReportConflictError`` when the key is taken by other content. Writes in the caller's
    transaction; the caller commits.

    This is the POS API's hot path, so it writes with the prebuilt Core statements of
    ``intake/statements.py`` (the rule they follow is at its top): the report is inserted with
    ``INSERT … ON CONFLICT DO NOTHING`` (when another request stored the same key first, the unique
    constraint decides and this one answers as for a repeat, with no savepoint), then its lines,
    payments and tips and its export job (``export.statements.job_insert``). On PostgreSQL all of
    that is one statement, data-modifying CTEs hanging off the report's INSERT
    (``statements.store_statement``); SQLite has no such CTEs and gets one statement per table.
    """
    if zreport.register.id != register.pos_id:
        raise WrongRegisterError(register.pos_id, zreport.register.id)
    content_hash = fingerprint(zreport)
    received_at = now_utc()
    connection = session.connection()
    unit_id = unit_for(connection, register, zreport, received_at)
    row = _report_row(register, unit_id, zreport, raw, content_hash, received_at)
    children = _child_rows(zreport)
    if connection.dialect.name == "postgresql":
        names = statements.CHILD_NAMES
        rows_as_json = {name: json.dumps(rows, default=str) for name, rows in zip(names, children, strict=True)}
        zreport_id = connection.execute(
            statements.store_statement(), {**row, **rows_as_json, "now": received_at}
        ).scalar()
    else:
        zreport_id = connection.execute(statements.INSERT_NEW_SQLITE, row).scalar()
        if zreport_id is not None:
            for insert_rows, rows in zip(statements.INSERT_CHILDREN, children, strict=True):
                if rows:
                    connection.execute(insert_rows, [{**values, "zreport_id": zreport_id} for values in rows])
            create_job(session, register.company_id, zreport_id, zreport.business_date, received_at)
    if zreport_id is None:
        existing = session.scalar(
            select(ZReportRecord).where(ZReportRecord.unit_id == unit_id, ZReportRecord.z_number == zreport.z_number)
        )
        if existing is None:  # cannot happen: the key was taken when the INSERT ran, and reports are never deleted
            raise RuntimeError(f"Z-report {zreport.z_number} of register {register.pos_id} vanished")
        if existing.content_hash != content_hash and fingerprint(existing.to_report()) != content_hash:
            # (a report stored before 2026-12 carries a hash of its bytes, not of its meaning)
            raise ZReportConflictError(register.pos_id, zreport.z_number)
        return Stored.of(existing)
    return Stored(zreport_id, register.pos_id, zreport.z_number, zreport.business_date, received_at, raw, True)


def find_zreport(
    session: Session, register: RegisterRef, z_number: int, *, serial_number: str | None = None
) -> ZReportRecord | None:
    """The stored report ``z_number`` of ``register``'s unit with ``serial_number``, or of its current
    unit when no serial number is given (zreport-v1.md, "Idempotency"); None when there is none."""
    units = select(RegisterUnit.id).where(RegisterUnit.register_id == register.id)
    if serial_number is None:
        unit = units.order_by(RegisterUnit.number.desc()).limit(1)
    else:
        unit = units.where(RegisterUnit.serial_number == serial_number)
    return session.scalar(
        select(ZReportRecord).where(ZReportRecord.unit_id == unit.scalar_subquery(), ZReportRecord.z_number == z_number)
    )


# --- units: a replaced register keeps its id, its new unit starts again at Z 1 ------------------

_units = RegisterUnit.__table__


def unit_for(connection: Connection, register: RegisterRef, zreport: ZReport, now: datetime) -> int:
    """The id of the unit of ``register`` that sent ``zreport``; a new unit is recorded when it starts.

    zreport-v1.md, "Idempotency": a report is identified by (register.id, serial_number, z_number).

    - A serial number the register has sent before names that unit (a late report of a replaced
      unit still finds its own).
    - No serial number: the current unit (the one numbered highest).
    - A serial number not seen before starts a new unit, numbered next, unless the current unit
      has never sent one and this report continues its Z-numbers: then it is that unit naming itself
      (a register that starts sending its serial number, or the unit recorded by the migration).

    Registers send one report at a time, so a new unit is rare: the common path is one small SELECT.
    """
    units = connection.execute(statements.UNITS, {"register_id": register.id}).all()
    serial = zreport.register.serial_number or None
    if not units:
        return _start_unit(connection, register, 1, serial, now)
    for unit in units:
        if serial is not None and unit.serial_number == serial:
            return unit.id
    current = units[-1]
    if serial is None:
        return current.id
    if current.serial_number is None:
        last = connection.execute(statements.LAST_Z, {"unit_id": current.id}).scalar()
        if last is None or zreport.z_number > last:
            connection.execute(
                update(_units).where(_units.c.id == current.id, _units.c.serial_number.is_(None)).values(serial_number=serial)
            )
            _name_serial_number(connection, register, serial)
            return current.id
    return _start_unit(connection, register, current.number + 1, serial, now)


def _start_unit(connection: Connection, register: RegisterRef, number: int, serial: str | None, now: datetime) -> int:
    """Record unit ``number`` of ``register``; when a concurrent request recorded it first, use that one."""
    statement = (
        (postgresql if connection.dialect.name == "postgresql" else sqlite)
        .insert(_units)
        .values(register_id=register.id, number=number, serial_number=serial, started_at=now)
        .on_conflict_do_nothing(index_elements=["register_id", "number"])
    )
    connection.execute(statement)
    if serial is not None:
        _name_serial_number(connection, register, serial)
    return connection.execute(
        select(_units.c.id).where(_units.c.register_id == register.id, _units.c.number == number)
    ).scalar_one()


def _name_serial_number(connection: Connection, register: RegisterRef, serial: str) -> None:
    """The register shows the serial number of its current unit."""
    registers = Register.__table__
    connection.execute(update(registers).where(registers.c.id == register.id).values(serial_number=serial))


def _report_row(
    register: RegisterRef, unit_id: int, zreport: ZReport, raw: str, content_hash: str, received_at: datetime
) -> dict:
    return dict(
        company_id=register.company_id,
        register_id=register.id,
        unit_id=unit_id,
        z_number=zreport.z_number,
        business_date=zreport.business_date,
        closed_at=zreport.closed_at,
        currency=zreport.currency,
        gift_cards_sold=zreport.gift_cards_sold,
        tips_paid_out_cash=zreport.tips_paid_out_cash,
        rounding=zreport.rounding,
        cash_difference=zreport.cash_difference,
        discounts_count=zreport.discounts.count,
        discounts_amount=zreport.discounts.amount,
        opening_float=zreport.opening_float,
        receipts=zreport.counters.receipts,
        drawer_openings=zreport.counters.drawer_openings,
        goods_sold=zreport.counters.goods_sold,
        services_sold=zreport.counters.services_sold,
        copies_count=zreport.copies.count,
        copies_amount=zreport.copies.amount,
        training_count=zreport.training.count,
        training_amount=zreport.training.amount,
        unfinished_sales_count=zreport.unfinished_sales.count,
        unfinished_sales_amount=zreport.unfinished_sales.amount,
        other_reductions_count=zreport.other_reductions.count,
        other_reductions_amount=zreport.other_reductions.amount,
        grand_total_sales=zreport.grand_total.sales,
        grand_total_returns=zreport.grand_total.returns,
        grand_total_net=zreport.grand_total.net,
        document=raw,
        content_hash=content_hash,
        received_at=received_at,
    )


def _child_rows(zreport: ZReport) -> tuple[list[dict], list[dict], list[dict]]:
    """The report's lines, payments and tips as rows of their tables, without ``zreport_id``."""
    lines = [(LineKind.SALE, line) for line in zreport.sales] + [(LineKind.RETURN, line) for line in zreport.returns]
    return (
        [
            dict(position=position, kind=kind, product_group=line.product_group, vat_rate=line.vat_rate,
                 gross=line.gross, vat=line.vat, count=line.count)
            for position, (kind, line) in enumerate(lines)
        ],
        [
            dict(position=position, method=payment.method, amount=payment.amount, count=payment.count)
            for position, payment in enumerate(zreport.payments)
        ],
        [dict(position=position, method=tip.method, amount=tip.amount) for position, tip in enumerate(zreport.tips)],
    )
