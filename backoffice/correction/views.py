"""Rätta dagarna: the preview, Bekräfta (admins), the progress, the history, and the chain on a Z-report."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from backoffice.companies.auth import admin_required
from backoffice.correction.models import Correction, CorrectionRun, CorrectionState
from backoffice.correction.operations import CorrectionError, preview, run_progress, start_correction
from backoffice.db import business_today, session
from backoffice.export.models import ExportJob, ExportState
from backoffice.messages.correction import (
    BOOKED_IN_FORTNOX,
    CHAIN_NEW,
    CHAIN_ORIGINAL,
    CHAIN_REVERSAL,
    UNDER_WAY,
    WAITING_TO_BOOK,
    attention_message,
    corrected_on,
    input_message,
    kronor,
    locked_message,
    result_message,
)
from backoffice.scheduler import wake
from backoffice.security import company_object

bp = Blueprint("correction", __name__, url_prefix="/zrapporter/ratta")
#: The latest day a range may end on, for the date fields of the Z-rapporter page's Rätta dagarna.
bp.add_app_template_global(business_today, "business_today")


def _range() -> tuple[date | None, date | None, str | None]:
    """The range asked for (``fran``, ``till``), or the Swedish sentence of what is wrong with it."""
    texts = request.values.get("fran", ""), request.values.get("till", "")
    if not any(texts):
        return None, None, None
    try:
        return date.fromisoformat(texts[0]), date.fromisoformat(texts[1]), None
    except ValueError:
        bad = texts[0] if not _is_date(texts[0]) else texts[1]
        return None, None, input_message("invalid_date", {"text": bad})


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@bp.app_template_global()
def correction_chain(zreport_id: int) -> list[dict]:
    """The report's vouchers in order: the original, then each correction's reversal and new voucher."""
    job = session.scalar(select(ExportJob).where(ExportJob.zreport_id == zreport_id))
    if job is None or job.state != ExportState.EXPORTED:
        return []
    corrections = session.scalars(select(Correction).where(Correction.zreport_id == zreport_id)
                                  .order_by(Correction.sequence)).all()
    if not corrections:
        return []
    chain = [{"kind": CHAIN_ORIGINAL, "voucher": f"{job.voucher_series} {job.voucher_number}",
              "answer": BOOKED_IN_FORTNOX, "when": job.exported_at}]
    for correction in corrections:
        for kind, number, series in ((CHAIN_REVERSAL, correction.reversal_number, correction.reversal_series),
                                     (CHAIN_NEW, correction.new_number, correction.new_series)):
            if number is not None:
                answer = BOOKED_IN_FORTNOX
            elif correction.state == CorrectionState.PENDING:
                answer = WAITING_TO_BOOK
            else:
                answer = attention_message(correction.reason_code or str(correction.state),
                                           {"voucher": f"{correction.corrected_series} {correction.corrected_number}",
                                            **correction.detail})
            chain.append({"kind": kind, "voucher": f"{series} {number}" if number is not None else "–",
                          "answer": answer, "when": correction.finished_at if number is not None else None,
                          "by": correction.run.started_by, "why": correction.run.why})
            if number is None:
                break
    return chain


@bp.get("/")
@login_required
def show():
    """The preview (admins and managers): what correcting the range would post; nothing is posted."""
    company = current_user.company
    first, last, error = _range()
    result = None
    if first is not None and last is not None:
        try:
            result = preview(session, company, first, last, today=business_today())
        except CorrectionError as exc:
            error = input_message(exc.code, exc.detail)
    session.commit()
    runs = session.scalars(select(CorrectionRun).where(CorrectionRun.company_id == company.id)
                           .order_by(CorrectionRun.id.desc()).limit(20)).all()
    return render_template("correction/preview.html", result=result, error=error, first=first, last=last,
                           runs=runs, kronor=kronor, locked_message=locked_message,
                           attention_message=attention_message, today=business_today())


@bp.post("/")
@login_required
def confirm():
    """Bekräfta (admins only): plan the corrections for the worker and show their progress."""
    admin_required()
    company = current_user.company
    first, last, error = _range()
    if error or first is None or last is None:
        flash(error or input_message("invalid_date", {"text": ""}), "error")
        return redirect(url_for("correction.show"))
    try:
        run = start_correction(session, company, first, last, actor=current_user.email,
                               why=request.form.get("why"), today=business_today())
    except CorrectionError as exc:
        session.rollback()
        flash(input_message(exc.code, exc.detail), "error")
        return redirect(url_for("correction.show", fran=first.isoformat(), till=last.isoformat()))
    session.commit()
    wake(current_app._get_current_object())
    return redirect(url_for("correction.run", correction_run_id=run.id))


@bp.get("/<int:correction_run_id>")
@login_required
def run(correction_run_id: int):
    """A confirmed run: its progress bar while it runs, then each day's chain (the history)."""
    run = company_object(CorrectionRun, correction_run_id)
    progress = run_progress(session, run)
    return render_template("correction/run.html", run=run, progress=progress,
                           text=result_message(progress.done, progress.blocked, progress.failed, progress.pending),
                           status_text=status_text)


def status_text(correction: Correction) -> str:
    """A correction's state in Swedish, for its row in the run's table."""
    if correction.state == CorrectionState.DONE:
        return corrected_on(correction.booking_date)
    if correction.state == CorrectionState.PENDING:
        return UNDER_WAY
    detail = {"voucher": f"{correction.corrected_series} {correction.corrected_number}", **correction.detail}
    return attention_message(correction.reason_code or str(correction.state), detail)


@bp.get("/<int:correction_run_id>/progress")
@login_required
def progress(correction_run_id: int):
    """The counts the progress bar polls, as JSON (the shape the page's progress script reads)."""
    run = company_object(CorrectionRun, correction_run_id)
    progress = run_progress(session, run)
    finished = progress.total - progress.pending
    return jsonify(run_id=run.id, total=progress.total, done=progress.finished, corrected=progress.done,
                   blocked=progress.blocked, failed=progress.failed, pending=progress.pending,
                   state="done" if progress.finished else "running",
                   percent=100 if progress.total == 0 else round(100 * finished / progress.total),
                   text=result_message(progress.done, progress.blocked, progress.failed, progress.pending))
