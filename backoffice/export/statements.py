"""The prebuilt SQL of the export's hot paths, and the one rule they follow.

**The ORM reads, Core writes on this path, and the loaded object is kept in step.** Every voucher
takes the same few statements: the intake inserts its job, a worker claims it, reads it with its
company's context, records the attempt, marks the job in doubt and then exported, and its Z-report's
PDF is claimed and attached the same way. Through the ORM's
unit of work these cost several times the CPU for the same few rows (bench/profile_export.py), so
they are built once here and executed on the session's connection. Reads stay ORM queries (the
rules work on loaded objects); a write through Core is copied into the loaded object as stored
(:func:`store`, ``set_committed_value``), so the rules and the rarer paths, which use the ORM as
usual, see what the database holds.

Only statements and the three helpers that apply the rule live here; what they mean for a job is in
``jobs``, ``claims``, ``context`` and ``engine``, for an attachment in ``attachments``. The intake's
half of the rule is ``intake/statements.py``.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    Integer,
    Numeric,
    String,
    bindparam,
    case,
    cast,
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

from backoffice.accounts.models import AccountMapping, PaymentMethodAccount, SalesRuleAccount, VatRateAccount
from backoffice.companies.models import Company, Register
from backoffice.export.models import AttachmentState, ExportAttempt, ExportJob, ExportState, Problem, VoucherAttachment
from backoffice.integrations.fortnox.models import FortnoxConnection, FortnoxIntegration
from backoffice.zreport.models import ZReportRecord

# --- the helpers that write and keep the loaded object in step -----------------------------------


def insert_attempt(session: Session, job: ExportJob, **values: Any) -> int:
    """Add an attempt to the job with one INSERT; returns its id."""
    attempt_id: int = session.connection().execute(
        INSERT_ATTEMPT, {"job_id": job.id, "finished_at": None, "request_body": None, **values}
    ).scalar_one()
    if "attempts" in job.__dict__:  # loaded (a job in doubt): read it again when asked
        session.expire(job, ["attempts"])
    return attempt_id


def store(session: Session, job: ExportJob, values: dict[str, Any]) -> None:
    """Write ``values`` to the job's row, and into the loaded job as stored."""
    update_row(session, ExportJob, job.id, values)
    for column, value in values.items():
        set_committed_value(job, column, value)


def update_row(session: Session, model: Any, row_id: int, values: dict[str, Any]) -> None:
    """``UPDATE`` the row ``row_id`` of ``model``'s table with ``values`` (one statement per column set)."""
    statement = _update_statement(model, tuple(values))
    session.connection().execute(statement, {"row_id": row_id, **{f"new_{k}": v for k, v in values.items()}})


@functools.cache
def _update_statement(model: Any, columns: tuple[str, ...]) -> Any:
    table = model.__table__
    return update(table).where(table.c.id == bindparam("row_id")).values({c: bindparam(f"new_{c}") for c in columns})


# --- a new report's job (the POS API's hot path) ------------------------------------------------


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


INSERT_JOB = job_insert()


# --- the company's context ----------------------------------------------------------------------


def _mapping_rows_query() -> Any:
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


MAPPING_ROWS = _mapping_rows_query()


def _with_context(query: Any, company_id: Any) -> Any:
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


#: A company's context: (integration, connection, mapping row, has an open problem).
CONTEXT = _with_context(select().select_from(Company), Company.id).where(Company.id == bindparam("company_id"))

#: The job with what its export reads of its report and company (the rest loads if asked for), and
#: the company's context: one query.
JOB_AND_CONTEXT = (
    _with_context(select(ExportJob), ExportJob.company_id)
    .where(ExportJob.id == bindparam("job_id"))
    .options(joinedload(ExportJob.zreport, innerjoin=True).load_only(ZReportRecord.document),
             joinedload(ExportJob.company, innerjoin=True).load_only(Company.name))
)


# --- claims and leases (export jobs and attachments alike) ------------------------------------

_now, _worker, _until = bindparam("now"), bindparam("worker"), bindparam("until")
_connection = FortnoxConnection.__table__.c


def _claims(due: Any, table: Any, row: str) -> tuple[Any, ...]:
    """The statements that claim a row of ``table`` (export jobs, attachments) from ``due`` (its
    ``id`` and its connection's id, in the order to take them); ``row`` names the bind parameter of
    the row's id. Returns (candidates, held candidates, any due, lease the row, release the row)."""
    # Only rows whose connection no worker holds: an idle thread's look neither locks the rows of a
    # connection that is busy nor tries its lease (three flask workers probing a backlog's one
    # connection cost the exporting thread a third of its time, bench/backlog.py --activate).
    free = due.outerjoin(FortnoxConnection.__table__, _connection.id == FortnoxIntegration.connection_id).where(
        or_(_connection.lease_until.is_(None), _connection.lease_until < _now))
    candidates = free.limit(25).with_for_update(skip_locked=True, of=table)
    any_due = select(free.order_by(None).exists())
    # The next row of a connection the worker holds already (it keeps the lease from one to the next).
    held_candidates = (
        due.where(FortnoxIntegration.connection_id == bindparam("connection"))
        .limit(1)
        .with_for_update(skip_locked=True, of=table)
    )
    lease = update(table).where(table.c.id == bindparam(row)).values(lease_owner=_worker, lease_until=_until)
    release = (
        update(table)
        .where(table.c.id == bindparam(row), table.c.lease_owner == _worker)
        .values(lease_owner=None, lease_until=None)
    )
    return candidates, held_candidates, any_due, lease, release


