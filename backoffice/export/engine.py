"""The export engine: every Z-report becomes exactly one voucher in Fortnox.

A voucher cannot be changed or deleted in Fortnox, so a duplicate is a bookkeeping error. The
engine therefore never posts twice without looking first: before a POST it marks the job
``in_doubt`` and commits; only a clear answer from Fortnox clears the mark. A job still in doubt
(a timeout, a reset, a 5xx, a worker killed mid-post) is reconciled before anything else: the
voucher is looked up in Fortnox by its unique description in its series and date, adopted if it is
there, and only then posted again.

Work is claimed from the database, which is the queue: a job and its Fortnox connection are
leased by one worker thread at a time (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, and a
conditional update of the connection's lease), so the jobs of one connection run one at a time and
its rate limit and token refresh stay safe. A crashed worker's leases run out and the work is
picked up again. No transaction is held open while Fortnox is called.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import (
    Integer,
    Numeric,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.selectable import CTE

from backoffice.accounts.mapping import Mapping, MappingIncompleteError, SalesRule
from backoffice.accounts.models import AccountMapping, PaymentMethodAccount, SalesRuleAccount, VatRateAccount
from backoffice.companies.models import Company, Register
from backoffice.db import now_utc
from backoffice.export.models import ExportAttempt, ExportJob, ExportState, ManualExportRun, Problem
from backoffice.export.preflight import Blocker, check, check_accounts, check_cost_centers, check_series
from backoffice.export.reasons import Reason
from backoffice.integrations.fortnox.connection import client_for, forget_tokens
from backoffice.integrations.fortnox.errors import (
    FortnoxAuthError,
    FortnoxConnectionError,
    FortnoxError,
    FortnoxRateLimited,
    FortnoxRejected,
    FortnoxServerError,
    InvalidClientError,
)
from backoffice.integrations.fortnox.metadata import FortnoxSnapshot, fetch_snapshot
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration
from backoffice.integrations.fortnox.schemas import dumps_body, voucher_body
from backoffice.zreport.booking import build_voucher
from backoffice.zreport.models import ZReportRecord
from backoffice.zreport.voucher import NothingToBookError, Voucher

log = logging.getLogger(__name__)

#: Seconds to wait before the 1st, 2nd and 3rd retry of a transient error; then the job has failed.
RETRY_DELAYS = (5, 25, 125)
#: Metadata older than this is read again before an export (the health check keeps it fresher).
METADATA_MAX_AGE = timedelta(hours=1)
#: How long a worker may hold a job and its connection before another may take over. Longer than
#: the longest post (read timeout, rate-limit waits and 429 retries), and renewed just before the
#: post, so a slow post is never taken for a crashed one.
DEFAULT_LEASE = timedelta(seconds=300)


class InvalidTransition(Exception):
    """A job was asked to move between two states that the export rules do not connect."""


#: Who may move a job where: every transition of the export rules, on one screen.
TRANSITIONS = {
    ExportState.PENDING: {ExportState.EXPORTED, ExportState.BLOCKED, ExportState.FAILED, ExportState.PENDING, ExportState.SKIPPED},
    ExportState.BLOCKED: {ExportState.PENDING, ExportState.BLOCKED, ExportState.SKIPPED, ExportState.EXPORTED},
    ExportState.FAILED: {ExportState.PENDING, ExportState.SKIPPED},
    ExportState.SKIPPED: {ExportState.PENDING},
    ExportState.EXPORTED: set(),
}


def transition(job: ExportJob, state: ExportState, *, reason: Reason | None = None, blockers=(), detail=None) -> None:
    """Move ``job`` to ``state``; blocked and failed jobs carry their reason and what the fix needs."""
    for column, value in _transition_values(job, state, reason=reason, blockers=blockers, detail=detail).items():
        setattr(job, column, value)


def _transition_values(job: ExportJob, state: ExportState, *, reason: Reason | None = None, blockers=(),
                       detail=None) -> dict:
    """The columns ``transition`` sets, for a move the rules allow (else ``InvalidTransition``)."""
    if state not in TRANSITIONS[job.state]:
        raise InvalidTransition(f"export job {job.id}: {job.state} → {state}")
    values = {"state": state}
    if state in (ExportState.BLOCKED, ExportState.FAILED):
        first = blockers[0] if blockers else None
        payload = dict(detail or {})
        if blockers:
            payload.update(first.detail)
            payload["blockers"] = [{"reason": str(b.reason), "key": b.key, **b.detail} for b in blockers]
        values["reason_code"] = str(reason or first.reason)
        values["reason_key"] = first.key if first else ""
        values["reason_detail"] = json.dumps(payload, ensure_ascii=False, default=str)
    else:
        values["reason_code"] = values["reason_key"] = values["reason_detail"] = None
    if state != ExportState.PENDING:
        values["retry_at"] = None
    return values


# --- jobs ---------------------------------------------------------------------------------------


def integration_of(session: Session, company_id: int) -> FortnoxIntegration | None:
    return session.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == company_id))


def _mapping_row(session: Session, company_id: int) -> AccountMapping | None:
    return session.scalar(select(AccountMapping).where(AccountMapping.company_id == company_id))


def create_job(session: Session, company_id: int, zreport_id: int, business_date: date, now: datetime) -> None:
    """The export job of a new report, in the report's transaction, when the integration is active:
    pending, or skipped when the report is from before the start date.

    Part of the POS API's hot path: one statement built once (``job_insert``). On PostgreSQL the
    intake writes the job in the same statement as the report (``zreport.operations``).
    """
    session.connection().execute(
        _INSERT_JOB, {"zreport_id": zreport_id, "company_id": company_id, "business_date": business_date, "now": now}
    )


def job_insert(report: CTE | None = None) -> Insert:
    """``INSERT … SELECT`` of a new report's export job from the company's integration (no row when
    there is none or it is inactive) and its mapping's start date.

    Bind parameters: ``company_id``, ``business_date``, ``now``, and ``zreport_id``, unless
    ``report`` is given: the CTE that inserts the report and returns its ``id`` (no job when it
    inserted nothing).
    """
    job, mapping, integration = ExportJob.__table__, AccountMapping.__table__, FortnoxIntegration.__table__
    company_id = bindparam("company_id", type_=job.c.company_id.type)
    now = bindparam("now", type_=job.c.created_at.type)
    state = case((mapping.c.start_date > bindparam("business_date", type_=mapping.c.start_date.type),
                  ExportState.SKIPPED.value), else_=ExportState.PENDING.value)
    if report is None:
        query = select(bindparam("zreport_id", type_=job.c.zreport_id.type)).select_from(integration)
    else:
        query = select(report.c.id).select_from(report).join(integration, integration.c.company_id == company_id)
    query = (
        query.add_columns(company_id, cast(state, job.c.state.type), literal(0), literal(False), now, now)
        .outerjoin(mapping, mapping.c.company_id == integration.c.company_id)
        .where(integration.c.company_id == company_id, integration.c.active.is_(True))
    )
    return insert(job).from_select(
        ["zreport_id", "company_id", "state", "retries", "in_doubt", "created_at", "updated_at"], query
    )


_INSERT_JOB = job_insert()


def ensure_jobs(session: Session, company: Company) -> int:
    """Create the jobs of stored reports that have none, and apply the start date to unsent jobs.

    Called when the integration is activated and when its start date moves. Returns how many jobs
    became pending.
    """
    mapping = _mapping_row(session, company.id)
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


# --- what blocks a job --------------------------------------------------------------------------


@dataclass
class CompanyContext:
    """What deciding about a company's jobs needs, loaded once.

    ``had_open_problems``: whether the company had an open problem when the context was loaded.
    ``refreshed``: whether the snapshot was read from Fortnox again since (``_fresh_snapshot``).
    Together they tell an export whether its success can change the company's problems (``_exported``).
    """

    company: Company
    integration: FortnoxIntegration | None
    mapping: Mapping | None
    connection: FortnoxConnection | None
    snapshot: FortnoxSnapshot | None
    had_open_problems: bool = True
    refreshed: bool = False

    @classmethod
    def load(cls, session: Session, company: Company) -> CompanyContext:
        """One query for the integration, its connection, the mapping row and the open-problem flag;
        then one for the mapping's own rows."""
        return cls.of(session, company, *session.execute(_CONTEXT, {"company_id": company.id}).one())

    @classmethod
    def of(cls, session: Session, company: Company, integration: FortnoxIntegration | None,
           connection: FortnoxConnection | None, row: AccountMapping | None, had_open_problems: bool) -> CompanyContext:
        """The context from the rows of ``_context_query`` (read with the job by ``export_one``)."""
        return cls(company, integration, _mapping_of(session, row) if row else None, connection,
                   cached_snapshot(connection), had_open_problems)


