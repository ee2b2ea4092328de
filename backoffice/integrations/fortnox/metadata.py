"""The one store of what we know about a company's Fortnox books: a snapshot, per financial year.

:class:`FortnoxSnapshot` holds the financial years, and for each year we needed its chart
(:class:`Chart`: accounts with description and active flag, voucher series with description and
manual flag), the cost centres and the locked period, each as read at a known time. Accounts and
voucher series belong to a financial year in Fortnox (``docs/fortnox/facts-2026-12.md``): a voucher
dated last year is judged against last year's chart, so the snapshot holds the chart of every year
a voucher needed, not only the current one. Cost centres need their own scope and licence, and the
locked period's scope is unknown: when Fortnox refuses either, the snapshot records that it could
not be read (:class:`Unreadable`) instead of failing, so vouchers that do not need it still go.

The snapshot is stored on the connection row (``FortnoxConnection.metadata_json``) and read and
refreshed only through this module: the export pre-flight, the health check, the settings wizard
and the cost-centre page all see the same facts. The functions that call Fortnox take the
:class:`~backoffice.integrations.fortnox.client.FortnoxClient` from their caller and commit the
caller's session before the first call: no transaction stays open while Fortnox is called.

The value types, :func:`fetch_snapshot` and :func:`fetch_chart` use no web framework and no database.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from backoffice.integrations.fortnox.errors import AccessDeniedError

if TYPE_CHECKING:  # annotations only: the client imports requests, the models SQLAlchemy
    from sqlalchemy.orm import Session

    from backoffice.integrations.fortnox.client import FortnoxClient
    from backoffice.integrations.fortnox.models import FortnoxConnection

#: Version of the ``to_dict`` layout; ``from_dict`` refuses others (the store then reads Fortnox again).
SNAPSHOT_VERSION = 2
#: A snapshot (or a year's chart) older than this is read again before an export.
METADATA_MAX_AGE = timedelta(hours=1)


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

    @property
    def label(self) -> str:
        """``2026`` for a calendar year, else ``2025-07-01–2026-06-30`` (for keys and sentences)."""
        if (self.from_date.month, self.from_date.day, self.to_date.month, self.to_date.day) == (1, 1, 12, 31) \
                and self.from_date.year == self.to_date.year:
            return str(self.from_date.year)
        return f"{self.from_date.isoformat()}–{self.to_date.isoformat()}"


@dataclass(frozen=True, slots=True)
class Account:
    """An account of one financial year's chart."""

    description: str
    active: bool


@dataclass(frozen=True, slots=True)
class Series:
    """A voucher series of one financial year; only manual series take vouchers from us."""

    description: str
    manual: bool


@dataclass(frozen=True, slots=True)
class CostCenter:
    """A cost centre (they are not per financial year)."""

    description: str
    active: bool


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Fortnox refused to let us read a part of the books (a missing scope or licence).

    fortnox_code, fortnox_message: its answer, shown to the user under our sentence.
    """

    fortnox_code: int | None
    fortnox_message: str


@dataclass(frozen=True, slots=True)
class Chart:
    """One financial year's accounts and voucher series, read at ``fetched_at`` (read-only mappings)."""

    year_id: int
    accounts: Mapping[int, Account]
    series: Mapping[str, Series]
    fetched_at: datetime

    def __post_init__(self) -> None:
        _check_utc(self.fetched_at)
        object.__setattr__(self, "accounts", MappingProxyType(dict(self.accounts)))
        object.__setattr__(self, "series", MappingProxyType(dict(self.series)))


