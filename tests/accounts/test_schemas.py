"""accounts/schemas.py: the mapping/v1 document in and out, exactly as mapping-v1.md says."""

import copy
import json
from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from backoffice.accounts.defaults import suggested_mapping
from backoffice.accounts.mapping import Mapping, SalesRule
from backoffice.accounts.schemas import MappingSchema, dump_mapping, mapping_schema
from backoffice.messages import vat_account_message

D = Decimal

CONTRACT_EXAMPLE = {
    "schema": "mapping/v1",
    "voucher_series": "F",
    "start_date": "2026-11-01",
    "payment_methods": {"cash": 1910, "card": 1580, "swish": 1930, "gift_card": 2421},
    "vat_rates": {"25": 2611, "12": 2621, "6": 2631},
    "sales": [
        {"product_group": "Mat", "account": 3052},
        {"product_group": "Dryck", "account": 3051},
        {"product_group": "Dryck", "vat_rate": "12", "account": 3052},
        {"vat_rate": "6", "account": 3053},
    ],
    "other": {"tips": 2890, "rounding": 3740, "cash_difference": 3740, "gift_cards_sold": 2421},
    "cost_centres": {"K1": "REST1"},
}


def document(**changes) -> dict:
    result = copy.deepcopy(CONTRACT_EXAMPLE)
    result.update(changes)
    return result


def test_contract_example_loads_as_a_mapping():
    assert mapping_schema.load(document()) == Mapping(
        voucher_series="F",
        payment_methods={"cash": 1910, "card": 1580, "swish": 1930, "gift_card": 2421},
        vat_rates={D("25"): 2611, D("12"): 2621, D("6"): 2631},
        sales=(
            SalesRule(3052, product_group="Mat"),
            SalesRule(3051, product_group="Dryck"),
            SalesRule(3052, product_group="Dryck", vat_rate=D("12")),
            SalesRule(3053, vat_rate=D("6")),
        ),
        tips=2890,
        rounding=3740,
        cash_difference=3740,
        gift_cards_sold=2421,
        cost_centres={"K1": "REST1"},
        start_date=date(2026, 11, 1),
    )


def test_dump_gives_the_contract_example_back():
    assert dump_mapping(mapping_schema.load(document())) == CONTRACT_EXAMPLE


def test_dump_is_json_and_loads_back_equal():
    mapping = suggested_mapping("B")
    assert mapping_schema.load(json.loads(json.dumps(dump_mapping(mapping)))) == mapping


def test_vat_rate_keys_are_canonicalised():
    loaded = mapping_schema.load(document(vat_rates={"25.00": 2611, "12.0": 2621, "6": 2631}))
    assert dump_mapping(loaded)["vat_rates"] == {"25": 2611, "12": 2621, "6": 2631}


def test_optional_parts_may_be_left_out():
    minimal = {"schema": "mapping/v1", "voucher_series": "F", "payment_methods": {}, "vat_rates": {}, "sales": []}
    loaded = mapping_schema.load(minimal)
    assert loaded == Mapping(voucher_series="F", payment_methods={}, vat_rates={}, sales=())
    assert dump_mapping(loaded) == {**minimal, "other": {}, "cost_centres": {}}


def test_other_accounts_are_each_optional():
    loaded = mapping_schema.load(document(other={"rounding": 3740}))
    assert (loaded.tips, loaded.rounding, loaded.cash_difference, loaded.gift_cards_sold) == (None, 3740, None, None)


def test_accounts_parsed_as_decimal_fractions_are_refused():
    text = json.dumps(document()).replace('"cash": 1910', '"cash": 1910.0')
    with pytest.raises(ValidationError) as caught:
        mapping_schema.load(json.loads(text, parse_float=Decimal))
    assert "payment_methods" in caught.value.messages


def sales_rule(index: int, **changes) -> dict:
    rules = copy.deepcopy(CONTRACT_EXAMPLE["sales"])
    rules[index] = changes
    return {"sales": rules}