def _mapping_of(session: Session, row: AccountMapping) -> Mapping:
    """``row.to_mapping()``, with the mapping's rows and the registers' cost centres read in one
    statement rather than four lazy loads (a fifth of an export's CPU)."""
    payment_methods, vat_rates, sales, cost_centres = {}, {}, [], {}
    for kind, name, vat_rate, account, cost_center in session.connection().execute(
        _MAPPING_ROWS, {"mapping": row.id, "company": row.company_id}
    ):
        if kind == 1:
            payment_methods[name] = account
        elif kind == 2:
            vat_rates[vat_rate] = account
        elif kind == 3:
            sales.append(SalesRule(account, name, vat_rate))
        elif cost_center:
            cost_centres[name] = cost_center
    return Mapping(
        voucher_series=row.voucher_series,
        payment_methods=payment_methods,
        vat_rates=vat_rates,
        sales=tuple(sales),
        tips=row.tips,
        rounding=row.rounding,
        cash_difference=row.cash_difference,
        gift_cards_sold=row.gift_cards_sold,
        cost_centres=cost_centres,
        start_date=row.start_date,
    )


def _mapping_rows_query():
    """What ``to_mapping`` reads, in its order: (kind, name, VAT rate, account, cost centre) where kind
    1 is a payment method, 2 a VAT rate, 3 a sales rule (by id) and 4 a register's cost centre."""
    mapping, company = bindparam("mapping"), bindparam("company")
    payment, vat = PaymentMethodAccount.__table__.c, VatRateAccount.__table__.c
    rule, register = SalesRuleAccount.__table__.c, Register.__table__.c
    # Typed NULLs: PostgreSQL reads an untyped one as text, and the first SELECT gives the result its types.
    no_name = no_code = cast(null(), String)
    no_rate, no_account = cast(null(), Numeric(5, 2)), cast(null(), Integer)
    no_order = no_account
    rows = union_all(
        select(literal_column("1", Integer).label("kind"), payment.method.label("name"), no_rate.label("vat_rate"),
               payment.account.label("account"), no_code.label("cost_center"), no_order.label("ordinal"))
        .where(payment.mapping_id == mapping),
        select(literal_column("2", Integer), no_name, vat.vat_rate, vat.account, no_code, no_order)
        .where(vat.mapping_id == mapping),
        select(literal_column("3", Integer), rule.product_group, rule.vat_rate, rule.account, no_code, rule.id)
        .where(rule.mapping_id == mapping),
        select(literal_column("4", Integer), register.pos_id, no_rate, no_account, register.cost_center, no_order)
        .where(register.company_id == company, register.cost_center.is_not(None)),
    ).subquery()
    return select(rows.c.kind, rows.c.name, rows.c.vat_rate, rows.c.account, rows.c.cost_center).order_by(
        rows.c.kind, rows.c.ordinal, rows.c.name, rows.c.vat_rate
    )


