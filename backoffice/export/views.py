"""Export problems as people see them: banners on every page, notifications, the status light,
"Manuell export" with its progress bar, and "Kontrollera igen".

One open ``Problem`` is one banner (OPEN Two's "Felmeddelanden": the sentence, **Visa** opens the
notification, **Åtgärda detta**, **Visa inaktiva konton** and **Gå till Fortnox** lead to the fix).
The sentences come from ``messages.reason_message``; the buttons are chosen here from the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from backoffice.accounts.defaults import ACCOUNT_LABELS
from backoffice.accounts.fields import (
    field_for_missing,
    field_label,
    fields_of_account,
    fix_link_args,
    mapped_fields,
    missing_from_detail,
)
from backoffice.accounts.operations import load_mapping
from backoffice.companies.auth import admin_required
from backoffice.companies.models import Company, Membership, Register, Role, User
from backoffice.db import now_utc, session
from backoffice.export.attachments import (
    CONSENT_SENTENCE,
    AttachConsentMissing,
    backfill_progress,
    has_attach_scopes,
    needs_new_consent,
    start_backfill,
)
from backoffice.export.cli import reason_text
from backoffice.export.differs import NotDiffering, accept_found_voucher, differs_case, look_again
from backoffice.export.jobs import integration_of
from backoffice.export.manual import run_progress, start_manual_export
from backoffice.export.models import AttachmentRun, ExportJob, ExportState, ManualExportRun, Problem
from backoffice.export.problems import heal_connection, job_causes, unblock_jobs
from backoffice.export.reasons import AUTHORISATION, COMPLETENESS, FORTNOX_SIDE, Reason
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.errors import FortnoxError
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxIntegration
from backoffice.messages import (
    ask_admin_message,
    missing_parts_message,
    problem_clause,
    read_ago,
    reason_message,
    zreports,
)
from backoffice.scheduler import wake
from backoffice.security import safe_next
from backoffice.zreport.models import ZReportRecord

bp = Blueprint("export", __name__)

#: The kind the yellow banner of a consent without the attaching scopes carries (not a stored problem).
CONSENT_KIND = "attachments_need_consent"

#: Where "Gå till Fortnox" leads (a new tab; the user logs in there).
FORTNOX_URL = "https://apps.fortnox.se"


# --- banners --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    """A button of a banner or notification: a link, a link to Fortnox in a new tab, or a POST form."""

    label: str
    url: str
    kind: str = "link"  # link | external | post


@dataclass(slots=True)
class Banner:
    problem: Problem
    sentence: str
    actions: list[Action] = field(default_factory=list)
    fortnox_message: str | None = None
    fortnox_code: str | None = None
    #: "warning" for a yellow banner: exports go on, something less is missing
    level: str = ""
    #: for a manager, whose banner lacks a button an admin gets: whom to ask (``messages.ask_admin_message``)
    ask_admin: str | None = None


def consent_banner() -> Banner:
    """The yellow banner of a connection made before Z-reports were attached: only a new login adds
    the scopes ``inbox`` and ``connectfile``. Not a problem of the exports, which go on meanwhile."""
    problem = Problem(kind=CONSENT_KIND, key="", detail="{}")
    actions = []
    if current_user.is_admin:
        back = url_for("integrations.index")
        actions.append(Action("Åtgärda detta", url_for("fortnox.connect_start", next=back)))
    return Banner(problem=problem, sentence=CONSENT_SENTENCE, actions=actions, level="warning")


def _detail_with_names(problem: Problem, company: Company) -> dict:
    """The problem's detail, with what the sentence names that only our database knows."""
    detail = problem.details
    if problem.kind in (Reason.COST_CENTER_MISSING, Reason.COST_CENTER_INACTIVE) and detail.get("cost_center"):
        names = [r.name for r in company.registers if r.cost_center == detail["cost_center"]]
        if names:
            detail["register_name"] = ", ".join(names)
    return detail


