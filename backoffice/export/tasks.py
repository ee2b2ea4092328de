"""Scheduler entry points: thin wrappers that give each piece of work an app context and a session."""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import select

from backoffice.db import now_utc, session
from backoffice.export.engine import claim_next_job, configured_lease, export_one, heal_connection, release
from backoffice.export.models import ExportJob, ExportState
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration

log = logging.getLogger(__name__)


def worker_name() -> str:
    """This thread's name in leases: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def drain(app: Flask) -> int:
    """Export due jobs in this thread until none is left; returns how many were handled."""
    handled = 0
    worker = worker_name()
    while True:
        with app.app_context():
            claim = claim_next_job(session, worker, now=now_utc(), lease=configured_lease())
            if claim is None:
                return handled
            try:
                export_one(session, claim.job_id)
            except Exception:
                log.exception("Export job %s crashed; it will be taken up again", claim.job_id)
                session.rollback()
            finally:
                release(session, claim, worker)
            handled += 1


def run_due_jobs(app: Flask) -> int:
    """Export every due job, ``EXPORT_CONCURRENCY`` connections at a time."""
    concurrency = int(app.config.get("EXPORT_CONCURRENCY", 8))
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="export") as pool:
        return sum(pool.map(lambda _: drain(app), range(concurrency)))


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
        for connection in connections:
            heal_connection(session, connection)


def health_check(app: Flask) -> None:
    """Hourly: read every active connection's metadata again, raise or clear problems before the next day close."""
    with app.app_context():
        for connection in session.scalars(select(FortnoxConnection).where(FortnoxConnection.status == ConnectionStatus.ACTIVE)).all():
            heal_connection(session, connection)
