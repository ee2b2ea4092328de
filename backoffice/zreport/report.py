"""A Z-report (dagsavslut) as immutable values: what the POS sent, parsed, and nothing else.

Contract: ``docs/contracts/zreport-v1.md``, sections "Fields" and "The balance rule".

Invariants, guaranteed by intake (``zreport/schemas.py``) before a ``ZReport`` is built:

- Every amount is a ``Decimal`` with exactly two decimals (``money.parse_amount``); every VAT rate is
  a canonical ``Decimal`` (``money.parse_vat_rate``).
- ``gross``, ``vat``, every tip and the gift-card and tips-paid-out amounts are ≥ 0, and
  ``vat ≤ gross``; payments, ``rounding`` and ``cash_difference`` are signed (a payment method nets
  negative when its refunds exceed its takings). Returns carry positive amounts that reduce sales.
- Each payment method appears at most once in ``payments``.
- The report balances to the öre: the two sides of :func:`balance_sides` are equal.
- ``closed_at`` is timezone-aware; ``business_date`` is the accounting date of the day close.

Intake also refuses, with :func:`vat_misfits` and :func:`date_problems`, VAT that no rounding
explains and dates that cannot be (contract, "VAT must fit its rate" and "Fields"); reports stored
before those rules existed are kept and booked as they are, so neither rule runs when a stored
report is read again.

The legal Z-dagrapport content (``discounts``, ``opening_float``, ``counters``, ``copies``,
``training``, ``unfinished_sales``, ``other_reductions``, ``grand_total``) is kept and shown but never
booked (contract, "Fields").
"""

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from backoffice.business_day import BUSINESS_TIMEZONE, business_date_at
from backoffice.money import ORE, ZERO, format_vat_rate, to_ore


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
    amount: the day's net with it, signed: negative when refunds paid out with it exceed its takings.
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
    tips_paid_out_cash: tips collected by card (or another method) that the staff took out of the
        cash drawer at close, ≥ 0; outside the balance rule, like ``cash_difference``.
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
    tips_paid_out_cash: Decimal = ZERO


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


@dataclass(frozen=True, slots=True)
class VatPerRate:
    """The day's VAT at one rate, net of returns (SKVFS 2014:9 7 kap. 3 § h).

    rate: the VAT rate in percent.
    gross: Σ sales.gross − Σ returns.gross at this rate (VAT included; negative when returns exceed sales).
    vat: Σ sales.vat − Σ returns.vat at this rate.
    net: ``gross − vat``, the base the VAT is charged on.
    """

    rate: Decimal
    gross: Decimal
    vat: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.vat


def vat_per_rate(report: ZReport) -> list[VatPerRate]:
    """The report's VAT per rate, sales minus returns, highest rate first (every rate on a line)."""
    sums: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for sign, lines in ((1, report.sales), (-1, report.returns)):
        for line in lines:
            gross, vat = sums.get(line.vat_rate, (ZERO, ZERO))
            sums[line.vat_rate] = (gross + sign * line.gross, vat + sign * line.vat)
    return [VatPerRate(rate, *sums[rate]) for rate in sorted(sums, reverse=True)]


# --- what intake refuses beyond the schema (zreport-v1.md "VAT must fit its rate", "Fields") -----

#: The tolerance of "VAT must fit its rate": max(1.00, 0.01 × count) SEK.
VAT_TOLERANCE_MIN = Decimal("1.00")
VAT_TOLERANCE_PER_ITEM = Decimal("0.01")
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class VatMisfit:
    """A sales or return line whose VAT no rounding explains.

    part: ``"sales"`` or ``"returns"``.
    index: the line's position in that list, from 0.
    line: the line itself.
    computed: ``gross × r / (100 + r)`` rounded to the öre (0.00 at 0 %).
    difference: ``vat − computed``, signed.
    tolerance: what rounding may explain for this line, max(1.00, 0.01 × count); 0.00 at 0 %.
    """

    part: str
    index: int
    line: SalesLine
    computed: Decimal
    difference: Decimal
    tolerance: Decimal