_MAPPING_ROWS = _mapping_rows_query()


def _with_context(query, company_id):
    """``query`` with the rows of the company's context added (``CompanyContext.of``)."""
    has_open_problem = (
        select(Problem.id).where(Problem.company_id == company_id, Problem.closed_at.is_(None)).exists()
    )
    return (
        query.add_columns(FortnoxIntegration, FortnoxConnection, AccountMapping, has_open_problem)
        .outerjoin(FortnoxIntegration, FortnoxIntegration.company_id == company_id)
        .outerjoin(FortnoxConnection, FortnoxConnection.id == FortnoxIntegration.connection_id)
        .outerjoin(AccountMapping, AccountMapping.company_id == company_id)
    )


_CONTEXT = _with_context(select().select_from(Company), Company.id).where(Company.id == bindparam("company_id"))


def cached_snapshot(connection: FortnoxConnection | None) -> FortnoxSnapshot | None:
    if connection is None or not connection.metadata_json:
        return None
    return _parsed_snapshot(connection.metadata_json)


@functools.lru_cache(maxsize=256)
def _parsed_snapshot(metadata_json: str) -> FortnoxSnapshot:
    """The snapshot stored as this text; parsed once per process (the value is frozen, the key its whole text)."""
    return FortnoxSnapshot.from_dict(json.loads(metadata_json))


def _connection_blockers(context: CompanyContext) -> list[Blocker]:
    connection = context.connection
    if connection is None or connection.status == ConnectionStatus.REVOKED:
        return [Blocker(Reason.NOT_CONNECTED)]
    if connection.status == ConnectionStatus.NEEDS_REAUTH:
        return [Blocker(Reason.AUTH_EXPIRED, str(connection.tenant_id))]
    return []


def voucher_or_blockers(context: CompanyContext, record: ZReportRecord) -> tuple[Voucher | None, list[Blocker]]:
    """Build the report's voucher, or say what in our own settings prevents it."""
    if context.mapping is None:
        return None, [Blocker(Reason.MAPPING_MISSING)]
    try:
        return build_voucher(record.to_report(), context.mapping, company_name=context.company.name), []
    except NothingToBookError:
        return None, []
    except MappingIncompleteError as exc:
        missing = [
            {"kind": m.kind, "key": m.key, "vat_rate": None if m.vat_rate is None else str(m.vat_rate)} for m in exc.missing
        ]
        return None, [Blocker(Reason.MAPPING_INCOMPLETE, "", {"missing": missing})]


def blockers_for(context: CompanyContext, record: ZReportRecord) -> tuple[Voucher | None, list[Blocker]]:
    """Everything that prevents exporting a report now, judged without calling Fortnox."""
    voucher, blockers = voucher_or_blockers(context, record)
    blockers += _connection_blockers(context)
    if voucher is not None and context.snapshot is not None and not blockers:  # None: nothing to book
        blockers += check(voucher, context.snapshot)
    return voucher, blockers


