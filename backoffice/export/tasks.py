"""Scheduler entry points: thin wrappers that give each piece of work an app context and a session."""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import Flask, current_app, g
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from backoffice.companies.models import Company
from backoffice.db import now_utc, session
from backoffice.export.attachments import (
    AttachmentClaim,
    attach_one,
    claim_next_attachment,
    has_due_attachment,
    postpone_crashed_attachment,
    release_attachment,
)
from backoffice.export.claims import (
    CRASH_RETRY_DELAY,
    DEFAULT_LEASE,
    Claim,
    claim_next_job,
    has_due_job,
    has_due_job_on,
    postpone_crashed,
    release,
    release_connection,
)
from backoffice.export.engine import export_one
from backoffice.export.models import ExportJob, ExportState
from backoffice.export.problems import heal_connection, sync_problems
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.errors import FortnoxAuthError, FortnoxError
from backoffice.integrations.fortnox.keepalive import connections_to_keep_alive, keep_connection_alive
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration
from backoffice.scheduler import round_running

log = logging.getLogger(__name__)


def configured_lease() -> timedelta:
    """The lease of this app (``EXPORT_LEASE_SECONDS``; tests and chaos runs shorten it)."""
    return timedelta(seconds=float(current_app.config.get("EXPORT_LEASE_SECONDS", DEFAULT_LEASE.total_seconds())))


def worker_name() -> str:
    """This thread's name in leases: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


#: How long the idle thread that looks for new work (the scout) waits between two looks, while another
#: thread works. New reports and fixes are announced (``scheduler.wake`` → :func:`work_arrived`), so
#: the scout only finds what nobody announces: a retry that fell due, a lease that ran out. The tick
#: is as slow; five looks a second per process were what three idle flask workers spun on.
IDLE_POLL_SECONDS = 1.0
#: How long the other idle threads wait for that one (or an announcement) before they look themselves.
IDLE_WAIT_SECONDS = 2.0


class _Round:
    """The export threads of one ``run_due_jobs``, counting those that are claiming or exporting.

    Reports keep arriving while a round runs, and the scheduler starts no new round before this one
    has ended (``max_instances=1``). So a thread that finds nothing to do stays while any other thread
    is still busy; the round ends when all threads are idle at once. Without this, the threads that
    found nothing left at once, and one thread exported every report that arrived meanwhile, one after
    the other (bench/day_close.py: p95 7 s with 200 ms per Fortnox call).

    Of the idle threads one, the scout, looks for new work every ``IDLE_POLL_SECONDS``; the others wait.
    Work found or announced wakes one waiting thread (:meth:`work_found`), and each thread that then
    finds work wakes the next: as many threads look as there is work, not all of them for each report.
    That holds from the round's start too: its first thread looks at once and the others wait to be
    woken (:meth:`join`), so the round a single report starts makes one look, not one per thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = 0
        self._joined = 0
        self._scout = threading.Lock()
        self._found = threading.Condition()
        #: work was announced after the last look of any thread (``work_arrived``)
        self.announced = False
        #: every thread was idle at once: the round is over, and a thread still waiting leaves without a look
        self.ended = False

    def join(self) -> bool:
        """A thread enters the round: the first looks at once; the others wait until work is found or
        announced (or the scout's poll). False when the round ended meanwhile (the thread leaves)."""
        with self._lock:
            self._joined += 1
            first = self._joined == 1
        if not first:
            self.wait_for_work()
        return not self.ended

    def start(self) -> None:
        """This thread looks for work now (and so sees any work announced until now)."""
        with self._lock:
            self._busy += 1
            self.announced = False

    def stop(self) -> int:
        """This thread is idle now; returns how many others are still busy."""
        with self._lock:
            self._busy -= 1
            return self._busy

    def wait_for_work(self) -> None:
        """Wait before looking again: the scout for ``IDLE_POLL_SECONDS``, the others until woken."""
        scout = self._scout.acquire(blocking=False)
        try:
            with self._found:
                self._found.wait(IDLE_POLL_SECONDS if scout else IDLE_WAIT_SECONDS)
        finally:
            if scout:
                self._scout.release()

    def work_found(self) -> None:
        """Work was found or announced: one waiting thread looks (and wakes the next if it finds some)."""
        with self._found:
            self._found.notify()

    def announce(self) -> None:
        """New work was announced (``work_arrived``): wake a thread, and remember it if none looks again."""
        with self._lock:
            self.announced = True
        self.work_found()

    def over(self) -> None:
        """The round is over: every waiting thread sees it at once."""
        with self._found:
            self.ended = True
            self._found.notify_all()


