"""FortnoxSnapshot as a pure value, and fetch_snapshot against the emulator."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from backoffice.integrations.fortnox.metadata import FinancialYear, FortnoxSnapshot, fetch_snapshot
from tests.integrations.fortnox.conftest import this_year_day

NOW = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)


def snapshot(**overrides) -> FortnoxSnapshot:
    values = {
        "accounts": {1910: True, 3001: True, 3050: False},
        "series": {"A": True, "B": False, "F": True},
        "cost_centers": {"ODEN": True, "GAMLA": False},
        "financial_years": (
            FinancialYear(2, date(2026, 1, 1), date(2026, 12, 31)),
            FinancialYear(1, date(2025, 1, 1), date(2025, 12, 31)),
        ),
        "locked_through": date(2026, 1, 31),
        "fetched_at": NOW,
    }
    return FortnoxSnapshot(**{**values, **overrides})


def test_lookups():
    value = snapshot()

    assert value.is_account_active(3001) and not value.is_account_active(3050) and not value.is_account_active(4010)
    assert value.has_account(3050) and not value.has_account(4010)
    assert value.is_series_manual("F") and not value.is_series_manual("B") and not value.is_series_manual("Z")
    assert value.has_series("B") and not value.has_series("Z")
    assert value.is_cost_center_active("ODEN") and not value.is_cost_center_active("GAMLA")
    assert value.has_cost_center("GAMLA") and not value.has_cost_center("NOPE")
    assert value.age(NOW + timedelta(minutes=5)) == timedelta(minutes=5)


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


def test_locked_through_includes_its_own_date():
    value = snapshot()

    assert value.is_locked(date(2026, 1, 31)) and not value.is_locked(date(2026, 2, 1))
    assert not snapshot(locked_through=None).is_locked(date(2000, 1, 1))


def test_financial_years_are_kept_oldest_first():
    assert [year.id for year in snapshot().financial_years] == [1, 2]


def test_to_dict_is_json_and_from_dict_gives_the_same_value_back():
    value = snapshot()

    text = json.dumps(value.to_dict())
    back = FortnoxSnapshot.from_dict(json.loads(text))

    assert back == value
    assert back.fetched_at.tzinfo is not None and back.locked_through == date(2026, 1, 31)
    assert FortnoxSnapshot.from_dict(snapshot(locked_through=None).to_dict()).locked_through is None


def test_from_dict_refuses_an_unknown_layout():
    data = snapshot().to_dict() | {"version": 99}

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
    source = {1910: True}
    value = snapshot(accounts=source)
    source[1910] = False

    assert value.is_account_active(1910)
    with pytest.raises(TypeError):
        value.accounts[1910] = False  # type: ignore[index]
    with pytest.raises(AttributeError):
        value.locked_through = None  # type: ignore[misc]


def test_fetch_snapshot_reads_the_books_in_five_calls(client, emulator, tenant_id):
    client.create_cost_center("ODEN", "Restaurang Oden")
    emulator.control.set_locked_period(tenant_id, this_year_day(1, 31))
    emulator.control.clear_requests()

    value = fetch_snapshot(client, now=NOW)

    api_calls = [entry for entry in emulator.control.requests(tenant_id) if entry["path"].startswith("/3/")]
    assert len(api_calls) == 5
    assert value.is_account_active(3001) and not value.is_account_active(3050)
    assert len(value.accounts) == 42
    assert value.is_series_manual("F") and not value.is_series_manual("B")
    assert value.is_cost_center_active("ODEN")
    assert value.financial_year_for(this_year_day()).id == 2
    assert value.financial_year_for(this_year_day() - timedelta(days=366)).id == 1
    assert value.locked_through == this_year_day(1, 31)
    assert value.fetched_at == NOW
    assert FortnoxSnapshot.from_dict(json.loads(json.dumps(value.to_dict()))) == value


def test_fetch_snapshot_sees_what_the_user_changed_in_fortnox(client, emulator, tenant_id):
    emulator.control.set_account_active(tenant_id, 3001, False)
    emulator.control.set_series_manual(tenant_id, "F", False)

    value = fetch_snapshot(client, now=NOW)

    assert not value.is_account_active(3001)
    assert not value.is_series_manual("F")
