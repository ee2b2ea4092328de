"""Attaching each voucher's Z-report (its underlag, BFL 5 kap. 6–7 §§) in Fortnox, exactly once.

A step of its own, after the voucher: when the export engine records a voucher it adds a pending
``VoucherAttachment`` in the same transaction, and from then on nothing here touches the voucher or
its job. Attaching never blocks, delays or duplicates a voucher: workers take attachments only when
no export job is due (``export.tasks.drain``), and a failure here changes only the attachment.

Two POSTs per voucher (``docs/fortnox/facts-2026-12.md``, "Attaching a file to a voucher"):

1. upload the PDF to the inbox for vouchers (``POST /3/inbox?path=inbox_v``);
2. connect it to the voucher with the voucher's own financial year (``POST /3/voucherfileconnections
   ?financialyear=<Id>``): without the year Fortnox takes the voucher of that number in the
   preselected year, which may be another day's voucher.

Neither can be undone blindly, so each is written ahead like the voucher's post: the mark
(``upload_in_doubt``, ``connect_in_doubt``) is committed before the call and cleared only by a clear
answer. A lost upload answer is resolved by finding the file in the inbox (by its name, preferring
the same size: the same report renders the same bytes) and reusing it, so no stray copy is left
there; a lost connection answer by asking Fortnox which files the voucher has.

Attaching needs the scopes ``inbox`` and ``connectfile``, which Fortnox grants only with a new
consent: until the connection has them, attachments wait as ``needs_consent`` (and the UI asks for a
new login); exports go on without them. Like the export engine, this module imports no Flask: the
worker gives it its Fortnox clients (an import-linter contract).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from backoffice.companies.models import Company
from backoffice.db import now_utc
from backoffice.export.models import AttachmentRun, AttachmentState, ExportJob, ExportState, VoucherAttachment
from backoffice.export.statements import (
    ANY_ATTACHMENT_DUE,
    ATTACHMENT_CANDIDATES,
    HELD_ATTACHMENT_CANDIDATES,
    INSERT_ATTACHMENT,
    LEASE_ATTACHMENT,
    LEASE_CONNECTION,
    RELEASE_ATTACHMENT,
    RELEASE_CONNECTION,
    RENEW_OWN_LEASE,
    update_row,
)
from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.errors import (
    AccessDeniedError,
    FortnoxAuthError,
    FortnoxError,
    FortnoxRateLimited,
)
from backoffice.integrations.fortnox.metadata import refresh_snapshot, stored_snapshot
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration
from backoffice.messages import export as msg
from backoffice.zreport.pdf import file_name, render_pdf

log = logging.getLogger(__name__)

#: The worker's Fortnox client of a connection (``integrations.fortnox.connection.client_for``).
Clients = Callable[[FortnoxConnection], FortnoxClient]
#: The scopes attaching needs besides the export's (docs/fortnox/README.md).
ATTACH_SCOPES = frozenset({"inbox", "connectfile"})
#: Seconds before the 1st, 2nd and 3rd retry, as for the voucher (``export.engine.RETRY_DELAYS``).
RETRY_DELAYS = (5, 25, 125)
#: How long an attachment whose step crashed (a bug) waits before it is taken up again.
CRASH_RETRY_DELAY = timedelta(seconds=60)


def has_attach_scopes(connection: FortnoxConnection | None) -> bool:
    """Whether the connection's consent covers attaching (``inbox`` and ``connectfile``)."""
    return connection is not None and ATTACH_SCOPES <= set((connection.scope or "").split())


def needs_new_consent(connection: FortnoxConnection | None) -> bool:
    """An active connection made before attaching existed: only a new Fortnox login adds the scopes."""
    return connection is not None and connection.status == ConnectionStatus.ACTIVE and not has_attach_scopes(connection)


# --- the hook: a voucher was recorded ----------------------------------------------------------------


def voucher_recorded(session: Session, job_id: int, company_id: int, now: datetime,
                     connection: FortnoxConnection | None = None) -> None:
    """Add the attachment of a voucher just recorded, in the caller's transaction (one INSERT).

    It is pending, or waits for a new consent at once when ``connection`` (the one the voucher went
    through) lacks the scopes: a worker would only claim it to find that out (``attach_one``), and
    ``wake_after_consent`` makes it pending after the new login either way.
    """
    state = AttachmentState.PENDING if connection is None or has_attach_scopes(connection) \
        else AttachmentState.NEEDS_CONSENT
    session.connection().execute(INSERT_ATTACHMENT, {"job_id": job_id, "company_id": company_id, "now": now,
                                                     "state": state.value})


