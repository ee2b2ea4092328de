"""Pre-flight: would Fortnox accept this voucher? Checked against the stored metadata, without a call.

Pure (style B0.1). Fortnox refuses a voucher whose series is missing or not manual, whose date has
no financial year or lies in a locked period, or which names a missing or inactive account or
cost centre (``docs/fortnox/api-facts.md`` §8). Finding these before posting blocks the job
with the precise reason instead of sending a voucher Fortnox would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from backoffice.export.reasons import Reason
from backoffice.zreport.voucher import Voucher


class Flagged(Protocol):
    """An account or cost centre (``active``) of the snapshot."""

    active: bool


class Manual(Protocol):
    """A voucher series (``manual``) of the snapshot."""

    manual: bool


class Year(Protocol):
    """A financial year of the snapshot."""

    id: int
    label: str


class Chart(Protocol):
    """One financial year's accounts and voucher series."""

    accounts: Mapping[int, Flagged]
    series: Mapping[str, Manual]


class Snapshot(Protocol):
    """What pre-flight reads of the stored Fortnox metadata (``integrations.fortnox.metadata``).

    ``cost_centers_error`` / ``locked_period_error`` are not None when Fortnox would not let us read
    that part (a missing scope or licence).
    """

    cost_centers: Mapping[str, Flagged]
    locked_through: date | None
    cost_centers_error: object | None
    locked_period_error: object | None

    def financial_year_for(self, day: date) -> Year | None:
        """The financial year that holds ``day``, or None when Fortnox has none."""
        ...

    def chart_for(self, day: date) -> Chart | None:
        """The chart of the year holding ``day``, or None (no such year, or not read)."""
        ...

    def current_year(self) -> Year | None:
        """The financial year of the day the snapshot was read."""
        ...


@dataclass(frozen=True, slots=True)
class Blocker:
    """One reason Fortnox would refuse a voucher.

    reason: the machine-readable cause.
    key: what distinguishes it within its kind (account number, series or cost centre code), or "".
    detail: what the fix needs, JSON-safe.
    """

    reason: Reason
    key: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def check(voucher: Voucher, snapshot: Snapshot) -> list[Blocker]:
    """Every reason Fortnox would refuse ``voucher``, in the order a user should fix them.

    Accounts and series are those of the financial year the voucher is dated in, not the current
    one: a 31 December report exported on 2 January is judged against last year's chart.
    """
    day = voucher.transaction_date
    cost_centers = check_cost_centers(sorted({row.cost_center for row in voucher.rows if row.cost_center}), snapshot)
    year = snapshot.financial_year_for(day)
    if year is None:
        return [no_financial_year(day)] + cost_centers
    chart = snapshot.chart_for(day)
    if chart is None:  # the caller reads the day's chart first; without it, Fortnox has the last word
        return _check_locked(day, snapshot) + cost_centers
    return (
        check_series(voucher.series, snapshot, day)
        + _check_locked(day, snapshot)
        + check_accounts(sorted({row.account for row in voucher.rows}), snapshot, day)
        + cost_centers
    )


def no_financial_year(day: date) -> Blocker:
    """Fortnox has no financial year for ``day``: one cause per calendar year (the year a person
    creates in Fortnox), however many days of it wait, not one per day."""
    return Blocker(Reason.NO_FINANCIAL_YEAR, str(day.year), {"date": day.isoformat()})


def _in_year(key: str, detail: dict[str, Any], snapshot: Snapshot, day: date) -> tuple[str, dict[str, Any]]:
    """Name the financial year in the key and detail when it is not the current one (a cause of last
    year's chart is another cause than the same of this year's, fixed in another place)."""
    year, current = snapshot.financial_year_for(day), snapshot.current_year()
    if year is None or (current is not None and year.id == current.id):
        return key, detail
    return f"{key} {year.label}", {**detail, "financial_year": year.label}


def check_series(series: str, snapshot: Snapshot, day: date) -> list[Blocker]:
    """The series must exist in the year of ``day`` and allow manual vouchers (Fortnox error 2001940)."""
    chart = snapshot.chart_for(day)
    if chart is None:
        return []
    found = chart.series.get(series)
    if found is None:
        return [Blocker(Reason.SERIES_MISSING, *_in_year(series, {"series": series}, snapshot, day))]
    if not found.manual:
        return [Blocker(Reason.SERIES_NOT_MANUAL, *_in_year(series, {"series": series}, snapshot, day))]
    return []


def _check_locked(day: date, snapshot: Snapshot) -> list[Blocker]:
    """A date in the locked period is refused; when the period cannot be read, Fortnox judges."""
    if snapshot.locked_period_error is None and snapshot.locked_through is not None and day <= snapshot.locked_through:
        locked = snapshot.locked_through.isoformat()
        # One lock per company: keyed by nothing, so moving its end date is the same cause, which
        # stays open (not "fixed") while a report still waits on it.
        return [Blocker(Reason.PERIOD_LOCKED, "", {"locked_through": locked, "date": day.isoformat()})]
    return []


def check_accounts(accounts: list[int], snapshot: Snapshot, day: date) -> list[Blocker]:
    """Each account must exist in the chart of the year of ``day`` and be active."""
    chart = snapshot.chart_for(day)
    if chart is None:
        return []
    blockers = []
    for account in accounts:
        found = chart.accounts.get(account)
        if found is None or not found.active:
            reason = Reason.ACCOUNT_MISSING if found is None else Reason.ACCOUNT_INACTIVE
            blockers.append(Blocker(reason, *_in_year(str(account), {"account": account}, snapshot, day)))
    return blockers


def check_cost_centers(codes: list[str], snapshot: Snapshot) -> list[Blocker]:
    """Each cost centre must exist in Fortnox and be active. When Fortnox would not let us read them
    (no scope or licence), only a voucher that carries one is blocked, with that reason."""
    if not codes:
        return []
    error = snapshot.cost_centers_error
    if error is not None:
        detail = {"cost_centers": codes, "fortnox_code": getattr(error, "fortnox_code", None),
                  "fortnox_message": getattr(error, "fortnox_message", "")}
        return [Blocker(Reason.COST_CENTERS_UNREADABLE, "", detail)]
    blockers = []
    for code in codes:
        found = snapshot.cost_centers.get(code)
        if found is None:
            blockers.append(Blocker(Reason.COST_CENTER_MISSING, code, {"cost_center": code}))
        elif not found.active:
            blockers.append(Blocker(Reason.COST_CENTER_INACTIVE, code, {"cost_center": code}))
    return blockers
