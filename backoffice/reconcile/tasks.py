"""Scheduler entry point: read the months that "Läs från Fortnox" asked for."""

from __future__ import annotations

import logging

from flask import Flask

from backoffice.db import now_utc, session
from backoffice.export.tasks import worker_name
from backoffice.reconcile.operations import due_runs, execute_run

log = logging.getLogger(__name__)


def run_pending(app: Flask) -> int:
    """Execute every due reconciliation run, one after the other; returns how many finished."""
    finished = 0
    with app.app_context():
        for run_id in due_runs(session, now=now_utc()):
            try:
                if execute_run(session, run_id, worker=worker_name()) is not None:
                    finished += 1
            except Exception:
                log.exception("Reconciliation run %s crashed", run_id)
                session.rollback()
    return finished
