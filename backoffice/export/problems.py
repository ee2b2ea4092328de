"""Problems are derived, never edited; fixing a cause wakes the jobs that waited on it.

A problem is one cause (kind + key: "account 3001 inactive") for a company, however many reports
wait on it. :func:`sync_problems` opens and closes them from the blocked and failed jobs, the
connection and the mapping checked against the snapshot. :func:`unblock_jobs` re-judges blocked
jobs without calling Fortnox; :func:`heal_connection` reads the metadata again first, with the
client its caller gives.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.companies.models import Company, Register
from backoffice.db import now_utc
from backoffice.export.context import (
    CompanyContext,
    blockers_for,
    connection_blockers,
    mapping_blockers,
)
from backoffice.export.jobs import ensure_jobs
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.export.preflight import Blocker
from backoffice.export.reasons import Reason
from backoffice.export.states import transition
from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.errors import FortnoxAuthError, FortnoxError
from backoffice.integrations.fortnox.metadata import refresh_snapshot
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection
from backoffice.zreport.models import ZReportRecord

log = logging.getLogger(__name__)


def job_causes(session: Session, company: Company) -> dict[tuple[str, str], tuple[dict[str, Any], int]]:
    """Each cause that blocked (or failed) the company's jobs: what the fix needs, and how many wait."""
    causes: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}
    rows = session.execute(
        select(ExportJob.reason_code, ExportJob.reason_detail).where(
            ExportJob.company_id == company.id, ExportJob.state.in_([ExportState.BLOCKED, ExportState.FAILED])
        )
    ).all()
    for reason_code, reason_detail in rows:
        detail = json.loads(reason_detail) if reason_detail else {}
        for blocker in detail.get("blockers") or [{"reason": reason_code, "key": ""}]:
            extra = {k: v for k, v in blocker.items() if k not in ("reason", "key")}
            if "fortnox_message" in detail:
                extra.setdefault("fortnox_message", detail["fortnox_message"])
            key = (blocker["reason"], blocker.get("key") or "")
            known, count = causes.get(key, (extra, 0))
            causes[key] = (known, count + 1)
    return causes


#: How far back a gap in a register's Z-numbers is looked for (by business date): the recent days
#: a register can still send again, and a bounded query however long the history.
MISSING_ZREPORT_WINDOW = timedelta(days=62)


def missing_zreports(session: Session, company: Company, *, since: date) -> list[Blocker]:
    """One cause per gap in a register's Z-numbers among its reports since ``since``.

    Z-numbers are an unbroken rising series per register (docs/domain.md, "löpnummer ur en obruten
    stigande nummerserie"), so report 41 after 39 means 40 never reached us; the problem closes by
    itself when the register sends it. Reports are compared in the order they were closed, so a
    replaced unit whose numbers restart (zreport-v1.md) is no gap. The first report in the window has
    nothing before it to compare with, so history older than the window raises nothing.
    """
    numbered = (
        select(
            ZReportRecord.register_id.label("register_id"),
            ZReportRecord.z_number.label("z_number"),
            func.lag(ZReportRecord.z_number)
            .over(partition_by=ZReportRecord.register_id, order_by=(ZReportRecord.closed_at, ZReportRecord.z_number))
            .label("previous"),
        )
        .where(ZReportRecord.company_id == company.id, ZReportRecord.business_date >= since)
        .subquery()
    )
    rows = session.execute(
        select(numbered.c.register_id, numbered.c.previous, numbered.c.z_number, Register.pos_id, Register.name)
        .join(Register, Register.id == numbered.c.register_id)
        .where(numbered.c.z_number - numbered.c.previous > 1)
        .order_by(Register.pos_id, numbered.c.z_number)
    ).all()
    return [
        Blocker(
            Reason.ZREPORT_MISSING,
            f"{pos_id}:{previous + 1}",
            {
                "register_id": register_id,
                "register": pos_id,
                "register_name": name,
                "first_missing": previous + 1,
                "last_missing": z_number - 1,
            },
        )
        for register_id, previous, z_number, pos_id, name in rows
    ]


def _one_authorisation_cause(wanted: dict[tuple[str, str], dict[str, Any]]) -> None:
    """An invalidated connection also reads as "needs a new login" (``auth_expired``): one cause, one
    problem, so the more precise one stays and the other goes."""
    for _, key in [k for k in wanted if k[0] == Reason.CONNECTION_INVALIDATED]:
        wanted.pop((str(Reason.AUTH_EXPIRED), key), None)