def _due_jobs() -> Any:
    job = ExportJob.__table__.c
    return (
        select(job.id, FortnoxIntegration.connection_id)
        .join(FortnoxIntegration, FortnoxIntegration.company_id == job.company_id)
        .join(ZReportRecord, ZReportRecord.id == job.zreport_id)
        .where(
            job.state == ExportState.PENDING,
            or_(job.retry_at.is_(None), job.retry_at <= _now),
            or_(job.lease_until.is_(None), job.lease_until < _now),
        )
        .order_by(job.retry_at.is_not(None), ZReportRecord.business_date, job.id)
    )


def _due_attachments() -> Any:
    attachment = VoucherAttachment.__table__.c
    return (
        select(attachment.id, FortnoxIntegration.connection_id)
        .join(FortnoxIntegration, FortnoxIntegration.company_id == attachment.company_id)
        .where(
            attachment.state == AttachmentState.PENDING,
            or_(attachment.retry_at.is_(None), attachment.retry_at <= _now),
            or_(attachment.lease_until.is_(None), attachment.lease_until < _now),
        )
        .order_by(attachment.retry_at.is_not(None), attachment.id)
    )


CANDIDATES, HELD_CANDIDATES, ANY_DUE, LEASE_JOB, RELEASE_JOB = _claims(_due_jobs(), ExportJob.__table__, "job")
(ATTACHMENT_CANDIDATES, HELD_ATTACHMENT_CANDIDATES, ANY_ATTACHMENT_DUE, LEASE_ATTACHMENT,
 RELEASE_ATTACHMENT) = _claims(_due_attachments(), VoucherAttachment.__table__, "attachment")

#: Whether a job is due on one connection (the one a worker holds, whose attachment then pauses for it).
DUE_ON_CONNECTION = select(
    _due_jobs().where(FortnoxIntegration.connection_id == bindparam("connection")).order_by(None).exists()
)

#: A connection's lease, taken when no worker holds it (or its lease ran out).
LEASE_CONNECTION = (
    update(FortnoxConnection.__table__)
    .where(_connection.id == bindparam("connection"),
           or_(_connection.lease_until.is_(None), _connection.lease_until < _now))
    .values(lease_owner=_worker, lease_until=_until)
)
#: A lease this worker holds, extended for its next row.
RENEW_OWN_LEASE = (
    update(FortnoxConnection.__table__)
    .where(_connection.id == bindparam("connection"), _connection.lease_owner == _worker)
    .values(lease_until=_until)
)
RELEASE_CONNECTION = (
    update(FortnoxConnection.__table__)
    .where(_connection.id == bindparam("connection"), _connection.lease_owner == _worker)
    .values(lease_owner=None, lease_until=None)
)

RENEW_LEASE = (
    update(FortnoxConnection.__table__)
    .where(FortnoxConnection.__table__.c.id == bindparam("connection"))
    .values(lease_until=bindparam("until"))
)


# --- the export of one job ----------------------------------------------------------------------


INSERT_ATTEMPT = (
    insert(ExportAttempt.__table__)
    .values(job_id=bindparam("job_id"), started_at=bindparam("started_at"), finished_at=bindparam("finished_at"),
            outcome=bindparam("outcome"), request_body=bindparam("request_body"))
    .returning(ExportAttempt.__table__.c.id)
)
LAST_EXPORT = (
    update(FortnoxIntegration.__table__)
    .where(FortnoxIntegration.__table__.c.company_id == bindparam("company"))
    .values(last_export_at=bindparam("exported_at"))
)


# --- the Z-report's PDF on its voucher (attachments) -----------------------------------------

#: A voucher's attachment (pending, or waiting for a consent: ``state``), added in the transaction that
#: records the voucher.
INSERT_ATTACHMENT = insert(VoucherAttachment.__table__).values(
    job_id=bindparam("job_id"), company_id=bindparam("company_id"), state=bindparam("state"),
    upload_in_doubt=False, connect_in_doubt=False, look_first=False, already_there=False, retries=0,
    created_at=bindparam("now"), updated_at=bindparam("now"),
)
