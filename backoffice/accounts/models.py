"""The chart-of-accounts mapping of a company, as rows; ``to_mapping`` gives the pure value.

Cost centres are not stored here: each register keeps its own code (``Register.cost_center``,
"Ekonomi → Redovisning"), and ``to_mapping`` collects them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.accounts.mapping import Mapping, SalesRule
from backoffice.companies.models import Company
from backoffice.db import Base, now_utc

_ACCOUNT_RANGE = "BETWEEN 1000 AND 9999"


class AccountMapping(Base):
    __tablename__ = "account_mapping"
    __table_args__ = tuple(
        CheckConstraint(f"{column} IS NULL OR {column} {_ACCOUNT_RANGE}", name=f"{column}_account")
        for column in ("tips", "rounding", "cash_difference", "gift_cards_sold")
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), unique=True)
    voucher_series: Mapped[str] = mapped_column(String(10))
    #: the first business date to export; reports before it are kept but never exported
    start_date: Mapped[date | None]
    tips: Mapped[int | None]
    rounding: Mapped[int | None]
    cash_difference: Mapped[int | None]
    gift_cards_sold: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)
    #: email of the user (or "cli") who saved it last
    updated_by: Mapped[str | None] = mapped_column(String(254))

    company: Mapped[Company] = relationship()
    payment_methods: Mapped[list[PaymentMethodAccount]] = relationship(
        cascade="all, delete-orphan", order_by="PaymentMethodAccount.method"
    )
    vat_rates: Mapped[list[VatRateAccount]] = relationship(cascade="all, delete-orphan", order_by="VatRateAccount.vat_rate")
    sales_rules: Mapped[list[SalesRuleAccount]] = relationship(cascade="all, delete-orphan", order_by="SalesRuleAccount.id")

    def to_mapping(self) -> Mapping:
        """The pure mapping value the booking core reads."""
        return Mapping(
            voucher_series=self.voucher_series,
            payment_methods={row.method: row.account for row in self.payment_methods},
            vat_rates={row.vat_rate: row.account for row in self.vat_rates},
            sales=tuple(SalesRule(row.account, row.product_group, row.vat_rate) for row in self.sales_rules),
            tips=self.tips,
            rounding=self.rounding,
            cash_difference=self.cash_difference,
            gift_cards_sold=self.gift_cards_sold,
            cost_centres={r.pos_id: r.cost_center for r in self.company.registers if r.cost_center},
            start_date=self.start_date,
        )


class PaymentMethodAccount(Base):
    __tablename__ = "mapping_payment_method"
    __table_args__ = (
        UniqueConstraint("mapping_id", "method"),
        CheckConstraint(f"account {_ACCOUNT_RANGE}", name="account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mapping_id: Mapped[int] = mapped_column(ForeignKey("account_mapping.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(40))
    account: Mapped[int]


class VatRateAccount(Base):
    __tablename__ = "mapping_vat_rate"
    __table_args__ = (
        UniqueConstraint("mapping_id", "vat_rate"),
        CheckConstraint(f"account {_ACCOUNT_RANGE}", name="account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mapping_id: Mapped[int] = mapped_column(ForeignKey("account_mapping.id", ondelete="CASCADE"))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    account: Mapped[int]


class SalesRuleAccount(Base):
    """A sales rule: the account of a product group, a VAT rate, or both (the most specific wins)."""

    __tablename__ = "mapping_sales_rule"
    __table_args__ = (
        CheckConstraint(f"account {_ACCOUNT_RANGE}", name="account"),
        CheckConstraint("product_group IS NOT NULL OR vat_rate IS NOT NULL", name="has_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mapping_id: Mapped[int] = mapped_column(ForeignKey("account_mapping.id", ondelete="CASCADE"), index=True)
    product_group: Mapped[str | None] = mapped_column(String(80))
    vat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    account: Mapped[int]