# --- claiming ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttachmentClaim:
    attachment_id: int
    connection_id: int | None


def has_due_attachment(connection, *, now: datetime) -> bool:
    """Whether an attachment is due on a connection no worker holds (a look without a lock or a lease)."""
    return bool(connection.execute(ANY_ATTACHMENT_DUE, {"now": now}).scalar())


def claim_next_attachment(session: Session, worker: str, *, now: datetime, lease: timedelta,
                          company_id: int | None = None, held: int | None = None) -> AttachmentClaim | None:
    """Lease the oldest due attachment whose connection no other worker holds; commits. None when idle.

    The connection's lease is the export's own, so a connection's vouchers and attachments never run
    at once and share its rate limit. ``company_id`` limits the search to one company (the CLI).
    ``held``: a connection whose lease this worker kept: only its attachments (``claims.claim_next_job``).
    The statements are ``statements``' claims, built by the same function as the export's.
    """
    connection = session.connection()
    if held is not None:
        # The connection whose lease this worker kept (``release_attachment(keep_connection=True)``).
        leased = {"worker": worker, "now": now, "until": now + lease, "connection": held}
        attachment_id = connection.execute(HELD_ATTACHMENT_CANDIDATES, leased).scalar()
        if attachment_id is None or not connection.execute(RENEW_OWN_LEASE, leased).rowcount:
            session.commit()
            return None
        connection.execute(LEASE_ATTACHMENT, {**leased, "attachment": attachment_id})
        session.commit()
        return AttachmentClaim(attachment_id, held)
    query = ATTACHMENT_CANDIDATES if company_id is None else ATTACHMENT_CANDIDATES.where(
        VoucherAttachment.__table__.c.company_id == company_id)
    candidates = connection.execute(query, {"now": now}).all()
    busy: set[int] = set()
    leased = {"worker": worker, "now": now, "until": now + lease}
    for attachment_id, connection_id in candidates:
        if connection_id in busy:
            continue
        if connection_id is not None and not connection.execute(
                LEASE_CONNECTION, {**leased, "connection": connection_id}).rowcount:
            busy.add(connection_id)
            continue
        connection.execute(LEASE_ATTACHMENT, {**leased, "attachment": attachment_id})
        session.commit()
        return AttachmentClaim(attachment_id, connection_id)
    session.commit()
    return None


def release_attachment(session: Session, claim: AttachmentClaim, worker: str, *, keep_connection: bool = False) -> None:
    """Give back the leases of a claim (only ours); ``keep_connection`` keeps the connection's for its next work."""
    connection = session.connection()
    connection.execute(RELEASE_ATTACHMENT, {"attachment": claim.attachment_id, "worker": worker})
    if claim.connection_id is not None and not keep_connection:
        connection.execute(RELEASE_CONNECTION, {"connection": claim.connection_id, "worker": worker})
    session.commit()


def postpone_crashed_attachment(session: Session, attachment_id: int, *, now: datetime) -> None:
    """After an unexpected exception: try later, keeping every write-ahead mark as committed; commits."""
    session.rollback()
    session.execute(update(VoucherAttachment).where(VoucherAttachment.id == attachment_id)
                    .values(retry_at=now + CRASH_RETRY_DELAY))
    session.commit()


# --- attaching one --------------------------------------------------------------------------------------


