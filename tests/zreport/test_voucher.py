"""voucher.py: a row is one non-negative debit or credit; Fortnox's limits hold on every value."""

from datetime import date
from decimal import Decimal

import pytest

from backoffice.zreport.voucher import UnbalancedVoucherError, Voucher, VoucherRow, is_result_account


def test_a_row_with_a_debit_has_zero_credit():
    row = VoucherRow(1910, debit=Decimal("100.00"))
    assert (row.debit, row.credit) == (Decimal("100.00"), Decimal("0.00"))


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"account": 999, "debit": Decimal("1.00")}, id="account-below-1000"),
        pytest.param({"account": 10000, "debit": Decimal("1.00")}, id="account-above-9999"),
        pytest.param({"account": True, "debit": Decimal("1.00")}, id="account-bool"),
        pytest.param({"account": "1910", "debit": Decimal("1.00")}, id="account-string"),
        pytest.param({"account": 1910, "debit": Decimal("-1.00")}, id="negative-debit"),
        pytest.param({"account": 1910, "credit": Decimal("-1.00")}, id="negative-credit"),
        pytest.param({"account": 1910}, id="both-zero"),
        pytest.param({"account": 1910, "debit": Decimal("1.00"), "credit": Decimal("1.00")}, id="both-non-zero"),
        pytest.param({"account": 1910, "debit": Decimal("1.005")}, id="three-decimals"),
        pytest.param({"account": 1910, "debit": Decimal("1")}, id="no-decimals"),
        pytest.param({"account": 1910, "debit": 1.0}, id="float"),
        pytest.param({"account": 1910, "debit": Decimal("NaN")}, id="nan"),
        pytest.param({"account": 3001, "debit": Decimal("1.00"), "cost_center": ""}, id="empty-cost-center"),
        pytest.param(
            {"account": 1910, "debit": Decimal("1.00"), "transaction_information": "x" * 101},
            id="transaction-information-over-100",
        ),
    ],
)
def test_invalid_rows_are_refused(kwargs):
    with pytest.raises(ValueError):
        VoucherRow(**kwargs)


def test_transaction_information_of_100_characters_is_accepted():
    assert (
        len(VoucherRow(1910, debit=Decimal("1.00"), transaction_information="x" * 100).transaction_information) == 100
    )


ROWS = (VoucherRow(1910, debit=Decimal("100.00")), VoucherRow(3001, credit=Decimal("100.00")))


@pytest.mark.parametrize(
    ("description", "rows"),
    [
        pytest.param("", ROWS, id="empty-description"),
        pytest.param("x" * 201, ROWS, id="description-over-200"),
        pytest.param("Z", ROWS[:1], id="one-row"),
    ],
)
def test_invalid_vouchers_are_refused(description, rows):
    with pytest.raises(ValueError):
        Voucher(description=description, transaction_date=date(2026, 11, 20), series="F", rows=rows)


def test_voucher_totals_add_debits_and_credits_separately():
    voucher = Voucher(
        description="x" * 200,
        transaction_date=date(2026, 11, 20),
        series="F",
        rows=(*ROWS, VoucherRow(1580, debit=Decimal("0.50")), VoucherRow(2611, credit=Decimal("0.25"))),
    )
    assert (voucher.debit_total, voucher.credit_total) == (Decimal("100.50"), Decimal("100.25"))


def test_unbalanced_voucher_error_carries_both_totals():
    error = UnbalancedVoucherError(Decimal("100.00"), Decimal("99.99"))
    assert (error.debit_total, error.credit_total) == (Decimal("100.00"), Decimal("99.99"))
    assert "0.01" in str(error)


@pytest.mark.parametrize(
    ("account", "expected"),
    [(2999, False), (3000, True), (3740, True), (8999, True), (9000, False), (1910, False)],
)
def test_result_accounts_are_3000_to_8999(account, expected):
    assert is_result_account(account) is expected
