"""Export problems as people see them: the banners on every page (made in export/banners.py),
notifications, "Visa inaktiva konton", "Manuell export" with its progress bar, "Bifoga underlag för
tidigare dagar" and "Kontrollera igen"."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from backoffice.accounts.defaults import ACCOUNT_LABELS
from backoffice.accounts.fields import field_label, fix_link_args, mapped_fields
from backoffice.accounts.operations import load_mapping
from backoffice.companies.auth import admin_required
from backoffice.companies.models import Register
from backoffice.db import now_utc, session
from backoffice.export.attachments import (
    AttachConsentMissing,
    backfill_progress,
    has_attach_scopes,
    start_backfill,
)
from backoffice.export.banners import (
    FORTNOX_URL,
    current_banners,
    make_banner,
    open_problems,
    problem_sentence,
    wizard_link,
)
from backoffice.export.differs import NotDiffering, accept_found_voucher, differs_case, look_again
from backoffice.export.jobs import integration_of
from backoffice.export.manual import run_progress, start_manual_export
from backoffice.export.models import AttachmentRun, ExportJob, ExportState, ManualExportRun, Problem
from backoffice.export.problems import heal_connection, job_causes, unblock_jobs
from backoffice.export.reasons import FORTNOX_SIDE, Reason
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.errors import FortnoxError
from backoffice.integrations.fortnox.lists import (
    FortnoxUnavailable,
    chart_read_at,
    forget_fortnox_lists,
    fortnox_accounts,
)
from backoffice.integrations.fortnox.models import ConnectionStatus
from backoffice.messages import export as msg
from backoffice.messages import missing_parts_message, read_ago, reason_message, reason_text, zreports
from backoffice.scheduler import wake
from backoffice.security import company_object, safe_next
from backoffice.zreport.models import ZReportRecord

bp = Blueprint("export", __name__)


@bp.app_context_processor
def _inject_banners() -> dict:
    # A function, not a list: pages that never show banners (login, the JSON endpoints) query nothing.
    return {"export_banners": current_banners, "fortnox_url": FORTNOX_URL, "has_attach_scopes": has_attach_scopes,
            "ago": lambda moment: read_ago(moment, now_utc())}


# --- notifications --------------------------------------------------------------------------------


@bp.get("/foretag/notifikationer/")
@login_required
def notifications():
    company = current_user.company
    problems = session.scalars(
        select(Problem)
        .where(Problem.company_id == company.id)
        .order_by(Problem.closed_at.is_not(None), Problem.opened_at.desc(), Problem.id.desc())
        .limit(100)
    ).all()
    items = [(problem, problem_sentence(problem, company)) for problem in problems]
    return render_template("export/notifications.html", items=items)


@bp.get("/foretag/notifikationer/<int:problem_id>")
@login_required
def notification(problem_id: int):
    company = current_user.company
    problem = company_object(Problem, problem_id)
    banner = make_banner(problem, company)
    detail = problem.details
    missing_text = missing_parts_message(detail["missing"]) if detail.get("missing") else None
    waiting = 0
    jobs = []
    if problem.closed_at is None:
        _, waiting = job_causes(session, company).get((problem.kind, problem.key), ({}, 0))
        rows = session.execute(
            select(ExportJob, ZReportRecord, Register.name)
            .join(ZReportRecord, ZReportRecord.id == ExportJob.zreport_id)
            .join(Register, Register.id == ZReportRecord.register_id)
            .where(
                ExportJob.company_id == company.id,
                ExportJob.state.in_([ExportState.BLOCKED, ExportState.FAILED]),
                ExportJob.reason_code == problem.kind,
                ExportJob.reason_key == problem.key,
            )
            .order_by(ZReportRecord.business_date, ZReportRecord.id)
            .limit(20)
        ).all()
        jobs = [(job, record, register_name, reason_text(job)) for job, record, register_name in rows]
    return render_template(
        "export/notification.html",
        banner=banner,
        problem=problem,
        missing_text=missing_text,
        waiting=waiting,
        jobs=jobs,
    )


@dataclass(frozen=True, slots=True)
class InactiveAccount:
    number: int
    name: str
    #: whether Fortnox still says so now (None: Fortnox could not be asked)
    still_inactive: bool | None
    #: (field key, its Swedish name, link to the wizard field)
    used_for: list[tuple[str, str, str]]


@bp.get("/foretag/integrationer/fortnox/inaktiva-konton")
@login_required
def inactive_accounts():
    """ "Visa inaktiva konton": every account the settings use that Fortnox has inactive, and where it is used."""
    company = current_user.company
    integration = integration_of(session, company.id)
    connection = integration.connection if integration is not None else None
    mapping = load_mapping(session, company)
    mapped = mapped_fields(mapping) if mapping is not None else []
    inactive = {
        int(p.details["account"])
        for p in open_problems(company)
        if p.kind == Reason.ACCOUNT_INACTIVE and p.details.get("account")
    }
    accounts = None
    read_at = None
    if connection is not None and connection.status == ConnectionStatus.ACTIVE:
        try:
            # This page leads to the fix: Fortnox is read afresh (two calls, from the tenant's budget).
            accounts = fortnox_accounts(connection, fresh=True)
        except FortnoxUnavailable:
            accounts = None
        read_at = chart_read_at(connection)
    if accounts is not None:
        inactive |= {number for _, number in mapped if number in accounts and not accounts[number][1]}
    rows = [
        InactiveAccount(
            number,
            accounts[number][0] if accounts and number in accounts else ACCOUNT_LABELS.get(number, ""),
            None if accounts is None else (number in accounts and not accounts[number][1]),
            [(key, field_label(key), wizard_link(**fix_link_args(key))) for key, used in mapped if used == number],
        )
        for number in sorted(inactive)
    ]
    return render_template("export/inactive_accounts.html", rows=rows, checked=accounts is not None, read_at=read_at)


# --- a voucher in Fortnox that differs from what was sent ------------------------------------------


@bp.get("/foretag/integrationer/fortnox/avvikande-verifikation/<int:job_id>")
@login_required
def voucher_differs(job_id: int):
    """ "Åtgärda detta" of a voucher that differs: what we sent beside what Fortnox holds, and the choice."""
    job = company_object(ExportJob, job_id)
    try:
        case = differs_case(job)
    except NotDiffering:
        return redirect(url_for("zreport.show", zreport_id=job.zreport_id))
    record = job.zreport
    return render_template("export/voucher_differs.html", case=case, job=job, record=record,
                           sentence=reason_message(job.reason_code, job.detail))


@bp.post("/foretag/integrationer/fortnox/avvikande-verifikation/<int:job_id>/godkann")
@login_required
def voucher_differs_accept(job_id: int):
    """Take Fortnox's voucher as the report's booking (admins)."""
    job = company_object(ExportJob, job_id)  # another company's job is 404 for anyone, before the role is asked
    admin_required()
    try:
        accepted = accept_found_voucher(session, job.id, actor=current_user.email)
    except NotDiffering:
        session.rollback()
        flash(msg.NO_LONGER_DIFFERS, "info")
        return redirect(url_for("zreport.show", zreport_id=job.zreport_id))
    wake(current_app._get_current_object())  # its Z-report PDF is attached next
    flash(msg.accepted_voucher(accepted.voucher_series, accepted.voucher_number), "info")
    return redirect(url_for("zreport.show", zreport_id=job.zreport_id))


@bp.post("/foretag/integrationer/fortnox/avvikande-verifikation/<int:job_id>/las-igen")
@login_required
def voucher_differs_look_again(job_id: int):
    """Let the worker read the voucher from Fortnox again and compare it anew (admins)."""
    job = company_object(ExportJob, job_id)  # another company's job is 404 for anyone, before the role is asked
    admin_required()
    try:
        look_again(session, job.id, actor=current_user.email)
    except NotDiffering:
        session.rollback()
        flash(msg.NO_LONGER_DIFFERS, "info")
        return redirect(url_for("zreport.show", zreport_id=job.zreport_id))
    wake(current_app._get_current_object())
    flash(msg.LOOKING_AGAIN, "info")
    return redirect(url_for("zreport.show", zreport_id=job.zreport_id))


# --- actions --------------------------------------------------------------------------------------


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json


@bp.post("/foretag/integrationer/fortnox/kontrollera")
@login_required
def recheck():
    """ "Kontrollera igen": read Fortnox's accounts, series and cost centres again and unblock what is fixed."""
    company = current_user.company
    integration = integration_of(session, company.id)
    target = safe_next(request.args.get("next") or request.form.get("next")) or url_for("integrations.index")
    if integration is not None and integration.connection is not None:
        connection = integration.connection
        forget_fortnox_lists(connection.id)  # the wizard's lists are read again too
        session.commit()  # no transaction (on SQLite: the write lock) stays open while Fortnox is called
        try:
            woken = heal_connection(session, connection, client_for(connection), strict=True)
        except FortnoxError:
            session.rollback()
            flash(msg.RECHECK_UNREADABLE, "error")
            return redirect(target)
    else:
        woken = unblock_jobs(session, company)
    session.commit()
    remaining = [p for p in open_problems(company) if p.kind in FORTNOX_SIDE]
    if woken:
        wake(current_app._get_current_object())
        flash(msg.rechecked_exporting(zreports(woken)), "info")
    elif remaining:
        flash(msg.rechecked_still(" ".join(problem_sentence(p, company) for p in remaining[:3])), "error")
    else:
        flash(msg.RECHECKED_NO_PROBLEM, "info")
    return redirect(target)


