"""The POS contract zreport/v1 as marshmallow schemas (``docs/contracts/zreport-v1.md``).

The contract is not the table: these are explicit schemas whose ``post_load`` builds the pure
``report.ZReport``. Unknown fields are rejected (marshmallow's default ``RAISE``); money must be a
JSON string, never a number, which ``parse_document`` guarantees by parsing JSON numbers with a
fraction as ``Decimal`` and letting the ``Money`` field refuse anything but a string (both in
``backoffice.documents``, which the mapping contract's schemas share).
"""

from __future__ import annotations

import json

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from backoffice.documents import Count, Money, Text, VatRate, load_json
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
    amount = Money(required=True)
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


class ZReportSchema(Schema):
    """A Z-report (dagsavslut) as a register sends it: zreport/v1."""

    schema = fields.String(required=True, validate=validate.Equal("zreport/v1"))
    register = fields.Nested(RegisterSchema, required=True)
    z_number = Count(required=True, minimum=1)
    business_date = fields.Date(required=True)
    closed_at = fields.AwareDateTime(
        required=True,
        error_messages={
            "invalid": "Not a valid ISO 8601 datetime with a timezone offset, e.g. 2026-11-21T00:12:40+01:00.",
            "invalid_awareness": "The datetime needs a timezone offset, e.g. 2026-11-21T00:12:40+01:00.",
        },
    )
    currency = fields.String(required=True, validate=validate.Equal("SEK", error="Only SEK is supported."))
    sales = fields.List(fields.Nested(SalesLineSchema), required=True)
    returns = fields.List(fields.Nested(SalesLineSchema), required=True)
    payments = fields.List(fields.Nested(PaymentSchema), required=True)
    tips = fields.List(fields.Nested(TipSchema), required=True)
    gift_cards_sold = Money(required=True)
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

    @validates_schema
    def payment_methods_unique(self, data, **kwargs):
        methods = [payment.method for payment in data.get("payments", ())]
        duplicates = sorted({method for method in methods if methods.count(method) > 1})
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


def parse_document(text: str | bytes) -> report.ZReport:
    """Parse and validate a zreport/v1 document; raises ``DocumentError`` or ``ValidationError``."""
    return zreport_schema.load(load_json(text))


def canonical_json(document: dict) -> str:
    """The document in one canonical text, so that identical content compares equal."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


zreport_schema = ZReportSchema()
