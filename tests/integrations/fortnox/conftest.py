"""A real Fortnox emulator on 127.0.0.1 per test, and clients of our own talking to it over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal

import pytest
import requests

from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.ratelimit import SlidingWindowLimiter
from fortnox_emulator.server import RunningEmulator, start_emulator

ALL_SCOPES = "bookkeeping costcenter companyinformation settings"
CLIENT_ID, CLIENT_SECRET = "demo", "demo-secret"  # the emulator's defaults
REDIRECT_URI = "http://127.0.0.1:9/fortnox/callback"


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """A fresh emulator (seeded demo company, control API on); its own rate-limit windows."""
    with start_emulator() as running:
        yield running


@pytest.fixture
def tenant_id(emulator: RunningEmulator) -> int:
    return emulator.default_tenant_id


@pytest.fixture
def make_client(emulator: RunningEmulator, tenant_id: int) -> Callable[..., FortnoxClient]:
    """Make a FortnoxClient on the emulator with a fresh bearer token (a plain session with the header)."""
    sessions: list[requests.Session] = []

    def make(
        *,
        tenant: int | None = None,
        scope: str = ALL_SCOPES,
        limiter: SlidingWindowLimiter | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
    ) -> FortnoxClient:
        token = emulator.control.issue_tokens(tenant or tenant_id, scope)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token['access_token']}"
        sessions.append(session)
        return FortnoxClient(session, base_url=emulator.url + "/3", timeout=timeout, limiter=limiter)

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def client(make_client: Callable[..., FortnoxClient]) -> FortnoxClient:
    """A client of the demo company with all four scopes."""
    return make_client()


def this_year_day(month: int = 3, day: int = 14) -> date:
    """A day in the emulator's current financial year (it seeds last year and this year)."""
    return date(date.today().year, month, day)


def voucher(
    day: date,
    *,
    description: str = "Z-rapport 1, kassa K1",
    series: str = "F",
    rows: list[dict] | None = None,
    comments: str | None = None,
) -> dict:
    """A balanced cash Z-report voucher body (125.50 in the till, 100.40 sales, 25.10 VAT)."""
    if rows is None:
        rows = [
            {"Account": 1910, "Debit": Decimal("125.50"), "Credit": Decimal("0.00")},
            {"Account": 3001, "Debit": Decimal("0.00"), "Credit": Decimal("100.40")},
            {"Account": 2611, "Debit": Decimal("0.00"), "Credit": Decimal("25.10")},
        ]
    return {
        "Voucher": {
            "Description": description,
            "TransactionDate": day.isoformat(),
            "VoucherSeries": series,
            "VoucherRows": rows,
            **({"Comments": comments} if comments is not None else {}),
        }
    }
