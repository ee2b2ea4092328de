"""Pure ``ZReport`` values for the booking-core tests, written with short string amounts."""

from datetime import UTC, date, datetime
from decimal import Decimal

from backoffice.money import ZERO, parse_amount, parse_vat_rate
from backoffice.zreport.report import (
    CountAmount,
    Counters,
    GrandTotal,
    Payment,
    RegisterInfo,
    SalesLine,
    Tip,
    ZReport,
)

NOTHING = CountAmount(count=0, amount=ZERO)


def line(product_group: str, vat_rate: str, gross: str, vat: str, count: int = 1) -> SalesLine:
    """A sales or return line: ``line("Mat", "12", "112.00", "12.00")``."""
    return SalesLine(product_group, parse_vat_rate(vat_rate), parse_amount(gross), parse_amount(vat), count)


def make_report(
    *,
    sales: tuple[SalesLine, ...] = (),
    returns: tuple[SalesLine, ...] = (),
    payments: dict[str, str] | None = None,
    tips: dict[str, str] | None = None,
    gift_cards_sold: str = "0.00",
    rounding: str = "0.00",
    cash_difference: str = "0.00",
    tips_paid_out_cash: str = "0.00",
    register_id: str = "K1",
    register_name: str = "Kassa 1",
    serial_number: str | None = None,
    z_number: int = 1042,
    business_date: date = date(2026, 11, 20),
) -> ZReport:
    """A report with the given booked parts; the legal counters are zero."""
    return ZReport(
        register=RegisterInfo(id=register_id, name=register_name, serial_number=serial_number),
        z_number=z_number,
        business_date=business_date,
        closed_at=datetime(2026, 11, 20, 23, 12, 40, tzinfo=UTC),
        currency="SEK",
        sales=tuple(sales),
        returns=tuple(returns),
        payments=tuple(Payment(method, parse_amount(amount), 1) for method, amount in (payments or {}).items()),
        tips=tuple(Tip(method, parse_amount(amount)) for method, amount in (tips or {}).items()),
        gift_cards_sold=parse_amount(gift_cards_sold),
        rounding=parse_amount(rounding),
        cash_difference=parse_amount(cash_difference),
        discounts=NOTHING,
        opening_float=parse_amount("2000.00"),
        counters=Counters(receipts=0, drawer_openings=0, goods_sold=0, services_sold=0),
        copies=NOTHING,
        training=NOTHING,
        unfinished_sales=NOTHING,
        other_reductions=NOTHING,
        grand_total=GrandTotal(sales=ZERO, returns=ZERO, net=ZERO),
        tips_paid_out_cash=parse_amount(tips_paid_out_cash),
    )


def contract_example() -> ZReport:
    """The example report of zreport-v1.md."""
    return make_report(
        sales=(line("Mat", "12", "18450.00", "1976.79", 231), line("Dryck", "25", "6200.00", "1240.00", 95)),
        returns=(line("Dryck", "25", "120.00", "24.00", 2),),
        payments={"card": "22390.00", "cash": "2779.79"},
        tips={"card": "640.00"},
        rounding="-0.21",
    )


def amounts(*texts: str) -> tuple[Decimal, ...]:
    """Several amounts at once: ``amounts("1.00", "2.00")``."""
    return tuple(parse_amount(text) for text in texts)
