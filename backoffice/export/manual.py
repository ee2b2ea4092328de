""""Manuell export" and "Exportera igen": a person asks for jobs to be tried now, and sees the progress."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from backoffice.companies.models import Company
from backoffice.db import now_utc
from backoffice.export.jobs import ensure_jobs
from backoffice.export.models import ExportAttempt, ExportJob, ExportState, ManualExportRun
from backoffice.export.problems import unblock_jobs
from backoffice.export.reasons import Reason
from backoffice.export.states import transition


def start_manual_export(session: Session, company: Company, *, actor: str, now: datetime | None = None) -> ManualExportRun:
    """"Manuell export": export now everything pending, failed, or blocked but fixed. Commits.

    Failed jobs and vouchers Fortnox refused are tried again; blocked jobs are re-judged. The run
    records the jobs it waits for, whose states its progress bar shows.
    """
    now = now or now_utc()
    ensure_jobs(session, company)
    for job in session.scalars(
        select(ExportJob).where(
            ExportJob.company_id == company.id,
            or_(
                ExportJob.state == ExportState.FAILED,
                and_(ExportJob.state == ExportState.BLOCKED, ExportJob.reason_code == Reason.VOUCHER_INVALID),
            ),
        )
    ):
        transition(job, ExportState.PENDING)
        job.retries = 0
    session.execute(
        update(ExportJob)
        .where(ExportJob.company_id == company.id, ExportJob.state == ExportState.PENDING)
        .values(retry_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    unblock_jobs(session, company, now=now)
    ids = session.scalars(
        select(ExportJob.id).where(ExportJob.company_id == company.id, ExportJob.state == ExportState.PENDING)
    ).all()
    run = ManualExportRun(company_id=company.id, started_by=actor, started_at=now, job_ids=json.dumps(ids), total=len(ids))
    session.add(run)
    session.commit()
    return run


def retry_job(session: Session, job: ExportJob) -> None:
    """"Exportera igen" for one failed (or refused) job. Commits."""
    transition(job, ExportState.PENDING)
    job.retries = 0
    job.retry_at = None
    session.commit()


@dataclass(frozen=True, slots=True)
class RunProgress:
    total: int
    exported: int
    already_there: int
    blocked: int
    failed: int
    pending: int

    @property
    def done(self) -> bool:
        return self.pending == 0


def run_progress(session: Session, run: ManualExportRun) -> RunProgress:
    ids = json.loads(run.job_ids)
    if not ids:
        return RunProgress(0, 0, 0, 0, 0, 0)
    counts = dict(
        session.execute(select(ExportJob.state, func.count()).where(ExportJob.id.in_(ids)).group_by(ExportJob.state)).all()
    )
    adopted = session.scalar(
        select(func.count(func.distinct(ExportAttempt.job_id))).where(
            ExportAttempt.job_id.in_(ids), ExportAttempt.outcome == "found"
        )
    )
    exported = counts.get(ExportState.EXPORTED, 0)
    return RunProgress(
        total=len(ids),
        exported=exported - adopted,
        already_there=adopted,
        blocked=counts.get(ExportState.BLOCKED, 0),
        failed=counts.get(ExportState.FAILED, 0),
        pending=counts.get(ExportState.PENDING, 0),
    )