@bp.post("/foretag/integrationer/fortnox/manuell-export")
@login_required
def manual_export_start():
    """ "Manuell export" (admins and managers): export now what waits, and give the progress URL."""
    company = current_user.company
    integration = integration_of(session, company.id)
    if integration is None or not integration.active:
        message = msg.NOT_ACTIVE
        if _wants_json():
            return jsonify(error=message), 409
        flash(message, "error")
        return redirect(url_for("integrations.index"))
    run = start_manual_export(session, company, actor=current_user.email)
    session.commit()
    wake(current_app._get_current_object())
    progress_url = url_for("export.manual_export_progress", run_id=run.id)
    if _wants_json():
        return jsonify(run_id=run.id, progress_url=progress_url, total=run.total), 202
    flash(msg.MANUAL_EXPORT_STARTED, "info")
    return redirect(url_for("integrations.index", run=run.id))


@bp.get("/foretag/integrationer/fortnox/manuell-export/<int:run_id>")
@login_required
def manual_export_progress(run_id: int):
    """The counts the progress bar polls, as JSON."""
    run = company_object(ManualExportRun, run_id)
    progress = run_progress(session, run)
    return _progress_answer(
        run, progress, msg.progress_text(progress),
        exported=progress.exported, already_there=progress.already_there, blocked=progress.blocked,
        failed=progress.failed,
    )


