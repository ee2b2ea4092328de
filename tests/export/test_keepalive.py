"""Connections that never lapse: keep-alive with a clock passed in, against the emulator, whose
tokens are aged day by day (``tokens/age``) so that 90 days pass for Fortnox as for us."""

from __future__ import annotations

from datetime import timedelta

from backoffice.db import now_utc
from backoffice.export.claims import DEFAULT_LEASE
from backoffice.export.engine import export_one
from backoffice.export.models import ExportState
from backoffice.export.tasks import keep_alive
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.keepalive import KEEP_ALIVE_AFTER
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection
from backoffice.scheduler import JOBS
from tests.fixtures import DEMO_MAPPING, fresh, jobs_of

DAY = 86400


def close_for(app, emulator, made, days: int, *, with_keep_alive: bool) -> tuple[int, object]:
    """Let ``days`` pass, a day at a time, for Fortnox (the emulator's tokens) and for the worker."""
    start = now_utc()
    kept = 0
    for day in range(1, days + 1):
        emulator.control.age_tokens(made.tenant_id, DAY)
        if with_keep_alive:
            kept += keep_alive(app, now=start + timedelta(days=day))
    return kept, start + timedelta(days=days)


def test_after_90_days_closed_the_first_z_report_exports_without_anyone_logging_in(db, app, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    emulator.control.clear_requests()

    kept, reopened = close_for(app, emulator, made, 90, with_keep_alive=True)

    assert kept >= 3  # (the suite's other connections are kept alive too)
    fresh(db)
    connection = db.get(FortnoxConnection, made.connection_id)
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.checked_at == reopened  # "Senast kontrollerad": the keep-alive of day 90
    checks = [r for r in emulator.control.requests(made.tenant_id) if r["path"].endswith("/companyinformation")]
    # Days 30, 60 and 90, each well inside Fortnox's 45 days: one call each, through the rate limiter.
    assert len(checks) == 3
    reports(made, days=1)
    [job] = jobs_of(db, made.company)
    assert export_one(db, job.id, clients=client_for, lease=DEFAULT_LEASE) == ExportState.EXPORTED
    assert len(emulator.control.vouchers(made.tenant_id)) == 1
    card = made.admin.get("/foretag/integrationer/").text
    assert "Senast kontrollerad" in card


def test_without_keep_alive_the_connection_lapses_after_45_days(db, app, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)

    close_for(app, emulator, made, 46, with_keep_alive=False)

    reports(made, days=1)
    [job] = jobs_of(db, made.company)
    assert export_one(db, job.id, clients=client_for, lease=DEFAULT_LEASE) == ExportState.BLOCKED
    fresh(db)
    assert db.get(FortnoxConnection, made.connection_id).status == ConnectionStatus.NEEDS_REAUTH


def test_keep_alive_leaves_recently_checked_connections_and_service_accounts_alone(db, app, site, connect, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    service = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    fresh(db)
    db.get(FortnoxConnection, service.connection_id).kind = "service"
    db.commit()
    checked = db.get(FortnoxConnection, made.connection_id).checked_at

    keep_alive(app, now=checked + KEEP_ALIVE_AFTER - timedelta(hours=1))
    keep_alive(app, now=checked + KEEP_ALIVE_AFTER + timedelta(days=5))

    fresh(db)
    assert db.get(FortnoxConnection, made.connection_id).checked_at == checked + KEEP_ALIVE_AFTER + timedelta(days=5)
    assert db.get(FortnoxConnection, service.connection_id).checked_at < checked + timedelta(minutes=1)


def test_a_refused_keep_alive_marks_the_connection_and_opens_its_problem(db, app, site, connect, emulator):
    from backoffice.export.banners import open_problems

    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    emulator.control.revoke_tokens(made.tenant_id)

    assert keep_alive(app, now=now_utc() + KEEP_ALIVE_AFTER) == 0

    fresh(db)
    assert db.get(FortnoxConnection, made.connection_id).status == ConnectionStatus.NEEDS_REAUTH
    assert [p.kind for p in open_problems(made.company)] == ["auth_expired"]


def test_keep_alive_is_on_the_workers_schedule():
    assert any(job["func"] == "backoffice.export.tasks:keep_alive" for job in JOBS)
