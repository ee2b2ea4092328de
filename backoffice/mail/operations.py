"""Queueing and sending the e-mails: problems that need a person, and the weekly summary.

A problem is mailed when it needs a person: every kind in ``MAILED_REASONS`` (what the user or
their accountant must fix, in Fortnox or in our settings, and an export that failed after its
retries), and only once it has stayed open for ``GRACE`` — most causes that heal by themselves
(a stale metadata cache, a Fortnox hiccup being retried) are gone by then. One mail per problem
(kind and key) per recipient per Swedish day: the outbox's unique ``dedupe_key`` says so.

Sending happens only in the worker (``tasks.send_mail``), never in a web request; each mail is
claimed, then sent with no transaction open, then recorded. A mail server that is down stops the
batch, and every mail waits for its next attempt (``RETRY_DELAYS``); nothing else waits on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urljoin

from flask import render_template, url_for
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.business_day import business_date_at
from backoffice.companies.models import Company, Membership, Role, User
from backoffice.export.banners import make_banner, open_problems, problem_sentence
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.export.reasons import Reason
from backoffice.integrations.fortnox.models import ConnectionKind, FortnoxConnection, FortnoxIntegration
from backoffice.mail.models import MailKind, MailPreference, OutgoingMail
from backoffice.mail.smtp import MailRefused, MailServerUnavailable, SmtpConnection, SmtpSettings, make_message
from backoffice.messages import mail as msg
from backoffice.money import ZERO

log = logging.getLogger(__name__)

#: The problems a person must fix (the banner kinds of issue 20's list, a permission or licence for the
#: cost centres, a voucher in Fortnox that differs from the one sent), and "failed after the retries".
MAILED_REASONS = frozenset(
    {
        Reason.ACCOUNT_INACTIVE,
        Reason.ACCOUNT_MISSING,
        Reason.SERIES_NOT_MANUAL,
        Reason.SERIES_MISSING,
        Reason.PERIOD_LOCKED,
        Reason.NO_FINANCIAL_YEAR,
        Reason.AUTH_EXPIRED,
        Reason.CONNECTION_INVALIDATED,
        Reason.ACCESS_DENIED,
        Reason.MAPPING_INCOMPLETE,
        Reason.MAPPING_MISSING,
        Reason.COST_CENTER_MISSING,
        Reason.COST_CENTER_INACTIVE,
        Reason.COST_CENTERS_UNREADABLE,
        Reason.VOUCHER_INVALID,
        Reason.VOUCHER_DIFFERS,
        Reason.EXPORT_FAILED,
        Reason.ZREPORT_MISSING,
        Reason.GRAND_TOTAL_JUMP,
    }
)
#: A connection whose token chain died (the person who connected left, or it lapsed): its mail also
#: offers a service account, which belongs to the company and never lapses.
LAPSED = frozenset({Reason.AUTH_EXPIRED, Reason.CONNECTION_INVALIDATED})
#: How long a problem stays open before it is mailed: what heals by itself is gone by then.
GRACE = timedelta(minutes=10)
#: After a failed attempt, the next one waits this long (the last delay repeats) …
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
#: … until this many attempts have failed: then the mail is given up.
MAX_ATTEMPTS = 12
#: How long one worker's claim on a mail lasts (a crashed worker's mail is sent by another after it).
CLAIM = timedelta(minutes=2)
#: Mails per round of ``send_due`` (the next round, a minute later, takes the rest).
BATCH = 100


# --- recipients -----------------------------------------------------------------------------------


def wants_problem_mail(role: Role, preference: MailPreference | None) -> bool:
    """Admins (of the company the mail is about) get problem mails unless they opted out; others only
    when they opted in."""
    return preference.problems if preference is not None else role == Role.ADMIN


def wants_weekly(preference: MailPreference | None) -> bool:
    """The weekly summary is opt-in for everyone."""
    return preference is not None and preference.weekly


def recipients(session: Session, company: Company, kind: MailKind) -> list[User]:
    """The company's users who get mails of ``kind`` about it, by their choice for it on "E-postnotiser"."""
    rows = session.execute(
        select(User, Membership.role, MailPreference)
        .join(Membership, Membership.user_id == User.id)
        .outerjoin(
            MailPreference,
            (MailPreference.user_id == Membership.user_id) & (MailPreference.company_id == Membership.company_id),
        )
        .where(Membership.company_id == company.id)
        .order_by(User.id)
    ).all()
    if kind == MailKind.PROBLEM:
        return [user for user, role, preference in rows if wants_problem_mail(Role(role), preference)]
    return [user for user, _, preference in rows if wants_weekly(preference)]


