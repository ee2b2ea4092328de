"""Stored Z-reports: the parsed rows for queries and the original JSON document, unchanged.

The document is the source of truth: ``to_report()`` parses it again with the intake schema, so
the booking core sees exactly what the register sent.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.companies.models import Company, Register, RegisterUnit
from backoffice.db import Base, now_utc
from backoffice.zreport.report import ZReport


class LineKind(enum.StrEnum):
    #: a sales line of the report
    SALE = "sale"
    #: a return line of the report (positive amounts that reduce sales)
    RETURN = "return"


class ZReportRecord(Base):
    __tablename__ = "zreport"
    __table_args__ = (
        UniqueConstraint("unit_id", "z_number"),
        Index("ix_zreport_company_id_business_date", "company_id", "business_date"),
        CheckConstraint("z_number >= 1", name="z_number_positive"),
        CheckConstraint("gift_cards_sold >= 0", name="gift_cards_sold_not_negative"),
        CheckConstraint("opening_float >= 0", name="opening_float_not_negative"),
        CheckConstraint("tips_paid_out_cash >= 0", name="tips_paid_out_cash_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"))
    #: the unit of the register that sent it: (unit, z_number) identifies a report
    unit_id: Mapped[int] = mapped_column(ForeignKey("register_unit.id"))
    z_number: Mapped[int]
    business_date: Mapped[date] = mapped_column(index=True)
    closed_at: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    gift_cards_sold: Mapped[Decimal]
    #: card (or other) tips the staff took out of the cash drawer at close
    tips_paid_out_cash: Mapped[Decimal] = mapped_column(server_default="0")
    #: öresavrundning, signed
    rounding: Mapped[Decimal]
    #: kassadifferens, signed
    cash_difference: Mapped[Decimal]
    discounts_count: Mapped[int]
    discounts_amount: Mapped[Decimal]
    opening_float: Mapped[Decimal]
    receipts: Mapped[int]
    drawer_openings: Mapped[int]
    goods_sold: Mapped[int]
    services_sold: Mapped[int]
    copies_count: Mapped[int]
    copies_amount: Mapped[Decimal]
    training_count: Mapped[int]
    training_amount: Mapped[Decimal]
    unfinished_sales_count: Mapped[int]
    unfinished_sales_amount: Mapped[Decimal]
    other_reductions_count: Mapped[int]
    other_reductions_amount: Mapped[Decimal]
    grand_total_sales: Mapped[Decimal]
    grand_total_returns: Mapped[Decimal]
    grand_total_net: Mapped[Decimal]
    #: the JSON document exactly as the register sent it
    document: Mapped[str] = mapped_column(Text)
    #: ``report.fingerprint`` of the report (before 2026-12: SHA-256 of the document's canonical JSON):
    #: an identical repeat is recognised by it
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=now_utc)

    company: Mapped[Company] = relationship()
    register: Mapped[Register] = relationship()
    unit: Mapped[RegisterUnit] = relationship()
    lines: Mapped[list[ZReportLine]] = relationship(
        back_populates="zreport", cascade="all, delete-orphan", order_by="ZReportLine.position"
    )
    payments: Mapped[list[ZReportPayment]] = relationship(
        back_populates="zreport", cascade="all, delete-orphan", order_by="ZReportPayment.position"
    )
    tips: Mapped[list[ZReportTip]] = relationship(
        back_populates="zreport", cascade="all, delete-orphan", order_by="ZReportTip.position"
    )

    def document_json(self) -> dict:
        return json.loads(self.document)

    def to_report(self) -> ZReport:
        """The report as the booking core's value, parsed again from the stored document."""
        from backoffice.zreport.schemas import parse_document

        return parse_document(self.document)


class ZReportLine(Base):
    """A sales or return line: one product group at one VAT rate."""

    __tablename__ = "zreport_line"
    __table_args__ = (
        CheckConstraint("gross >= 0", name="gross_not_negative"),
        CheckConstraint("vat >= 0 AND vat <= gross", name="vat_within_gross"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zreport_id: Mapped[int] = mapped_column(ForeignKey("zreport.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[LineKind] = mapped_column(String(10))
    product_group: Mapped[str] = mapped_column(String(80))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    gross: Mapped[Decimal]
    vat: Mapped[Decimal]
    count: Mapped[int]

    zreport: Mapped[ZReportRecord] = relationship(back_populates="lines")


class ZReportPayment(Base):
    """The day's net of one payment method: signed, negative when its refunds exceed its takings."""

    __tablename__ = "zreport_payment"
    __table_args__ = (UniqueConstraint("zreport_id", "method"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zreport_id: Mapped[int] = mapped_column(ForeignKey("zreport.id", ondelete="CASCADE"))
    position: Mapped[int]
    method: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal]
    count: Mapped[int | None]

    zreport: Mapped[ZReportRecord] = relationship(back_populates="payments")


class ZReportTip(Base):
    __tablename__ = "zreport_tip"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zreport_id: Mapped[int] = mapped_column(ForeignKey("zreport.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    method: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal]

    zreport: Mapped[ZReportRecord] = relationship(back_populates="tips")
