"""The POS contract zreport/v1 as marshmallow schemas (``docs/contracts/zreport-v1.md``).

The contract is not the table: these are explicit schemas whose ``post_load`` builds the pure
``report.ZReport``. Unknown fields are rejected (marshmallow's default ``RAISE``); money must be a
JSON string, never a number, which ``parse_document`` guarantees by parsing JSON numbers with a
fraction as ``Decimal`` and letting the ``Money`` field refuse anything but a string.
"""

from __future__ import annotations

import json
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from backoffice.money import ZERO, format_vat_rate, parse_amount, parse_vat_rate
from backoffice.zreport import report


class Money(fields.Field):
    """An amount as a JSON string with at most two decimals (``"1234.50"``); ``signed`` allows a minus."""

    def __init__(self, *, signed: bool = False, **kwargs):
        pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$" if signed else r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
        super().__init__(metadata={"pattern": pattern, "example": "1234.50"}, **kwargs)
        self.signed = signed

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError('Money must be a JSON string such as "1234.50", not a JSON number.')
        try:
            amount = parse_amount(value)
        except ValueError as exc:
            raise ValidationError(f"Not a valid amount: {exc}.") from exc
        if not self.signed and amount < ZERO:
            raise ValidationError("Must not be negative.")
        return amount

    def _serialize(self, value, attr, obj, **kwargs) -> str | None:
        return None if value is None else f"{value:.2f}"


class VatRate(fields.Field):
    """A VAT rate in percent as a decimal string (``"25"``, ``"12.00"``)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": r"^[0-9]{1,2}(\.[0-9]{1,2})?$", "example": "12"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        try:
            return parse_vat_rate(value)
        except ValueError as exc:
            raise ValidationError(f"Not a valid VAT rate: {exc}.") from exc

    def _serialize(self, value, attr, obj, **kwargs) -> str | None:
        return None if value is None else format_vat_rate(value)


#: The largest count or z_number stored (the database's INTEGER, 2**31 − 1).
MAX_COUNT = 2**31 - 1


class Count(fields.Integer):
    """A whole number from ``minimum`` to ``MAX_COUNT`` given as a JSON integer (not a string, a
    fraction or a boolean)."""

    def __init__(self, *, minimum: int = 0, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=MAX_COUNT), **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class Text(fields.String):
    """A string a database can keep: no NUL character and no unpaired surrogate (``"\\ud800"``)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain the NUL character (\\u0000).")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError("Must be valid Unicode (an unpaired surrogate was sent).") from exc
        return text


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


class DocumentError(ValueError):
    """The body is not a JSON document at all (malformed JSON, duplicate keys, not an object)."""


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise DocumentError(f"duplicate key(s) in a JSON object: {', '.join(repeated)}")
    return dict(pairs)


def load_json(text: str | bytes) -> dict:
    """Parse a JSON document, keeping numbers with a fraction as ``Decimal`` so no float ever appears."""
    try:
        document = json.loads(text, parse_float=Decimal, object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, DocumentError):
            raise
        raise DocumentError(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise DocumentError("the body must be a JSON object")
    return document


def parse_document(text: str | bytes) -> report.ZReport:
    """Parse and validate a zreport/v1 document; raises ``DocumentError`` or ``ValidationError``."""
    return zreport_schema.load(load_json(text))


def canonical_json(document: dict) -> str:
    """The document in one canonical text, so that identical content compares equal."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


zreport_schema = ZReportSchema()
