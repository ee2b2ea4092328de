"""The pure core of a correction: reversal rows, differences per account, the first open day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backoffice.correction.compare import (
    changes,
    first_open_day,
    net,
    reversal_description,
    reversal_rows,
    rows_of,
)
from backoffice.zreport.voucher import VoucherRow

D = Decimal
ROWS = (
    VoucherRow(1580, debit=D("100.00"), transaction_information="Kort"),
    VoucherRow(3052, credit=D("89.29"), cost_center="REST1"),
    VoucherRow(2621, credit=D("10.71")),
)


def test_the_reversal_swaps_every_row_so_that_original_and_reversal_net_to_zero():
    reversed_ = reversal_rows(ROWS)
    assert [(r.account, r.debit, r.credit, r.cost_center) for r in reversed_] == [
        (1580, D("0.00"), D("100.00"), None), (3052, D("89.29"), D("0.00"), "REST1"), (2621, D("10.71"), D("0.00"), None)]
    assert reversed_[0].transaction_information == "Kort"
    assert set(net(ROWS + reversed_).values()) == {D("0.00")}


def test_changes_name_only_the_accounts_whose_net_moves_to_the_ore():
    today = (ROWS[0], VoucherRow(3002, credit=D("89.28")), VoucherRow(2621, credit=D("10.72")))
    found = changes(ROWS, today)
    assert [(c.account, c.cost_center, c.before, c.after, c.change) for c in found] == [
        (2621, None, D("-10.71"), D("-10.72"), D("-0.01")),
        (3002, None, D("0.00"), D("-89.28"), D("-89.28")),
        (3052, "REST1", D("-89.29"), D("0.00"), D("89.29")),
    ]
    assert changes(ROWS, ROWS) == ()


def test_rows_from_fortnox_leave_out_struck_rows_and_keep_amounts_exact():
    rows = rows_of([{"Account": 1910, "Debit": "12.50", "Credit": 0}, {"Account": 3001, "Debit": 0, "Credit": D("12.5")},
                    {"Account": 3740, "Debit": "1.00", "Credit": 0, "Removed": True}])
    assert [(r.account, r.debit, r.credit) for r in rows] == [(1910, D("12.50"), D("0.00")), (3001, D("0.00"), D("12.50"))]


def test_the_reversal_names_the_voucher_it_reverses_within_200_characters():
    assert reversal_description("F", 123, "Z-rapport 1042 Kassa 1") == "Rättelse av F 123: Z-rapport 1042 Kassa 1"
    long = reversal_description("F", 123, "x" * 200)
    assert len(long) == 200 and long.endswith("…")


@pytest.mark.parametrize(("day", "locked", "expected"), [
    (date(2026, 6, 15), None, date(2026, 6, 15)),
    (date(2026, 6, 15), date(2026, 6, 30), date(2026, 7, 1)),
    (date(2026, 6, 30), date(2026, 6, 30), date(2026, 7, 1)),
    (date(2026, 7, 2), date(2026, 6, 30), date(2026, 7, 2)),
], ids=["nothing-locked", "inside", "last-locked-day", "after"])
def test_a_day_in_a_locked_period_is_corrected_on_the_first_open_day(day, locked, expected):
    assert first_open_day(day, locked) == expected