@dataclass(frozen=True, slots=True)
class Choice:
    """What a user gets for one of their companies, for "E-postnotiser".

    membership: the user's role in the company.
    problems, weekly: the mails they get (their choice, else their role's default).
    chosen: whether it is their own choice (a stored preference) rather than the default.
    """

    membership: Membership
    problems: bool
    weekly: bool
    chosen: bool


def choices_of(session: Session, user: User) -> list[Choice]:
    """The user's mails per company, in the order of the header's switch."""
    stored = {
        preference.company_id: preference
        for preference in session.scalars(select(MailPreference).where(MailPreference.user_id == user.id))
    }
    return [
        Choice(m, wants_problem_mail(Role(m.role), stored.get(m.company_id)), wants_weekly(stored.get(m.company_id)),
               m.company_id in stored)
        for m in user.sorted_memberships()
    ]


class NotAMemberError(LookupError):
    """A mail choice for a company the user has no role in."""

    def __init__(self, user_id: int, company_id: int) -> None:
        super().__init__(f"user {user_id} is not a member of company {company_id}")
        self.user_id, self.company_id = user_id, company_id


def set_preference(session: Session, user: User, company_id: int, *, problems: bool, weekly: bool) -> None:
    """Store a user's choice for one of their companies. Flushes.

    A choice that is the default of their role there is stored as no row, so that the default keeps
    following the role (a manager made admin gets the admins' problem mails unless they opted out).
    """
    membership = user.membership_in(company_id)
    if membership is None:
        raise NotAMemberError(user.id, company_id)
    preference = session.get(MailPreference, (user.id, company_id))
    if (problems, weekly) == (wants_problem_mail(Role(membership.role), None), False):
        if preference is not None:
            session.delete(preference)
    elif preference is None:
        session.add(MailPreference(user_id=user.id, company_id=company_id, problems=problems, weekly=weekly))
    else:
        preference.problems, preference.weekly = problems, weekly
    session.flush()


# --- queueing -------------------------------------------------------------------------------------


def public_link(config, path: str) -> str:
    """``PUBLIC_URL`` + a path of ours (``make run``'s address when it is not set)."""
    base = config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    return urljoin(base.rstrip("/") + "/", path.lstrip("/"))