def drain(app: Flask, round_: _Round | None = None) -> int:
    """Export due jobs in this thread until none is left (and, in a round, until every thread is idle).

    One app context and one database connection serve the whole loop, each job getting a session of
    its own on that connection (nothing loaded for one job is seen by the next): a session per job
    on the pool paid a checkout and a pre-ping at every commit, about six per voucher. The thread
    keeps its Fortnox connection's lease from one job to the connection's next (``claims``).

    Returns how many jobs this thread handled.
    """
    handled = 0
    worker = worker_name()
    held: int | None = None  # the Fortnox connection whose lease this thread kept from its last work
    if round_ is not None and not round_.join():
        return handled  # the round ended before this thread was needed: it took no connection
    with app.app_context(), app.extensions["db_engine"].connect() as connection:
        lease = configured_lease()
        try:
            while True:
                if round_ is not None:
                    round_.start()
                with app.extensions["db_sessionmaker"](bind=connection) as db:
                    g.db_session = db  # what the engine reaches through ``backoffice.db.session`` too
                    before = held
                    try:
                        done, held = _next_work(db, worker, lease, held)
                    finally:
                        g.pop("db_session", None)
                others_busy = round_.stop() if round_ is not None else 0
                if done:
                    handled += done == "job"
                    if round_ is not None and held != before:
                        round_.work_found()  # work found on a new connection: there may be more, one more looks
                    continue
                if not others_busy:
                    if round_ is not None:
                        round_.over()
                    return handled
                round_.wait_for_work()
                if round_.ended:  # every thread was idle at once, and whoever ended it looked last
                    return handled
        finally:
            if held is not None:
                _give_back(app, connection, held, worker)


def _next_work(db, worker: str, lease: timedelta, held: int | None) -> tuple[str | None, int | None]:
    """Export one due job or, when none is due, attach one voucher's PDF; vouchers first.

    The connection held from the last work comes first (its PDFs only while no other connection has a
    job due); without work there it is given back, and any connection no worker holds is looked at.
    Returns what was done ("job", "attachment" or None) and the connection now held.
    """
    if held is not None:
        claim = claim_next_job(db, worker, now=now_utc(), lease=lease, held=held)
        if claim is not None:
            _export(db, claim, worker, lease)
            return "job", held
        # Vouchers first, everywhere: the held connection's PDFs wait while another connection's job is due.
        due_elsewhere = has_due_job(db.connection(), now=now_utc())
        attachment = None if due_elsewhere else claim_next_attachment(db, worker, now=now_utc(), lease=lease,
                                                                      held=held)
        if attachment is not None:
            _attach(db, attachment, worker)
            return "attachment", held
        release_connection(db, held, worker)
    claim = claim_next_job(db, worker, now=now_utc(), lease=lease)
    if claim is not None:
        _export(db, claim, worker, lease)
        return "job", claim.connection_id
    # Vouchers first: a Z-report PDF is attached only when no voucher is due.
    attachment = claim_next_attachment(db, worker, now=now_utc(), lease=lease)
    if attachment is not None:
        _attach(db, attachment, worker)
        return "attachment", attachment.connection_id
    return None, None


def _export(db, claim: Claim, worker: str, lease: timedelta) -> None:
    try:
        export_one(db, claim.job_id, clients=client_for, lease=lease)
    except Exception:
        log.exception("Export job %s crashed; it will be tried again in %s s",
                      claim.job_id, CRASH_RETRY_DELAY.total_seconds())
        postpone_crashed(db, claim.job_id, now=now_utc())
    finally:
        release(db, claim, worker, keep_connection=True)


def _attach(db, claim: AttachmentClaim, worker: str) -> None:
    try:
        attach_one(db, claim.attachment_id, clients=client_for,
                   pause=lambda: claim.connection_id is not None
                   and has_due_job_on(db, claim.connection_id, now=now_utc()))
    except Exception:
        log.exception("Attaching %s crashed; it will be tried again later", claim.attachment_id)
        postpone_crashed_attachment(db, claim.attachment_id, now=now_utc())
    finally:
        release_attachment(db, claim, worker, keep_connection=True)