def mapping_blockers(context: CompanyContext, today: date) -> list[Blocker]:
    """What in Fortnox would refuse the next day close, found before it happens (health check)."""
    mapping, snapshot = context.mapping, context.snapshot
    if mapping is None or snapshot is None:
        return []
    accounts = set(mapping.payment_methods.values()) | set(mapping.vat_rates.values())
    accounts |= {rule.account for rule in mapping.sales}
    accounts |= {a for a in (mapping.tips, mapping.rounding, mapping.cash_difference, mapping.gift_cards_sold) if a}
    blockers = check_series(mapping.voucher_series, snapshot) + check_accounts(sorted(accounts), snapshot)
    blockers += check_cost_centers(sorted(set(mapping.cost_centres.values())), snapshot)
    if snapshot.financial_year_for(today) is None:
        blockers.append(Blocker(Reason.NO_FINANCIAL_YEAR, today.isoformat(), {"date": today.isoformat()}))
    return blockers


# --- claiming -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    job_id: int
    connection_id: int | None


def claim_next_job(session: Session, worker: str, *, now: datetime, lease: timedelta = DEFAULT_LEASE) -> Claim | None:
    """Lease the oldest due job whose connection no other worker holds; commits. None when idle.

    Prebuilt Core statements on the session's connection: the worker runs them once per voucher.
    """
    connection = session.connection()
    candidates = connection.execute(_CANDIDATES, {"now": now}).all()
    busy: set[int] = set()
    leased = {"worker": worker, "now": now, "until": now + lease}
    for job_id, connection_id in candidates:
        if connection_id in busy:
            continue
        if connection_id is not None:
            if not connection.execute(_LEASE_CONNECTION, {**leased, "connection": connection_id}).rowcount:
                busy.add(connection_id)
                continue
        connection.execute(_LEASE_JOB, {**leased, "job": job_id})
        session.commit()
        return Claim(job_id, connection_id)
    session.commit()
    return None


#: how long a job whose export crashed (a bug, not a refusal: those block or retry) waits before it is
#: taken up again, so that one broken job cannot keep a worker thread busy in a loop
CRASH_RETRY_DELAY = timedelta(seconds=60)


def postpone_crashed(session: Session, job_id: int, *, now: datetime) -> None:
    """After an unexpected exception in ``export_one``: try the job again later, not at once; commits.

    Nothing else changes: a write-ahead ``in_doubt`` mark that was committed stays, so the next
    attempt still looks the voucher up before posting.
    """
    session.rollback()
    session.connection().execute(
        update(ExportJob.__table__)
        .where(ExportJob.__table__.c.id == job_id)
        .values(retry_at=now + CRASH_RETRY_DELAY, updated_at=now)
    )
    session.commit()


def release(session: Session, claim: Claim, worker: str) -> None:
    """Give back the leases of a claim (only ours: a lease that ran out may belong to another now)."""
    connection = session.connection()
    connection.execute(_RELEASE_JOB, {"job": claim.job_id, "worker": worker})
    if claim.connection_id is not None:
        connection.execute(_RELEASE_CONNECTION, {"connection": claim.connection_id, "worker": worker})
    session.commit()


def _claim_statements():
    now, worker, until = bindparam("now"), bindparam("worker"), bindparam("until")
    job, connection = ExportJob.__table__.c, FortnoxConnection.__table__.c
    candidates = (
        select(job.id, FortnoxIntegration.connection_id)
        .join(FortnoxIntegration, FortnoxIntegration.company_id == job.company_id)
        .join(ZReportRecord, ZReportRecord.id == job.zreport_id)
        .where(
            job.state == ExportState.PENDING,
            or_(job.retry_at.is_(None), job.retry_at <= now),
            or_(job.lease_until.is_(None), job.lease_until < now),
        )
        .order_by(job.retry_at.is_not(None), ZReportRecord.business_date, job.id)
        .limit(25)
        .with_for_update(skip_locked=True, of=ExportJob.__table__)
    )
    lease_connection = (
        update(FortnoxConnection.__table__)
        .where(connection.id == bindparam("connection"),
               or_(connection.lease_until.is_(None), connection.lease_until < now))
        .values(lease_owner=worker, lease_until=until)
    )
    lease_job = (
        update(ExportJob.__table__).where(job.id == bindparam("job")).values(lease_owner=worker, lease_until=until)
    )
    release_job = (
        update(ExportJob.__table__)
        .where(job.id == bindparam("job"), job.lease_owner == worker)
        .values(lease_owner=None, lease_until=None)
    )
    release_connection = (
        update(FortnoxConnection.__table__)
        .where(connection.id == bindparam("connection"), connection.lease_owner == worker)
        .values(lease_owner=None, lease_until=None)
    )
    return candidates, lease_connection, lease_job, release_job, release_connection


