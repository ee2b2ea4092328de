"""The worker's schedule (APScheduler 3): the database is the queue, the scheduler only wakes the worker.

``flask worker`` runs a ``BlockingScheduler`` in its own process; the web process runs a
``BackgroundScheduler`` only when ``EMBEDDED_WORKER=1`` (``make run``).

A report that arrives wakes a worker at once (:func:`wake`) instead of waiting for the next tick:
in-process for the embedded worker, and on PostgreSQL by ``NOTIFY`` on :data:`CHANNEL`, which every
``flask worker`` listens on (:func:`listen_for_work`). The tick stays as the fallback: a notification
lost with a dropped connection costs at most one tick.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: Every scheduled job, as data: a stable id, a text reference and a trigger.
JOBS = (
    {"id": "export-due-jobs", "func": "backoffice.export.tasks:run_due_jobs", "trigger": "interval", "seconds": 1},
    {"id": "heal-blocked", "func": "backoffice.export.tasks:heal_blocked", "trigger": "interval", "seconds": 30},
    {"id": "fortnox-health-check", "func": "backoffice.export.tasks:health_check", "trigger": "interval", "hours": 1},
    {"id": "correction-runs", "func": "backoffice.correction.tasks:run_due_corrections", "trigger": "interval",
     "seconds": 2},
    {"id": "reconcile-runs", "func": "backoffice.reconcile.tasks:run_pending", "trigger": "interval", "seconds": 2},
    {"id": "fortnox-keep-alive", "func": "backoffice.export.tasks:keep_alive", "trigger": "interval", "hours": 1},
    {"id": "send-mail", "func": "backoffice.mail.tasks:send_mail", "trigger": "interval", "seconds": 60},
)
_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
#: The PostgreSQL channel on which arriving work is announced to every ``flask worker``.
CHANNEL = "backoffice_export"
#: How long the listener waits before it connects again after losing its connection.
RELISTEN_DELAY = 5.0


class _Round(Protocol):
    def announce(self) -> None: ...


#: The export rounds running in this process (at most one: ``max_instances=1``), for :func:`work_arrived`.
_rounds: set[_Round] = set()
_rounds_lock = threading.Lock()


@contextmanager
def round_running(round_: _Round) -> Iterator[None]:
    """Tell ``round_`` of work that arrives (:func:`work_arrived`) while the block runs (export/tasks.py)."""
    with _rounds_lock:
        _rounds.add(round_)
    try:
        yield
    finally:
        with _rounds_lock:
            _rounds.discard(round_)


def work_arrived() -> bool:
    """New work was announced (:func:`wake`): the idle threads of a running round look at once,
    instead of at the scout's next look. False when no round runs (then the scheduler starts one)."""
    with _rounds_lock:
        rounds = list(_rounds)
    for round_ in rounds:
        round_.announce()
    return bool(rounds)


def make_scheduler(app: Flask, *, blocking: bool = False) -> BaseScheduler:
    """A scheduler with every job of ``JOBS``, each called with the app."""
    kind = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(timezone=UTC, executors={"default": ThreadPoolExecutor(4)}, job_defaults=_DEFAULTS)
    for job in JOBS:
        if job["id"] == "export-due-jobs" and app.config.get("EXPORT_TICK_SECONDS"):
            job = {**job, "seconds": float(app.config["EXPORT_TICK_SECONDS"])}  # tests: a tick that never comes
        scheduler.add_job(kwargs={"app": app}, replace_existing=True, **job)
    return scheduler


def start_embedded(app: Flask) -> BackgroundScheduler:
    """Run the worker inside the web process (``EMBEDDED_WORKER=1``)."""
    scheduler = make_scheduler(app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    log.info("The export worker runs inside the web process (EMBEDDED_WORKER=1)")
    return scheduler


#: The notification every ``flask worker`` listens for (``listen_for_work``).
_NOTIFY = text("SELECT pg_notify(:channel, '')").bindparams(channel=CHANNEL)


def announce_work(db: Session) -> None:
    """Notify every ``flask worker`` of work that ``db``'s transaction brings: PostgreSQL delivers the
    ``NOTIFY`` when the transaction commits and drops it on a rollback, so a worker never looks
    before the work is there. Nothing on SQLite. Call before the commit, then ``wake(announced=True)``.

    The intake's hot path uses it: the notification rides on the request's own connection and
    commit, instead of taking a second connection from the pool after it (``wake``)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(_NOTIFY)


def wake(app: Flask | None = None, *, announced: bool = False) -> None:
    """Export now rather than at the next tick (a new Z-report arrived, a fix was saved).

    The embedded worker is woken in-process; on PostgreSQL every ``flask worker`` is notified too,
    unless the committed transaction announced the work already (``announce_work``).
    """
    app = app or current_app
    scheduler = app.extensions.get("scheduler")
    if scheduler is not None and scheduler.running:
        _run_round_now(scheduler)
    engine = app.extensions["db_engine"]
    if engine.dialect.name == "postgresql" and not announced:
        try:
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(_NOTIFY)
        except SQLAlchemyError:
            log.warning("Could not notify the export workers; the next tick finds the work", exc_info=True)


def _run_round_now(scheduler: BaseScheduler) -> None:
    """Let the running round's idle threads look now, or start a round when none runs."""
    if work_arrived():
        return
    try:
        scheduler.modify_job("export-due-jobs", next_run_time=datetime.now(UTC))
    except JobLookupError:  # not started yet: its first run is about to come
        pass


def listen_for_work(app: Flask, scheduler: BaseScheduler, stop: threading.Event) -> None:
    """Run the export round at once whenever a web process announces work (PostgreSQL ``LISTEN``).

    Runs in a thread of ``flask worker`` on a connection of its own, outside the pool, and reconnects
    after a failure; until then the tick finds the work.
    """
    import psycopg

    url = make_url(app.config["DATABASE_URL"]).set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                log.info("The export worker listens for new work on %s", CHANNEL)
                while not stop.is_set():
                    if any(True for _ in connection.notifies(timeout=1.0, stop_after=1)):
                        _run_round_now(scheduler)
        except psycopg.Error:
            log.warning("Listening for new work failed; again in %s s", RELISTEN_DELAY, exc_info=True)
            stop.wait(RELISTEN_DELAY)


@click.command("worker")
def worker_command() -> None:
    """Run the export worker in this process (for production, beside gunicorn)."""
    app = current_app._get_current_object()
    scheduler = make_scheduler(app, blocking=True)
    stop = threading.Event()
    if app.extensions["db_engine"].dialect.name == "postgresql":
        threading.Thread(target=listen_for_work, args=(app, scheduler, stop), name="listen", daemon=True).start()
    click.echo("Export worker started; Ctrl+C stops it.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop.set()
