"""What the export pre-flight needs to know about a company's Fortnox books, as one frozen value.

:class:`FortnoxSnapshot` holds accounts (active or not), voucher series (manual or not), cost centres
(active or not), financial years and the locked period, read at ``fetched_at``. The export engine's
pre-flight checks a voucher against it without calling Fortnox, so a steady-state export costs one
API call per voucher; :func:`fetch_snapshot` fills it (five list calls, more only when the chart of
accounts has more than 500 accounts). ``to_dict``/``from_dict`` make it JSON-safe, to be stored on
the connection row.

Accounts and voucher series are per financial year in Fortnox (api-facts §2.3, §2.4); the snapshot
holds those of the preselected (current) year, which is the year a Z-report is normally booked in.

Pure: this module imports no HTTP, web or database library; :func:`fetch_snapshot` takes a client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for the annotation: the client module imports requests
    from backoffice.integrations.fortnox.client import FortnoxClient

#: Version of the ``to_dict`` layout; ``from_dict`` refuses others rather than misread them.
SNAPSHOT_VERSION = 1


@dataclass(frozen=True, slots=True)
class FinancialYear:
    """One Fortnox financial year (räkenskapsår).

    id: Fortnox's ``Id``, the value of ``Year`` on vouchers and of the ``financialyear`` parameter.
    from_date, to_date: its first and last day, both included.
    """

    id: int
    from_date: date
    to_date: date

    def covers(self, day: date) -> bool:
        """Tell whether ``day`` falls inside this financial year."""
        return self.from_date <= day <= self.to_date


@dataclass(frozen=True, slots=True)
class FortnoxSnapshot:
    """A company's Fortnox metadata at one moment; read-only (the mappings are read-only views).

    accounts: account number → active, for the preselected financial year.
    series: voucher series code → manual (only manual series accept vouchers from us).
    cost_centers: cost-centre code → active.
    financial_years: every financial year, oldest first.
    locked_through: last day of the locked period, or None when nothing is locked.
    fetched_at: when it was read (aware UTC).
    """

    accounts: Mapping[int, bool]
    series: Mapping[str, bool]
    cost_centers: Mapping[str, bool]
    financial_years: tuple[FinancialYear, ...]
    locked_through: date | None
    fetched_at: datetime

    def __post_init__(self) -> None:
        if self.fetched_at.tzinfo is None or self.fetched_at.utcoffset() != timedelta(0):
            raise ValueError("fetched_at must be an aware UTC datetime")
        # Read-only copies: a frozen value whose dicts could be changed behind its back is not one.
        object.__setattr__(self, "accounts", MappingProxyType(dict(self.accounts)))
        object.__setattr__(self, "series", MappingProxyType(dict(self.series)))
        object.__setattr__(self, "cost_centers", MappingProxyType(dict(self.cost_centers)))
        years = tuple(sorted(self.financial_years, key=lambda year: year.from_date))
        object.__setattr__(self, "financial_years", years)

    # --- lookups ----------------------------------------------------------------------------------

    def has_account(self, number: int) -> bool:
        """Tell whether the account exists (active or not)."""
        return number in self.accounts

    def is_account_active(self, number: int) -> bool:
        """Tell whether the account exists and is active."""
        return self.accounts.get(number, False)

    def has_series(self, code: str) -> bool:
        """Tell whether the voucher series exists."""
        return code in self.series

    def is_series_manual(self, code: str) -> bool:
        """Tell whether the voucher series exists and accepts manual vouchers."""
        return self.series.get(code, False)

    def has_cost_center(self, code: str) -> bool:
        """Tell whether the cost centre exists (active or not)."""
        return code in self.cost_centers

    def is_cost_center_active(self, code: str) -> bool:
        """Tell whether the cost centre exists and is active."""
        return self.cost_centers.get(code, False)

    def financial_year_for(self, day: date) -> FinancialYear | None:
        """The financial year that covers ``day``, or None when there is none."""
        for year in self.financial_years:
            if year.covers(day):
                return year
        return None

    def is_locked(self, day: date) -> bool:
        """Tell whether ``day`` is inside the locked period (locked through that date, included)."""
        return self.locked_through is not None and day <= self.locked_through

    def age(self, now: datetime) -> timedelta:
        """How long ago the snapshot was read."""
        return now - self.fetched_at

    # --- JSON -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (string keys, ISO dates) that :meth:`from_dict` reads back unchanged."""
        return {
            "version": SNAPSHOT_VERSION,
            "accounts": {str(number): active for number, active in sorted(self.accounts.items())},
            "series": dict(sorted(self.series.items())),
            "cost_centers": dict(sorted(self.cost_centers.items())),
            "financial_years": [
                {"id": year.id, "from_date": year.from_date.isoformat(), "to_date": year.to_date.isoformat()}
                for year in self.financial_years
            ],
            "locked_through": self.locked_through.isoformat() if self.locked_through else None,
            "fetched_at": self.fetched_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FortnoxSnapshot:
        """Read a dict made by :meth:`to_dict`; raises ValueError for another layout version."""
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unknown Fortnox snapshot version {data.get('version')!r}")
        locked = data["locked_through"]
        return cls(
            accounts={int(number): bool(active) for number, active in data["accounts"].items()},
            series={str(code): bool(manual) for code, manual in data["series"].items()},
            cost_centers={str(code): bool(active) for code, active in data["cost_centers"].items()},
            financial_years=tuple(
                FinancialYear(
                    id=int(year["id"]),
                    from_date=date.fromisoformat(year["from_date"]),
                    to_date=date.fromisoformat(year["to_date"]),
                )
                for year in data["financial_years"]
            ),
            locked_through=date.fromisoformat(locked) if locked else None,
            fetched_at=datetime.fromisoformat(data["fetched_at"]),
        )


def fetch_snapshot(client: FortnoxClient, *, now: datetime) -> FortnoxSnapshot:
    """Read a company's metadata from Fortnox with as few calls as the API allows.

    One call each for voucher series, cost centres, financial years (unfiltered: all at once) and the
    locked period; accounts take one call per 500. Fortnox errors propagate unchanged.

    A flag Fortnox leaves out (``Active`` or ``Manual`` absent or null) counts as allowed: Fortnox has
    the last word on the voucher anyway, while a pre-flight that blocks on what it does not know
    would hold exports back until someone "fixes" nothing.
    """
    return FortnoxSnapshot(
        accounts={int(account["Number"]): _flag(account, "Active") for account in client.list_accounts()},
        series={str(series["Code"]): _flag(series, "Manual") for series in client.list_voucher_series()},
        cost_centers={str(center["Code"]): _flag(center, "Active") for center in client.list_cost_centers()},
        financial_years=tuple(
            FinancialYear(
                id=int(year["Id"]),
                from_date=date.fromisoformat(year["FromDate"]),
                to_date=date.fromisoformat(year["ToDate"]),
            )
            for year in client.list_financial_years()
        ),
        locked_through=client.locked_through(),
        fetched_at=now,
    )


def _flag(item: Mapping[str, Any], name: str) -> bool:
    """A boolean flag of a Fortnox list item; absent or null counts as True (see fetch_snapshot)."""
    return item.get(name) is not False