def _queue(session: Session, mail: OutgoingMail) -> bool:
    """Add the mail unless its dedupe key is queued already (by us earlier, or another worker now)."""
    if session.scalar(select(OutgoingMail.id).where(OutgoingMail.dedupe_key == mail.dedupe_key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(mail)
    except IntegrityError:  # another worker queued the same mail in between
        return False
    return True


def mailable_problems(session: Session, now: datetime) -> list[Problem]:
    """Open problems that need a person, open for ``GRACE`` at least, of companies exporting to Fortnox."""
    return session.scalars(
        select(Problem)
        .join(FortnoxIntegration, FortnoxIntegration.company_id == Problem.company_id)
        .where(
            Problem.closed_at.is_(None),
            Problem.kind.in_([str(reason) for reason in MAILED_REASONS]),
            Problem.opened_at <= now - GRACE,
            FortnoxIntegration.active.is_(True),
        )
        .order_by(Problem.company_id, Problem.opened_at, Problem.id)
    ).all()


def _person_bound(session: Session, company: Company) -> bool:
    """Whether the company's Fortnox connection is a person's login (not a service account)."""
    kind = session.scalar(
        select(FortnoxConnection.kind)
        .join(FortnoxIntegration, FortnoxIntegration.connection_id == FortnoxConnection.id)
        .where(FortnoxIntegration.company_id == company.id)
    )
    return kind == ConnectionKind.USER


def queue_problem_mails(session: Session, config, *, now: datetime) -> int:
    """Queue today's mail for each open problem that needs a person, for each of its recipients.

    Needs a request context (the fix links are made by ``url_for``). Commits; returns how many.
    """
    day = business_date_at(now).isoformat()
    queued = 0
    for problem in mailable_problems(session, now):
        company = problem.company
        everyone = recipients(session, company, MailKind.PROBLEM)
        keys = {user.id: f"problem:{company.id}:{problem.kind}:{problem.key}:{day}:{user.id}" for user in everyone}
        done = set(session.scalars(select(OutgoingMail.dedupe_key).where(OutgoingMail.dedupe_key.in_(keys.values()))))
        users = [user for user in everyone if keys[user.id] not in done]
        if not users:
            continue  # today's mails of this problem are queued already: nothing to render
        banner = make_banner(problem, company, admin=True, back="/")
        fix = next((a for a in banner.actions if a.label == "Åtgärda detta"), None)
        fix = fix or next((a for a in banner.actions if a.kind == "link" and a.label != "Visa"), banner.actions[0])
        waiting = session.scalar(
            select(func.count())
            .select_from(ExportJob)
            .where(
                ExportJob.company_id == company.id,
                ExportJob.state.in_([ExportState.BLOCKED, ExportState.FAILED]),
                ExportJob.reason_code == problem.kind,
                ExportJob.reason_key == problem.key,
            )
        )
        service_url = None
        if problem.kind in LAPSED and _person_bound(session, company):
            # The person who connected may have left: offer the connection that belongs to the company.
            service_url = public_link(config, url_for("fortnox.connect_start", account_type="service",
                                                      next=url_for("integrations.index")))
        for user in users:
            body = render_template(
                "mail/problem.txt",
                service_url=service_url,
                service_hint=msg.SERVICE_ACCOUNT_HINT,
                company=company,
                user=user,
                banner=banner,
                detail=problem.details,
                waiting=waiting,
                fix_url=public_link(config, fix.url),
                notification_url=public_link(config, banner.actions[0].url),
                settings_url=public_link(config, "/konto/e-post"),
            )
            queued += _queue(
                session,
                OutgoingMail(
                    dedupe_key=keys[user.id],
                    kind=MailKind.PROBLEM,
                    company_id=company.id,
                    user_id=user.id,
                    problem_id=problem.id,
                    recipient=user.email,
                    subject=msg.problem_mail_subject(company.name, problem.kind, problem.details),
                    body=body,
                    next_attempt_at=now,
                ),
            )
    session.commit()
    return queued



# --- the weekly summary ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryDay:
    day: date
    sales: Decimal
    booked: Decimal
    #: registers that sent no report for the day (having reported before)
    missing: int


def week_summary(session: Session, company: Company, monday: date) -> list[SummaryDay]:
    """Sales per day beside what was booked in Fortnox per day, Monday to Sunday, and missing reports."""
    from backoffice.overview.operations import register_days, sales_per_register_day

    sunday = monday + timedelta(days=6)
    sales = sales_per_register_day(session, company, monday, sunday)
    days = register_days(session, company, sunday + timedelta(days=1), sales)
    by_day: dict[date, SummaryDay] = {}
    for row in days:
        for day in row.days:
            if not monday <= day.day <= sunday:
                continue
            known = by_day.get(day.day, SummaryDay(day.day, ZERO, ZERO, 0))
            booked = day.sales if day.state == ExportState.EXPORTED else ZERO
            by_day[day.day] = SummaryDay(
                day.day, known.sales + day.sales, known.booked + booked, known.missing + (1 if day.missing else 0)
            )
    return [by_day.get(monday + timedelta(days=i), SummaryDay(monday + timedelta(days=i), ZERO, ZERO, 0)) for i in range(7)]


def queue_weekly_summaries(session: Session, config, *, now: datetime) -> int:
    """On Monday (Swedish time), queue last week's "Veckosammanfattning" for everyone who opted in. Commits."""
    today = business_date_at(now)
    if today.weekday() != 0:
        return 0
    monday = today - timedelta(days=7)
    queued = 0
    companies = session.scalars(
        select(Company)
        .join(Membership, Membership.company_id == Company.id)
        .join(
            MailPreference,
            (MailPreference.user_id == Membership.user_id) & (MailPreference.company_id == Membership.company_id),
        )
        .where(MailPreference.weekly.is_(True))
        .distinct()
    ).all()
    for company in companies:
        days = week_summary(session, company, monday)
        findings = [problem_sentence(p, company) for p in open_problems(company)]
        for user in recipients(session, company, MailKind.WEEKLY):
            body = render_template(
                "mail/weekly.txt",
                company=company,
                monday=monday,
                sunday=monday + timedelta(days=6),
                days=days,
                booked_days=sum(1 for d in days if d.sales and d.booked == d.sales),
                missing_days=sum(1 for d in days if d.missing),
                findings=findings,
                overview_url=public_link(config, "/"),
                settings_url=public_link(config, "/konto/e-post"),
            )
            queued += _queue(
                session,
                OutgoingMail(
                    dedupe_key=f"weekly:{company.id}:{monday.isoformat()}:{user.id}",
                    kind=MailKind.WEEKLY,
                    company_id=company.id,
                    user_id=user.id,
                    recipient=user.email,
                    subject=msg.weekly_subject(company.name, monday.isocalendar().week),
                    body=body,
                    next_attempt_at=now,
                ),
            )
    session.commit()
    return queued


# --- sending --------------------------------------------------------------------------------------


def _claim(session: Session, mail_id: int, now: datetime) -> bool:
    """Take the mail for this worker unless another has it (one conditional UPDATE: atomic everywhere)."""
    claimed = session.execute(
        update(OutgoingMail)
        .where(
            OutgoingMail.id == mail_id,
            OutgoingMail.sent_at.is_(None),
            OutgoingMail.failed_at.is_(None),
            or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM)
    )
    session.commit()
    return claimed.rowcount == 1


def _retry_later(mail: OutgoingMail, error: str, now: datetime) -> None:
    mail.attempts += 1
    mail.last_error = error[:2000]
    mail.claimed_until = None
    if mail.attempts >= MAX_ATTEMPTS:
        mail.failed_at = now
        log.warning("Mail %s to user %s given up after %s attempts", mail.id, mail.user_id, mail.attempts)
    else:
        mail.next_attempt_at = now + RETRY_DELAYS[min(mail.attempts, len(RETRY_DELAYS)) - 1]


def due_mails(session: Session, now: datetime) -> list[int]:
    return session.scalars(
        select(OutgoingMail.id)
        .where(
            OutgoingMail.sent_at.is_(None),
            OutgoingMail.failed_at.is_(None),
            OutgoingMail.next_attempt_at <= now,
            or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now),
        )
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(BATCH)
    ).all()


def send_due(session: Session, settings: SmtpSettings, *, now: datetime) -> int:
    """Send the due mails over one connection; returns how many the server accepted. Commits.

    No transaction stays open while the mail server is talked to (on SQLite: the write lock).
    """
    ids = [mail_id for mail_id in due_mails(session, now) if _claim(session, mail_id, now)]
    if not ids:
        return 0
    sent = 0
    remaining = list(ids)
    try:
        with SmtpConnection(settings) as smtp:
            for mail_id in ids:
                mail = session.get(OutgoingMail, mail_id)
                message = make_message(settings, mail.recipient, mail.subject, mail.body)
                session.commit()
                try:
                    smtp.send(message)
                except MailRefused as exc:
                    _retry_later(mail, str(exc), now)
                else:
                    mail.sent_at, mail.claimed_until, mail.last_error = now, None, None
                    mail.attempts += 1
                    sent += 1
                session.commit()
                remaining.remove(mail_id)
    except MailServerUnavailable as exc:
        log.warning("The mail server is unavailable (%s); %s mail(s) wait for the next attempt", exc, len(remaining))
        for mail_id in remaining:
            mail = session.get(OutgoingMail, mail_id)
            if mail.sent_at is None:
                _retry_later(mail, str(exc), now)
        session.commit()
    return sent


def mail_status(session: Session, company: Company) -> dict:
    """For the settings page: how many of the company's mails were sent, wait or were given up."""
    rows = session.execute(
        select(
            func.count(OutgoingMail.sent_at),
            func.count(OutgoingMail.failed_at),
            func.count(),
            func.max(OutgoingMail.sent_at),
        ).where(OutgoingMail.company_id == company.id)
    ).one()
    sent, failed, total, last_sent = rows
    return {"sent": sent, "failed": failed, "waiting": total - sent - failed, "last_sent": last_sent}