def attach_one(session: Session, attachment_id: int, *, clients: Clients, now: datetime | None = None,
               pause: Callable[[], bool] | None = None) -> AttachmentState:
    """Try once to bring a claimed attachment to Fortnox; commits. Returns its new state.

    ``clients`` gives the Fortnox client of the attachment's connection (the worker's, as for the export).
    ``pause``, asked between the upload and the connection: when it says yes (a voucher of the same
    connection is due), the attachment stops there, pending with its file's id, and the voucher goes
    first; the next try connects that file, nothing sent twice.

    Never more than one upload and one connection per voucher: each POST is marked in doubt and
    committed first, and a mark left by a lost answer makes the next try look before it sends.
    """
    now = now or now_utc()
    # What the attachment needs in two queries, not one lazy load each (the job, its report and company;
    # the integration and its connection): under a loaded machine the worker's CPU per PDF sets the pace.
    attachment = session.get(VoucherAttachment, attachment_id, options=[
        joinedload(VoucherAttachment.job).options(joinedload(ExportJob.zreport), joinedload(ExportJob.company))])
    if attachment is None or attachment.state != AttachmentState.PENDING:
        return attachment.state if attachment is not None else AttachmentState.FAILED
    job = attachment.job
    integration = session.scalar(select(FortnoxIntegration).options(joinedload(FortnoxIntegration.connection))
                                 .where(FortnoxIntegration.company_id == job.company_id))
    connection = integration.connection if integration is not None else None
    if job.state != ExportState.EXPORTED or job.voucher_number is None or job.voucher_year is None:
        return _fail(session, attachment, now, "no_voucher", msg.NO_VOUCHER)
    if connection is None or connection.status != ConnectionStatus.ACTIVE or not has_attach_scopes(connection):
        attachment.state = AttachmentState.NEEDS_CONSENT
        attachment.retry_at = None
        session.commit()
        return attachment.state
    record = job.zreport
    report = record.to_report()
    company = job.company
    content = render_pdf(report, company_name=company.name, org_number=company.org_number)
    name = file_name(report)
    series, number, year = job.voucher_series, job.voucher_number, job.voucher_year
    if attachment.voucher_number is not None:  # a correction's new voucher ("Rätta dag")
        series, number, year = attachment.voucher_series, attachment.voucher_number, attachment.voucher_year
    client = clients(connection)
    step = "look"
    _store(session, attachment, file_name=name)  # commits: no transaction stays open while Fortnox is called
    try:
        if attachment.connect_in_doubt or attachment.look_first:
            years = _voucher_years(session, connection, client, year, _voucher_day(attachment), now)
            files = [c.get("FileId") for c in client.voucher_file_connections(series, number, years=years)]
            if attachment.file_id is not None and attachment.file_id in files:
                return _attached(session, attachment, now)  # our connection went through
            if attachment.look_first and files:
                attachment.already_there = True
                return _attached(session, attachment, now)
            _store(session, attachment, connect_in_doubt=False, look_first=False)
        if attachment.file_id is None and attachment.upload_in_doubt:
            found = _in_inbox(client, name, len(content))
            _store(session, attachment, file_id=found, upload_in_doubt=False)
        if attachment.file_id is None:
            step = "upload"
            _store(session, attachment, upload_in_doubt=True)
            stored = client.upload_to_inbox(name, content)
            if pause is not None and pause():
                _store(session, attachment, file_id=str(stored["Id"]), upload_in_doubt=False)
                return attachment.state  # pending, due at once: the voucher first, then the connection
            # The file's id and the connection's write-ahead mark in one commit, before the connection is sent.
            _store(session, attachment, file_id=str(stored["Id"]), upload_in_doubt=False, connect_in_doubt=True)
        step = "connect"
        if not attachment.connect_in_doubt:
            _store(session, attachment, connect_in_doubt=True)
        client.connect_file(attachment.file_id, series, number, financial_year=year)
    except FortnoxError as exc:
        return _handle_error(session, attachment, exc, step, now)
    return _attached(session, attachment, now)


def _voucher_day(attachment: VoucherAttachment) -> date:
    """The date of the voucher the file goes to: a correction's new voucher is booked on the
    correction's booking day, the export's voucher on the date it was sent with (its business day)."""
    if attachment.voucher_date is not None:
        return attachment.voucher_date
    job = attachment.job
    return job.sent_date or job.zreport.business_date


def _voucher_years(session: Session, connection: FortnoxConnection, client: FortnoxClient, year_id: int,
                   day: date, now: datetime) -> tuple[int, ...]:
    """``VoucherYear`` of the voucher's file connections under either reading (no source says which): its
    financial year's Id, and the calendar year that financial year starts in.

    The financial year is the voucher's own, the one covering its date, looked up as the export's
    pre-flight does (``FortnoxSnapshot.financial_year_for``): for a year of 2026-05-01 – 2027-04-30 a
    voucher of March 2027 is of 2026, not of its date's calendar year. The stored snapshot answers
    unless it does not know the year yet (then the years are read again; commits).
    """
    snapshot = stored_snapshot(connection)
    year = snapshot.financial_year_for(day) if snapshot is not None else None
    if year is None or year.id != year_id:
        year = refresh_snapshot(session, connection, client, now=now).financial_year_for(day)
    return (year_id,) if year is None else (year_id, year.from_date.year)


