"""report.py: the ZReport values and the contract's balance rule."""

import dataclasses

import pytest

from backoffice.money import ZERO
from backoffice.zreport.report import balance_sides
from tests.zreport.factories import amounts, contract_example, line, make_report


def test_contract_example_balances_to_the_ore():
    assert balance_sides(contract_example()) == amounts("25169.79", "25169.79")


@pytest.mark.parametrize(
    ("report", "paid", "due"),
    [
        pytest.param(make_report(), "0.00", "0.00", id="empty-report"),
        pytest.param(
            make_report(sales=(line("Mat", "12", "100.40", "10.76"),), payments={"cash": "100.00"}, rounding="-0.40"),
            "100.00",
            "100.00",
            id="rounding-reduces-due",
        ),
        pytest.param(
            make_report(
                sales=(line("Mat", "12", "300.00", "32.14"),),
                payments={"card": "500.00", "gift_card": "300.00"},
                gift_cards_sold="500.00",
            ),
            "800.00",
            "800.00",
            id="gift-cards-sold-are-due",
        ),
        pytest.param(
            make_report(
                sales=(line("Dryck", "25", "100.00", "20.00"),),
                returns=(line("Dryck", "25", "250.00", "50.00"),),
                payments={"cash": "-150.00"},
                tips={"card": "0.00"},
            ),
            "-150.00",
            "-150.00",
            id="returns-reduce-due",
        ),
        pytest.param(
            make_report(
                sales=(line("Mat", "12", "100.00", "10.71"),), payments={"card": "150.00"}, tips={"card": "40.00"}
            ),
            "150.00",
            "140.00",
            id="unbalanced-report-shows-both-sides",
        ),
        pytest.param(
            make_report(
                sales=(line("Mat", "12", "100.00", "10.71"),), payments={"cash": "100.00"}, cash_difference="-20.00"
            ),
            "100.00",
            "100.00",
            id="cash-difference-is-not-in-the-balance-rule",
        ),
    ],
)
def test_balance_sides_are_payments_and_sales_less_returns_plus_tips_gift_cards_and_rounding(report, paid, due):
    assert balance_sides(report) == amounts(paid, due)


def test_balance_sides_of_an_empty_report_keep_two_decimals():
    paid, due = balance_sides(make_report())
    assert (str(paid), str(due)) == (str(ZERO), str(ZERO))


def test_report_values_are_immutable_and_slotted():
    report = contract_example()
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.z_number = 1043
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.sales[0].gross = ZERO
    assert not hasattr(report, "__dict__")
    assert not hasattr(report.sales[0], "__dict__")