_CANDIDATES, _LEASE_CONNECTION, _LEASE_JOB, _RELEASE_JOB, _RELEASE_CONNECTION = _claim_statements()


# --- exporting one job --------------------------------------------------------------------------


def refresh_snapshot(session: Session, connection: FortnoxConnection, *, now: datetime) -> FortnoxSnapshot:
    """Read Fortnox's metadata again and keep it on the connection (commits)."""
    snapshot = fetch_snapshot(client_for(connection), now=now)
    connection.metadata_json = json.dumps(snapshot.to_dict())
    connection.metadata_fetched_at = now
    session.commit()
    return snapshot


def _fresh_snapshot(session: Session, context: CompanyContext, now: datetime) -> FortnoxSnapshot:
    connection = context.connection
    if context.snapshot is None or connection.metadata_fetched_at is None or now - connection.metadata_fetched_at > METADATA_MAX_AGE:
        session.commit()  # no transaction stays open while Fortnox is called
        context.snapshot = refresh_snapshot(session, connection, now=now)
        context.refreshed = True
    return context.snapshot


def export_one(session: Session, job_id: int, *, now: datetime | None = None) -> ExportState:
    """Try once to bring a claimed job to Fortnox; records the attempt and commits. Returns the new state."""
    now = now or now_utc()
    found = session.execute(_JOB_AND_CONTEXT, {"job_id": job_id}).one_or_none()
    if found is None:
        return ExportState.SKIPPED
    job, *context_rows = found
    if job.state != ExportState.PENDING:
        return job.state
    if job.in_doubt:  # an attempt is left "sending" only with the mark: they are committed together
        for attempt in job.attempts:
            if attempt.outcome == "sending":
                # A worker died waiting for Fortnox's answer (we hold the lease now): the job stays in
                # doubt, and only an answer to a post of ours may be read as one below.
                attempt.outcome = "crashed"
    context = CompanyContext.of(session, job.company, *context_rows)
    voucher, blockers = voucher_or_blockers(context, job.zreport)
    if voucher is None and not blockers:
        # Every account nets to zero (a day without sales): Fortnox takes no voucher without rows.
        transition(job, ExportState.SKIPPED)
        job.reason_code = "nothing_to_book"
        session.add(ExportAttempt(job=job, started_at=now, finished_at=now_utc(), outcome="nothing_to_book"))
        session.commit()
        return ExportState.SKIPPED
    blockers += _connection_blockers(context)
    if blockers:
        return _block(session, job, context, blockers, now)
    try:
        snapshot = _fresh_snapshot(session, context, now)
        blockers = check(voucher, snapshot)
        if blockers:
            job.voucher_description = voucher.description
            return _block(session, job, context, blockers, now)
        # The voucher's own financial year, not Fortnox's preselected one (31 Dec exported on 2 Jan).
        year = snapshot.financial_year_for(voucher.transaction_date).id
        if job.in_doubt:
            # Look before posting again. No transaction stays open while Fortnox is called (on
            # SQLite it would hold the write lock).
            session.commit()
            found = client_for(context.connection).find_voucher(
                voucher.series, voucher.transaction_date, voucher.description, financial_year=year
            )
            if found is not None:
                return _exported(session, job, context, found, now, outcome="found")
    except FortnoxError as exc:
        return _handle_error(session, job, context, exc, now)
    return _post(session, job, context, voucher, now, year)


#: The job with what its export reads of its report and company (the rest loads if asked for), and
#: the company's context: one query.
_JOB_AND_CONTEXT = (
    _with_context(select(ExportJob), ExportJob.company_id)
    .where(ExportJob.id == bindparam("job_id"))
    .options(joinedload(ExportJob.zreport, innerjoin=True).load_only(ZReportRecord.document),
             joinedload(ExportJob.company, innerjoin=True).load_only(Company.name))
)


def _post(session: Session, job: ExportJob, context: CompanyContext, voucher: Voucher, now: datetime, year: int) -> ExportState:
    body = voucher_body(voucher)
    lease_until = now_utc() + configured_lease()
    # Write-ahead: from here until Fortnox answers clearly, the voucher may exist in Fortnox. The
    # mark, the voucher's description (to look it up by) and the "sending" attempt commit together,
    # with the leases renewed so that a slow post is never taken for a crashed one.
    attempt_id = _insert_attempt(session, job, started_at=now, outcome="sending", request_body=dumps_body(body))
    _store(session, job, {"in_doubt": True, "voucher_description": voucher.description, "lease_until": lease_until})
    session.connection().execute(_RENEW_LEASE, {"connection": context.connection.id, "until": lease_until})
    session.commit()
    try:
        # A 401 is answered by refreshing the token and sending once more (connection.BearerAuth).
        created = client_for(context.connection).create_voucher(body, financial_year=year)
    except FortnoxError as exc:
        attempt = session.get(ExportAttempt, attempt_id)
        attempt.finished_at = now_utc()
        attempt.http_status = exc.status
        attempt.fortnox_code = None if exc.code is None else str(exc.code)
        attempt.fortnox_message = exc.fortnox_message or str(exc)
        return _handle_error(session, job, context, exc, now, attempt)
    _update(session, ExportAttempt, attempt_id, {"outcome": "posted", "finished_at": now_utc(), "http_status": 201})
    return _exported(session, job, context, created, now, outcome="posted")