def _give_back(app: Flask, connection, held: int, worker: str) -> None:
    """The thread stops (idle, or an error): give back the connection's lease it kept, if it can."""
    try:
        with app.extensions["db_sessionmaker"](bind=connection) as db:
            db.rollback()
            release_connection(db, held, worker)
    except SQLAlchemyError:
        log.warning("Could not give back the lease of Fortnox connection %s; it runs out by itself", held,
                    exc_info=True)


def run_due_jobs(app: Flask) -> int:
    """Export every due job, ``EXPORT_CONCURRENCY`` connections at a time."""
    concurrency = int(app.config.get("EXPORT_CONCURRENCY", 8))
    handled = 0
    while has_due_work(app):  # one query, not a look by every thread of a new round each tick
        round_ = _Round()
        with round_running(round_), ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="export") as pool:
            handled += sum(pool.map(drain, [app] * concurrency, [round_] * concurrency))
        if not round_.announced:
            break
        # Work was announced after the round's last look, while it ended: the scheduler would not start
        # a round before this one returns (``max_instances=1``), so look again now, not at the next tick.
    return handled


def has_due_work(app: Flask) -> bool:
    """Whether any job or attachment is due on a connection no worker holds (one look, no lock)."""
    with app.app_context(), app.extensions["db_engine"].connect() as connection:
        now = now_utc()
        return has_due_job(connection, now=now) or has_due_attachment(connection, now=now)


def heal_blocked(app: Flask) -> None:
    """Re-judge blocked jobs of connections whose jobs wait for a fix in Fortnox (every half minute)."""
    with app.app_context():
        connections = session.scalars(
            select(FortnoxConnection)
            .join(FortnoxIntegration)
            .join(ExportJob, ExportJob.company_id == FortnoxIntegration.company_id)
            .where(ExportJob.state == ExportState.BLOCKED, FortnoxConnection.status == ConnectionStatus.ACTIVE)
            .distinct()
        ).all()
        session.commit()  # no transaction (on SQLite: the write lock) stays open while Fortnox is called
        for connection in connections:
            heal_connection(session, connection, client_for(connection))


def health_check(app: Flask) -> None:
    """Hourly: look for Z-reports that never arrived (``check_completeness``), then read every active
    connection's metadata again, raising or clearing problems before the next day close."""
    check_completeness(app)
    with app.app_context():
        active = select(FortnoxConnection).where(FortnoxConnection.status == ConnectionStatus.ACTIVE)
        connections = session.scalars(active).all()
        session.commit()  # no transaction (on SQLite: the write lock) stays open while Fortnox is called
        for connection in connections:
            heal_connection(session, connection, client_for(connection))


def keep_alive(app: Flask, now: datetime | None = None) -> int:
    """Hourly: keep every lapsing user connection alive (``integrations/fortnox/keepalive.py``); a
    connection Fortnox refuses gets its banner and mail at once. Returns how many were refreshed."""
    now = now or now_utc()
    kept = 0
    with app.app_context():
        for connection in connections_to_keep_alive(session, now):
            try:
                keep_connection_alive(session, connection, now=now)
            except FortnoxAuthError:
                log.warning("Keep-alive: Fortnox refused connection %s; a new login is needed", connection.id)
                session.expire_all()
                for integration in list(connection.integrations):
                    sync_problems(session, integration.company, now=now)  # the banner, and its mail
                continue
            except FortnoxError:
                log.warning("Keep-alive of connection %s could not reach Fortnox; next hour again", connection.id,
                            exc_info=True)
                continue
            kept += 1
            log.info("Keep-alive refreshed the Fortnox token of connection %s", connection.id)
        session.commit()
    return kept


def check_completeness(app: Flask) -> None:
    """The health check's first part, which needs no Fortnox: at every company whose integration is
    active, open or close the problems of Z-reports that never arrived and grand totals that jump
    (``problems.completeness_causes``)."""
    with app.app_context():
        companies = select(Company).join(FortnoxIntegration).where(FortnoxIntegration.active.is_(True))
        for company in session.scalars(companies).all():
            sync_problems(session, company, completeness=True)