def _progress_answer(run, progress, text: str, **counts):
    """What a progress bar polls: the run's ``counts``, the total, what is left, and how far it is."""
    finished = progress.total - progress.pending
    return jsonify(
        run_id=run.id,
        total=progress.total,
        pending=progress.pending,
        done=progress.done,
        percent=100 if progress.total == 0 else round(100 * finished / progress.total),
        text=text,
        **counts,
    )


# --- "Bifoga underlag för tidigare dagar" ---------------------------------------------------------


@bp.post("/foretag/integrationer/fortnox/bifoga-underlag")
@login_required
def attach_start():
    """ "Bifoga underlag för tidigare dagar" (admins and managers): attach the PDF of every exported
    voucher that lacks it; answers the progress URL."""
    company = current_user.company
    integration = integration_of(session, company.id)
    try:
        if integration is None or not integration.active:
            raise AttachConsentMissing(company.name)
        run = start_backfill(session, company, actor=current_user.email)
    except AttachConsentMissing:
        session.rollback()
        message = msg.ATTACH_CONSENT + "."
        if _wants_json():
            return jsonify(error=message), 409
        flash(message, "error")
        return redirect(url_for("integrations.index"))
    wake(current_app._get_current_object())
    progress_url = url_for("export.attach_progress", attach_run_id=run.id)
    if _wants_json():
        return jsonify(run_id=run.id, progress_url=progress_url, total=run.total), 202
    flash(msg.ATTACHING_STARTED, "info")
    return redirect(url_for("integrations.index"))


@bp.get("/foretag/integrationer/fortnox/bifoga-underlag/<int:attach_run_id>")
@login_required
def attach_progress(attach_run_id: int):
    """The counts the progress bar of "Bifoga underlag för tidigare dagar" polls, as JSON."""
    run = company_object(AttachmentRun, attach_run_id)
    progress = backfill_progress(session, run)
    return _progress_answer(
        run, progress, msg.attach_progress_text(progress),
        attached=progress.attached, already_there=progress.already_there, failed=progress.failed,
        failures=[{"zreport_id": f.zreport_id, "z_number": f.z_number, "business_date": f.business_date,
                   "voucher": f.voucher, "reason": f.message} for f in progress.failures],
    )
