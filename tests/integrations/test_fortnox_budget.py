"""One Fortnox rate-limit budget per tenant, shared by every process through PostgreSQL.

Fortnox counts 25 requests per 5 s per (client id, tenant), whoever sends them. Processes that each
count alone send up to 24 each in the same window, and the emulator (playing Fortnox's limit)
answers 429. These tests run real processes against the emulator over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine

from backoffice.db import now_utc
from backoffice.integrations.fortnox.budget import SharedBudget, budget_for, budget_key
from backoffice.integrations.fortnox.connection import store_tokens
from backoffice.integrations.fortnox.models import FortnoxConnection
from backoffice.integrations.fortnox.oauth import TokenSet
from backoffice.integrations.fortnox.ratelimit import MAX_CALLS, PERIOD, SlidingWindowLimiter
from tests.conftest import REPO

postgres_only = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                                   reason="the shared budget lives in PostgreSQL (DATABASE_URL=postgresql+psycopg://...)")

#: Each process reads the chart of accounts this many times: together more than one window allows.
CALLS_PER_PROCESS = 20

_READER = """
import json, sys
from backoffice import create_app
from backoffice.db import session
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.models import FortnoxConnection
app = create_app(json.loads(sys.argv[1]))
with app.app_context():
    client = client_for(session.get(FortnoxConnection, int(sys.argv[2])))
    session.rollback()
    sys.stdin.readline()  # start together
    for _ in range(int(sys.argv[3])):
        client.list_voucher_series()
    print(client.rate_limited_count)
"""


def connected_tenant(db, emulator, name: str) -> tuple[int, int]:
    """A Fortnox connection of a new emulator tenant with fresh tokens: (tenant id, connection id)."""
    tenant_id = emulator.control.create_tenant(name, "556677-8899")
    answer = emulator.control.issue_tokens(tenant_id)
    connection = FortnoxConnection(tenant_id=tenant_id, fortnox_company_name=name)
    store_tokens(connection, TokenSet(access_token=answer["access_token"], refresh_token=answer["refresh_token"],
                                      expires_at=now_utc() + timedelta(seconds=answer["expires_in"]),
                                      scope=answer.get("scope", "")))
    db.add(connection)
    db.commit()
    return tenant_id, connection.id


def api_calls(emulator, tenant_id: int) -> list[dict]:
    return [r for r in emulator.control.requests(tenant_id) if r["path"].startswith("/3/")]


def most_in_any_window(times: list[datetime], period: float) -> int:
    """The largest number of ``times`` inside any window of ``period`` seconds."""
    times = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(times):
        while (moment - times[first]).total_seconds() >= period:
            first += 1
        most = max(most, last - first + 1)
    return most


def run_readers(app_config: dict, connection_id: int, processes: int) -> list[str]:
    config = json.dumps({k: v for k, v in app_config.items() if isinstance(v, (str, int, float, bool))})
    readers = [
        subprocess.Popen([sys.executable, "-c", _READER, config, str(connection_id), str(CALLS_PER_PROCESS)],
                         cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    time.sleep(3)  # each process builds its app and client before the start signal
    for reader in readers:
        reader.stdin.write("go\n")
        reader.stdin.flush()
    outputs = [reader.communicate(timeout=120) for reader in readers]
    assert [reader.returncode for reader in readers] == [0] * processes, outputs
    return [out.strip() for out, _ in outputs]


@postgres_only
@pytest.mark.timeout(180)
def test_two_processes_share_one_tenants_budget_and_fortnox_never_answers_429(db, app_config, emulator):
    tenant_id, connection_id = connected_tenant(db, emulator, "Budgetkrogen AB")

    rate_limited = run_readers(app_config, connection_id, processes=2)

    calls = api_calls(emulator, tenant_id)
    assert len(calls) == 2 * CALLS_PER_PROCESS
    assert [c["status"] for c in calls if c["status"] != 200] == []
    assert rate_limited == ["0", "0"]
    times = [datetime.fromisoformat(c["time"]) for c in calls]
    assert most_in_any_window(times, PERIOD) <= MAX_CALLS
    # …and the budget was spent, not wasted: 40 calls at 24 per 5 s take one wait of a window.
    assert (max(times) - min(times)).total_seconds() < 3 * PERIOD


@postgres_only
def test_a_process_that_dies_holding_the_whole_budget_frees_it_within_one_period(database_url):
    key = f"test:{time.monotonic_ns()}"
    script = (
        "import os, sys\n"
        "from sqlalchemy import create_engine\n"
        "from backoffice.integrations.fortnox.budget import SharedBudget\n"
        "budget = SharedBudget(create_engine(sys.argv[1]), sys.argv[2])\n"
        "for _ in range(budget.max_calls):\n"
        "    budget.acquire()\n"
        "print('held', flush=True)\n"
        "os._exit(9)  # no release, no clean shutdown: as if killed mid-call\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script, database_url, key], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()  # the budget is full from here on
    assert holder.wait(30) == 9
    holder.stdout.close()
    holder.stderr.close()
    engine = create_engine(database_url)
    try:
        budget = SharedBudget(engine, key)
        assert budget.in_window() == MAX_CALLS

        with budget.slot():
            waited = time.monotonic() - started

        assert PERIOD / 2 < waited < PERIOD + 1.0  # it waited for the dead process's slots to run out
    finally:
        engine.dispose()


@postgres_only
def test_a_429_pauses_every_process_on_the_tenant(database_url):
    engine = create_engine(database_url)
    try:
        key = f"test:{time.monotonic_ns()}"
        first, second = SharedBudget(engine, key), SharedBudget(engine, key)  # as in two processes
        with first.slot():
            pass
        first.report_rate_limited(1.5)
        started = time.monotonic()

        with second.slot():
            waited = time.monotonic() - started

        assert 1.2 < waited < 3.0
    finally:
        engine.dispose()


def test_the_budget_is_keyed_by_client_and_tenant_and_in_process_on_sqlite():
    engine = create_engine("sqlite://")
    try:
        budget = budget_for(engine, "demo", 17)
        assert isinstance(budget, SlidingWindowLimiter)
        assert budget is budget_for(engine, "demo", 17)
        assert budget is not budget_for(engine, "other-client", 17)
        assert budget_key("demo", 17) == "demo:17"
    finally:
        engine.dispose()