def _in_inbox(client: FortnoxClient, name: str, size: int) -> str | None:
    """The id of our file in the inbox for vouchers, if an upload whose answer was lost arrived."""
    matches = [f for f in client.list_inbox() if f.get("Name") == name]
    matches.sort(key=lambda f: f.get("Size") != size)  # the same report renders the same bytes
    return str(matches[0]["Id"]) if matches else None


def _store(session: Session, attachment: VoucherAttachment, **values) -> None:
    """Set and commit: every write-ahead mark is durable before the call it guards.

    One prebuilt UPDATE, copied into the loaded attachment as stored (``statements``' rule), instead
    of a flush of the ORM's unit of work at each of the four commits of an attachment.
    """
    update_row(session, VoucherAttachment, attachment.id, values)
    session.commit()
    for column, value in values.items():
        set_committed_value(attachment, column, value)


def _attached(session: Session, attachment: VoucherAttachment, now: datetime) -> AttachmentState:
    _store(session, attachment, state=AttachmentState.ATTACHED, upload_in_doubt=False, connect_in_doubt=False,
           look_first=False, retry_at=None, error_code=None, error_message=None, attached_at=now_utc())
    log.info("Attached %s to voucher %s %s", attachment.file_name, attachment.job.voucher_series,
             attachment.job.voucher_number)
    return AttachmentState.ATTACHED


def _fail(session: Session, attachment: VoucherAttachment, now: datetime, code: str, message: str) -> AttachmentState:
    _store(session, attachment, state=AttachmentState.FAILED, retry_at=None, error_code=code, error_message=message)
    return AttachmentState.FAILED


def _handle_error(session: Session, attachment: VoucherAttachment, exc: FortnoxError, step: str,
                  now: datetime) -> AttachmentState:
    """What an error means for the attachment (``step``: the call it answered: look, upload or connect)."""
    sent = step in ("upload", "connect")
    ambiguous = sent and exc.ambiguous
    values: dict = {}
    if sent and not ambiguous:
        # A clear answer: nothing was stored by this call.
        values["upload_in_doubt" if step == "upload" else "connect_in_doubt"] = False
        if step == "connect" and not isinstance(exc, FortnoxRateLimited | FortnoxAuthError | AccessDeniedError):
            # Fortnox refused the connection (the file may be gone from the inbox): find the file again
            # by its name before uploading anew, so that no copy of it is left behind.
            values.update(file_id=None, upload_in_doubt=True)
    values["error_code"] = None if exc.code is None else str(exc.code)
    values["error_message"] = exc.fortnox_message or str(exc)
    if isinstance(exc, FortnoxRateLimited):
        values["retry_at"] = now + timedelta(seconds=exc.retry_after or 5)
        _store(session, attachment, **values)
        return AttachmentState.PENDING
    if isinstance(exc, FortnoxAuthError | AccessDeniedError):
        # The consent does not cover attaching (or the login ended): a new Fortnox login wakes it.
        _store(session, attachment, state=AttachmentState.NEEDS_CONSENT, retry_at=None, **values)
        return AttachmentState.NEEDS_CONSENT
    retries = attachment.retries + 1
    if retries > len(RETRY_DELAYS):
        log.warning("Attaching %s failed after %s retries: %s", attachment.file_name, len(RETRY_DELAYS), exc)
        _store(session, attachment, state=AttachmentState.FAILED, retries=retries, retry_at=None, **values)
        return AttachmentState.FAILED
    _store(session, attachment, retries=retries, retry_at=now + timedelta(seconds=RETRY_DELAYS[retries - 1]),
           **values)
    return AttachmentState.PENDING


# --- a new consent, and the vouchers exported before it ----------------------------------------------