@dataclass(frozen=True, slots=True)
class FortnoxSnapshot:
    """A company's Fortnox metadata; read-only (the mappings are read-only views).

    financial_years: every financial year, oldest first.
    charts: financial-year id → its chart, for the current year and every year a voucher needed.
    cost_centers: code → cost centre; empty when they could not be read (see ``cost_centers_error``).
    locked_through: last day of the locked period, or None when nothing is locked (or it is unknown).
    fetched_at: when the years, cost centres and locked period were read (aware UTC).
    cost_centers_error, locked_period_error: why that part could not be read, or None.
    """

    financial_years: tuple[FinancialYear, ...]
    charts: Mapping[int, Chart]
    cost_centers: Mapping[str, CostCenter]
    locked_through: date | None
    fetched_at: datetime
    cost_centers_error: Unreadable | None = None
    locked_period_error: Unreadable | None = None

    def __post_init__(self) -> None:
        _check_utc(self.fetched_at)
        object.__setattr__(self, "charts", MappingProxyType(dict(self.charts)))
        object.__setattr__(self, "cost_centers", MappingProxyType(dict(self.cost_centers)))
        years = tuple(sorted(self.financial_years, key=lambda year: year.from_date))
        object.__setattr__(self, "financial_years", years)

    # --- lookups ----------------------------------------------------------------------------------

    def financial_year_for(self, day: date) -> FinancialYear | None:
        """The financial year that covers ``day``, or None when there is none."""
        return next((year for year in self.financial_years if year.covers(day)), None)

    def chart_for(self, day: date) -> Chart | None:
        """The chart of the financial year covering ``day``, or None (no such year, or not read yet)."""
        year = self.financial_year_for(day)
        return None if year is None else self.charts.get(year.id)

    def current_year(self) -> FinancialYear | None:
        """The financial year of the day the snapshot was read (the one users mean without a date)."""
        return self.financial_year_for(self.fetched_at.date())

    def is_locked(self, day: date) -> bool:
        """Tell whether ``day`` is inside the locked period (locked through that date, included)."""
        return self.locked_through is not None and day <= self.locked_through

    def age(self, now: datetime) -> timedelta:
        """How long ago the years, cost centres and locked period were read."""
        return now - self.fetched_at

    def with_chart(self, chart: Chart) -> FortnoxSnapshot:
        """The same snapshot with ``chart`` added (or replacing the one of its year)."""
        return replace(self, charts={**self.charts, chart.year_id: chart})

    # --- JSON -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (string keys, ISO dates) that :meth:`from_dict` reads back unchanged."""
        return {
            "version": SNAPSHOT_VERSION,
            "financial_years": [
                {"id": year.id, "from_date": year.from_date.isoformat(), "to_date": year.to_date.isoformat()}
                for year in self.financial_years
            ],
            "charts": {
                str(chart.year_id): {
                    "accounts": {str(n): [a.description, a.active] for n, a in sorted(chart.accounts.items())},
                    "series": {code: [s.description, s.manual] for code, s in sorted(chart.series.items())},
                    "fetched_at": chart.fetched_at.isoformat(),
                }
                for chart in sorted(self.charts.values(), key=lambda chart: chart.year_id)
            },
            "cost_centers": {code: [c.description, c.active] for code, c in sorted(self.cost_centers.items())},
            "locked_through": self.locked_through.isoformat() if self.locked_through else None,
            "fetched_at": self.fetched_at.isoformat(),
            "cost_centers_error": _unreadable_dict(self.cost_centers_error),
            "locked_period_error": _unreadable_dict(self.locked_period_error),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FortnoxSnapshot:
        """Read a dict made by :meth:`to_dict`; raises ValueError for another layout version."""
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unknown Fortnox snapshot version {data.get('version')!r}")
        locked = data["locked_through"]
        return cls(
            financial_years=tuple(
                FinancialYear(int(y["id"]), date.fromisoformat(y["from_date"]), date.fromisoformat(y["to_date"]))
                for y in data["financial_years"]
            ),
            charts={
                int(year_id): Chart(
                    year_id=int(year_id),
                    accounts={int(n): Account(str(d), bool(a)) for n, (d, a) in chart["accounts"].items()},
                    series={str(code): Series(str(d), bool(m)) for code, (d, m) in chart["series"].items()},
                    fetched_at=datetime.fromisoformat(chart["fetched_at"]),
                )
                for year_id, chart in data["charts"].items()
            },
            cost_centers={str(code): CostCenter(str(d), bool(a)) for code, (d, a) in data["cost_centers"].items()},
            locked_through=date.fromisoformat(locked) if locked else None,
            fetched_at=datetime.fromisoformat(data["fetched_at"]),
            cost_centers_error=_unreadable_of(data.get("cost_centers_error")),
            locked_period_error=_unreadable_of(data.get("locked_period_error")),
        )


def _check_utc(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ValueError("fetched_at must be an aware UTC datetime")


def _unreadable_dict(value: Unreadable | None) -> dict[str, Any] | None:
    return None if value is None else {"fortnox_code": value.fortnox_code, "fortnox_message": value.fortnox_message}


def _unreadable_of(data: Mapping[str, Any] | None) -> Unreadable | None:
    return None if not data else Unreadable(data.get("fortnox_code"), str(data.get("fortnox_message") or ""))


# --- reading Fortnox (pure: the client is given) ----------------------------------------------------


def fetch_snapshot(client: FortnoxClient, *, now: datetime, years: Iterable[int] = ()) -> FortnoxSnapshot:
    """Read a company's metadata from Fortnox with as few calls as the API allows.

    One call each for financial years (all at once), cost centres and the locked period, and two
    per chart (accounts, one call per 500, and voucher series): the current year's, plus those of
    ``years`` (ids). A refused cost-centre or locked-period read (no scope or licence) is recorded
    as unreadable; every other Fortnox error propagates unchanged.

    A flag Fortnox leaves out (``Active`` or ``Manual`` absent or null) counts as allowed: Fortnox has
    the last word on the voucher anyway, while a pre-flight that blocks on what it does not know
    would hold exports back until someone "fixes" nothing.
    """
    financial_years = tuple(
        FinancialYear(int(y["Id"]), date.fromisoformat(y["FromDate"]), date.fromisoformat(y["ToDate"]))
        for y in client.list_financial_years()
    )
    cost_centers: dict[str, CostCenter] = {}
    cost_centers_error = locked_period_error = None
    try:
        cost_centers = {
            str(c["Code"]): CostCenter(c.get("Description") or "", _flag(c, "Active")) for c in client.list_cost_centers()
        }
    except AccessDeniedError as exc:
        cost_centers_error = Unreadable(exc.code, exc.fortnox_message or str(exc))
    locked_through = None
    try:
        locked_through = client.locked_through()
    except AccessDeniedError as exc:
        locked_period_error = Unreadable(exc.code, exc.fortnox_message or str(exc))
    snapshot = FortnoxSnapshot(financial_years, {}, cost_centers, locked_through, now,
                               cost_centers_error, locked_period_error)
    wanted = set(years)
    current = snapshot.current_year()
    if current is not None:
        wanted.add(current.id)
    for year_id in sorted(wanted & {year.id for year in financial_years}):
        snapshot = snapshot.with_chart(fetch_chart(client, year_id, now=now))
    return snapshot


def fetch_chart(client: FortnoxClient, year_id: int, *, now: datetime) -> Chart:
    """Read one financial year's accounts and voucher series (two calls, more past 500 accounts)."""
    return Chart(
        year_id=year_id,
        accounts={
            int(a["Number"]): Account(a.get("Description") or "", _flag(a, "Active"))
            for a in client.list_accounts(financial_year=year_id)
        },
        series={
            str(s["Code"]): Series(s.get("Description") or "", _flag(s, "Manual"))
            for s in client.list_voucher_series(financial_year=year_id)
        },
        fetched_at=now,
    )


def _flag(item: Mapping[str, Any], name: str) -> bool:
    """A boolean flag of a Fortnox list item; absent or null counts as True (see fetch_snapshot)."""
    return item.get(name) is not False


# --- the store (the snapshot kept on the connection row) --------------------------------------------


def stored_snapshot(connection: FortnoxConnection | None) -> FortnoxSnapshot | None:
    """The snapshot kept on the connection, or None (never read, or stored in an older layout)."""
    if connection is None or not connection.metadata_json:
        return None
    try:
        return _parsed(connection.metadata_json)
    except (ValueError, KeyError, TypeError):
        return None


@functools.lru_cache(maxsize=256)
def _parsed(metadata_json: str) -> FortnoxSnapshot:
    """The snapshot stored as exactly this text, parsed once per process: a memo of the stored value
    (keyed by its whole text, so it can never disagree with the row), not a second store."""
    return FortnoxSnapshot.from_dict(json.loads(metadata_json))


def _keep(session: Session, connection: FortnoxConnection, snapshot: FortnoxSnapshot) -> None:
    connection.metadata_json = json.dumps(snapshot.to_dict(), ensure_ascii=False)
    connection.metadata_fetched_at = snapshot.fetched_at
    session.commit()


def refresh_snapshot(session: Session, connection: FortnoxConnection, client: FortnoxClient, *,
                     now: datetime, days: Iterable[date] = ()) -> FortnoxSnapshot:
    """Read the metadata from Fortnox again and keep it on the connection (commits before and after).

    The charts read are the current year's and those of the years covering ``days``, plus the years
    the stored snapshot already held (a blocked voucher of last year must see last year fixed).
    """
    session.commit()  # no transaction stays open while Fortnox is called
    before = stored_snapshot(connection)
    years = set(before.charts) if before is not None else set()
    snapshot = fetch_snapshot(client, now=now, years=years)
    missing = {year.id for day in days if (year := snapshot.financial_year_for(day)) is not None} - set(snapshot.charts)
    for year_id in sorted(missing):
        snapshot = snapshot.with_chart(fetch_chart(client, year_id, now=now))
    _keep(session, connection, snapshot)
    return snapshot


def snapshot_for(session: Session, connection: FortnoxConnection, client: FortnoxClient, day: date, *,
                 now: datetime, max_age: timedelta = METADATA_MAX_AGE,
                 chart_max_age: timedelta | None = None) -> FortnoxSnapshot:
    """A snapshot that can judge a voucher dated ``day``, read from Fortnox only as far as needed.

    The stored one when it is younger than ``max_age`` and holds the chart of the day's year younger
    than ``chart_max_age`` (default ``max_age``); else, when only that chart is missing or old, just
    the chart is read (two calls); else everything is read again. Commits.
    """
    chart_max_age = max_age if chart_max_age is None else chart_max_age
    snapshot = stored_snapshot(connection)
    if snapshot is not None and snapshot.age(now) <= max_age:
        year = snapshot.financial_year_for(day)
        chart = None if year is None else snapshot.charts.get(year.id)
        if year is None or (chart is not None and now - chart.fetched_at <= chart_max_age):
            return snapshot
        session.commit()  # no transaction stays open while Fortnox is called
        snapshot = snapshot.with_chart(fetch_chart(client, year.id, now=now))
        _keep(session, connection, snapshot)
        return snapshot
    return refresh_snapshot(session, connection, client, now=now, days=[day])


def forget_charts(connection: FortnoxConnection) -> None:
    """Read the charts from Fortnox again at the next look (we changed an account or a series); the
    rest of the snapshot stays as it is. The caller commits."""
    snapshot = stored_snapshot(connection)
    if snapshot is not None:
        stale = snapshot.fetched_at - 2 * METADATA_MAX_AGE
        charts = {year_id: replace(chart, fetched_at=stale) for year_id, chart in snapshot.charts.items()}
        connection.metadata_json = json.dumps(replace(snapshot, charts=charts).to_dict(), ensure_ascii=False)
