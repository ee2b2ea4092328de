"""FortnoxSnapshot as a pure value (per financial year), and fetch_snapshot against the emulator."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from backoffice.integrations.fortnox.metadata import (
    Account,
    Chart,
    CostCenter,
    FinancialYear,
    FortnoxSnapshot,
    Series,
    Unreadable,
    fetch_chart,
    fetch_snapshot,
)
from tests.integrations.fortnox.conftest import this_year_day

NOW = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
YEARS = (FinancialYear(2, date(2026, 1, 1), date(2026, 12, 31)), FinancialYear(1, date(2025, 1, 1), date(2025, 12, 31)))


def chart(year_id: int = 2, **overrides) -> Chart:
    values = {
        "accounts": {1910: Account("Kassa", True), 3001: Account("Försäljning 25 %", True),
                     3050: Account("Försäljning", False)},
        "series": {"A": Series("Redovisning", True), "B": Series("Kundfakturor", False), "F": Series("Kassa", True)},
        "fetched_at": NOW,
    }
    return Chart(year_id=year_id, **{**values, **overrides})


def snapshot(**overrides) -> FortnoxSnapshot:
    values = {
        "financial_years": YEARS,
        "charts": {2: chart()},
        "cost_centers": {"ODEN": CostCenter("Oden", True), "GAMLA": CostCenter("Gamla", False)},
        "locked_through": date(2026, 1, 31),
        "fetched_at": NOW,
    }
    return FortnoxSnapshot(**{**values, **overrides})


def test_the_chart_of_a_day_is_the_chart_of_its_financial_year():
    last_year = chart(1, accounts={1910: Account("Kassa", False)}, series={})
    value = snapshot(charts={2: chart(), 1: last_year})

    assert value.chart_for(date(2026, 6, 1)).accounts[3001].active
    assert value.chart_for(date(2025, 12, 31)) is last_year
    assert value.chart_for(date(2024, 12, 31)) is None
    assert value.current_year().id == 2
    assert snapshot().chart_for(date(2025, 12, 31)) is None  # last year's chart was never read


@pytest.mark.parametrize(
    ("day", "year_id"),
    [
        (date(2025, 1, 1), 1),
        (date(2025, 12, 31), 1),
        (date(2026, 1, 1), 2),
        (date(2026, 12, 31), 2),
        (date(2024, 12, 31), None),
        (date(2027, 1, 1), None),
    ],
    ids=["first-day", "last-day", "next-first-day", "next-last-day", "before", "after"],
)
def test_financial_year_for_includes_both_ends(day, year_id):
    year = snapshot().financial_year_for(day)

    assert (year.id if year else None) == year_id


def test_a_calendar_year_is_labelled_by_its_number_and_a_broken_one_by_its_dates():
    assert FinancialYear(1, date(2025, 1, 1), date(2025, 12, 31)).label == "2025"
    assert FinancialYear(3, date(2025, 7, 1), date(2026, 6, 30)).label == "2025-07-01–2026-06-30"


def test_locked_through_includes_its_own_date():
    value = snapshot()

    assert value.is_locked(date(2026, 1, 31)) and not value.is_locked(date(2026, 2, 1))
    assert not snapshot(locked_through=None).is_locked(date(2000, 1, 1))


def test_financial_years_are_kept_oldest_first():
    assert [year.id for year in snapshot().financial_years] == [1, 2]


def test_to_dict_is_json_and_from_dict_gives_the_same_value_back():
    value = snapshot(charts={2: chart(), 1: chart(1)}, cost_centers={},
                     cost_centers_error=Unreadable(2000663, "Har inte behörighet för scope"))

    back = FortnoxSnapshot.from_dict(json.loads(json.dumps(value.to_dict())))

    assert back == value
    assert back.charts[2].accounts[3001] == Account("Försäljning 25 %", True)
    assert back.fetched_at.tzinfo is not None and back.locked_through == date(2026, 1, 31)
    assert FortnoxSnapshot.from_dict(snapshot(locked_through=None).to_dict()).locked_through is None


def test_from_dict_refuses_an_unknown_layout():
    data = snapshot().to_dict() | {"version": 1}

    with pytest.raises(ValueError, match="version"):
        FortnoxSnapshot.from_dict(data)


@pytest.mark.parametrize(
    "fetched_at",
    [datetime(2026, 3, 15, 9, 30), datetime(2026, 3, 15, 9, 30, tzinfo=timezone(timedelta(hours=1)))],
    ids=["naive", "not-utc"],
)
def test_fetched_at_must_be_aware_utc(fetched_at):
    with pytest.raises(ValueError, match="UTC"):
        snapshot(fetched_at=fetched_at)


def test_the_value_cannot_be_changed():
    source = {1910: Account("Kassa", True)}
    value = chart(accounts=source)
    source[1910] = Account("Kassa", False)

    assert value.accounts[1910].active
    with pytest.raises(TypeError):
        value.accounts[1910] = Account("Kassa", False)  # type: ignore[index]
    with pytest.raises(AttributeError):
        snapshot().locked_through = None  # type: ignore[misc]


def test_fetch_snapshot_reads_the_books_in_five_calls_with_descriptions(client, emulator, tenant_id):
    client.create_cost_center("ODEN", "Restaurang Oden")
    emulator.control.set_locked_period(tenant_id, this_year_day(1, 31))
    emulator.control.clear_requests()
    now = datetime.combine(this_year_day(), datetime.min.time(), UTC)

    value = fetch_snapshot(client, now=now)

    api_calls = [entry for entry in emulator.control.requests(tenant_id) if entry["path"].startswith("/3/")]
    assert len(api_calls) == 5
    current = value.chart_for(this_year_day())
    assert current.accounts[3001].active and not current.accounts[3050].active
    assert current.accounts[1910].description == "Kassa"
    assert len(current.accounts) == 42
    assert current.series["F"] == Series("Kassa", True) and not current.series["B"].manual
    assert value.cost_centers["ODEN"] == CostCenter("Restaurang Oden", True)
    assert value.financial_year_for(this_year_day()).id == 2
    assert value.financial_year_for(this_year_day() - timedelta(days=366)).id == 1
    assert set(value.charts) == {2}  # only the current year's chart until a voucher needs another
    assert value.locked_through == this_year_day(1, 31)
    assert value.cost_centers_error is None and value.locked_period_error is None
    assert FortnoxSnapshot.from_dict(json.loads(json.dumps(value.to_dict()))) == value


def test_each_years_chart_is_read_from_that_year(client, emulator, tenant_id):
    emulator.control.set_account_active(tenant_id, 1580, False, financial_year=1)
    emulator.control.delete_series(tenant_id, "F", financial_year=2)
    now = datetime.combine(this_year_day(), datetime.min.time(), UTC)

    value = fetch_snapshot(client, now=now, years=[1])
    last_year = fetch_chart(client, 1, now=now)

    assert set(value.charts) == {1, 2}
    assert value.charts[1] == last_year
    assert not last_year.accounts[1580].active and value.charts[2].accounts[1580].active
    assert "F" in last_year.series and "F" not in value.charts[2].series


def test_without_the_cost_centre_scope_the_rest_is_still_read(make_client, emulator, tenant_id):
    client = make_client(scope="bookkeeping companyinformation settings")
    now = datetime.combine(this_year_day(), datetime.min.time(), UTC)

    value = fetch_snapshot(client, now=now)

    assert value.cost_centers == {} and value.cost_centers_error is not None
    assert value.cost_centers_error.fortnox_code == 2000663
    assert value.chart_for(this_year_day()).accounts[3001].active
    assert value.locked_period_error is None


def test_fetch_snapshot_sees_what_the_user_changed_in_fortnox(client, emulator, tenant_id):
    emulator.control.set_account_active(tenant_id, 3001, False)
    emulator.control.set_series_manual(tenant_id, "F", False)
    now = datetime.combine(this_year_day(), datetime.min.time(), UTC)

    value = fetch_snapshot(client, now=now)

    assert not value.chart_for(this_year_day()).accounts[3001].active
    assert not value.chart_for(this_year_day()).series["F"].manual