INVALID = [
    pytest.param(document(extra=1), {"extra": ["Unknown field."]}, id="unknown-top-level-key"),
    pytest.param(
        document(other={"tips": 2890, "discounts": 3730}),
        {"other": {"discounts": ["Unknown field."]}},
        id="unknown-key-in-other",
    ),
    pytest.param(
        document(**sales_rule(0, product_group="Mat", account=3052, vat=1)),
        {"sales": {0: {"vat": ["Unknown field."]}}},
        id="unknown-key-in-sales-rule",
    ),
    pytest.param(document(schema="mapping/v2"), {"schema": ['The schema must be "mapping/v1".']}, id="wrong-schema"),
    pytest.param(
        {k: v for k, v in CONTRACT_EXAMPLE.items() if k != "schema"},
        {"schema": ["Missing data for required field."]},
        id="schema-missing",
    ),
    pytest.param(
        document(voucher_series="ABCDEFGHIJK"),
        {"voucher_series": ["Length must be between 1 and 10."]},
        id="series-over-10",
    ),
    pytest.param(
        document(voucher_series=""), {"voucher_series": ["Length must be between 1 and 10."]}, id="series-empty"
    ),
    pytest.param(
        {k: v for k, v in CONTRACT_EXAMPLE.items() if k != "voucher_series"},
        {"voucher_series": ["Missing data for required field."]},
        id="series-missing",
    ),
    pytest.param(document(start_date="2026-13-01"), {"start_date": ["Not a valid date."]}, id="bad-start-date"),
    pytest.param(
        document(payment_methods={"cash": True}),
        {"payment_methods": {"cash": {"value": ["An account must be a JSON integer 1000–9999."]}}},
        id="account-bool",
    ),
    pytest.param(
        document(payment_methods={"cash": "1910"}),
        {"payment_methods": {"cash": {"value": ["An account must be a JSON integer 1000–9999."]}}},
        id="account-string",
    ),
    pytest.param(
        document(payment_methods={"cash": 1910.5}),
        {"payment_methods": {"cash": {"value": ["An account must be a JSON integer 1000–9999."]}}},
        id="account-float",
    ),
    pytest.param(
        document(vat_rates={"25": 999}),
        {"vat_rates": {"25": {"value": ["An account must be a JSON integer 1000–9999."]}}},
        id="account-below-1000",
    ),
    pytest.param(
        document(other={"tips": 10000}),
        {"other": {"tips": ["An account must be a JSON integer 1000–9999."]}},
        id="account-above-9999",
    ),
    pytest.param(document(other={"tips": None}), {"other": {"tips": ["Field may not be null."]}}, id="account-null"),
    pytest.param(
        document(payment_methods={"": 1910}),
        {"payment_methods": {"": {"key": ["Length must be between 1 and 40."]}}},
        id="empty-payment-method",
    ),
    pytest.param(
        document(vat_rates={"100": 2611}),
        {"vat_rates": {"100": {"key": ["Not a valid VAT rate: a VAT rate must be below 100 %: '100'."]}}},
        id="vat-rate-100",
    ),
    pytest.param(
        document(vat_rates={"-6": 2631}),
        {
            "vat_rates": {
                "-6": {"key": ["Not a valid VAT rate: not a VAT rate in percent with at most two decimals: '-6'."]}
            }
        },
        id="vat-rate-negative",
    ),
    pytest.param(
        document(vat_rates={"12": 2621, "12.00": 2622}),
        {"vat_rates": ["Two keys name the same VAT rate."]},
        id="same-vat-rate-twice",
    ),
    pytest.param(
        document(**sales_rule(3, account=3053)),
        {"sales": {3: {"_schema": ["A sales rule needs a product_group, a vat_rate or both."]}}},
        id="sales-rule-without-group-or-rate",
    ),
    pytest.param(
        document(**sales_rule(2, product_group="Dryck")),
        {"sales": {2: {"account": ["Missing data for required field."]}}},
        id="sales-rule-without-account",
    ),
    pytest.param(
        document(**sales_rule(1, product_group="Mat", account=3051)),
        {"sales": {1: ["Another sales rule has the same product_group and vat_rate."]}},
        id="two-rules-for-the-same-group",
    ),
    pytest.param(
        document(**sales_rule(3, vat_rate="12.00", product_group="Dryck", account=3053)),
        {"sales": {3: ["Another sales rule has the same product_group and vat_rate."]}},
        id="two-rules-for-the-same-group-and-rate-in-other-notation",
    ),
    pytest.param(
        document(cost_centres={"K1": "REST123"}),
        {"cost_centres": {"K1": {"value": ["Length must be between 1 and 6."]}}},
        id="cost-centre-over-6",
    ),
    pytest.param(
        document(cost_centres={"K1": ""}),
        {"cost_centres": {"K1": {"value": ["Length must be between 1 and 6."]}}},
        id="cost-centre-empty",
    ),
    pytest.param(document(sales={}), {"sales": ["Not a valid list."]}, id="sales-not-a-list"),
    pytest.param(
        document(vat_rates={"25": 2611, "12": 3001, "6": 2640}),
        {"vat_rates": [vat_account_message(Decimal("6"), 2640), vat_account_message(Decimal("12"), 3001)]},
        id="vat-outside-2610-2639",
    ),
]


def test_vat_on_2610_and_2639_is_accepted_and_the_refusal_names_rate_and_account():
    mapping = MappingSchema().load(document(vat_rates={"25": 2610, "12.5": 2639}))
    assert dict(mapping.vat_rates) == {Decimal("25"): 2610, Decimal("12.5"): 2639}
    assert vat_account_message(Decimal("12.5"), 1930).startswith("Momssats 12,5 % kan inte bokföras på konto 1930:")


@pytest.mark.parametrize(("data", "messages"), INVALID)
def test_invalid_documents_are_refused_with_a_message_at_the_offending_key(data, messages):
    with pytest.raises(ValidationError) as caught:
        MappingSchema().load(data)
    assert caught.value.messages == messages