def problem_sentence(problem: Problem, company: Company) -> str:
    """The banner sentence of a problem (OPEN Two's wording where the seeds have one)."""
    return reason_message(problem.kind, _detail_with_names(problem, company))


def wizard_link(**query) -> str:
    return url_for("integrations.wizard_entry", **query)


def _account_link(company: Company, account) -> str:
    """The wizard step and field where ``account`` is chosen (a missing account: choose another)."""
    mapping = load_mapping(session, company)
    fields = fields_of_account(mapping, int(account)) if mapping is not None and account else []
    return wizard_link(**fix_link_args(fields[0] if fields else None))


def problem_actions(
    problem: Problem, company: Company, *, admin: bool | None = None, back: str | None = None
) -> list[Action]:
    """The buttons of a problem's banner and notification, by what fixes its cause.

    ``admin`` (the buttons an admin gets) and ``back`` (where "Kontrollera igen" returns) default to
    the logged-in user and this page; a mail, made by the worker, passes them.
    """
    kind = problem.kind
    detail = problem.details
    admin = current_user.is_admin if admin is None else admin
    actions = [Action("Visa", url_for("export.notification", problem_id=problem.id))]
    if kind == Reason.MAPPING_INCOMPLETE and admin:
        missing = detail.get("missing") or []
        first = field_for_missing(missing_from_detail(missing[0])) if missing else None
        actions.append(Action("Åtgärda detta", wizard_link(**fix_link_args(first))))
    elif kind == Reason.MAPPING_MISSING and admin:
        actions.append(Action("Åtgärda detta", wizard_link()))
    elif kind == Reason.ACCOUNT_INACTIVE:
        actions.append(Action("Visa inaktiva konton", url_for("export.inactive_accounts")))
    elif kind == Reason.ACCOUNT_MISSING and admin:
        actions.append(Action("Åtgärda detta", _account_link(company, detail.get("account"))))
    elif kind in (Reason.SERIES_MISSING, Reason.SERIES_NOT_MANUAL) and admin:
        actions.append(Action("Åtgärda detta", wizard_link(step="serie")))
    elif kind in (Reason.COST_CENTER_MISSING, Reason.COST_CENTER_INACTIVE):
        actions.append(Action("Åtgärda detta", url_for("accounts.index", _anchor="kostnadsstallen")))
    elif kind in AUTHORISATION and admin:
        back = url_for("integrations.wizard", step="behorighet")
        actions.append(Action("Åtgärda detta", url_for("fortnox.connect_start", next=back)))
    elif kind in (Reason.VOUCHER_INVALID, Reason.EXPORT_FAILED):
        actions.append(
            Action(
                "Åtgärda detta",
                url_for(
                    "zreport.index", status=ExportState.FAILED if kind == Reason.EXPORT_FAILED else ExportState.BLOCKED
                ),
            )
        )
    elif kind in COMPLETENESS:
        # The register's reports and its units' history: what arrived, from which unit.
        actions.append(Action("Åtgärda detta", url_for("zreport.index", kassa=detail.get("register_id"))))
    elif kind == Reason.VOUCHER_DIFFERS and admin:
        job_id = session.scalar(
            select(ExportJob.id).where(ExportJob.company_id == company.id, ExportJob.state == ExportState.BLOCKED,
                                       ExportJob.reason_code == kind, ExportJob.reason_key == problem.key)
            .order_by(ExportJob.id).limit(1))
        if job_id is not None:
            actions.append(Action("Åtgärda detta", url_for("export.voucher_differs", job_id=job_id)))
    if kind in FORTNOX_SIDE or kind in (Reason.ACCESS_DENIED, Reason.CONNECTION_INVALIDATED, Reason.VOUCHER_DIFFERS):
        actions.append(Action("Gå till Fortnox", FORTNOX_URL, "external"))
    if kind in FORTNOX_SIDE:
        actions.append(
            Action(
                "Kontrollera igen",
                url_for("export.recheck", next=request.full_path.rstrip("?") if back is None else back),
                "post",
            )
        )
    return actions


