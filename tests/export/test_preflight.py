"""Pre-flight (pure): a voucher is judged against the chart of the financial year it is dated in,
and a part of the books Fortnox would not let us read blocks only the vouchers that need it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backoffice.export.preflight import check
from backoffice.export.reasons import Reason
from backoffice.integrations.fortnox.metadata import (
    Account,
    Chart,
    CostCenter,
    FinancialYear,
    FortnoxSnapshot,
    Series,
    Unreadable,
)
from backoffice.zreport.voucher import Voucher, VoucherRow

#: Read on 2 January 2027: 2026 is last year.
NOW = datetime(2027, 1, 2, 8, 0, tzinfo=UTC)
LAST_YEAR, THIS_YEAR = FinancialYear(1, date(2026, 1, 1), date(2026, 12, 31)), FinancialYear(2, date(2027, 1, 1), date(2027, 12, 31))
ACCOUNTS = {1580: Account("Kortfordringar", True), 3001: Account("Försäljning 25 %", True), 2611: Account("Moms", True)}
SCOPE_MISSING = Unreadable(2000663, "Har inte behörighet för scope")


def chart(year: FinancialYear, accounts=None, series=None) -> Chart:
    return Chart(year.id, ACCOUNTS if accounts is None else accounts,
                 {"F": Series("Kassa", True)} if series is None else series, NOW)


def snapshot(last_year: Chart | None = None, this_year: Chart | None = None, **overrides) -> FortnoxSnapshot:
    values = {
        "financial_years": (LAST_YEAR, THIS_YEAR),
        "charts": {1: last_year or chart(LAST_YEAR), 2: this_year or chart(THIS_YEAR)},
        "cost_centers": {"ODEN": CostCenter("Oden", True)},
        "locked_through": None,
        "fetched_at": NOW,
    }
    return FortnoxSnapshot(**{**values, **overrides})


def voucher(day: date, *, cost_center: str | None = None, series: str = "F") -> Voucher:
    return Voucher(
        description=f"Z-rapport {day}",
        transaction_date=day,
        series=series,
        rows=(
            VoucherRow(1580, debit=Decimal("125.00")),
            VoucherRow(3001, credit=Decimal("100.00"), cost_center=cost_center),
            VoucherRow(2611, credit=Decimal("25.00")),
        ),
    )


def reasons(blockers) -> list[tuple[str, str]]:
    return [(str(b.reason), b.key) for b in blockers]


def test_a_31_december_report_exported_on_2_january_is_judged_against_last_years_chart():
    inactive_last_year = chart(LAST_YEAR, accounts={**ACCOUNTS, 1580: Account("Kortfordringar", False)})
    value = snapshot(last_year=inactive_last_year)

    blockers = check(voucher(date(2026, 12, 31)), value)

    assert reasons(blockers) == [("account_inactive", "1580 2026")]
    assert blockers[0].detail == {"account": 1580, "financial_year": "2026"}
    assert check(voucher(date(2027, 1, 1)), value) == []  # this year's 1580 is active


def test_an_account_only_this_years_chart_has_does_not_pass_a_voucher_of_last_year():
    value = snapshot(last_year=chart(LAST_YEAR, accounts={k: v for k, v in ACCOUNTS.items() if k != 3001}))

    assert reasons(check(voucher(date(2026, 12, 31)), value)) == [("account_missing", "3001 2026")]
    assert check(voucher(date(2027, 1, 2)), value) == []


@pytest.mark.parametrize(
    ("series", "reason"),
    [({}, "series_missing"), ({"F": Series("Kassa", False)}, "series_not_manual")],
    ids=["missing", "not-manual"],
)
def test_a_new_year_without_a_manual_f_series_blocks_only_that_years_days(series, reason):
    value = snapshot(this_year=chart(THIS_YEAR, series=series))

    assert check(voucher(date(2026, 12, 31)), value) == []
    blockers = check(voucher(date(2027, 1, 1)), value)
    assert reasons(blockers) == [(reason, "F")]  # this year's cause: the key names no year
    assert blockers[0].detail == {"series": "F"}


def test_a_day_without_a_financial_year_is_blocked_as_such():
    assert reasons(check(voucher(date(2028, 1, 3)), snapshot())) == [("no_financial_year", "2028")]


def test_without_the_cost_centre_scope_only_vouchers_with_a_cost_centre_are_blocked():
    value = snapshot(cost_centers={}, cost_centers_error=SCOPE_MISSING)

    assert check(voucher(date(2027, 1, 1)), value) == []
    blockers = check(voucher(date(2027, 1, 1), cost_center="ODEN"), value)
    assert reasons(blockers) == [(str(Reason.COST_CENTERS_UNREADABLE), "")]
    assert blockers[0].detail["cost_centers"] == ["ODEN"] and blockers[0].detail["fortnox_code"] == 2000663


def test_a_locked_period_that_cannot_be_read_leaves_the_judgement_to_fortnox():
    locked = snapshot(locked_through=date(2027, 1, 31))
    unknown = snapshot(locked_period_error=SCOPE_MISSING)

    assert reasons(check(voucher(date(2027, 1, 2)), locked)) == [("period_locked", "")]
    assert check(voucher(date(2027, 1, 2)), unknown) == []


def test_a_year_whose_chart_was_not_read_is_left_to_fortnox():
    value = FortnoxSnapshot((LAST_YEAR, THIS_YEAR), {2: chart(THIS_YEAR)}, {}, None, NOW)

    assert check(voucher(date(2026, 12, 31)), value) == []
