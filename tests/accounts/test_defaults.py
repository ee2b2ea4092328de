"""defaults.py: the BAS suggestions form a complete mapping, each account with its Swedish name."""

from decimal import Decimal

from backoffice.accounts.defaults import (
    ACCOUNT_LABELS,
    OTHER_ACCOUNTS,
    PAYMENT_METHOD_ACCOUNTS,
    SALES_ACCOUNTS_BY_VAT_RATE,
    VAT_RATE_ACCOUNTS,
    suggested_mapping,
)
from backoffice.zreport.booking import build_voucher
from tests.zreport.factories import contract_example, line, make_report

D = Decimal


def test_suggested_mapping_uses_the_bas_accounts_in_the_chosen_series():
    mapping = suggested_mapping(series="B")
    assert mapping.voucher_series == "B"
    assert dict(mapping.payment_methods) == {"cash": 1910, "card": 1580, "swish": 1930, "gift_card": 2421}
    assert dict(mapping.vat_rates) == {D("25"): 2611, D("12"): 2621, D("6"): 2631}
    assert [mapping.sales_account("Mat", D(rate)) for rate in ("25", "12", "6", "0")] == [3001, 3002, 3003, 3004]
    assert (mapping.tips, mapping.rounding, mapping.cash_difference, mapping.gift_cards_sold) == (
        2890,
        3740,
        3740,
        2421,
    )
    assert dict(mapping.cost_centres) == {} and mapping.start_date is None


def test_default_series_is_f():
    assert suggested_mapping().voucher_series == "F"


def test_every_suggested_account_has_a_swedish_label():
    suggested = {
        *PAYMENT_METHOD_ACCOUNTS.values(),
        *VAT_RATE_ACCOUNTS.values(),
        *SALES_ACCOUNTS_BY_VAT_RATE.values(),
        *OTHER_ACCOUNTS.values(),
    }
    assert suggested == set(ACCOUNT_LABELS)
    assert ACCOUNT_LABELS[1910] == "Kassa"
    assert ACCOUNT_LABELS[1580] == "Fordringar för kontokort och kuponger"


def test_the_suggestions_book_a_restaurant_day_with_25_12_and_6_percent():
    report = make_report(
        sales=(
            line("Dryck", "25", "250.00", "50.00"),
            line("Mat", "12", "560.00", "60.00"),
            line("Bröd", "6", "106.00", "6.00"),
        ),
        payments={"card": "700.00", "swish": "216.00"},
    )
    voucher = build_voucher(report, suggested_mapping(), company_name="Krogen AB")
    assert [row.account for row in voucher.rows] == [1580, 1930, 2611, 2621, 2631, 3001, 3002, 3003]
    assert build_voucher(contract_example(), suggested_mapping(), company_name="Krogen AB").debit_total == D("25170.00")