def _exported(session, job: ExportJob, context: CompanyContext, voucher: dict, now: datetime, *, outcome: str) -> ExportState:
    """Record the voucher Fortnox holds for the job (posted by us now, or found after a doubt); commits."""
    if outcome != "posted":
        _insert_attempt(session, job, started_at=now, finished_at=now_utc(), outcome=outcome)
    exported_at = now_utc()
    _store(session, job, {
        **_transition_values(job, ExportState.EXPORTED),
        "in_doubt": False,
        "voucher_series": voucher.get("VoucherSeries"),
        "voucher_number": voucher.get("VoucherNumber"),
        "voucher_year": voucher.get("Year"),
        "exported_at": exported_at,
    })
    session.connection().execute(_LAST_EXPORT, {"company": job.company_id, "exported_at": exported_at})
    session.commit()
    log.info("Exported Z-report %s as voucher %s %s (%s)", job.zreport_id, job.voucher_series, job.voucher_number, outcome)
    # A success opens no cause (the job was pending, not blocked or failed) and changes neither the
    # connection nor the mapping. It must still close what was left open, e.g. the problem of a
    # failed job sent again by "Exportera igen", and a snapshot read again during this export may
    # open or close problems of the mapping. Without either there is nothing to sync: what changes a
    # cause (a block, a failure, a fix, a reconnection) syncs itself, and the hourly health check
    # re-derives every company's problems.
    if context.had_open_problems or context.refreshed:
        sync_problems(session, job.company, now=now, context=context)
    return ExportState.EXPORTED


# The path every voucher takes writes with prebuilt Core statements: the ORM's unit of work costs
# several times the CPU for the same few rows (bench/profile_export.py). The loaded job is kept in
# step (``set_committed_value``), so the rules and the rarer paths still work on it as usual.


def _insert_attempt(session: Session, job: ExportJob, **values) -> int:
    """Add an attempt to the job with one INSERT; returns its id."""
    attempt_id = session.connection().execute(_INSERT_ATTEMPT, {"job_id": job.id, "finished_at": None,
                                                                "request_body": None, **values}).scalar_one()
    if "attempts" in job.__dict__:  # loaded (a job in doubt): read it again when asked
        session.expire(job, ["attempts"])
    return attempt_id


def _store(session: Session, job: ExportJob, values: dict) -> None:
    """Write ``values`` to the job's row, and into the loaded job as stored."""
    _update(session, ExportJob, job.id, values)
    for column, value in values.items():
        set_committed_value(job, column, value)


def _update(session: Session, model, row_id: int, values: dict) -> None:
    """``UPDATE`` the row ``row_id`` of ``model``'s table with ``values`` (one statement per column set)."""
    statement = _update_statement(model, tuple(values))
    session.connection().execute(statement, {"row_id": row_id, **{f"new_{k}": v for k, v in values.items()}})


@functools.cache
def _update_statement(model, columns: tuple[str, ...]):
    table = model.__table__
    return update(table).where(table.c.id == bindparam("row_id")).values({c: bindparam(f"new_{c}") for c in columns})


_INSERT_ATTEMPT = (
    insert(ExportAttempt.__table__)
    .values(job_id=bindparam("job_id"), started_at=bindparam("started_at"), finished_at=bindparam("finished_at"),
            outcome=bindparam("outcome"), request_body=bindparam("request_body"))
    .returning(ExportAttempt.__table__.c.id)
)
_RENEW_LEASE = (
    update(FortnoxConnection.__table__)
    .where(FortnoxConnection.__table__.c.id == bindparam("connection"))
    .values(lease_until=bindparam("until"))
)
_LAST_EXPORT = (
    update(FortnoxIntegration.__table__)
    .where(FortnoxIntegration.__table__.c.company_id == bindparam("company"))
    .values(last_export_at=bindparam("exported_at"))
)


def _block(session: Session, job: ExportJob, context: CompanyContext, blockers: list[Blocker], now: datetime,
           attempt: ExportAttempt | None = None) -> ExportState:
    if attempt is None:
        attempt = ExportAttempt(job=job, started_at=now, finished_at=now_utc(), outcome="blocked")
        session.add(attempt)
    attempt.outcome = "blocked"
    attempt.reason_code = str(blockers[0].reason)
    transition(job, ExportState.BLOCKED, blockers=blockers)
    session.commit()
    log.info("Export of Z-report %s blocked: %s %s", job.zreport_id, job.reason_code, job.reason_key)
    sync_problems(session, job.company, now=now, context=context)
    return ExportState.BLOCKED


