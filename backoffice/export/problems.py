"""Problems are derived, never edited; fixing a cause wakes the jobs that waited on it.

A problem is one cause (kind + key: "account 3001 inactive") for a company, however many reports
wait on it. :func:`sync_problems` opens and closes them from the blocked and failed jobs, the
connection, the mapping checked against the snapshot and the completeness of the registers'
Z-reports (:func:`completeness_causes`). :func:`unblock_jobs` re-judges blocked
jobs without calling Fortnox; :func:`heal_connection` reads the metadata again first, with the
client its caller gives.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from backoffice.companies.models import Company, Register, RegisterUnit
from backoffice.db import business_today, now_utc
from backoffice.export.context import (
    CompanyContext,
    blockers_for,
    connection_blockers,
    mapping_blockers,
)
from backoffice.export.jobs import ensure_jobs
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.export.reasons import COMPLETENESS, Reason
from backoffice.export.states import transition
from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.errors import FortnoxAuthError, FortnoxError
from backoffice.integrations.fortnox.metadata import refresh_snapshot
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection
from backoffice.money import to_ore
from backoffice.zreport.models import LineKind, ZReportLine, ZReportRecord
from backoffice.zreport.report import MissingReports, UnitReport, completeness_findings

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


def _one_authorisation_cause(wanted: dict[tuple[str, str], dict[str, Any]]) -> None:
    """An invalidated connection also reads as "needs a new login" (``auth_expired``): one cause, one
    problem, so the more precise one stays and the other goes."""
    for _, key in [k for k in wanted if k[0] == Reason.CONNECTION_INVALIDATED]:
        wanted.pop((str(Reason.AUTH_EXPIRED), key), None)


def sync_problems(session: Session, company: Company, *, now: datetime | None = None,
                  context: CompanyContext | None = None, completeness: bool = False) -> None:
    """Open a problem for each cause that blocks (or failed) the company's exports, close the rest.

    Causes come from the jobs, from the connection (an ended authorisation), from checking the
    mapping against Fortnox's metadata before the next day close, and from the completeness of the
    registers' series of Z-reports (:func:`completeness_causes`). Completeness reads the window's
    reports and their lines, so it is judged when ``completeness`` asks for it (the hourly health
    check) and by every sync while one of its problems is open, so that the export of the missing
    report closes it at once; otherwise its problems stay as they are. One cause is one problem,
    however many reports wait on it. Commits.
    """
    now = now or now_utc()
    context = context or CompanyContext.load(session, company)
    active = context.integration is not None and context.integration.active
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    if active:  # a deactivated integration has no problems: what it left is closed as such, not fixed
        wanted = {key: detail for key, (detail, _) in job_causes(session, company).items()}
        for blocker in connection_blockers(context) + mapping_blockers(context, business_today(now)):
            wanted.setdefault((str(blocker.reason), blocker.key), blocker.detail)
        _one_authorisation_cause(wanted)
    open_problems = {
        (p.kind, p.key): p
        for p in session.scalars(select(Problem).where(Problem.company_id == company.id, Problem.closed_at.is_(None)))
    }
    if active and (completeness or any(kind in COMPLETENESS for kind, _ in open_problems)):
        start = context.mapping.start_date if context.mapping is not None else None
        wanted.update(completeness_causes(session, company, since=completeness_since(start, business_today(now))))
    elif active:
        wanted.update({key: p.details for key, p in open_problems.items() if key[0] in COMPLETENESS})
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


# --- completeness: every Z-report of a register unit arrived, and its grand totals add up -----------

#: How far back completeness looks (by business date): the recent days a register can still send
#: again, and a bounded query however long the history.
COMPLETENESS_WINDOW = timedelta(days=62)


def completeness_since(start_date: date | None, today: date) -> date:
    """The first business date completeness judges: the start date (before it nothing is booked),
    but no further back than ``COMPLETENESS_WINDOW``."""
    window = today - COMPLETENESS_WINDOW
    return window if start_date is None else max(start_date, window)


def completeness_causes(session: Session, company: Company, *, since: date) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, key) → detail of every break in the company's series of Z-reports dated ``since`` on.

    Per register unit (a replaced register starts a series of its own): missing Z-numbers, and grand
    totals that do not grow by exactly a report's sales and returns (``report.completeness_findings``,
    pure). One grouped statement over the window's reports and their lines.
    """
    record, line = ZReportRecord, ZReportLine
    query = (
        select(
            record.unit_id, record.z_number, record.grand_total_sales, record.grand_total_returns,
            func.coalesce(func.sum(case((line.kind == LineKind.SALE, line.gross), else_=0)), 0),
            func.coalesce(func.sum(case((line.kind == LineKind.RETURN, line.gross), else_=0)), 0),
        )
        .outerjoin(line, line.zreport_id == record.id)
        .where(record.company_id == company.id, record.business_date >= since)
        .group_by(record.id, record.unit_id, record.z_number, record.grand_total_sales, record.grand_total_returns)
    )
    series: dict[int, list[UnitReport]] = {}
    for unit_id, z_number, gt_sales, gt_returns, sales, returns in session.execute(query):
        series.setdefault(unit_id, []).append(
            UnitReport(z_number, _money(gt_sales), _money(gt_returns), _money(sales), _money(returns))
        )
    findings = {unit_id: found for unit_id, reports in series.items() if (found := completeness_findings(reports))}
    causes: dict[tuple[str, str], dict[str, Any]] = {}
    if not findings:
        return causes
    units = session.execute(select(RegisterUnit, Register).join(Register).where(RegisterUnit.id.in_(findings)))
    for unit, register in units:
        where = {"register_id": register.id, "register": register.pos_id, "register_name": register.name,
                 "unit": unit.number, "serial_number": unit.serial_number}
        for finding in findings[unit.id]:
            if isinstance(finding, MissingReports):
                causes[(Reason.ZREPORT_MISSING.value, f"{unit.id}:{finding.first}-{finding.last}")] = {
                    **where, "first_missing": finding.first, "last_missing": finding.last,
                }
            else:
                causes[(Reason.GRAND_TOTAL_JUMP.value, f"{unit.id}:{finding.z_number}")] = {
                    **where, "previous": finding.previous, "z_number": finding.z_number,
                    "expected_sales": str(finding.expected_sales), "reported_sales": str(finding.reported_sales),
                    "expected_returns": str(finding.expected_returns), "reported_returns": str(finding.reported_returns),
                }
    return causes


def _money(value) -> Decimal:
    """A sum as the database gives it (SQLite may give an int or a float-free string) → Decimal öre."""
    return to_ore(value if isinstance(value, Decimal) else Decimal(str(value)))


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
