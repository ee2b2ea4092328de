"""Time build_voucher for a typical restaurant day: 3 VAT rates, 10 product groups, 5 payment methods.

Run: ``.venv/bin/python -m bench.booking``. Prints the median of several timeit repeats, in
microseconds per voucher, on one core. Goal: below 200 µs.
"""

import dataclasses
import statistics
import timeit
from datetime import UTC, date, datetime
from decimal import Decimal

from backoffice.accounts.defaults import suggested_mapping
from backoffice.accounts.mapping import Mapping, SalesRule
from backoffice.money import ZERO, to_ore
from backoffice.zreport.booking import build_voucher
from backoffice.zreport.report import (
    CountAmount,
    Counters,
    GrandTotal,
    Payment,
    RegisterInfo,
    SalesLine,
    Tip,
    ZReport,
    balance_sides,
)

REPEATS = 7
GOAL_MICROSECONDS = 200

# Ten product groups; served food and drink at 12/25 %, take-away at 6 %.
GROUPS = {
    "Förrätt": "12",
    "Varmrätt": "12",
    "Efterrätt": "12",
    "Lunch": "12",
    "Barn": "12",
    "Öl": "25",
    "Vin": "25",
    "Sprit": "25",
    "Alkoholfritt": "12",
    "Avhämtning": "6",
}


def typical_report() -> ZReport:
    """A balanced day: one sales line per group, two returns, tips, gift cards and rounding."""
    sales = []
    for index, (group, rate) in enumerate(GROUPS.items()):
        gross = Decimal(1500 + 731 * index) + Decimal("0.50")
        vat = to_ore(gross * Decimal(rate) / (100 + Decimal(rate)))
        sales.append(SalesLine(group, Decimal(rate), gross, vat, 10 + index))
    returns = (
        SalesLine("Vin", Decimal("25"), Decimal("245.00"), Decimal("49.00"), 1),
        SalesLine("Varmrätt", Decimal("12"), Decimal("189.00"), Decimal("20.25"), 1),
    )
    nothing = CountAmount(0, ZERO)
    report = ZReport(
        register=RegisterInfo("K1", "Kassa 1"),
        z_number=1042,
        business_date=date(2026, 11, 20),
        closed_at=datetime(2026, 11, 20, 23, 12, tzinfo=UTC),
        currency="SEK",
        sales=tuple(sales),
        returns=returns,
        payments=(),
        tips=(Tip("card", Decimal("640.00")), Tip("swish", Decimal("120.00"))),
        gift_cards_sold=Decimal("500.00"),
        rounding=Decimal("-0.21"),
        cash_difference=Decimal("-12.00"),
        discounts=nothing,
        opening_float=Decimal("2000.00"),
        counters=Counters(220, 14, 310, 0),
        copies=nothing,
        training=nothing,
        unfinished_sales=nothing,
        other_reductions=nothing,
        grand_total=GrandTotal(Decimal("9123456.00"), Decimal("23456.00"), Decimal("9100000.00")),
    )
    _, due = balance_sides(report)
    others = {"swish": Decimal("4210.00"), "gift_card": Decimal("800.00"), "invoice": Decimal("3150.00")}
    card = due - sum(others.values()) - Decimal("2779.79")
    payments = [Payment("card", card), Payment("cash", Decimal("2779.79")), *(Payment(m, a) for m, a in others.items())]
    return dataclasses.replace(report, payments=tuple(payments))


def typical_mapping() -> Mapping:
    """The BAS suggestions plus an account per group for drinks and an invoice receivable."""
    bas = suggested_mapping()
    return Mapping(
        voucher_series="F",
        payment_methods={**bas.payment_methods, "invoice": 1510},
        vat_rates=dict(bas.vat_rates),
        sales=(
            *bas.sales,
            SalesRule(3011, product_group="Öl"),
            SalesRule(3012, product_group="Vin"),
            SalesRule(3013, product_group="Sprit"),
        ),
        tips=bas.tips,
        rounding=bas.rounding,
        cash_difference=bas.cash_difference,
        gift_cards_sold=bas.gift_cards_sold,
        cost_centres={"K1": "REST1"},
    )


def main() -> None:
    report, mapping = typical_report(), typical_mapping()
    voucher = build_voucher(report, mapping, company_name="Krogen AB")
    timer = timeit.Timer(lambda: build_voucher(report, mapping, company_name="Krogen AB"))
    number, _ = timer.autorange()
    per_voucher = [seconds / number * 1e6 for seconds in timer.repeat(repeat=REPEATS, number=number)]
    median = statistics.median(per_voucher)
    print(
        f"build_voucher: {median:.1f} µs per voucher (median of {REPEATS} × {number}; "
        f"{len(report.sales)} sales lines, {len(report.payments)} payment methods, {len(voucher.rows)} rows; "
        f"goal < {GOAL_MICROSECONDS} µs)"
    )


if __name__ == "__main__":
    main()