def wake_after_consent(session: Session, company: Company) -> int:
    """A new Fortnox login: attachments that waited for the scopes become pending. Commits."""
    result = session.execute(
        update(VoucherAttachment)
        .where(VoucherAttachment.company_id == company.id, VoucherAttachment.state == AttachmentState.NEEDS_CONSENT)
        .values(state=AttachmentState.PENDING, retries=0, retry_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount


class AttachConsentMissing(Exception):
    """Attaching needs a new Fortnox login first (the scopes inbox and connectfile)."""


def start_backfill(session: Session, company: Company, *, actor: str, now: datetime | None = None) -> AttachmentRun:
    """"Bifoga underlag för tidigare dagar": every exported voucher lacking its PDF gets it. Commits.

    Vouchers without an attachment (exported before attaching existed) get one that asks Fortnox first
    whether the voucher already has a file; failed and waiting attachments are tried again. Those
    already attached are counted, never sent again, so a second run adds nothing.
    """
    now = now or now_utc()
    integration = session.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == company.id))
    if integration is None or not has_attach_scopes(integration.connection) \
            or integration.connection.status != ConnectionStatus.ACTIVE:
        raise AttachConsentMissing(company.name)
    without = session.scalars(
        select(ExportJob.id)
        .outerjoin(VoucherAttachment, (VoucherAttachment.job_id == ExportJob.id)
                   & VoucherAttachment.correction_id.is_(None))
        .where(ExportJob.company_id == company.id, ExportJob.state == ExportState.EXPORTED,
               VoucherAttachment.id.is_(None))
    ).all()
    for job_id in without:
        session.add(VoucherAttachment(job_id=job_id, company_id=company.id, look_first=True, created_at=now))
    session.execute(
        update(VoucherAttachment)
        .where(VoucherAttachment.company_id == company.id,
               VoucherAttachment.state.in_([AttachmentState.FAILED, AttachmentState.NEEDS_CONSENT]))
        .values(state=AttachmentState.PENDING, retries=0, retry_at=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    rows = session.execute(
        select(VoucherAttachment.id, VoucherAttachment.state).where(VoucherAttachment.company_id == company.id)
    ).all()
    waiting = [attachment_id for attachment_id, state in rows if state != AttachmentState.ATTACHED]
    run = AttachmentRun(company_id=company.id, started_by=actor, started_at=now, attachment_ids=json.dumps(waiting),
                        already_attached=len(rows) - len(waiting), total=len(rows))
    session.add(run)
    session.commit()
    return run


@dataclass(frozen=True, slots=True)
class Failure:
    """One voucher whose file could not be attached, and why."""

    zreport_id: int
    z_number: int
    business_date: str
    voucher: str
    message: str


@dataclass(frozen=True, slots=True)
class AttachProgress:
    """The counts a run's progress bar shows: attached now, already had one, failed (and why), waiting."""

    total: int
    attached: int
    already_there: int
    failed: int
    pending: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.pending == 0


def backfill_progress(session: Session, run: AttachmentRun) -> AttachProgress:
    """Where a "Bifoga underlag för tidigare dagar" stands."""
    from backoffice.zreport.models import ZReportRecord

    ids = json.loads(run.attachment_ids)
    counts: dict[tuple[str, bool], int] = {}
    failures: list[Failure] = []
    if ids:
        counts = {(state, there): n for state, there, n in session.execute(
            select(VoucherAttachment.state, VoucherAttachment.already_there, func.count())
            .where(VoucherAttachment.id.in_(ids))
            .group_by(VoucherAttachment.state, VoucherAttachment.already_there)
        ).all()}
        for attachment, job, record in session.execute(
            select(VoucherAttachment, ExportJob, ZReportRecord)
            .join(ExportJob, ExportJob.id == VoucherAttachment.job_id)
            .join(ZReportRecord, ZReportRecord.id == ExportJob.zreport_id)
            .where(VoucherAttachment.id.in_(ids),
                   VoucherAttachment.state.in_([AttachmentState.FAILED, AttachmentState.NEEDS_CONSENT]))
            .order_by(ZReportRecord.business_date, VoucherAttachment.id)
        ).all():
            failures.append(Failure(record.id, record.z_number, record.business_date.isoformat(),
                                    f"{job.voucher_series} {job.voucher_number}", msg.attachment_missing_reason(attachment)))

    def count(state: AttachmentState, there: bool | None = None) -> int:
        return sum(n for (s, t), n in counts.items() if s == state and (there is None or bool(t) == there))

    return AttachProgress(
        total=run.total,
        attached=count(AttachmentState.ATTACHED, False),
        already_there=run.already_attached + count(AttachmentState.ATTACHED, True),
        failed=count(AttachmentState.FAILED) + count(AttachmentState.NEEDS_CONSENT),
        pending=count(AttachmentState.PENDING),
        failures=failures,
    )


# What the UI says of attachments is in messages/export.py; export/banners.py still imports the
# consent banner's sentence by this name.
CONSENT_SENTENCE = msg.ATTACH_CONSENT
