"""``flask export status|run|attach``: see every Z-report's export, run "Manuell export", and attach the
Z-reports of vouchers exported before ("Bifoga underlag för tidigare dagar")."""

from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from backoffice.cli import company_by_name
from backoffice.companies.models import Register, RegisterUnit
from backoffice.db import session
from backoffice.export.attachments import AttachConsentMissing, backfill_progress, start_backfill
from backoffice.export.manual import run_progress, start_manual_export
from backoffice.export.models import ExportJob, Problem
from backoffice.export.reasons import COMPLETENESS, Reason
from backoffice.export.tasks import run_due_jobs
from backoffice.messages import export as msg
from backoffice.messages import reason_message, reason_text
from backoffice.zreport.models import ZReportRecord

export_cli = AppGroup("export", help="Exports of Z-reports to Fortnox.")


def _current(job: ExportJob | None) -> str | None:
    if job is None or job.voucher_number is None:
        return None
    if job.current_number is not None:
        return f"{job.current_series} {job.current_number}"
    return f"{job.voucher_series} {job.voucher_number}"


def status_rows(company) -> list[dict]:
    rows = session.execute(
        select(ZReportRecord, Register.pos_id, RegisterUnit.serial_number, ExportJob)
        .join(Register, Register.id == ZReportRecord.register_id)
        .join(RegisterUnit, RegisterUnit.id == ZReportRecord.unit_id)
        .outerjoin(ExportJob, ExportJob.zreport_id == ZReportRecord.id)
        .where(ZReportRecord.company_id == company.id)
        .order_by(ZReportRecord.business_date, Register.pos_id, ZReportRecord.z_number)
    ).all()
    return [
        {
            "register_id": pos_id,
            "serial_number": serial_number,
            "z_number": record.z_number,
            "business_date": record.business_date.isoformat(),
            "state": job.state if job else "not_exported",
            "voucher_series": job.voucher_series if job else None,
            "voucher_number": job.voucher_number if job else None,
            "voucher_year": job.voucher_year if job else None,
            # the voucher in Fortnox now: the last correction's new voucher, else the exported one
            "current_voucher": _current(job),
            "reason_code": job.reason_code if job else None,
            "reason": reason_text(job),
        }
        for record, pos_id, serial_number, job in rows
    ]


def completeness_problems(company) -> list[Problem]:
    """The company's open problems of completeness (``export.problems.completeness_causes``)."""
    return session.scalars(
        select(Problem).where(Problem.company_id == company.id, Problem.closed_at.is_(None),
                              Problem.kind.in_(COMPLETENESS)).order_by(Problem.id)
    ).all()


def missing_rows(company) -> list[dict]:
    """A row per Z-report found missing (state ``missing``, no date), from the open problems."""
    rows = []
    for problem in completeness_problems(company):
        if problem.kind != Reason.ZREPORT_MISSING:
            continue
        detail = problem.details
        sentence = reason_message(problem.kind, detail)
        for z_number in range(int(detail["first_missing"]), int(detail["last_missing"]) + 1):
            rows.append({
                "register_id": detail.get("register"), "serial_number": detail.get("serial_number"),
                "z_number": z_number, "business_date": None, "state": "missing", "voucher_series": None,
                "voucher_number": None, "voucher_year": None, "current_voucher": None, "reason_code": problem.kind,
                "reason": sentence,
            })
    return rows


@export_cli.command("status")
@click.option("--company", "company_name", required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON list of objects.")
def status(company_name: str, as_json: bool) -> None:
    """List every Z-report of a company with its export state, voucher and reason, and the Z-reports
    found missing (state ``missing``); the text also names each grand total that jumps."""
    company = company_by_name(company_name)
    rows = status_rows(company) + missing_rows(company)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        if row["state"] == "missing":
            continue  # named once, by its problem's sentence below
        voucher = row["current_voucher"] or ""
        if row["voucher_number"] and voucher != f"{row['voucher_series']} {row['voucher_number']}":
            voucher = msg.corrected_voucher(voucher, row["voucher_series"], row["voucher_number"])
        reason = f"  {row['reason_code']}: {row['reason']}" if row["reason_code"] else ""
        click.echo(f"{row['business_date']}  {row['register_id']:>6} Z{row['z_number']:<6} {row['state']:<10} {voucher:<10}{reason}")
    for problem in completeness_problems(company):
        click.echo(reason_message(problem.kind, problem.details))


@export_cli.command("run")
@click.option("--company", "company_name", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--timeout", default=600, show_default=True, help="Seconds to wait for the exports.")
def run(company_name: str, yes: bool, timeout: int) -> None:
    """Manuell export: export now everything pending, failed, or blocked but fixed."""
    company = company_by_name(company_name)
    if not yes:
        click.confirm(msg.confirm_manual_export(company.name), abort=True)
    run = start_manual_export(session, company, actor="cli")
    app = current_app._get_current_object()
    deadline = time.monotonic() + timeout
    progress = run_progress(session, run)
    while not progress.done and time.monotonic() < deadline:
        run_due_jobs(app)
        session.expire_all()
        progress = run_progress(session, run)
        if not progress.done:
            time.sleep(1)
    click.echo(msg.progress_line(progress))
    for row in status_rows(company):
        if row["state"] in ("blocked", "failed"):
            click.echo(f"  {row['business_date']} {row['register_id']} Z{row['z_number']}: {row['reason']}")


@export_cli.command("attach")
@click.option("--company", "company_name", required=True)
@click.option("--timeout", default=1800, show_default=True, help="Seconds to wait for the attachments.")
def attach(company_name: str, timeout: int) -> None:
    """Bifoga underlag för tidigare dagar: attach the Z-report PDF to every exported voucher lacking it."""
    company = company_by_name(company_name)
    try:
        run = start_backfill(session, company, actor="cli")
    except AttachConsentMissing:
        raise click.ClickException(msg.ATTACH_CONSENT_CLI) from None
    app = current_app._get_current_object()
    deadline = time.monotonic() + timeout
    progress = backfill_progress(session, run)
    while not progress.done and time.monotonic() < deadline:
        run_due_jobs(app)
        session.commit()  # a new transaction sees what the workers wrote (SQLite keeps a snapshot)
        progress = backfill_progress(session, run)
        if not progress.done:
            time.sleep(1)
    click.echo(msg.attach_summary(progress))
    for failure in progress.failures:
        click.echo(f"  {failure.business_date} Z{failure.z_number} verifikation {failure.voucher}: {failure.message}")
    if progress.failed or progress.pending:
        raise SystemExit(1)