def make_banner(problem: Problem, company: Company, *, admin: bool | None = None, back: str | None = None) -> Banner:
    detail = problem.details
    admin = current_user.is_admin if admin is None else admin
    actions = problem_actions(problem, company, admin=admin, back=back)
    ask_admin = None
    if not admin:
        theirs = {a.label for a in problem_actions(problem, company, admin=True, back=back)}
        if theirs - {a.label for a in actions}:
            ask_admin = ask_admin_message(_admin_emails(company), company.name)
    return Banner(
        problem=problem,
        sentence=problem_sentence(problem, company),
        actions=actions,
        fortnox_message=detail.get("fortnox_message"),
        fortnox_code=None if detail.get("fortnox_code") is None else str(detail["fortnox_code"]),
        ask_admin=ask_admin,
    )


def _admin_emails(company: Company) -> list[str]:
    """The company's admins, whom a manager asks (once per request)."""
    cached = g.get("admin_emails")
    if cached is None or cached[0] != company.id:
        emails = session.scalars(
            select(User.email).join(Membership, Membership.user_id == User.id)
            .where(Membership.company_id == company.id, Membership.role == Role.ADMIN).order_by(User.email)
        ).all()
        cached = g.admin_emails = (company.id, list(emails))
    return cached[1]


def open_problems(company: Company) -> list[Problem]:
    return session.scalars(
        select(Problem)
        .where(Problem.company_id == company.id, Problem.closed_at.is_(None))
        .order_by(Problem.opened_at, Problem.id)
    ).all()


def current_banners() -> list[Banner]:
    """The banners of the logged-in user's company, once per request; none while exports are off."""
    if "export_banners" in g:
        return g.export_banners
    banners: list[Banner] = []
    if current_user.is_authenticated:
        company = current_user.company
        try:
            integration = integration_of(session, company.id)
            if integration is not None and integration.active:
                banners = [make_banner(problem, company) for problem in open_problems(company)]
                if needs_new_consent(integration.connection):
                    banners.append(consent_banner())
        except SQLAlchemyError:  # an error page must still render
            session.rollback()
    g.export_banners = banners
    return banners


@bp.app_context_processor
def _inject_banners() -> dict:
    # A function, not a list: pages that never show banners (login, the JSON endpoints) query nothing.
    return {"export_banners": current_banners, "fortnox_url": FORTNOX_URL, "has_attach_scopes": has_attach_scopes,
            "ago": lambda moment: read_ago(moment, now_utc())}


# --- the status light -----------------------------------------------------------------------------


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
        return StatusLight("off", "Inte aktiverad", "")
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
                why += " (och fler problem, se Notifikationer)"
        elif connection is None or connection.status != ConnectionStatus.ACTIVE:
            why = problem_clause(Reason.NOT_CONNECTED)
        else:
            why = "se Z-rapporterna som väntar"
        waiting = f"{zreports(stuck)} väntar på åtgärd" if stuck else "nästa dagsavslut kan inte exporteras"
        return StatusLight("red", "Röd", f"{waiting} — {why}")
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
                "yellow", "Gul",
                f"Fördröjningar: {zreports(retrying)} väntar på ett nytt försök eller har väntat i mer än "
                f"{DELAYED_AFTER.seconds // 60} minuter"
                + (f"; {zreports(waiting - retrying)} till exporteras nu" if waiting > retrying else ""),
            )
        return StatusLight("green", "Grön", f"{zreports(waiting)} exporteras nu till Fortnox.")
    return StatusLight("green", "Grön", "Allt fungerar normalt: allt är exporterat.")


def job_counts(company: Company) -> dict[str, int]:
    """How many of the company's export jobs are in each state (one grouped query)."""
    rows = session.execute(
        select(ExportJob.state, func.count()).where(ExportJob.company_id == company.id).group_by(ExportJob.state)
    ).all()
    return {str(state): count for state, count in rows}


