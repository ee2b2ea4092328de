"""The POS contract zreport/v1 as marshmallow schemas (``docs/contracts/zreport-v1.md``).

The contract is not the table: these are explicit schemas whose ``post_load`` builds the pure
``report.ZReport``. Unknown fields are rejected (marshmallow's default ``RAISE``); money must be a
JSON string, never a number, which ``parse_document`` guarantees by parsing JSON numbers with a
fraction as ``Decimal`` and letting the ``Money`` field refuse anything but a string (both in
``backoffice.documents``, which the mapping contract's schemas share).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from backoffice.documents import Count, Money, Text, VatRate, load_json
from backoffice.money import ZERO, format_vat_rate
from backoffice.zreport import report


class RegisterSchema(Schema):
    id = Text(required=True, validate=validate.Length(min=1, max=40))
    name = Text(required=True, validate=validate.Length(min=1, max=80))
    serial_number = Text(validate=validate.Length(max=80))

    @post_load
    def make(self, data, **kwargs) -> report.RegisterInfo:
        return report.RegisterInfo(**data)


class SalesLineSchema(Schema):
    product_group = Text(required=True, validate=validate.Length(min=1, max=80))
    vat_rate = VatRate(required=True)
    gross = Money(required=True)
    vat = Money(required=True)
    count = Count(required=True)

    @validates_schema
    def vat_within_gross(self, data, **kwargs):
        if "gross" in data and "vat" in data and data["vat"] > data["gross"]:
            raise ValidationError(f"VAT {data['vat']} exceeds the gross amount {data['gross']}.", "vat")

    @post_load
    def make(self, data, **kwargs) -> report.SalesLine:
        return report.SalesLine(**data)


class PaymentSchema(Schema):
    method = Text(required=True, validate=validate.Length(min=1, max=40))
    amount = Money(required=True, signed=True)
    count = Count()

    @post_load
    def make(self, data, **kwargs) -> report.Payment:
        return report.Payment(**data)


class TipSchema(Schema):
    method = Text(required=True, validate=validate.Length(min=1, max=40))
    amount = Money(required=True)

    @post_load
    def make(self, data, **kwargs) -> report.Tip:
        return report.Tip(**data)


class CountAmountSchema(Schema):
    count = Count(required=True)
    amount = Money(required=True)

    @post_load
    def make(self, data, **kwargs) -> report.CountAmount:
        return report.CountAmount(**data)


class CountersSchema(Schema):
    receipts = Count(required=True)
    drawer_openings = Count(required=True)
    goods_sold = Count(required=True)
    services_sold = Count(required=True)

    @post_load
    def make(self, data, **kwargs) -> report.Counters:
        return report.Counters(**data)


class GrandTotalSchema(Schema):
    sales = Money(required=True)
    returns = Money(required=True)
    net = Money(required=True)

    @validates_schema
    def net_is_sales_minus_returns(self, data, **kwargs):
        if {"sales", "returns", "net"} <= data.keys() and data["net"] != data["sales"] - data["returns"]:
            raise ValidationError(
                f"net {data['net']} must equal sales − returns = {data['sales'] - data['returns']}.", "net"
            )

    @post_load
    def make(self, data, **kwargs) -> report.GrandTotal:
        return report.GrandTotal(**data)


def _count_amount(**kwargs) -> fields.Nested:
    return fields.Nested(CountAmountSchema, required=True, **kwargs)


class ClosedAt(fields.AwareDateTime):
    """``closed_at``: an ISO 8601 datetime with an offset that is a real instant (as UTC, it stays
    within the years 1–9999: ``9999-12-31T23:59:59-14:00`` is not one)."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError("Not a possible date and time: as UTC it falls outside the years 1–9999.") from exc
        return moment


#: What one report may hold: far more than any restaurant's day (issue 14), and a bound on the work
#: intake, booking and the setup wizard do for one report (docs/ARCHITECTURE.md, "Decisions").
MAX_SALES_LINES = 500
MAX_PAYMENT_METHODS = 100
MAX_TIPS = 100


def _at_most(limit: int, what: str) -> validate.Length:
    return validate.Length(max=limit, error=f"At most {limit} {what} per report (the limit of the POS API).")


