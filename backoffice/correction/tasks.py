"""Scheduler entry point: the worker brings every due correction on, with the export's clients and leases."""

from __future__ import annotations

import logging

from flask import Flask

from backoffice.correction.steps import (
    CorrectionClaim,
    claim_next_correction,
    correct_one,
    postpone_crashed_correction,
    release_correction,
)
from backoffice.db import now_utc, session
from backoffice.export.tasks import configured_lease, worker_name
from backoffice.integrations.fortnox.connection import client_for

log = logging.getLogger(__name__)


def run_due_corrections(app: Flask, *, limit: int = 1000) -> int:
    """Correct due reports one after the other until none is due; returns how many were handled."""
    handled = 0
    worker = worker_name()
    with app.app_context():
        lease = configured_lease()
        for _ in range(limit):
            claim = claim_next_correction(session, worker, now=now_utc(), lease=lease)
            if claim is None:
                break
            _correct(claim, worker)
            handled += 1
    return handled


def _correct(claim: CorrectionClaim, worker: str) -> None:
    try:
        session.expire_all()  # each correction reads its rows afresh
        correct_one(session, claim.correction_id, clients=client_for)
    except Exception:
        log.exception("Correction %s crashed; it will be tried again later", claim.correction_id)
        postpone_crashed_correction(session, claim.correction_id, now=now_utc())
    finally:
        release_correction(session, claim, worker)