# --- notifications --------------------------------------------------------------------------------


def _company_problem(problem_id: int) -> Problem:
    problem = session.get(Problem, problem_id)
    if problem is None or problem.company_id != current_user.company_id:
        abort(404)
    return problem


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
    problem = _company_problem(problem_id)
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
    from backoffice.integrations.fortnox.lists import FortnoxUnavailable, chart_read_at, fortnox_accounts

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


def _company_job(job_id: int) -> ExportJob:
    job = session.get(ExportJob, job_id)
    if job is None or job.company_id != current_user.company_id:
        abort(404)
    return job


@bp.get("/foretag/integrationer/fortnox/avvikande-verifikation/<int:job_id>")
@login_required
def voucher_differs(job_id: int):
    """ "Åtgärda detta" of a voucher that differs: what we sent beside what Fortnox holds, and the choice."""
    job = _company_job(job_id)
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
    job = _company_job(job_id)  # another company's job is 404 for anyone, before the role is asked
    admin_required()
    try:
        accepted = accept_found_voucher(session, job.id, actor=current_user.email)
    except NotDiffering:
        session.rollback()
        flash("Z-rapporten väntar inte längre på ett beslut om verifikationen.", "info")
        return redirect(url_for("zreport.show", zreport_id=job.zreport_id))
    wake(current_app._get_current_object())  # its Z-report PDF is attached next
    flash(f"Verifikation {accepted.voucher_series} {accepted.voucher_number} i Fortnox är nu Z-rapportens "
          "bokföring. Ingen ny verifikation skickades.", "info")
    return redirect(url_for("zreport.show", zreport_id=job.zreport_id))


@bp.post("/foretag/integrationer/fortnox/avvikande-verifikation/<int:job_id>/las-igen")
@login_required
def voucher_differs_look_again(job_id: int):
    """Let the worker read the voucher from Fortnox again and compare it anew (admins)."""
    job = _company_job(job_id)  # another company's job is 404 for anyone, before the role is asked
    admin_required()
    try:
        look_again(session, job.id, actor=current_user.email)
    except NotDiffering:
        session.rollback()
        flash("Z-rapporten väntar inte längre på ett beslut om verifikationen.", "info")
        return redirect(url_for("zreport.show", zreport_id=job.zreport_id))
    wake(current_app._get_current_object())
    flash("Verifikationen läses från Fortnox igen och jämförs med den vi skickade. "
          "Stämmer den nu, räknas den som Z-rapportens bokföring.", "info")
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
        from backoffice.integrations.fortnox.lists import forget_fortnox_lists

        connection = integration.connection
        forget_fortnox_lists(connection.id)  # the wizard's lists are read again too
        session.commit()  # no transaction (on SQLite: the write lock) stays open while Fortnox is called
        try:
            woken = heal_connection(session, connection, client_for(connection), strict=True)
        except FortnoxError:
            session.rollback()
            flash("Fortnox kunde inte läsas just nu, så ingenting är kontrollerat. Försök igen om en stund.", "error")
            return redirect(target)
    else:
        woken = unblock_jobs(session, company)
    session.commit()
    remaining = [p for p in open_problems(company) if p.kind in FORTNOX_SIDE]
    if woken:
        wake(current_app._get_current_object())
        flash(f"Fortnox är kontrollerat igen. {zreports(woken)} exporteras nu.", "info")
    elif remaining:
        said = " ".join(problem_sentence(p, company) for p in remaining[:3])
        flash(f"Fortnox är kontrollerat igen just nu, och det här gäller fortfarande: {said}", "error")
    else:
        flash("Fortnox är kontrollerat igen. Inga problem hittades i Fortnox.", "info")
    return redirect(target)


