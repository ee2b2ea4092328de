"""The worker's scheduled tasks hold no database transaction while they call Fortnox, and a report
that arrives wakes a ``flask worker`` at once (PostgreSQL LISTEN/NOTIFY) rather than at the next tick.

On SQLite an open transaction holds the write lock (``BEGIN IMMEDIATE``): a health check or a heal
that called Fortnox inside one made every POS post and login of the process wait for Fortnox, and a
token refresh (which writes in a session of its own) waited 30 s for its own thread.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from backoffice.db import now_utc
from backoffice.export.models import ExportJob, ExportState
from backoffice.export.tasks import heal_blocked
from backoffice.integrations.fortnox.connection import TransactionOpenError, client_for, forget_client
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection
from tests.conftest import PASSWORD, REPO
from tests.fixtures import jobs_of, login, run_jobs

#: Each Fortnox call of the heal takes this long, so that it is surely still calling Fortnox while the
#: POS posts and the manager logs in.
FORTNOX_DELAY = 1.5


def fortnox_calls(emulator, tenant_id: int) -> int:
    return sum(1 for r in emulator.control.requests(tenant_id) if r["path"].startswith("/3/"))


@pytest.mark.timeout(120)
def test_a_heal_with_a_blocked_job_and_an_expired_token_stalls_neither_pos_posts_nor_login(
    app, db, pos, emulator, restaurant, make_document, make_user, live_server
):
    shop = restaurant()
    emulator.control.set_account_active(shop.tenant_id, 2890, False)
    pos.post(shop.tokens["K1"], make_document())
    assert run_jobs(db, company=shop.company) == ["blocked"]
    user = make_user(shop.company)
    # The hourly token expiry, after a restart: the stored access token has run out.
    emulator.control.expire_access_tokens(shop.tenant_id)
    db.execute(update(FortnoxConnection).where(FortnoxConnection.id == shop.connection_id)
               .values(access_expires_at=now_utc() - timedelta(minutes=1)))
    db.commit()
    forget_client(shop.connection_id)
    before = fortnox_calls(emulator, shop.tenant_id)

    # heal_blocked heals every connection with a blocked job: the earlier tests' connections are set
    # aside for this one, so only this company's heal meets the slow Fortnox.
    others = db.scalars(select(FortnoxConnection.id).where(FortnoxConnection.id != shop.connection_id,
                                                           FortnoxConnection.status == ConnectionStatus.ACTIVE)).all()
    db.execute(update(FortnoxConnection).where(FortnoxConnection.id.in_(others))
               .values(status=ConnectionStatus.NEEDS_REAUTH))
    db.commit()
    emulator.control.set_delay(FORTNOX_DELAY)
    healer = threading.Thread(target=heal_blocked, args=(app,), daemon=True)
    try:
        healer.start()
        deadline = time.monotonic() + 30
        while fortnox_calls(emulator, shop.tenant_id) == before and time.monotonic() < deadline:
            time.sleep(0.05)  # until the heal has refreshed the token and is reading Fortnox
        assert healer.is_alive()

        posted = pos.post(shop.tokens["K1"], make_document())
        logged_in = login(requests.Session(), live_server.url, user.email, PASSWORD)

        assert posted.status_code == 201 and logged_in.status_code == 302
        assert healer.is_alive(), "the POS post and the login waited for the heal's Fortnox calls"
    finally:
        healer.join(60)
        emulator.control.set_delay(0)
        db.rollback()
        db.execute(update(FortnoxConnection).where(FortnoxConnection.id.in_(others))
                   .values(status=ConnectionStatus.ACTIVE))
        db.commit()
    assert not healer.is_alive()
    db.rollback()
    assert [job.state for job in jobs_of(db, shop.company)] == ["blocked", "pending"]


def test_calling_fortnox_inside_an_open_transaction_is_refused_before_anything_is_sent(
    app, db, emulator, restaurant
):
    shop = restaurant()
    db.commit()
    connection = db.scalar(select(FortnoxConnection).where(FortnoxConnection.id == shop.connection_id))
    assert db.in_transaction()  # a read began one, as in heal_blocked before it committed first
    before = fortnox_calls(emulator, shop.tenant_id)

    with pytest.raises(TransactionOpenError):
        client_for(connection).list_voucher_series()

    assert fortnox_calls(emulator, shop.tenant_id) == before
    db.commit()
    assert client_for(connection).list_voucher_series()  # after the commit it may call


#: The worker's tick in this test: so long that only a notification can start the export in time.
TICK_SECONDS = 300

_WORKER = """
import json, sys
from backoffice import create_app
from backoffice.scheduler import worker_command
app = create_app(json.loads(sys.argv[1]))
with app.app_context():
    worker_command.callback()
