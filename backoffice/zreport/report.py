"""A Z-report (dagsavslut) as immutable values: what the POS sent, parsed, and nothing else.

Contract: ``docs/contracts/zreport-v1.md``, sections "Fields" and "The balance rule".

Invariants, guaranteed by intake (``zreport/schemas.py``) before a ``ZReport`` is built:

- Every amount is a ``Decimal`` with exactly two decimals (``money.parse_amount``); every VAT rate is
  a canonical ``Decimal`` (``money.parse_vat_rate``).
- ``gross``, ``vat`` and every payment, tip and gift-card amount are ≥ 0, and ``vat ≤ gross``;
  ``rounding`` and ``cash_difference`` are signed. Returns carry positive amounts that reduce sales.
- Each payment method appears at most once in ``payments``.
- The report balances to the öre: the two sides of :func:`balance_sides` are equal.
- ``closed_at`` is timezone-aware; ``business_date`` is the accounting date of the day close.

The legal Z-dagrapport content (``discounts``, ``opening_float``, ``counters``, ``copies``,
``training``, ``unfinished_sales``, ``other_reductions``, ``grand_total``) is kept and shown but never
booked (contract, "Fields").
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from backoffice.money import ZERO


@dataclass(frozen=True, slots=True)
class RegisterInfo:
    """The cash register that closed the day.

    id: the register's identifier, unique within the company (1–40 characters).
    name: the register's display name, shown in the voucher text (1–80 characters).
    serial_number: the register's manufacturing number (tillverkningsnummer), if sent.
    """

    id: str
    name: str
    serial_number: str | None = None


@dataclass(frozen=True, slots=True)
class SalesLine:
    """Sales (or returns) of one product group at one VAT rate, VAT included.

    product_group: the POS's product group ("Mat", "Dryck", …).
    vat_rate: the VAT rate in percent, canonical (``money.parse_vat_rate``).
    gross: the amount including VAT, ≥ 0.
    vat: the VAT inside ``gross``, 0 ≤ vat ≤ gross.
    count: items sold (or returned), informational.
    """

    product_group: str
    vat_rate: Decimal
    gross: Decimal
    vat: Decimal
    count: int


@dataclass(frozen=True, slots=True)
class Payment:
    """What one payment method took in during the day.

    method: the POS's identifier of the payment method (``cash``, ``card``, ``swish``, …).
    amount: the amount paid with it, ≥ 0.
    count: the number of payments, informational and optional.
    """

    method: str
    amount: Decimal
    count: int | None = None


@dataclass(frozen=True, slots=True)
class Tip:
    """Tips collected on top of sales with one payment method.

    method: the payment method the tips came with.
    amount: the tips, ≥ 0.
    """

    method: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CountAmount:
    """A number of registrations and their amount (discounts, copies, training, …).

    count: how many, ≥ 0.
    amount: their total, ≥ 0.
    """

    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Counters:
    """The day's counters required on a Z-dagrapport, each ≥ 0.

    receipts: receipts printed (antal kassakvitton).
    drawer_openings: cash drawer openings (antal lådöppningar).
    goods_sold: goods sold (antal sålda varor).
    services_sold: services sold (antal sålda tjänster).
    """

    receipts: int
    drawer_openings: int
    goods_sold: int
    services_sold: int


@dataclass(frozen=True, slots=True)
class GrandTotal:
    """Totals accumulated since the register was taken into use, each ≥ 0.

    sales: grand total sales.
    returns: grand total returns.
    net: ``sales − returns``.
    """

    sales: Decimal
    returns: Decimal
    net: Decimal


@dataclass(frozen=True, slots=True)
class ZReport:
    """One day close of one register, as accepted by intake (zreport/v1).

    register: the register that closed the day.
    z_number: the register's running report number, ≥ 1; (register.id, z_number) identifies the report.
    business_date: the accounting date of the day close; the voucher's TransactionDate.
    closed_at: when the day was closed, timezone-aware.
    currency: always ``"SEK"``.
    sales: sales per product group and VAT rate.
    returns: returns per product group and VAT rate, positive amounts.
    payments: one entry per payment method.
    tips: tips per payment method.
    gift_cards_sold: gift cards sold this day (a liability, no VAT), ≥ 0.
    rounding: öresavrundning, payments minus amount due from rounding cash, signed.
    cash_difference: counted minus expected cash (kassadifferens), signed.
    discounts: discounts given (sales lines are already net of them); not booked.
    opening_float: växelkassa at the start of the day; not booked.
    counters: receipts, drawer openings, goods and services sold; not booked.
    copies: receipt copies; not booked.
    training: training-mode registrations; never booked.
    unfinished_sales: unfinished sales; not booked.
    other_reductions: other registrations that reduced the day's sales; not booked.
    grand_total: accumulated totals; not booked.
    """

    register: RegisterInfo
    z_number: int
    business_date: date
    closed_at: datetime
    currency: str
    sales: tuple[SalesLine, ...]
    returns: tuple[SalesLine, ...]
    payments: tuple[Payment, ...]
    tips: tuple[Tip, ...]
    gift_cards_sold: Decimal
    rounding: Decimal
    cash_difference: Decimal
    discounts: CountAmount
    opening_float: Decimal
    counters: Counters
    copies: CountAmount
    training: CountAmount
    unfinished_sales: CountAmount
    other_reductions: CountAmount
    grand_total: GrandTotal


def balance_sides(report: ZReport) -> tuple[Decimal, Decimal]:
    """Return both sides of the contract's balance rule as ``(paid, due)``.

    ``paid = Σ payments.amount`` and
    ``due = Σ sales.gross − Σ returns.gross + Σ tips.amount + gift_cards_sold + rounding``
    (zreport-v1.md, "The balance rule"). A report is accepted only when they are equal; intake
    reports both sides and ``paid − due`` otherwise.
    """
    paid = sum((payment.amount for payment in report.payments), ZERO)
    due = (
        sum((line.gross for line in report.sales), ZERO)
        - sum((line.gross for line in report.returns), ZERO)
        + sum((tip.amount for tip in report.tips), ZERO)
        + report.gift_cards_sold
        + report.rounding
    )
    return paid, due
