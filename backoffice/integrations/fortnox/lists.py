"""Fortnox's voucher series and chart of accounts as the settings wizard lists them.

They come from the one store of Fortnox metadata (``integrations.fortnox.metadata``), the same
snapshot the export pre-flight judges vouchers by, so the wizard and the exports never disagree on
whether an account is active. A page reuses the current year's chart for a minute; NÄSTA and "Läs
om" read it from Fortnox again (two calls), and the rest of the snapshot when it is an hour old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app

from backoffice.db import business_today, now_utc, session
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.errors import FortnoxAuthError, FortnoxError
from backoffice.integrations.fortnox.metadata import Chart, forget_charts, snapshot_for, stored_snapshot
from backoffice.integrations.fortnox.models import FortnoxConnection
from backoffice.messages import integrations as msg

#: How long the wizard's pages reuse the current year's chart (Fortnox allows 25 calls per 5 s per
#: company, shared with the exports).
WIZARD_CHART_MAX_AGE = timedelta(seconds=60)


class FortnoxUnavailable(Exception):
    """Fortnox could not be asked; ``message`` says why, in Swedish."""

    def __init__(self, message: str, *, reauth: bool = False):
        super().__init__(message)
        self.message = message
        self.reauth = reauth


def call_fortnox(call):
    # End the request's transaction first: on SQLite it holds the write lock, which a token refresh
    # (in its own session) would wait for while this request waits for the refresh.
    session.commit()
    try:
        return call()
    except FortnoxAuthError as exc:
        raise FortnoxUnavailable(msg.AUTH_EXPIRED, reauth=True) from exc
    except FortnoxError as exc:
        current_app.logger.warning("Fortnox could not be read for the wizard: %s", exc)
        raise FortnoxUnavailable(msg.FORTNOX_NOT_ANSWERING) from exc


@dataclass(frozen=True, slots=True)
class SeriesChoice:
    code: str
    description: str
    manual: bool



def _current_chart(connection: FortnoxConnection, *, fresh: bool) -> Chart | None:
    """The chart of today's financial year from the store, read again when older than a minute (or
    at once when ``fresh``); None when Fortnox has no financial year for today."""
    now = now_utc()
    today = business_today(now)
    client = client_for(connection)
    max_age = timedelta(0) if fresh else WIZARD_CHART_MAX_AGE
    snapshot = call_fortnox(lambda: snapshot_for(session, connection, client, today, now=now,
                                                 chart_max_age=max_age))
    return snapshot.chart_for(today)


def fortnox_accounts(connection: FortnoxConnection, *, fresh: bool = False) -> dict[int, tuple[str, bool]]:
    """The chart of accounts of today's financial year: number → (description, active)."""
    chart = _current_chart(connection, fresh=fresh)
    return {} if chart is None else {number: (a.description, a.active) for number, a in chart.accounts.items()}


def fortnox_series(connection: FortnoxConnection, *, fresh: bool = False) -> list[SeriesChoice]:
    """The voucher series of today's financial year."""
    chart = _current_chart(connection, fresh=fresh)
    return [] if chart is None else [SeriesChoice(code, s.description, s.manual) for code, s in chart.series.items()]


def chart_read_at(connection: FortnoxConnection) -> datetime | None:
    """When the chart of today's financial year the lists show was read from Fortnox (None: never)."""
    snapshot = stored_snapshot(connection)
    chart = snapshot.chart_for(business_today()) if snapshot is not None else None
    return chart.fetched_at if chart is not None else None


def fortnox_last_booked_day(connection: FortnoxConnection) -> date | None:
    """The latest ``TransactionDate`` among Fortnox's vouchers (any series) up to today, or None when
    there is none: the vouchers of today's financial year, or of the year before when today's holds
    none yet (a start in January). Reads every page of that year's voucher list, so only the
    Startdatum step asks."""
    now = now_utc()
    today = business_today(now)
    client = client_for(connection)
    snapshot = call_fortnox(lambda: snapshot_for(session, connection, client, today, now=now))
    earlier = [year for year in snapshot.financial_years if year.from_date <= today]
    for year in reversed(earlier[-2:]):
        items = call_fortnox(lambda year=year: client.list_all_vouchers(financial_year=year.id))
        days = [date.fromisoformat(item["TransactionDate"][:10]) for item in items if item.get("TransactionDate")]
        booked = [day for day in days if day <= today]
        if booked:
            return max(booked)
    return None


def forget_fortnox_lists(connection_id: int) -> None:
    """Read the charts from Fortnox again next time (we changed its accounts or series). Commits."""
    connection = session.get(FortnoxConnection, connection_id)
    if connection is not None:
        forget_charts(connection)
        session.commit()
