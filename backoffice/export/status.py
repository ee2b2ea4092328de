"""The integration's status light and the count of a company's export jobs per state (the card's read model)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select

from backoffice.companies.models import Company
from backoffice.db import now_utc, session
from backoffice.export.banners import _detail_with_names
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.export.reasons import Reason
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxIntegration
from backoffice.messages import export as msg
from backoffice.messages import problem_clause


@dataclass(frozen=True, slots=True)
class StatusLight:
    """Ultra's three colours: green (everything works), yellow (delays, minor trouble), red (needs you).

    ``detail`` says why in one line: "2 Z-rapporter väntar på åtgärd — konto 1580 är inaktivt i Fortnox".
    """

    color: str  # green | yellow | red | off
    label: str
    detail: str

    @property
    def line(self) -> str:
        """``Röd: 2 Z-rapporter väntar på åtgärd — konto 1580 är inaktivt i Fortnox``."""
        return f"{self.label}: {self.detail}" if self.detail else self.label


#: A pending report due this long ago and still not sent is a delay (the worker is behind or down).
DELAYED_AFTER = timedelta(minutes=10)


def status_light(company: Company, integration: FortnoxIntegration | None, counts: dict[str, int]) -> StatusLight:
    """The integration's light: red while anything is blocked, failed or unauthorised, yellow while
    reports wait for a retry, green when everything is exported or on its way. The first backlog after
    activation, reports simply not sent yet, is green with "exporteras nu": nothing is delayed."""
    if integration is None or not integration.active:
        return StatusLight("off", msg.LIGHT_LABELS["off"], "")
    connection = integration.connection
    first = session.scalars(
        select(Problem)
        .where(Problem.company_id == company.id, Problem.closed_at.is_(None))
        .order_by(Problem.opened_at, Problem.id)
        .limit(2)
    ).all()
    stuck = counts.get(ExportState.BLOCKED, 0) + counts.get(ExportState.FAILED, 0)
    if connection is None or connection.status != ConnectionStatus.ACTIVE or first or stuck:
        if first:
            why = problem_clause(first[0].kind, _detail_with_names(first[0], company))
            if len(first) > 1:
                why += msg.RED_MORE
        elif connection is None or connection.status != ConnectionStatus.ACTIVE:
            why = problem_clause(Reason.NOT_CONNECTED)
        else:
            why = msg.RED_SEE_REPORTS
        return StatusLight("red", msg.LIGHT_LABELS["red"], msg.light_red(stuck, why))
    waiting = counts.get(ExportState.PENDING, 0)
    if waiting:
        overdue = now_utc() - DELAYED_AFTER
        retrying = session.scalar(
            select(func.count()).select_from(ExportJob).where(
                ExportJob.company_id == company.id, ExportJob.state == ExportState.PENDING,
                or_(ExportJob.retries > 0, ExportJob.retry_at < overdue),
            )
        )
        if retrying:
            return StatusLight(
                "yellow", msg.LIGHT_LABELS["yellow"],
                msg.light_delayed(retrying, waiting, int(DELAYED_AFTER.total_seconds()) // 60),
            )
        return StatusLight("green", msg.LIGHT_LABELS["green"], msg.light_sending(waiting))
    return StatusLight("green", msg.LIGHT_LABELS["green"], msg.GREEN)


def job_counts(company: Company, states: Collection[ExportState] | None = None) -> dict[str, int]:
    """How many of the company's export jobs are in each state (one grouped query); only ``states``
    when given. Waiting, blocked and failed jobs are few whatever the history, and found through
    ``ix_export_job_due``: counting those alone does not read every job of the company's years."""
    query = select(ExportJob.state, func.count()).where(ExportJob.company_id == company.id)
    if states is not None:
        query = query.where(ExportJob.state.in_(list(states)))
    rows = session.execute(query.group_by(ExportJob.state)).all()
    return {str(state): count for state, count in rows}