class ZReportSchema(Schema):
    """A Z-report (dagsavslut) as a register sends it: zreport/v1."""

    schema = fields.String(required=True, validate=validate.Equal("zreport/v1"))
    register = fields.Nested(RegisterSchema, required=True)
    z_number = Count(required=True, minimum=1)
    business_date = fields.Date(required=True)
    closed_at = ClosedAt(
        required=True,
        error_messages={
            "invalid": "Not a valid ISO 8601 datetime with a timezone offset, e.g. 2026-11-21T00:12:40+01:00.",
            "invalid_awareness": "The datetime needs a timezone offset, e.g. 2026-11-21T00:12:40+01:00.",
        },
    )
    currency = fields.String(required=True, validate=validate.Equal("SEK", error="Only SEK is supported."))
    sales = fields.List(fields.Nested(SalesLineSchema), required=True, validate=_at_most(MAX_SALES_LINES, "sales lines"))
    returns = fields.List(
        fields.Nested(SalesLineSchema), required=True, validate=_at_most(MAX_SALES_LINES, "return lines")
    )
    payments = fields.List(
        fields.Nested(PaymentSchema), required=True, validate=_at_most(MAX_PAYMENT_METHODS, "payment methods")
    )
    tips = fields.List(fields.Nested(TipSchema), required=True, validate=_at_most(MAX_TIPS, "tips entries"))
    gift_cards_sold = Money(required=True)
    tips_paid_out_cash = Money(load_default=ZERO)
    rounding = Money(required=True, signed=True)
    cash_difference = Money(required=True, signed=True)
    discounts = _count_amount()
    opening_float = Money(required=True)
    counters = fields.Nested(CountersSchema, required=True)
    copies = _count_amount()
    training = _count_amount()
    unfinished_sales = _count_amount()
    other_reductions = _count_amount()
    grand_total = fields.Nested(GrandTotalSchema, required=True)

    @pre_load
    def within_limits(self, data, **kwargs):
        """Refuse an oversized list before its entries are parsed one by one."""
        if isinstance(data, dict):
            limits = {"sales": (MAX_SALES_LINES, "sales lines"), "returns": (MAX_SALES_LINES, "return lines"),
                      "payments": (MAX_PAYMENT_METHODS, "payment methods"), "tips": (MAX_TIPS, "tips entries")}
            errors = {
                key: [_at_most(limit, what).error]
                for key, (limit, what) in limits.items()
                if isinstance(data.get(key), list) and len(data[key]) > limit
            }
            if errors:
                raise ValidationError(errors)
        return data

    @validates_schema
    def payment_methods_unique(self, data, **kwargs):
        counts = Counter(payment.method for payment in data.get("payments", ()))
        duplicates = sorted(method for method, count in counts.items() if count > 1)
        if duplicates:
            raise ValidationError(
                f"Each payment method may appear at most once; repeated: {', '.join(duplicates)}.", "payments"
            )

    @validates_schema
    def not_empty(self, data, **kwargs):
        if "payments" in data and "sales" in data and not data["payments"] and not data["sales"]:
            raise ValidationError("A report must contain at least one payment or one sales line.")

    @post_load
    def make(self, data, **kwargs) -> report.ZReport:
        data.pop("schema")
        for key in ("sales", "returns", "payments", "tips"):
            data[key] = tuple(data[key])
        zreport = report.ZReport(**data)
        paid, due = report.balance_sides(zreport)
        if paid != due:
            raise ValidationError(
                f"The report does not balance: payments {paid} ≠ sales − returns + tips + gift cards sold"
                f" + rounding {due} (difference {paid - due})."
            )
        return zreport


def check_intake(zreport: report.ZReport, now: datetime) -> None:
    """Refuse what the contract refuses beyond the schema: VAT that doesn't fit its rate and dates
    that cannot be (``report.vat_misfits``, ``report.date_problems``). Raises ``ValidationError``
    with every finding, keyed like marshmallow's own (``sales.2.vat``, ``closed_at``).

    Intake and ``flask zreport voucher`` call it; reading a stored report back does not, so a report
    accepted before these rules stays bookable.
    """
    errors: dict = {}
    for misfit in report.vat_misfits(zreport):
        line = misfit.line
        rate = format_vat_rate(line.vat_rate)
        if line.vat_rate:
            rule = (f"gross {line.gross} × {rate} / {100 + line.vat_rate} = {misfit.computed}, difference"
                    f" {misfit.difference} (at most {misfit.tolerance} is explained by rounding)")
        else:
            rule = f"a {rate} % line carries no VAT (computed 0.00, difference {misfit.difference})"
        message = (f"{misfit.part}[{misfit.index}] ({line.product_group}, {rate} %): VAT {line.vat} does not fit"
                   f" its rate: {rule}.")
        errors.setdefault(misfit.part, {}).setdefault(misfit.index, {}).setdefault("vat", []).append(message)
    for problem in report.date_problems(zreport, now):
        if problem.code == "before_business_day":
            message = (f"closed_at {zreport.closed_at.isoformat()} is before the business day"
                       f" {zreport.business_date.isoformat()} begins ({problem.limit.isoformat()}, midnight in"
                       " Europe/Stockholm).")
        elif problem.code == "in_the_future":
            message = (f"closed_at {zreport.closed_at.isoformat()} is in the future (now is"
                       f" {now.isoformat(timespec='seconds')}; {int(report.CLOCK_SKEW.total_seconds() // 60)}"
                       " minutes of clock skew are allowed).")
        else:
            message = (f"business_date {zreport.business_date.isoformat()} is after tomorrow"
                       f" ({problem.limit.isoformat()} in Europe/Stockholm).")
        errors.setdefault(problem.field, []).append(message)
    if errors:
        raise ValidationError(errors)


def parse_document(text: str | bytes) -> report.ZReport:
    """Parse and validate a zreport/v1 document; raises ``DocumentError`` or ``ValidationError``."""
    return zreport_schema.load(load_json(text))


zreport_schema = ZReportSchema()
