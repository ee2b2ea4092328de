"""money.py: the one amount parser, the one rounding helper, VAT rates and their canonical text."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.money import ORE, ZERO, format_vat_rate, parse_amount, parse_vat_rate, to_ore


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1234.50", "1234.50", id="two-decimals"),
        pytest.param("-0.21", "-0.21", id="negative"),
        pytest.param("0", "0.00", id="zero-without-decimals"),
        pytest.param("-0", "0.00", id="negative-zero-is-zero"),
        pytest.param("7.5", "7.50", id="one-decimal"),
        pytest.param("999999999999.99", "999999999999.99", id="twelve-integer-digits"),
    ],
)
def test_parse_amount_returns_a_decimal_with_exactly_two_decimals(text, expected):
    amount = parse_amount(text)
    assert isinstance(amount, Decimal)
    assert str(amount) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1234.5, id="float"),
        pytest.param(12, id="int"),
        pytest.param(Decimal("1.00"), id="decimal"),
        pytest.param(None, id="none"),
        pytest.param("1.234", id="three-decimals"),
        pytest.param("1e3", id="exponent"),
        pytest.param("1E+2", id="exponent-upper"),
        pytest.param("NaN", id="nan"),
        pytest.param("Infinity", id="infinity"),
        pytest.param("-inf", id="minus-inf"),
        pytest.param("", id="empty"),
        pytest.param(" 1.00", id="leading-space"),
        pytest.param("1.00\n", id="trailing-newline"),
        pytest.param("+1.00", id="plus-sign"),
        pytest.param("1.", id="dot-without-decimals"),
        pytest.param(".50", id="no-integer-part"),
        pytest.param("1,50", id="decimal-comma"),
        pytest.param("1 000.00", id="thousands-space"),
        pytest.param("١٢", id="non-ascii-digits"),
        pytest.param("-", id="minus-only"),
        pytest.param("1000000000000.00", id="thirteen-integer-digits"),
    ],
)
def test_parse_amount_rejects_anything_but_a_plain_two_decimal_string(value):
    with pytest.raises(ValueError):
        parse_amount(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0.125", "0.13", id="half-rounds-up-not-to-even"),
        pytest.param("-0.125", "-0.13", id="negative-half-rounds-away-from-zero"),
        pytest.param("2.674999", "2.67", id="below-half-rounds-down"),
        pytest.param("-0.001", "0.00", id="tiny-negative-becomes-plain-zero"),
        pytest.param("12", "12.00", id="whole-gets-two-decimals"),
    ],
)
def test_to_ore_rounds_half_up_to_two_decimals(value, expected):
    assert str(to_ore(Decimal(value))) == expected


def test_to_ore_refuses_a_float():
    with pytest.raises(TypeError):
        to_ore(0.125)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_to_ore_refuses_non_finite_values(value):
    with pytest.raises(ValueError):
        to_ore(Decimal(value))


@given(st.decimals(min_value=-(10**12) + ORE, max_value=10**12 - ORE, places=2))
def test_parse_amount_reads_back_any_two_decimal_amount(amount):
    assert parse_amount(f"{amount:.2f}") == amount


def test_zero_has_two_decimals():
    assert str(ZERO) == "0.00"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        pytest.param("25", "25", id="whole"),
        pytest.param("12.00", "12", id="trailing-zeros"),
        pytest.param("12.0", "12", id="one-trailing-zero"),
        pytest.param("6", "6", id="six"),
        pytest.param("0", "0", id="zero"),
        pytest.param("0.00", "0", id="zero-with-decimals"),
        pytest.param("10", "10", id="ten-not-exponent"),
        pytest.param("10.00", "10", id="ten-with-decimals-not-exponent"),
        pytest.param("12.50", "12.5", id="fraction"),
        pytest.param("99.99", "99.99", id="just-below-100"),
    ],
)
def test_parse_vat_rate_gives_one_canonical_value_per_rate(text, canonical):
    rate = parse_vat_rate(text)
    assert str(rate) == canonical
    assert format_vat_rate(rate) == canonical


def test_equal_rates_in_different_notation_are_one_key():
    assert parse_vat_rate("12.00") == parse_vat_rate("12")
    assert {parse_vat_rate("12.00"): 2621}[parse_vat_rate("12")] == 2621


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("100", id="hundred"),
        pytest.param("-6", id="negative"),
        pytest.param("12.345", id="three-decimals"),
        pytest.param("1e1", id="exponent"),
        pytest.param("", id="empty"),
        pytest.param(" 12", id="space"),
        pytest.param("12 %", id="percent-sign"),
        pytest.param("NaN", id="nan"),
        pytest.param(12, id="int"),
        pytest.param(12.0, id="float"),
    ],
)
def test_parse_vat_rate_rejects_what_is_not_a_rate_below_100_with_two_decimals(value):
    with pytest.raises(ValueError):
        parse_vat_rate(value)


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        pytest.param(Decimal("1E+1"), "10", id="exponent-form"),
        pytest.param(Decimal("25.00"), "25", id="trailing-zeros"),
        pytest.param(Decimal("12.50"), "12.5", id="fraction-trailing-zero"),
        pytest.param(Decimal("0E-2"), "0", id="zero-with-exponent"),
    ],
)
def test_format_vat_rate_gives_canonical_text_for_any_equal_decimal(rate, text):
    assert format_vat_rate(rate) == text