def _handle_error(session: Session, job: ExportJob, context: CompanyContext, exc: FortnoxError, now: datetime,
                  attempt: ExportAttempt | None = None) -> ExportState:
    """What Fortnox's error means for the job. ``attempt``: our post it answered (None: no post was sent)."""
    if isinstance(exc, FortnoxRateLimited):
        # Not a failure: Fortnox did not process the request. Wait as asked and go on.
        job.in_doubt = job.in_doubt and attempt is None
        job.retry_at = now + timedelta(seconds=exc.retry_after or 5)
        _note(session, job, attempt, "rate_limited", exc, now)
        session.commit()
        return ExportState.PENDING
    if isinstance(exc, FortnoxAuthError):
        connection = context.connection
        reason = Reason.AUTH_EXPIRED
        if exc.status == 401 and not isinstance(exc, InvalidClientError):
            # The API refused a token refreshed a moment ago: Fortnox invalidated the connection.
            reason = Reason.CONNECTION_INVALIDATED
            forget_tokens(session.get(FortnoxConnection, connection.id), ConnectionStatus.NEEDS_REAUTH)
        return _block(session, job, context, [Blocker(reason, str(connection.tenant_id))], now,
                      _refused(job, attempt))
    if isinstance(exc, FortnoxRejected):
        # Fortnox refused, so nothing was booked. Our cached metadata was wrong: read it again.
        attempt = _refused(job, attempt)
        try:
            context.snapshot = refresh_snapshot(session, context.connection, now=now)  # commits the refusal first
            context.refreshed = True
        except FortnoxError:
            log.warning("Could not refresh Fortnox metadata after a refusal", exc_info=True)
        reason = Reason(exc.reason) if exc.reason in Reason._value2member_map_ else Reason.VOUCHER_INVALID
        if exc.reason == "access_denied":
            reason = Reason.ACCESS_DENIED
        key = str(getattr(exc, "account", None) or getattr(exc, "series", None) or getattr(exc, "cost_center", None) or "")
        detail = {"fortnox_code": exc.code, "fortnox_message": exc.fortnox_message}
        if getattr(exc, "account", None):
            detail["account"] = exc.account
        if getattr(exc, "series", None):
            detail["series"] = exc.series
        if getattr(exc, "cost_center", None):
            detail["cost_center"] = exc.cost_center
        return _block(session, job, context, [Blocker(reason, key, detail)], now, attempt)
    # Transient: a timeout, a reset, a 5xx. After a POST, the voucher may or may not exist.
    ambiguous = isinstance(exc, FortnoxServerError) or (isinstance(exc, FortnoxConnectionError) and exc.ambiguous)
    if attempt is not None:  # the error answered our POST: the voucher exists only if it was ambiguous
        job.in_doubt = ambiguous
    job.retries += 1
    _note(session, job, attempt, "in_doubt" if job.in_doubt else "failed", exc, now)
    if job.retries > len(RETRY_DELAYS):
        transition(job, ExportState.FAILED, reason=Reason.EXPORT_FAILED, detail={"error": str(exc)})
        session.commit()
        log.warning("Export of Z-report %s failed after %s retries: %s", job.zreport_id, len(RETRY_DELAYS), exc)
        sync_problems(session, job.company, now=now, context=context)
        return ExportState.FAILED
    job.retry_at = now + timedelta(seconds=RETRY_DELAYS[job.retries - 1])
    session.commit()
    return ExportState.PENDING


def _refused(job: ExportJob, attempt: ExportAttempt | None) -> ExportAttempt | None:
    """Fortnox refused our post, so nothing was booked: the job is no longer in doubt, and the attempt
    leaves "sending" in the same change (a commit before ``_block``'s must not split them)."""
    if attempt is not None:
        job.in_doubt = False
        attempt.outcome = "blocked"
    return attempt


def _note(session: Session, job: ExportJob, attempt: ExportAttempt | None, outcome: str, exc: FortnoxError, now) -> None:
    if attempt is None:
        attempt = ExportAttempt(job=job, started_at=now)
        session.add(attempt)
    attempt.finished_at = now_utc()
    attempt.outcome = outcome
    attempt.http_status = attempt.http_status or exc.status
    attempt.fortnox_message = attempt.fortnox_message or exc.fortnox_message or str(exc)
    attempt.reason_code = str(getattr(exc, "reason", "")) or None


# --- problems and healing -----------------------------------------------------------------------


def job_causes(session: Session, company: Company) -> dict[tuple[str, str], tuple[dict, int]]:
    """Each cause that blocked (or failed) the company's jobs: what the fix needs, and how many wait."""
    causes: dict[tuple[str, str], tuple[dict, int]] = {}
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


