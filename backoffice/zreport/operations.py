"""Storing Z-reports: the 201 / 200 / 409 logic of the POS contract's idempotency rule."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.companies.models import Register
from backoffice.zreport.models import LineKind, ZReportLine, ZReportPayment, ZReportRecord, ZReportTip
from backoffice.zreport.report import ZReport
from backoffice.zreport.schemas import canonical_json


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
    """The outcome of ``store_zreport``: the stored row, and whether this call created it."""

    record: ZReportRecord
    created: bool


def store_zreport(session: Session, register: Register, zreport: ZReport, document: dict, raw: str) -> Stored:
    """Store a validated report of ``register``, or recognise an identical repeat.

    Raises ``WrongRegisterError`` when the report is another register's and
    ``ZReportConflictError`` when the key is taken by other content. Flushes; the caller commits.
    """
    if zreport.register.id != register.pos_id:
        raise WrongRegisterError(register.pos_id, zreport.register.id)
    content_hash = hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
    existing = find_zreport(session, register, zreport.z_number)
    if existing is None:
        record = _new_record(register, zreport, raw, content_hash)
        try:
            # A savepoint: when another request stores the same key first, the unique constraint
            # decides, and this one answers as for a repeat.
            with session.begin_nested():
                session.add(record)
                session.flush()
        except IntegrityError:
            existing = find_zreport(session, register, zreport.z_number)
            if existing is None:
                raise
        else:
            _after_store(session, record)
            return Stored(record, created=True)
    if existing.content_hash != content_hash:
        raise ZReportConflictError(register.pos_id, zreport.z_number)
    return Stored(existing, created=False)


def find_zreport(session: Session, register: Register, z_number: int) -> ZReportRecord | None:
    return session.scalar(
        select(ZReportRecord).where(ZReportRecord.register_id == register.id, ZReportRecord.z_number == z_number)
    )


def _after_store(session: Session, record: ZReportRecord) -> None:
    """What must happen in the same transaction as a new report: its export job."""
    from backoffice.export.engine import create_job

    create_job(session, record)


def _new_record(register: Register, zreport: ZReport, raw: str, content_hash: str) -> ZReportRecord:
    record = ZReportRecord(
        company_id=register.company_id,
        register=register,
        z_number=zreport.z_number,
        business_date=zreport.business_date,
        closed_at=zreport.closed_at,
        currency=zreport.currency,
        gift_cards_sold=zreport.gift_cards_sold,
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
    )
    lines = [(LineKind.SALE, line) for line in zreport.sales] + [(LineKind.RETURN, line) for line in zreport.returns]
    record.lines = [
        ZReportLine(
            position=position,
            kind=kind,
            product_group=line.product_group,
            vat_rate=line.vat_rate,
            gross=line.gross,
            vat=line.vat,
            count=line.count,
        )
        for position, (kind, line) in enumerate(lines)
    ]
    record.payments = [
        ZReportPayment(position=position, method=payment.method, amount=payment.amount, count=payment.count)
        for position, payment in enumerate(zreport.payments)
    ]
    record.tips = [
        ZReportTip(position=position, method=tip.method, amount=tip.amount) for position, tip in enumerate(zreport.tips)
    ]
    return record