"""


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="NOTIFY needs PostgreSQL (DATABASE_URL=postgresql+psycopg://...)")
@pytest.mark.timeout(120)
def test_a_posted_report_wakes_a_worker_process_long_before_its_tick(db, app_config, restaurant, pos, make_document,
                                                                    tmp_path):
    shop = restaurant()
    config = {k: v for k, v in app_config.items() if isinstance(v, (str, int, float, bool))}
    config["EXPORT_TICK_SECONDS"] = TICK_SECONDS
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([sys.executable, "-c", _WORKER, json.dumps(config)], cwd=REPO, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "listens for new work" not in log_path.read_text(encoding="utf-8"):
            assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text(encoding="utf-8")
            time.sleep(0.1)

        assert pos.post(shop.tokens["K1"], make_document()).status_code == 201
        posted = time.monotonic()
        state = None
        while time.monotonic() - posted < 30 and state != ExportState.EXPORTED:
            db.rollback()
            state = db.scalar(select(ExportJob.state).where(ExportJob.company_id == shop.company.id))
            time.sleep(0.1)

        assert state == ExportState.EXPORTED, log_path.read_text(encoding="utf-8")
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def test_a_round_started_for_one_report_makes_one_look_not_one_per_thread(app, db, pos, restaurant, make_document):
    """A round starts ``EXPORT_CONCURRENCY`` threads; the first looks at once and the others wait until
    work is found or announced. So the round a single report starts takes a database connection in at
    most two threads (the one that exports it, and the one it wakes because there may be more, unless
    the round has ended by then), not in each of them, every one of which then looked and found nothing."""
    from sqlalchemy import event

    from backoffice.export.tasks import run_due_jobs

    shop = restaurant()
    assert app.config["EXPORT_CONCURRENCY"] > 1
    # The earlier tests' connections are leased elsewhere meanwhile: only this company's work is due.
    others = db.scalars(select(FortnoxConnection.id).where(FortnoxConnection.id != shop.connection_id)).all()
    db.execute(update(FortnoxConnection).where(FortnoxConnection.id.in_(others))
               .values(lease_owner="another worker", lease_until=now_utc() + timedelta(hours=1)))
    db.commit()
    assert pos.post(shop.tokens["K1"], make_document()).status_code == 201
    threads: set[str] = set()

    def checked_out(*_):
        if threading.current_thread().name.startswith("export"):
            threads.add(threading.current_thread().name)

    engine = app.extensions["db_engine"]
    event.listen(engine, "checkout", checked_out)
    try:
        assert run_due_jobs(app) == 1
    finally:
        event.remove(engine, "checkout", checked_out)
        db.execute(update(FortnoxConnection).where(FortnoxConnection.id.in_(others))
                   .values(lease_owner=None, lease_until=None))
        db.commit()
    assert [job.state for job in jobs_of(db, shop.company)] == ["exported"]
    assert 1 <= len(threads) <= 2 < app.config["EXPORT_CONCURRENCY"], f"threads that took a connection: {sorted(threads)}"
