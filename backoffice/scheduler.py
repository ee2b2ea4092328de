"""The worker's schedule (APScheduler 3): the database is the queue, the scheduler only wakes the worker.

``flask worker`` runs a ``BlockingScheduler`` in its own process; the web process runs a
``BackgroundScheduler`` only when ``EMBEDDED_WORKER=1`` (``make run``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app

log = logging.getLogger(__name__)

#: Every scheduled job, as data: a stable id, a text reference and a trigger.
JOBS = (
    {"id": "export-due-jobs", "func": "backoffice.export.tasks:run_due_jobs", "trigger": "interval", "seconds": 1},
    {"id": "heal-blocked", "func": "backoffice.export.tasks:heal_blocked", "trigger": "interval", "seconds": 30},
    {"id": "fortnox-health-check", "func": "backoffice.export.tasks:health_check", "trigger": "interval", "hours": 1},
    {"id": "reconcile-runs", "func": "backoffice.reconcile.tasks:run_pending", "trigger": "interval", "seconds": 2},
    {"id": "fortnox-keep-alive", "func": "backoffice.integrations.fortnox.tasks:keep_alive", "trigger": "interval", "hours": 1},
    {"id": "send-mail", "func": "backoffice.mail.tasks:send_mail", "trigger": "interval", "seconds": 60},
)
_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}


def make_scheduler(app: Flask, *, blocking: bool = False) -> BaseScheduler:
    """A scheduler with every job of ``JOBS``, each called with the app."""
    kind = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(timezone=UTC, executors={"default": ThreadPoolExecutor(4)}, job_defaults=_DEFAULTS)
    for job in JOBS:
        scheduler.add_job(kwargs={"app": app}, replace_existing=True, **job)
    return scheduler


def start_embedded(app: Flask) -> BackgroundScheduler:
    """Run the worker inside the web process (``EMBEDDED_WORKER=1``)."""
    scheduler = make_scheduler(app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    log.info("The export worker runs inside the web process (EMBEDDED_WORKER=1)")
    return scheduler


def wake(app: Flask | None = None) -> None:
    """Export now rather than at the next tick (a new Z-report arrived); only in-process."""
    app = app or current_app
    scheduler = app.extensions.get("scheduler")
    if scheduler is not None and scheduler.running:
        scheduler.modify_job("export-due-jobs", next_run_time=datetime.now(UTC))


@click.command("worker")
def worker_command() -> None:
    """Run the export worker in this process (for production, beside gunicorn)."""
    app = current_app._get_current_object()
    scheduler = make_scheduler(app, blocking=True)
    click.echo("Export worker started; Ctrl+C stops it.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