def vat_misfits(report: ZReport) -> list[VatMisfit]:
    """Every sales and return line whose VAT does not fit its rate ("VAT must fit its rate").

    At 0 % the VAT must be 0.00. Otherwise ``|vat − gross × r / (100 + r)| ≤ max(1.00, 0.01 × count)``:
    receipts are rounded to the öre one by one, so a day may differ from the computed VAT by a few
    öre per receipt. The comparison uses the exact quotient; only the figures shown are rounded.
    """
    misfits = []
    for part, lines in (("sales", report.sales), ("returns", report.returns)):
        for index, line in enumerate(lines):
            if not line.vat_rate:
                if line.vat:
                    misfits.append(VatMisfit(part, index, line, ZERO, line.vat, ZERO))
                continue
            exact = line.gross * line.vat_rate / (_HUNDRED + line.vat_rate)
            tolerance = max(VAT_TOLERANCE_MIN, VAT_TOLERANCE_PER_ITEM * line.count).quantize(ORE)
            if abs(line.vat - exact) > tolerance:
                computed = to_ore(exact)
                misfits.append(VatMisfit(part, index, line, computed, line.vat - computed, tolerance))
    return misfits


#: How far a register's clock may run ahead of ours before its ``closed_at`` is "in the future".
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class DateProblem:
    """A date of a report that cannot be.

    field: ``"closed_at"`` or ``"business_date"``.
    code: ``"before_business_day"``, ``"in_the_future"`` or ``"after_tomorrow"``.
    limit: the bound the date crossed (an aware datetime for ``closed_at``, a date otherwise).
    """

    field: str
    code: str
    limit: datetime | date


def business_day_start(business_date: date) -> datetime | None:
    """When ``business_date`` begins (00:00 in Europe/Stockholm) as an aware UTC datetime.

    None for a date so early that its start is before the first representable instant.
    """
    try:
        return datetime.combine(business_date, time(0), tzinfo=BUSINESS_TIMEZONE).astimezone(UTC)
    except OverflowError:
        return None


def date_problems(report: ZReport, now: datetime) -> list[DateProblem]:
    """The dates of ``report`` that cannot be at ``now`` (contract, "Fields"), each once.

    ``closed_at`` must not be before the business day begins in Europe/Stockholm, nor after
    ``now`` plus :data:`CLOCK_SKEW`; ``business_date`` must not be after tomorrow (Stockholm). A day
    closed days late is fine.
    """
    problems = []
    start = business_day_start(report.business_date)
    if start is not None and report.closed_at < start:
        problems.append(DateProblem("closed_at", "before_business_day", start))
    latest = now + CLOCK_SKEW
    if report.closed_at > latest:
        problems.append(DateProblem("closed_at", "in_the_future", latest))
    tomorrow = business_date_at(now) + timedelta(days=1)
    if report.business_date > tomorrow:
        problems.append(DateProblem("business_date", "after_tomorrow", tomorrow))
    return problems


# --- identity (zreport-v1.md "Idempotency") -----------------------------------------------------


