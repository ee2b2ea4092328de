"""Pre-flight: would Fortnox accept this voucher? Checked against cached metadata, without a call.

Pure (style B0.1). Fortnox refuses a voucher whose series is missing or not manual, whose date has
no financial year or lies in a locked period, or which names a missing or inactive account or
cost centre (``docs/fortnox/api-facts.md`` §8). Finding these before posting blocks the job
with the precise reason instead of sending a voucher Fortnox would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from backoffice.export.reasons import Reason
from backoffice.zreport.voucher import Voucher


class Snapshot(Protocol):
    """What pre-flight reads of the cached Fortnox metadata (``integrations.fortnox.metadata``)."""

    accounts: dict[int, bool]
    series: dict[str, bool]
    cost_centers: dict[str, bool]
    locked_through: date | None

    def financial_year_for(self, day: date) -> object | None:
        """The financial year that holds ``day``, or None when Fortnox has none."""
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
    """Every reason Fortnox would refuse ``voucher``, in the order a user should fix them."""
    return (
        check_series(voucher.series, snapshot)
        + _check_date(voucher.transaction_date, snapshot)
        + check_accounts(sorted({row.account for row in voucher.rows}), snapshot)
        + check_cost_centers(sorted({row.cost_center for row in voucher.rows if row.cost_center}), snapshot)
    )


def check_series(series: str, snapshot: Snapshot) -> list[Blocker]:
    """The series must exist and allow manual vouchers (Fortnox error 2001940)."""
    manual = snapshot.series.get(series)
    if manual is None:
        return [Blocker(Reason.SERIES_MISSING, series, {"series": series})]
    if not manual:
        return [Blocker(Reason.SERIES_NOT_MANUAL, series, {"series": series})]
    return []


def _check_date(day: date, snapshot: Snapshot) -> list[Blocker]:
    if snapshot.financial_year_for(day) is None:
        return [Blocker(Reason.NO_FINANCIAL_YEAR, day.isoformat(), {"date": day.isoformat()})]
    if snapshot.locked_through is not None and day <= snapshot.locked_through:
        locked = snapshot.locked_through.isoformat()
        return [Blocker(Reason.PERIOD_LOCKED, locked, {"locked_through": locked, "date": day.isoformat()})]
    return []


def check_accounts(accounts: list[int], snapshot: Snapshot) -> list[Blocker]:
    """Each account must exist in Fortnox and be active."""
    blockers = []
    for account in accounts:
        active = snapshot.accounts.get(account)
        if active is None:
            blockers.append(Blocker(Reason.ACCOUNT_MISSING, str(account), {"account": account}))
        elif not active:
            blockers.append(Blocker(Reason.ACCOUNT_INACTIVE, str(account), {"account": account}))
    return blockers


def check_cost_centers(codes: list[str], snapshot: Snapshot) -> list[Blocker]:
    """Each cost centre must exist in Fortnox and be active."""
    blockers = []
    for code in codes:
        active = snapshot.cost_centers.get(code)
        if active is None:
            blockers.append(Blocker(Reason.COST_CENTER_MISSING, code, {"cost_center": code}))
        elif not active:
            blockers.append(Blocker(Reason.COST_CENTER_INACTIVE, code, {"cost_center": code}))
    return blockers
