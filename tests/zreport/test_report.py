"""report.py: the ZReport values and the contract's balance rule."""

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from backoffice.money import ZERO
from backoffice.zreport.report import (
    GrandTotalJump,
    MissingReports,
    UnitReport,
    balance_sides,
    completeness_findings,
    date_problems,
    fingerprint,
    vat_misfits,
)
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


# --- VAT must fit its rate, dates, identity (zreport-v1.md, amended 2026-12) -------------------




@pytest.mark.parametrize(
    ("sales_line", "misfit"),
    [
        pytest.param(line("Mat", "12", "112.00", "12.00"), None, id="exact"),
        pytest.param(line("Mat", "12", "112.00", "13.00"), None, id="one-krona-off-one-item"),
        pytest.param(line("Mat", "12", "112.00", "13.01"), ("12.00", "1.01", "1.00"), id="beyond-one-krona"),
        pytest.param(line("Mat", "12", "11200.00", "1202.50", 250), None, id="two-and-a-half-ore-per-item"),
        pytest.param(line("Mat", "12", "11200.00", "1202.51", 250), ("1200.00", "2.51", "2.50"), id="beyond-per-item"),
        pytest.param(line("Bröd", "6", "106.00", "0.00"), ("6.00", "-6.00", "1.00"), id="no-vat-at-six-percent"),
        pytest.param(line("Presentkort", "0", "500.00", "0.00"), None, id="zero-percent-without-vat"),
        pytest.param(line("Presentkort", "0", "500.00", "0.01"), ("0.00", "0.01", "0.00"), id="zero-percent-with-an-ore"),
        pytest.param(line("Dryck", "12.5", "112.50", "12.50"), None, id="fractional-rate"),
    ],
)
def test_vat_must_fit_its_rate_within_the_contracts_rounding_tolerance(sales_line, misfit):
    found = vat_misfits(make_report(sales=(sales_line,)))
    if misfit is None:
        assert found == []
    else:
        (only,) = found
        assert (only.part, only.index) == ("sales", 0)
        assert (str(only.computed), str(only.difference), str(only.tolerance)) == misfit


def test_return_lines_are_held_to_the_same_rule():
    report = make_report(returns=(line("Mat", "12", "112.00", "12.00"), line("Dryck", "25", "125.00", "20.00")))
    assert [(m.part, m.index) for m in vat_misfits(report)] == [("returns", 1)]


NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("business_date", "closed_at", "codes"),
    [
        pytest.param(date(2026, 11, 20), datetime(2026, 11, 20, 23, 12, tzinfo=UTC), [], id="ordinary"),
        pytest.param(date(2026, 11, 20), datetime(2026, 11, 19, 23, 0, tzinfo=UTC), [], id="midnight-in-stockholm"),
        pytest.param(date(2026, 11, 20), datetime(2026, 11, 19, 22, 59, 59, tzinfo=UTC), ["before_business_day"],
                     id="a-second-before-midnight-in-stockholm"),
        pytest.param(date(2026, 7, 20), datetime(2026, 7, 19, 22, 0, tzinfo=UTC), [], id="summer-time-midnight"),
        pytest.param(date(2026, 7, 20), datetime(2026, 7, 19, 21, 59, tzinfo=UTC), ["before_business_day"],
                     id="summer-time-before-midnight"),
        pytest.param(date(2026, 11, 1), datetime(2026, 11, 21, 7, 0, tzinfo=UTC), [], id="closed-twenty-days-late"),
        pytest.param(date(2026, 11, 21), NOW + timedelta(minutes=5), [], id="five-minutes-of-clock-skew"),
        pytest.param(date(2026, 11, 21), NOW + timedelta(minutes=5, seconds=1), ["in_the_future"], id="beyond-skew"),
        pytest.param(date(2026, 11, 22), datetime(2026, 11, 21, 7, 0, tzinfo=UTC), ["before_business_day"],
                     id="tomorrow-closed-today"),
        pytest.param(date(2026, 11, 23), datetime(2026, 11, 21, 7, 0, tzinfo=UTC),
                     ["before_business_day", "after_tomorrow"], id="after-tomorrow"),
        pytest.param(date(2026, 11, 20), datetime(9999, 12, 31, 23, 30, tzinfo=UTC), ["in_the_future"], id="year-9999"),
        pytest.param(date(1, 1, 1), datetime(2026, 11, 20, 23, 0, tzinfo=UTC), [], id="year-one"),
    ],
)
def test_dates_that_cannot_be(business_date, closed_at, codes):
    report = dataclasses.replace(make_report(), business_date=business_date, closed_at=closed_at)
    assert [problem.code for problem in date_problems(report, NOW)] == codes


def test_tomorrow_is_a_possible_business_date_once_its_day_has_begun_in_stockholm():
    late_evening = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)  # 00:30 on the 22nd in Stockholm
    report = dataclasses.replace(make_report(), business_date=date(2026, 11, 22), closed_at=late_evening)
    assert date_problems(report, late_evening) == []


def test_the_fingerprint_is_the_reports_meaning_not_its_form():
    report = contract_example()
    reordered = dataclasses.replace(report, payments=report.payments[::-1], sales=report.sales[::-1])
    other_offset = dataclasses.replace(report, closed_at=report.closed_at.astimezone(timezone(timedelta(hours=2))))
    changed = dataclasses.replace(report, closed_at=report.closed_at + timedelta(seconds=1))
    assert fingerprint(reordered) == fingerprint(other_offset) == fingerprint(report)
    assert fingerprint(changed) != fingerprint(report)
    assert fingerprint(dataclasses.replace(report, tips_paid_out_cash=amounts("0.01")[0])) != fingerprint(report)




# --- completeness -------------------------------------------------------------------------------



def unit_report(z: int, gt_sales: str, gt_returns: str, sales: str, returns: str = "0.00") -> UnitReport:
    return UnitReport(z, *amounts(gt_sales, gt_returns, sales, returns))


def test_a_running_series_whose_grand_totals_grow_by_each_days_sales_is_complete():
    reports = [
        unit_report(1042, "9123456.00", "23456.00", "24650.00", "120.00"),
        unit_report(1043, "9148106.00", "23576.00", "24650.00", "120.00"),
        unit_report(1044, "9148106.00", "23576.00", "0.00"),  # a closed day without sales
    ]
    assert completeness_findings(reports[::-1]) == []


def test_a_missing_z_number_is_found_as_a_range_and_not_compared_across():
    reports = [unit_report(1042, "100.00", "0.00", "100.00"), unit_report(1046, "999.00", "0.00", "10.00")]
    assert completeness_findings(reports) == [MissingReports(1043, 1045)]


def test_a_grand_total_that_jumps_is_found_with_what_was_expected():
    reports = [unit_report(7, "1000.00", "50.00", "100.00"), unit_report(8, "1300.00", "50.00", "200.00", "0.00")]
    assert completeness_findings(reports) == [
        GrandTotalJump(7, 8, amounts("1200.00")[0], amounts("1300.00")[0], amounts("50.00")[0], amounts("50.00")[0])
    ]


def test_returns_must_grow_by_the_days_returns_too():
    reports = [unit_report(1, "100.00", "0.00", "100.00"), unit_report(2, "200.00", "0.00", "100.00", "10.00")]
    [jump] = completeness_findings(reports)
    assert (jump.expected_returns, jump.reported_returns) == amounts("10.00", "0.00")


def test_the_first_report_of_a_unit_needs_no_predecessor():
    assert completeness_findings([unit_report(1042, "5.00", "0.00", "1.00")]) == []
