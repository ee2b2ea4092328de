"""The account mapping contract mapping/v1 as marshmallow schemas (``docs/contracts/mapping-v1.md``).

``MappingSchema().load(document)`` validates a mapping/v1 JSON document and returns the pure
``mapping.Mapping``; :func:`dump_mapping` gives the document back, so export then import is a
round trip. Unknown keys are rejected (marshmallow's default ``RAISE``). Accounts are JSON
integers 1000–9999 (no booleans, strings or fractions); VAT-rate keys are decimal strings,
canonicalised (``"12.00"`` is ``"12"``), and two keys naming the same rate are rejected. A VAT rate
mapped outside BAS 2610–2639 is refused, naming the rate and the account.
"""

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, post_load, pre_dump, validate, validates_schema

from backoffice.accounts.mapping import Mapping, SalesRule, misplaced_vat_accounts
from backoffice.documents import Text, VatRate
from backoffice.messages import vat_account_message

SCHEMA_NAME = "mapping/v1"
#: The keys of ``other``, each the name of a ``Mapping`` attribute.
OTHER_PARTS = ("tips", "rounding", "cash_difference", "gift_cards_sold")


class Account(fields.Integer):
    """A BAS account number: a JSON integer 1000–9999 (not a boolean, string or fraction)."""

    default_error_messages = {"invalid": "An account must be a JSON integer 1000–9999."}

    def __init__(self, **kwargs):
        super().__init__(
            strict=True,
            validate=validate.Range(min=1000, max=9999, error="An account must be a JSON integer 1000–9999."),
            **kwargs,
        )


class SalesRuleSchema(Schema):
    """One rule of ``sales``: an account and at least one of product_group and vat_rate."""

    product_group = Text(validate=validate.Length(min=1, max=80))
    vat_rate = VatRate()
    account = Account(required=True)

    @validates_schema
    def _has_product_group_or_vat_rate(self, data, **kwargs) -> None:
        if "product_group" not in data and "vat_rate" not in data:
            raise ValidationError("A sales rule needs a product_group, a vat_rate or both.")

    @post_load
    def _make_rule(self, data, **kwargs) -> SalesRule:
        return SalesRule(**data)

    @pre_dump
    def _rule_document(self, rule: SalesRule, **kwargs) -> dict:
        return _without_none({"product_group": rule.product_group, "vat_rate": rule.vat_rate, "account": rule.account})


class OtherSchema(Schema):
    """``other``: the accounts of tips, rounding, cash difference and sold gift cards, each optional."""

    tips = Account()
    rounding = Account()
    cash_difference = Account()
    gift_cards_sold = Account()


class MappingSchema(Schema):
    """A mapping/v1 document; ``load`` returns a ``mapping.Mapping``."""

    schema = fields.String(
        required=True, validate=validate.Equal(SCHEMA_NAME, error=f'The schema must be "{SCHEMA_NAME}".')
    )
    voucher_series = Text(required=True, validate=validate.Length(min=1, max=10))
    start_date = fields.Date()
    payment_methods = fields.Dict(keys=Text(validate=validate.Length(min=1, max=40)), values=Account(), required=True)
    vat_rates = fields.Dict(keys=VatRate(), values=Account(), required=True)
    sales = fields.List(fields.Nested(SalesRuleSchema), required=True)
    other = fields.Nested(OtherSchema, load_default=dict)
    # Register id (zreport/v1: 1–40 characters) → Fortnox cost centre code (1–6 characters).
    cost_centres = fields.Dict(
        keys=Text(validate=validate.Length(min=1, max=40)),
        values=Text(validate=validate.Length(min=1, max=6)),
        load_default=dict,
    )

    @validates_schema(pass_original=True)
    def _no_duplicate_vat_rates(self, data, original_data, **kwargs) -> None:
        # "12" and "12.00" are one rate: a JSON object holding both would lose one silently.
        if isinstance(original_data, dict) and isinstance(original_data.get("vat_rates"), dict):
            if len(data["vat_rates"]) != len(original_data["vat_rates"]):
                raise ValidationError("Two keys name the same VAT rate.", "vat_rates")

    @validates_schema
    def _vat_on_output_vat_accounts(self, data, **kwargs) -> None:
        misplaced = misplaced_vat_accounts(data.get("vat_rates") or {})
        if misplaced:
            raise ValidationError([vat_account_message(rate, account) for rate, account in misplaced], "vat_rates")

    @validates_schema
    def _no_duplicate_sales_rules(self, data, **kwargs) -> None:
        seen: set[tuple[str | None, Decimal | None]] = set()
        errors: dict[int, list[str]] = {}
        for index, rule in enumerate(data["sales"]):
            key = (rule.product_group, rule.vat_rate)
            if key in seen:
                errors[index] = ["Another sales rule has the same product_group and vat_rate."]
            seen.add(key)
        if errors:
            raise ValidationError(errors, "sales")

    @post_load
    def _make_mapping(self, data, **kwargs) -> Mapping:
        return Mapping(
            voucher_series=data["voucher_series"],
            payment_methods=data["payment_methods"],
            vat_rates=data["vat_rates"],
            sales=tuple(data["sales"]),
            cost_centres=data["cost_centres"],
            start_date=data.get("start_date"),
            **data["other"],
        )

    @pre_dump
    def _mapping_document(self, mapping: Mapping, **kwargs) -> dict:
        return _without_none(
            {
                "schema": SCHEMA_NAME,
                "voucher_series": mapping.voucher_series,
                "start_date": mapping.start_date,
                "payment_methods": dict(mapping.payment_methods),
                "vat_rates": dict(mapping.vat_rates),
                "sales": list(mapping.sales),
                "other": _without_none({part: getattr(mapping, part) for part in OTHER_PARTS}),
                "cost_centres": dict(mapping.cost_centres),
            }
        )


def _without_none(document: dict) -> dict:
    """Leave out the keys whose value is None: mapping/v1 omits what is not set."""
    return {key: value for key, value in document.items() if value is not None}


def dump_mapping(mapping: Mapping) -> dict:
    """Return ``mapping`` as a mapping/v1 JSON document (a dict ready for ``json.dumps``)."""
    return mapping_schema.dump(mapping)


mapping_schema = MappingSchema()