def sync_problems(session: Session, company: Company, *, now: datetime | None = None, context: CompanyContext | None = None) -> None:
    """Open a problem for each cause that blocks (or failed) the company's exports, close the rest.

    Causes come from the jobs, from the connection (an ended authorisation) and from checking the
    mapping against Fortnox's metadata before the next day close. One cause is one problem, however
    many reports wait on it. Commits.
    """
    now = now or now_utc()
    context = context or CompanyContext.load(session, company)
    wanted: dict[tuple[str, str], dict] = {key: detail for key, (detail, _) in job_causes(session, company).items()}
    if context.integration is not None and context.integration.active:
        for blocker in _connection_blockers(context) + mapping_blockers(context, now.date()):
            wanted.setdefault((str(blocker.reason), blocker.key), blocker.detail)
    open_problems = {
        (p.kind, p.key): p
        for p in session.scalars(select(Problem).where(Problem.company_id == company.id, Problem.closed_at.is_(None)))
    }
    for key, problem in open_problems.items():
        if key not in wanted:
            problem.closed_at = now
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


def heal_connection(session: Session, connection: FortnoxConnection, *, now: datetime | None = None) -> int:
    """Read the connection's metadata again, then re-judge the blocked jobs of every company on it."""
    now = now or now_utc()
    if connection.status == ConnectionStatus.ACTIVE:
        try:
            refresh_snapshot(session, connection, now=now)
        except FortnoxAuthError:
            log.warning("Fortnox authorisation of connection %s has ended", connection.id)
        except FortnoxError:
            log.warning("Health check of connection %s could not read Fortnox", connection.id, exc_info=True)
    woken = 0
    for integration in list(connection.integrations):
        woken += unblock_jobs(session, integration.company, now=now)
    return woken


# --- manual export ------------------------------------------------------------------------------


def start_manual_export(session: Session, company: Company, *, actor: str, now: datetime | None = None) -> ManualExportRun:
    """"Manuell export": export now everything pending, failed, or blocked but fixed. Commits.

    Failed jobs and vouchers Fortnox refused are tried again; blocked jobs are re-judged. The run
    records the jobs it waits for, whose states its progress bar shows.
    """
    now = now or now_utc()
    ensure_jobs(session, company)
    for job in session.scalars(
        select(ExportJob).where(
            ExportJob.company_id == company.id,
            or_(
                ExportJob.state == ExportState.FAILED,
                and_(ExportJob.state == ExportState.BLOCKED, ExportJob.reason_code == Reason.VOUCHER_INVALID),
            ),
        )
    ):
        transition(job, ExportState.PENDING)
        job.retries = 0
    session.execute(
        update(ExportJob)
        .where(ExportJob.company_id == company.id, ExportJob.state == ExportState.PENDING)
        .values(retry_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    unblock_jobs(session, company, now=now)
    ids = session.scalars(
        select(ExportJob.id).where(ExportJob.company_id == company.id, ExportJob.state == ExportState.PENDING)
    ).all()
    run = ManualExportRun(company_id=company.id, started_by=actor, started_at=now, job_ids=json.dumps(ids), total=len(ids))
    session.add(run)
    session.commit()
    return run


def retry_job(session: Session, job: ExportJob) -> None:
    """"Exportera igen" for one failed (or refused) job. Commits."""
    transition(job, ExportState.PENDING)
    job.retries = 0
    job.retry_at = None
    session.commit()


@dataclass(frozen=True, slots=True)
class RunProgress:
    total: int
    exported: int
    already_there: int
    blocked: int
    failed: int
    pending: int

    @property
    def done(self) -> bool:
        return self.pending == 0


def run_progress(session: Session, run: ManualExportRun) -> RunProgress:
    ids = json.loads(run.job_ids)
    if not ids:
        return RunProgress(0, 0, 0, 0, 0, 0)
    counts = dict(
        session.execute(select(ExportJob.state, func.count()).where(ExportJob.id.in_(ids)).group_by(ExportJob.state)).all()
    )
    adopted = session.scalar(
        select(func.count(func.distinct(ExportAttempt.job_id))).where(
            ExportAttempt.job_id.in_(ids), ExportAttempt.outcome == "found"
        )
    )
    exported = counts.get(ExportState.EXPORTED, 0)
    return RunProgress(
        total=len(ids),
        exported=exported - adopted,
        already_there=adopted,
        blocked=counts.get(ExportState.BLOCKED, 0),
        failed=counts.get(ExportState.FAILED, 0),
        pending=counts.get(ExportState.PENDING, 0),
    )


def configured_lease() -> timedelta:
    """The lease of this app (``EXPORT_LEASE_SECONDS``; tests and chaos runs shorten it)."""
    return timedelta(seconds=float(current_app.config.get("EXPORT_LEASE_SECONDS", DEFAULT_LEASE.total_seconds())))
