"""Ekonomi → Avstämning: the month calendar, a day's detail, "Läs från Fortnox" with its progress
bar, and the downloads (Månadsrapport as PDF and CSV, SIE 4I).

A page view never calls Fortnox: it shows the last stored result and when it was made. Reading
Fortnox is a run the worker executes (``tasks.run_pending``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from backoffice.accounts.defaults import ACCOUNT_LABELS
from backoffice.accounts.operations import load_mapping
from backoffice.companies.models import Register
from backoffice.db import business_today, session
from backoffice.export.models import ExportJob
from backoffice.messages import finding_message, reconcile_error_message
from backoffice.messages import reconcile as msg
from backoffice.money import ZERO
from backoffice.reconcile.models import ReconcileRun, RunState
from backoffice.reconcile.monthly import file_name, month_report, render_csv, render_pdf
from backoffice.reconcile.operations import (
    ReconcileError,
    latest_run,
    month_end,
    month_label,
    month_sie,
    parse_month,
    start_run,
)
from backoffice.security import company_object
from backoffice.zreport.models import LineKind, ZReportRecord

bp = Blueprint("reconcile", __name__, url_prefix="/ekonomi/avstamning")

#: Where a voucher is looked at (a new tab; Fortnox has no public deep link to one voucher).
FORTNOX_URL = "https://apps.fortnox.se"


@dataclass(frozen=True, slots=True)
class Look:
    """How a cell looks: its colour and what it says."""

    colour: str  # green | yellow | red | grey
    label: str


def cell_look(entry: dict) -> Look:
    """Green: booked, matches, PDF attached. Yellow: booked but off. Red: missing, duplicate or not in
    Fortnox. Grey: no Z-report (closed), or before the start date."""
    return Look(*_look(entry))


def _look(entry: dict) -> tuple[str, str]:
    """(colour, label) of a day's cell; the labels are ``messages.reconcile.CELL_LABELS``."""
    state = entry["state"]
    if state == "no_report":
        return "grey", msg.CELL_LABELS["no_report"]
    if state == "not_exported":
        if entry.get("before_start"):
            return "grey", msg.CELL_LABELS["before_start"]
        return "red", msg.CELL_LABELS["not_exported"]
    if state in ("missing", "duplicate"):
        return "red", msg.CELL_LABELS[state]
    if state == "differs":
        return "yellow", msg.CELL_LABELS["differs"]
    if entry.get("nothing_to_book"):
        return "green", msg.CELL_LABELS["nothing_to_book"]
    for flag in ("corrected", "rectified", "attachment_missing"):
        if entry.get(flag):
            return "yellow", msg.CELL_LABELS[flag]
    if entry.get("attachment_unknown"):
        return "green", msg.CELL_LABELS["attachment_unknown"]
    return "green", msg.CELL_LABELS["ok"]


def _month_arg(default: date) -> date:
    text = request.args.get("manad")
    if not text:
        return default
    try:
        return parse_month(text)
    except ReconcileError as exc:
        flash(reconcile_error_message(exc.code, exc.detail), "error")
        return default


def _weeks(month: date) -> list[list[date | None]]:
    return [[day if day.month == month.month else None for day in week]
            for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)]


