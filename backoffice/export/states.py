"""The states of an export job and the moves between them, on one screen.

A job is ``pending`` until it is ``exported`` (the one end state), ``blocked`` by a cause that a fix
removes, ``failed`` after its retries, or ``skipped`` (before the start date, nothing to book). A
blocked or failed job carries its reason, the key of its cause and what the fix needs
(``reason_detail``, JSON); any other state carries none. Every move goes through
:func:`transition_values`, which refuses one the rules do not connect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from backoffice.export.models import ExportJob, ExportState
from backoffice.export.preflight import Blocker
from backoffice.export.reasons import Reason


class InvalidTransition(Exception):
    """A job was asked to move between two states that the export rules do not connect."""


#: Who may move a job where: every transition of the export rules.
TRANSITIONS: dict[ExportState, set[ExportState]] = {
    ExportState.PENDING: {ExportState.EXPORTED, ExportState.BLOCKED, ExportState.FAILED, ExportState.PENDING, ExportState.SKIPPED},
    ExportState.BLOCKED: {ExportState.PENDING, ExportState.BLOCKED, ExportState.SKIPPED, ExportState.EXPORTED},
    ExportState.FAILED: {ExportState.PENDING, ExportState.SKIPPED},
    ExportState.SKIPPED: {ExportState.PENDING},
    ExportState.EXPORTED: set(),
}


def transition(job: ExportJob, state: ExportState, *, reason: Reason | None = None,
               blockers: Sequence[Blocker] = (), detail: Mapping[str, Any] | None = None) -> None:
    """Move ``job`` to ``state``; blocked and failed jobs carry their reason and what the fix needs."""
    for column, value in transition_values(job, state, reason=reason, blockers=blockers, detail=detail).items():
        setattr(job, column, value)


def transition_values(job: ExportJob, state: ExportState, *, reason: Reason | None = None,
                      blockers: Sequence[Blocker] = (), detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The columns ``transition`` sets, for a move the rules allow (else ``InvalidTransition``)."""
    if state not in TRANSITIONS[job.state]:
        raise InvalidTransition(f"export job {job.id}: {job.state} → {state}")
    values: dict[str, Any] = {"state": state}
    if state in (ExportState.BLOCKED, ExportState.FAILED):
        first = blockers[0] if blockers else None
        payload = dict(detail or {})
        if first is not None:
            payload.update(first.detail)
            payload["blockers"] = [{"reason": str(b.reason), "key": b.key, **b.detail} for b in blockers]
        chosen = reason or (first.reason if first is not None else None)
        values["reason_code"] = str(chosen)
        values["reason_key"] = first.key if first else ""
        values["reason_detail"] = json.dumps(payload, ensure_ascii=False, default=str)
    else:
        values["reason_code"] = values["reason_key"] = values["reason_detail"] = None
    if state != ExportState.PENDING:
        values["retry_at"] = None
    return values