def sync_problems(session: Session, company: Company, *, now: datetime | None = None,
                  context: CompanyContext | None = None) -> None:
    """Open a problem for each cause that blocks (or failed) the company's exports, close the rest.

    Causes come from the jobs, from the connection (an ended authorisation) and from checking the
    mapping against Fortnox's metadata before the next day close. One cause is one problem, however
    many reports wait on it. Commits.
    """
    now = now or now_utc()
    context = context or CompanyContext.load(session, company)
    active = context.integration is not None and context.integration.active
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    if active:  # a deactivated integration has no problems: what it left is closed as such, not fixed
        wanted = {key: detail for key, (detail, _) in job_causes(session, company).items()}
        for blocker in connection_blockers(context) + mapping_blockers(context, now.date()):
            wanted.setdefault((str(blocker.reason), blocker.key), blocker.detail)
        for blocker in missing_zreports(session, company, since=now.date() - MISSING_ZREPORT_WINDOW):
            wanted.setdefault((str(blocker.reason), blocker.key), blocker.detail)
        _one_authorisation_cause(wanted)
    open_problems = {
        (p.kind, p.key): p
        for p in session.scalars(select(Problem).where(Problem.company_id == company.id, Problem.closed_at.is_(None)))
    }
    for key, problem in open_problems.items():
        if key not in wanted:
            problem.closed_at = now
            problem.detail = json.dumps({**problem.details, "closed_as": "fixed" if active else "deactivated"},
                                        ensure_ascii=False, default=str)
    for (kind, key), detail in wanted.items():
        text = json.dumps(detail, ensure_ascii=False, default=str)
        if (kind, key) in open_problems:
            open_problems[(kind, key)].detail = text
        else:
            session.add(Problem(company_id=company.id, kind=kind, key=key, detail=text, opened_at=now))
    session.commit()


def unblock_jobs(session: Session, company: Company, *, now: datetime | None = None) -> int:
    """Send every blocked job whose cause is gone back to pending, oldest first. Commits.

    Called by what fixes a cause (saving the mapping, reconnecting, a metadata refresh that shows
    an account active again…). A job still blocked is re-judged with the current state, without
    calling Fortnox, so its reason stays precise. Returns how many jobs became pending.
    """
    now = now or now_utc()
    context = CompanyContext.load(session, company)
    if context.integration is not None and context.integration.active:
        ensure_jobs(session, company)  # the start date may have moved
    jobs = session.scalars(
        select(ExportJob)
        .join(ZReportRecord)
        .where(ExportJob.company_id == company.id, ExportJob.state == ExportState.BLOCKED)
        .order_by(ZReportRecord.business_date, ExportJob.id)
    ).all()
    woken = 0
    for job in jobs:
        if job.reason_code == Reason.VOUCHER_INVALID:
            continue  # only "Exportera igen" or "Manuell export" try a refused voucher again
        if job.reason_code == Reason.VOUCHER_DIFFERS:
            continue  # Fortnox holds it otherwise than sent: a person must look (it is never posted again)
        _, blockers = blockers_for(context, job.zreport)
        if blockers:
            transition(job, ExportState.BLOCKED, blockers=blockers)
        else:
            transition(job, ExportState.PENDING)
            job.retries = 0
            job.retry_at = now
            woken += 1
    session.commit()
    sync_problems(session, company, now=now, context=context)
    if woken:
        log.info("Unblocked %s export job(s) of %s", woken, company.name)
    return woken


def heal_connection(session: Session, connection: FortnoxConnection, client: FortnoxClient, *,
                    now: datetime | None = None, strict: bool = False) -> int:
    """Read the connection's metadata again, then re-judge the blocked jobs of every company on it.

    ``strict`` (a person pressed "Kontrollera igen"): when Fortnox cannot be read, the error is
    raised rather than the jobs judged by what was known before, which would call the fix missing.
    """
    now = now or now_utc()
    if connection.status == ConnectionStatus.ACTIVE:
        try:
            refresh_snapshot(session, connection, client, now=now)
        except FortnoxAuthError:
            log.warning("Fortnox authorisation of connection %s has ended", connection.id)
        except FortnoxError:
            log.warning("Health check of connection %s could not read Fortnox", connection.id, exc_info=True)
            if strict:
                raise
    woken = 0
    for integration in list(connection.integrations):
        woken += unblock_jobs(session, integration.company, now=now)
    return woken