@bp.get("/")
@login_required
def index():
    company = current_user.company
    today = business_today()
    this_month = today.replace(day=1)
    month = _month_arg(this_month)
    shown = latest_run(session, company, month, finished=True)
    current = latest_run(session, company, month)
    running = current if current is not None and current.state in (RunState.PENDING, RunState.RUNNING) else None
    failed = current if current is not None and current.state == RunState.FAILED else None
    result = shown.result_data if shown is not None else None
    cells: dict[date, list[tuple[dict, Look]]] = {}
    findings = []
    if result is not None:
        for entry in result["days"]:
            cells.setdefault(date.fromisoformat(entry["business_date"]), []).append((entry, cell_look(entry)))
        findings = [(f, finding_message(f["kind"], f)) for f in result["findings"]]
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month_end(month) + timedelta(days=1))
    return render_template(
        "reconcile/index.html",
        month=month,
        month_text=month_label(month),
        title=msg.month_name(month),
        weeks=_weeks(month),
        weekdays=msg.WEEKDAYS,
        cells=cells,
        registers=company.registers,
        findings=findings,
        shown=shown,
        made_at=datetime.fromisoformat(result["made_at"]) if result else None,
        running=running,
        failed=failed,
        failed_text=reconcile_error_message(failed.error_code or "", failed.error_data) if failed else None,
        previous=month_label(previous),
        following=month_label(following) if following <= this_month else None,
        today=today,
    )


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/las")
@login_required
def read_start():
    """ "Läs från Fortnox": a run for the worker, after checking the month (nothing is read here)."""
    company = current_user.company
    text = request.form.get("manad", "")
    try:
        month = parse_month(text)
        run = start_run(session, company, month, actor=current_user.email)
    except ReconcileError as exc:
        session.rollback()
        message = reconcile_error_message(exc.code, exc.detail)
        if _wants_json():
            return jsonify(error=message), 409
        flash(message, "error")
        return redirect(url_for("reconcile.index", manad=text or None))
    session.commit()
    _wake()
    progress_url = url_for("reconcile.progress", reconcile_run_id=run.id)
    if _wants_json():
        return jsonify(run_id=run.id, progress_url=progress_url), 202
    flash(msg.STARTED, "info")
    return redirect(url_for("reconcile.index", manad=month_label(month)))


def _wake() -> None:
    scheduler = current_app.extensions.get("scheduler")
    if scheduler is not None and scheduler.running:
        scheduler.modify_job("reconcile-runs", next_run_time=datetime.now(scheduler.timezone))


@bp.get("/korning/<int:reconcile_run_id>")
@login_required
def progress(reconcile_run_id: int):
    """The run's progress, as JSON, for the progress bar."""
    run = company_object(ReconcileRun, reconcile_run_id)
    done = run.state in (RunState.DONE, RunState.FAILED)
    if run.state == RunState.FAILED:
        text = reconcile_error_message(run.error_code or "", run.error_data)
    elif run.state == RunState.DONE:
        text = msg.DONE
    elif run.state == RunState.PENDING:
        text = msg.WAITING
    else:
        text = msg.reading(run.done, run.total)
    return jsonify(run_id=run.id, state=str(run.state), done=done, total=run.total, read=run.done,
                   percent=run.percent, text=text)


# --- a day's detail ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """One line of the side-by-side: what the Z-report says, the account, what Fortnox holds."""

    label: str
    account: int | None
    zreport: Decimal
    fortnox: Decimal | None

    @property
    def difference(self) -> Decimal | None:
        return None if self.fortnox is None else self.fortnox - self.zreport


@bp.get("/<manad>/<day>/<register_id>")
@login_required
def day(manad: str, day: str, register_id: str):
    company = current_user.company
    try:
        month = parse_month(manad)
        business_date = date.fromisoformat(day)
    except (ReconcileError, ValueError):
        abort(404)
    register = session.scalar(select(Register).where(Register.company_id == company.id, Register.pos_id == register_id))
    if register is None or business_date.replace(day=1) != month:
        abort(404)
    shown = latest_run(session, company, month, finished=True)
    result = shown.result_data if shown is not None else None
    entries = [e for e in (result or {}).get("days", [])
               if e["business_date"] == business_date.isoformat() and e["register_id"] == register_id]
    records = session.scalars(
        select(ZReportRecord).where(ZReportRecord.register_id == register.id, ZReportRecord.business_date == business_date)
        .order_by(ZReportRecord.z_number)
    ).all()
    jobs = {job.zreport_id: job for job in session.scalars(
        select(ExportJob).where(ExportJob.zreport_id.in_([r.id for r in records]))
    )} if records else {}
    mapping = load_mapping(session, company)
    days = []
    for record in records:
        entry = next((e for e in entries if e.get("zreport_id") == record.id), None)
        days.append(_day_detail(record, jobs.get(record.id), entry, result or {}, mapping))
    findings = [(f, finding_message(f["kind"], f)) for f in (result or {}).get("findings", [])
                if f["register_id"] == register_id and f["z_number"] in {r.z_number for r in records}]
    return render_template(
        "reconcile/day.html",
        month_text=month_label(month),
        business_date=business_date,
        register=register,
        days=days,
        entries=entries,
        findings=findings,
        made_at=datetime.fromisoformat(result["made_at"]) if result else None,
        fortnox_url=FORTNOX_URL,
    )


