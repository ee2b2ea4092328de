"""The banners of a company's open problems, as people see them on every page and in mails.

One open ``Problem`` is one banner (OPEN Two's "Felmeddelanden": the sentence, **Visa** opens the
notification, **Åtgärda detta**, **Visa inaktiva konton** and **Gå till Fortnox** lead to the fix).
The sentences come from ``messages.reason_message``; the buttons are chosen here from the reason.
The pages (export/views.py, overview) and the mails (mail/operations.py) read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from backoffice.accounts.fields import field_for_missing, fields_of_account, fix_link_args, missing_from_detail
from backoffice.accounts.operations import load_mapping
from backoffice.companies.models import Company, Membership, Role, User
from backoffice.db import session
from backoffice.export.attachments import CONSENT_SENTENCE, needs_new_consent
from backoffice.export.jobs import integration_of
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.export.reasons import AUTHORISATION, COMPLETENESS, FORTNOX_SIDE, Reason
from backoffice.messages import ask_admin_message, reason_message

#: The kind the yellow banner of a consent without the attaching scopes carries (not a stored problem).
CONSENT_KIND = "attachments_need_consent"

#: Where "Gå till Fortnox" leads (a new tab; the user logs in there).
FORTNOX_URL = "https://apps.fortnox.se"


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


def consent_banner(company: Company) -> Banner:
    """The yellow banner of a connection made before Z-reports were attached: only a new login adds
    the scopes ``inbox`` and ``connectfile``. Not a problem of the exports, which go on meanwhile.
    Only an admin logs in again; a manager is told which admin to ask."""
    problem = Problem(kind=CONSENT_KIND, key="", detail="{}")
    if not current_user.is_admin:
        return Banner(problem=problem, sentence=CONSENT_SENTENCE, level="warning",
                      ask_admin=ask_admin_message(_admin_emails(company), company.name))
    back = url_for("integrations.index")
    actions = [Action("Åtgärda detta", url_for("fortnox.connect_start", next=back))]
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
                    banners.append(consent_banner(company))
        except SQLAlchemyError:  # an error page must still render
            session.rollback()
    g.export_banners = banners
    return banners
