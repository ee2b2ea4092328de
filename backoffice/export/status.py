"""The integration's status light and the count of a company's export jobs per state (the card's read model)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from backoffice.companies.models import Company
from backoffice.db import session
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxIntegration
from backoffice.messages import export as msg

#: The CSS class of a job's state in the Z-report lists and Översikt (None: no job).
STATE_CLASSES = {
    ExportState.PENDING: "pending",
    ExportState.EXPORTED: "ok",
    ExportState.BLOCKED: "bad",
    ExportState.FAILED: "bad",
    ExportState.SKIPPED: "muted",
    None: "muted",
}


@dataclass(frozen=True, slots=True)
class StatusLight:
    """Ultra's three colours: green (everything works), yellow (delays, minor trouble), red (needs you)."""

    color: str  # green | yellow | red | off
    label: str
    detail: str


def status_light(company: Company, integration: FortnoxIntegration | None, counts: dict[str, int]) -> StatusLight:
    """The integration's light: red while anything is blocked, failed or unauthorised, yellow while
    reports wait for export (or retry), green when everything is exported."""
    if integration is None or not integration.active:
        return StatusLight("off", "Inte aktiverad", "")
    connection = integration.connection
    problems = session.scalar(
        select(func.count()).select_from(Problem).where(Problem.company_id == company.id, Problem.closed_at.is_(None))
    )
    stuck = counts.get(ExportState.BLOCKED, 0) + counts.get(ExportState.FAILED, 0)
    if connection is None or connection.status != ConnectionStatus.ACTIVE or problems or stuck:
        return StatusLight("red", "Röd", msg.RED)
    waiting = counts.get(ExportState.PENDING, 0)
    if waiting:
        return StatusLight("yellow", "Gul", msg.yellow(waiting))
    return StatusLight("green", "Grön", msg.GREEN)


def job_counts(company: Company) -> dict[str, int]:
    """How many of the company's export jobs are in each state (one grouped query)."""
    rows = session.execute(
        select(ExportJob.state, func.count()).where(ExportJob.company_id == company.id).group_by(ExportJob.state)
    ).all()
    return {str(state): count for state, count in rows}