def _day_detail(record: ZReportRecord, job, entry: dict | None, result: dict, mapping) -> dict:
    """The Z-report beside its voucher(s) as Fortnox holds them.

    An account may carry more than one part of a report (gift cards redeemed and sold on 2421, the
    cash difference on the cash account), so a part's "Fortnox" figure is its Z-report amount plus
    whatever Fortnox holds on its account beyond what was sent there.
    """
    labels = entry["vouchers"] if entry else []
    vouchers = [(label, result["vouchers"].get(label)) for label in labels if label in result.get("vouchers", {})]
    ours = vouchers[0][1]["postings"] if vouchers else None
    sent = {(p["account"], p["cost_center"]): Decimal(p["amount"]) for p in result.get("sent", {}).get(str(record.id), [])}
    held = {(p["account"], p["cost_center"]): Decimal(p["amount"]) for p in (ours or [])}
    keys = sorted(sent.keys() | held.keys(), key=lambda k: (k[0], k[1] or ""))
    off: dict[int, Decimal] = {}
    for key in keys:
        off[key[0]] = off.get(key[0], ZERO) + held.get(key, ZERO) - sent.get(key, ZERO)

    def beside(label, account: int | None, amount: Decimal, sign: int) -> Comparison:
        if ours is None or account is None:
            return Comparison(label, account, amount, None)
        return Comparison(label, account, amount, amount + sign * off.get(account, ZERO))

    payments = [beside(p.method, mapping.account_for_payment(p.method) if mapping else None, p.amount, 1)
                for p in record.payments]
    vat: dict[Decimal, Decimal] = {}
    for line in record.lines:
        sign = 1 if line.kind == LineKind.SALE else -1
        vat[line.vat_rate] = vat.get(line.vat_rate, ZERO) + sign * line.vat
    vat_rows = [beside(rate, mapping.vat_account(rate) if mapping and amount else None, amount, -1)
                for rate, amount in sorted(vat.items())]
    accounts = [
        {"account": account, "cost_center": cost_center, "name": ACCOUNT_LABELS.get(account, ""),
         "sent": sent.get((account, cost_center), ZERO),
         "fortnox": held.get((account, cost_center), ZERO) if ours is not None else None,
         "difference": held.get((account, cost_center), ZERO) - sent.get((account, cost_center), ZERO)
         if ours is not None else None}
        for account, cost_center in keys
    ]
    return {"record": record, "job": job, "entry": entry, "look": cell_look(entry) if entry else None,
            "vouchers": vouchers, "payments": payments, "vat": vat_rows, "accounts": accounts}


@bp.get("/<manad>/sie")
@login_required
def sie_download(manad: str):
    """The month's Z-reports as a SIE 4I file, booked with today's mapping (no Fortnox needed)."""
    company = current_user.company
    try:
        month = parse_month(manad)
        data = month_sie(session, company, month, today=business_today())
    except ReconcileError as exc:
        flash(reconcile_error_message(exc.code, exc.detail), "error")
        return redirect(url_for("reconcile.index", manad=manad))
    name = f"BO{month:%Y%m}.SI"
    return Response(data, mimetype="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _month_report(manad: str):
    try:
        return month_report(session, current_user.company, parse_month(manad), today=business_today()), None
    except ReconcileError as exc:
        flash(reconcile_error_message(exc.code, exc.detail), "error")
        return None, redirect(url_for("reconcile.index", manad=manad))


@bp.get("/<manad>/manadsrapport.pdf")
@login_required
def report_pdf(manad: str):
    """Månadsrapport as a PDF: sums per account and VAT rate, days, findings, a chart of sales per day."""
    report, refusal = _month_report(manad)
    if refusal is not None:
        return refusal
    return Response(render_pdf(report), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{file_name(report, "pdf")}"'})


@bp.get("/<manad>/manadsrapport.csv")
@login_required
def report_csv(manad: str):
    """Månadsrapport as a CSV for a spreadsheet."""
    report, refusal = _month_report(manad)
    if refusal is not None:
        return refusal
    return Response(render_csv(report), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{file_name(report, "csv")}"'})