@bp.post("/foretag/integrationer/fortnox/manuell-export")
@login_required
def manual_export_start():
    """ "Manuell export" (admins and managers): export now what waits, and give the progress URL."""
    company = current_user.company
    integration = integration_of(session, company.id)
    if integration is None or not integration.active:
        message = "Integrationen med Fortnox är inte aktiverad."
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
    flash("Manuell export har startats.", "info")
    return redirect(url_for("integrations.index", run=run.id))


def progress_text(progress) -> str:
    if progress.total == 0:
        return "Det fanns inget att exportera: all försäljningsdata är redan i Fortnox."
    parts = [f"Exporterade: {progress.exported}"]
    if progress.already_there:
        parts.append(f"fanns redan i Fortnox: {progress.already_there}")
    if progress.blocked:
        parts.append(f"väntar på åtgärd: {progress.blocked}")
    if progress.failed:
        parts.append(f"misslyckades: {progress.failed}")
    if not progress.done:
        parts.append(f"kvar: {progress.pending}")
    return ", ".join(parts) + "."


@bp.get("/foretag/integrationer/fortnox/manuell-export/<int:run_id>")
@login_required
def manual_export_progress(run_id: int):
    """The counts the progress bar polls, as JSON."""
    run = session.get(ManualExportRun, run_id)
    if run is None or run.company_id != current_user.company_id:
        abort(404)
    progress = run_progress(session, run)
    finished = progress.total - progress.pending
    return jsonify(
        run_id=run.id,
        total=progress.total,
        exported=progress.exported,
        already_there=progress.already_there,
        blocked=progress.blocked,
        failed=progress.failed,
        pending=progress.pending,
        done=progress.done,
        percent=100 if progress.total == 0 else round(100 * finished / progress.total),
        text=progress_text(progress),
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
        message = CONSENT_SENTENCE + "."
        if _wants_json():
            return jsonify(error=message), 409
        flash(message, "error")
        return redirect(url_for("integrations.index"))
    wake(current_app._get_current_object())
    progress_url = url_for("export.attach_progress", attach_run_id=run.id)
    if _wants_json():
        return jsonify(run_id=run.id, progress_url=progress_url, total=run.total), 202
    flash("Z-rapporterna bifogas nu som underlag.", "info")
    return redirect(url_for("integrations.index"))


def attach_progress_text(progress) -> str:
    """What a run of "Bifoga underlag för tidigare dagar" has done, in Swedish."""
    if progress.total == 0:
        return "Det finns inga exporterade verifikationer att bifoga underlag till."
    parts = [f"Bifogade: {progress.attached}", f"hade redan underlag: {progress.already_there}"]
    if progress.failed:
        parts.append(f"misslyckades: {progress.failed}")
    if not progress.done:
        parts.append(f"kvar: {progress.pending}")
    text = ", ".join(parts) + "."
    for failure in progress.failures[:10]:
        text += f" Z-rapport {failure.z_number} ({failure.business_date}), verifikation {failure.voucher}: {failure.message}"
    return text


@bp.get("/foretag/integrationer/fortnox/bifoga-underlag/<int:attach_run_id>")
@login_required
def attach_progress(attach_run_id: int):
    """The counts the progress bar of "Bifoga underlag för tidigare dagar" polls, as JSON."""
    run = session.get(AttachmentRun, attach_run_id)
    if run is None or run.company_id != current_user.company_id:
        abort(404)
    progress = backfill_progress(session, run)
    finished = progress.total - progress.pending
    return jsonify(
        run_id=run.id,
        total=progress.total,
        attached=progress.attached,
        already_there=progress.already_there,
        failed=progress.failed,
        pending=progress.pending,
        failures=[{"zreport_id": f.zreport_id, "z_number": f.z_number, "business_date": f.business_date,
                   "voucher": f.voucher, "reason": f.message} for f in progress.failures],
        done=progress.done,
        percent=100 if progress.total == 0 else round(100 * finished / progress.total),
        text=attach_progress_text(progress),
    )