def fingerprint(report: ZReport) -> str:
    """SHA-256 (hex) of what ``report`` means, so that re-sends differing only in form compare equal.

    "Identical is judged on the report's meaning, not its bytes": amounts are compared as money
    (``"12"`` is ``"12.00"``), VAT rates canonically, the entries of each list in any order, and
    ``closed_at`` as an instant (another UTC offset is the same time). An optional field left out
    equals its default (``tips_paid_out_cash`` 0.00, no serial number).
    """

    def money(x: Decimal) -> str:
        return f"{x:.2f}"

    def lines(items: tuple[SalesLine, ...]) -> list[tuple[str, str, str, str, int]]:
        return sorted(
            (i.product_group, format_vat_rate(i.vat_rate), money(i.gross), money(i.vat), i.count) for i in items
        )

    def count_amount(value: CountAmount) -> tuple[int, str]:
        return (value.count, money(value.amount))

    meaning = (
        (report.register.id, report.register.name, report.register.serial_number or ""),
        report.z_number,
        report.business_date.isoformat(),
        report.closed_at.astimezone(UTC).isoformat(),
        report.currency,
        lines(report.sales),
        lines(report.returns),
        sorted((p.method, money(p.amount), -1 if p.count is None else p.count) for p in report.payments),
        sorted((t.method, money(t.amount)) for t in report.tips),
        money(report.gift_cards_sold),
        money(report.rounding),
        money(report.cash_difference),
        money(report.tips_paid_out_cash),
        count_amount(report.discounts),
        money(report.opening_float),
        (report.counters.receipts, report.counters.drawer_openings, report.counters.goods_sold,
         report.counters.services_sold),
        count_amount(report.copies),
        count_amount(report.training),
        count_amount(report.unfinished_sales),
        count_amount(report.other_reductions),
        (money(report.grand_total.sales), money(report.grand_total.returns), money(report.grand_total.net)),
    )
    return hashlib.sha256(repr(meaning).encode("utf-8")).hexdigest()


# --- completeness (zreport-v1.md "Fields": z_number and grand_total) -----------------------------


@dataclass(frozen=True, slots=True)
class UnitReport:
    """What completeness needs of one stored report of one register unit.

    z_number: the report's running number.
    grand_total_sales: the report's grand total of sales (accumulated, this report included).
    grand_total_returns: the report's grand total of returns.
    sales: the report's Σ sales.gross.
    returns: the report's Σ returns.gross.
    """

    z_number: int
    grand_total_sales: Decimal
    grand_total_returns: Decimal
    sales: Decimal
    returns: Decimal


@dataclass(frozen=True, slots=True)
class MissingReports:
    """Z-numbers ``first`` … ``last`` of a unit were never received: their days are not in the books."""

    first: int
    last: int


@dataclass(frozen=True, slots=True)
class GrandTotalJump:
    """Between two consecutive reports the grand total grew by something else than the later
    report's sales (or returns): registrations are missing, or the register's memory was reset.

    previous: the earlier report's z_number; z_number: the later one's.
    expected_sales, reported_sales: previous grand total + this report's sales, and what it reports.
    expected_returns, reported_returns: the same for returns.
    """

    previous: int
    z_number: int
    expected_sales: Decimal
    reported_sales: Decimal
    expected_returns: Decimal
    reported_returns: Decimal


def completeness_findings(reports: list[UnitReport]) -> list[MissingReports | GrandTotalJump]:
    """What breaks the running series of one unit's reports, in Z-number order.

    The Z-numbers of a register run without gaps (SKVFS 2014:9 7 kap. 3 § c: "en obruten stigande
    nummerserie"), and from one report to the next its grand totals grow by exactly that report's
    Σ sales.gross and Σ returns.gross (zreport-v1.md, ``grand_total``). A gap is reported as the
    missing range; across a gap the grand totals are not compared (the missing days' sales are
    unknown). Numbers before the first report received are not asked for: a register may have been
    in use before it was connected.
    """
    findings: list[MissingReports | GrandTotalJump] = []
    ordered = sorted(reports, key=lambda report: report.z_number)
    for before, after in itertools.pairwise(ordered):
        if after.z_number > before.z_number + 1:
            findings.append(MissingReports(before.z_number + 1, after.z_number - 1))
            continue
        expected_sales = before.grand_total_sales + after.sales
        expected_returns = before.grand_total_returns + after.returns
        if (expected_sales, expected_returns) != (after.grand_total_sales, after.grand_total_returns):
            findings.append(GrandTotalJump(before.z_number, after.z_number, expected_sales, after.grand_total_sales,
                                           expected_returns, after.grand_total_returns))
    return findings
