"""messages.py: the Swedish sentences made from error data."""

from decimal import Decimal

import pytest

from backoffice.accounts.mapping import MappingIncompleteError, MissingAccount
from backoffice.messages import describe_missing_account, mapping_incomplete_message

D = Decimal


@pytest.mark.parametrize(
    ("missing", "text"),
    [
        pytest.param(MissingAccount("payment_method", "swish"), 'betalningsmetod "swish"', id="payment-method"),
        pytest.param(MissingAccount("vat_rate", vat_rate=D("6")), "momssats 6 %", id="vat-rate"),
        pytest.param(MissingAccount("vat_rate", vat_rate=D("12.00")), "momssats 12 %", id="vat-rate-canonical"),
        pytest.param(MissingAccount("vat_rate", vat_rate=D("12.50")), "momssats 12.5 %", id="vat-rate-fraction"),
        pytest.param(MissingAccount("sales", "Glass", D("6")), 'varugrupp "Glass" (6 %)', id="sales"),
        pytest.param(MissingAccount("tips"), "dricks", id="tips"),
        pytest.param(MissingAccount("rounding"), "öresavrundning", id="rounding"),
        pytest.param(MissingAccount("cash_difference"), "kassadifferens", id="cash-difference"),
        pytest.param(MissingAccount("gift_cards_sold"), "sålda presentkort", id="gift-cards-sold"),
    ],
)
def test_each_missing_part_is_named_in_swedish(missing, text):
    assert describe_missing_account(missing) == text


def test_mapping_incomplete_message_is_the_contract_sentence():
    error = MappingIncompleteError(
        (
            MissingAccount("sales", "Glass", D("6")),
            MissingAccount("vat_rate", vat_rate=D("6")),
            MissingAccount("payment_method", "swish"),
        )
    )
    assert mapping_incomplete_message(error) == (
        'Bokföringen kunde inte exporteras: konto saknas för betalningsmetod "swish", momssats 6 %, '
        'varugrupp "Glass" (6 %).'
    )


def test_one_missing_part_makes_a_sentence_without_a_list():
    error = MappingIncompleteError((MissingAccount("tips"),))
    assert mapping_incomplete_message(error) == "Bokföringen kunde inte exporteras: konto saknas för dricks."
