"""mapping.py: lookups of the account mapping, the most specific sales rule, and missing accounts."""

import dataclasses
from decimal import Decimal

import pytest

from backoffice.accounts.mapping import Mapping, MappingIncompleteError, MissingAccount, SalesRule

D = Decimal


def mapping(**overrides) -> Mapping:
    values = dict(
        voucher_series="F",
        payment_methods={"cash": 1910, "card": 1580},
        vat_rates={D("25"): 2611, D("12.00"): 2621},
        sales=(
            SalesRule(3052, product_group="Mat"),
            SalesRule(3051, product_group="Dryck"),
            SalesRule(3054, product_group="Dryck", vat_rate=D("12")),
            SalesRule(3053, vat_rate=D("6")),
            SalesRule(3001, vat_rate=D("25")),
        ),
        cost_centres={"K1": "REST1"},
    )
    values.update(overrides)
    return Mapping(**values)


@pytest.mark.parametrize(
    ("group", "rate", "account"),
    [
        pytest.param("Dryck", "12", 3054, id="group-and-rate-beats-group"),
        pytest.param("Dryck", "25", 3051, id="group-beats-rate"),
        pytest.param("Dryck", "6", 3051, id="group-beats-rate-6"),
        pytest.param("Mat", "6", 3052, id="group-alone"),
        pytest.param("Glass", "6", 3053, id="rate-alone"),
        pytest.param("Glass", "6.00", 3053, id="rate-in-other-notation"),
        pytest.param("Glass", "12", None, id="nothing-matches"),
        pytest.param("dryck", "12", None, id="group-names-are-case-sensitive"),
    ],
)
def test_sales_account_takes_the_most_specific_rule(group, rate, account):
    assert mapping().sales_account(group, D(rate)) == account


def test_lookups_return_the_account_or_none():
    m = mapping()
    assert (m.account_for_payment("card"), m.account_for_payment("swish")) == (1580, None)
    assert (m.vat_account(D("12")), m.vat_account(D("12.00")), m.vat_account(D("6"))) == (2621, 2621, None)
    assert (m.cost_center_for("K1"), m.cost_center_for("K2")) == ("REST1", None)


def test_vat_rate_keys_are_canonical():
    assert [str(rate) for rate in mapping().vat_rates] == ["25", "12"]


def test_a_mapping_does_not_change_when_the_dict_it_was_built_from_does():
    methods = {"cash": 1910}
    m = mapping(payment_methods=methods)
    methods["swish"] = 1930
    assert m.account_for_payment("swish") is None
    with pytest.raises(TypeError):
        m.payment_methods["swish"] = 1930
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.voucher_series = "A"


def test_equal_mappings_compare_equal():
    assert mapping() == mapping(vat_rates={D("25.00"): 2611, D("12"): 2621})
    assert mapping() != mapping(tips=2890)


def test_optional_parts_default_to_unmapped():
    m = Mapping(voucher_series="F", payment_methods={}, vat_rates={}, sales=())
    assert (m.tips, m.rounding, m.cash_difference, m.gift_cards_sold, m.start_date) == (None,) * 5
    assert m.cost_center_for("K1") is None


def test_two_rules_for_the_same_group_and_rate_are_refused():
    with pytest.raises(ValueError):
        mapping(sales=(SalesRule(3001, "Mat", D("12")), SalesRule(3002, "Mat", D("12.00"))))


def test_a_sales_rule_needs_a_group_or_a_rate():
    with pytest.raises(ValueError):
        SalesRule(3001)


def test_mapping_incomplete_error_deduplicates_and_orders_by_kind_key_and_rate():
    error = MappingIncompleteError(
        (
            MissingAccount("gift_cards_sold"),
            MissingAccount("sales", "Mat", D("12")),
            MissingAccount("sales", "Glass", D("6")),
            MissingAccount("sales", "Glass", D("25")),
            MissingAccount("tips"),
            MissingAccount("vat_rate", vat_rate=D("6")),
            MissingAccount("payment_method", "swish"),
            MissingAccount("sales", "Mat", D("12")),
            MissingAccount("payment_method", "cash"),
            MissingAccount("cash_difference"),
            MissingAccount("rounding"),
        )
    )
    assert error.missing == (
        MissingAccount("payment_method", "cash"),
        MissingAccount("payment_method", "swish"),
        MissingAccount("vat_rate", vat_rate=D("6")),
        MissingAccount("sales", "Glass", D("6")),
        MissingAccount("sales", "Glass", D("25")),
        MissingAccount("sales", "Mat", D("12")),
        MissingAccount("tips"),
        MissingAccount("rounding"),
        MissingAccount("cash_difference"),
        MissingAccount("gift_cards_sold"),
    )
    assert str(error).startswith("mapping has no account for: payment_method cash, payment_method swish")


def test_missing_account_kind_must_be_known():
    with pytest.raises(ValueError):
        MissingAccount("discounts")
