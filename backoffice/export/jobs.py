"""Export jobs come into being: one per Z-report, when the integration is active.

A new report's job is written in the report's own transaction (:func:`create_job`, or inside the
intake's statement on PostgreSQL); :func:`ensure_jobs` gives the reports stored before activation
their jobs and applies the start date to unsent jobs. Nothing here calls Fortnox or derives
problems: those sit above (``problems``, ``engine``), so this module is below both.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.accounts.models import AccountMapping
from backoffice.companies.models import Company
from backoffice.export.models import ExportJob, ExportState
from backoffice.export.statements import INSERT_JOB
from backoffice.export.states import transition
from backoffice.integrations.fortnox.models import FortnoxIntegration
from backoffice.zreport.models import ZReportRecord


def integration_of(session: Session, company_id: int) -> FortnoxIntegration | None:
    return session.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == company_id))


def create_job(session: Session, company_id: int, zreport_id: int, business_date: date, now: datetime) -> None:
    """The export job of a new report, in the report's transaction, when the integration is active:
    pending, or skipped when the report is from before the start date.

    Part of the POS API's hot path: one statement built once (``statements.job_insert``). On
    PostgreSQL the intake writes the job in the same statement as the report (``intake.operations``).
    """
    session.connection().execute(
        INSERT_JOB, {"zreport_id": zreport_id, "company_id": company_id, "business_date": business_date, "now": now}
    )


def ensure_jobs(session: Session, company: Company) -> int:
    """Create the jobs of stored reports that have none, and apply the start date to unsent jobs.

    Called when the integration is activated and when its start date moves. Returns how many jobs
    became pending.
    """
    mapping = session.scalar(select(AccountMapping).where(AccountMapping.company_id == company.id))
    start = mapping.start_date if mapping else None
    without_job = session.scalars(
        select(ZReportRecord)
        .outerjoin(ExportJob, ExportJob.zreport_id == ZReportRecord.id)
        .where(ZReportRecord.company_id == company.id, ExportJob.id.is_(None))
        .order_by(ZReportRecord.business_date, ZReportRecord.id)
    ).all()
    for record in without_job:
        session.add(ExportJob(zreport=record, company_id=company.id, state=ExportState.SKIPPED))
    session.flush()
    woken = 0
    jobs = session.scalars(
        select(ExportJob)
        .join(ZReportRecord)
        .where(ExportJob.company_id == company.id, ExportJob.state.in_([ExportState.SKIPPED, ExportState.PENDING]))
    ).all()
    for job in jobs:
        before_start = start is not None and job.zreport.business_date < start
        if job.reason_code == "nothing_to_book":
            continue
        if job.state == ExportState.SKIPPED and not before_start:
            transition(job, ExportState.PENDING)
            woken += 1
        elif job.state == ExportState.PENDING and before_start and not job.in_doubt:
            transition(job, ExportState.SKIPPED)
    session.flush()
    return woken
