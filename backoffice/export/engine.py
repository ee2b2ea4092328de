"""The exactly-once path: a claimed job becomes exactly one voucher in Fortnox.

A voucher cannot be changed or deleted in Fortnox, so a duplicate is a bookkeeping error. The
engine therefore never posts twice without looking first: before a POST it marks the job
``in_doubt`` and commits, together with what it sends: a token of the job's own (in the voucher's
``Comments``), the series, financial year, date and description. Only a clear answer from Fortnox
clears the mark. A job still in doubt (a timeout, a reset, a 5xx, a worker killed mid-post) is
settled before anything else, with what was sent and never with today's mapping (``doubt``): the
voucher carrying the token is adopted when Fortnox holds it as sent, the job is blocked when Fortnox
holds it otherwise, and only when Fortnox certainly has none is a voucher built again and posted.
No transaction is held open while Fortnox is called.

The worker gives the engine its Fortnox clients and its lease (``export.tasks``); this module
imports no Flask (an import-linter contract in setup.cfg). Its writes follow ``statements``' rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from backoffice.db import now_utc
from backoffice.export.attachments import voucher_recorded
from backoffice.export.context import CompanyContext, blockers_for, connection_blockers, voucher_or_blockers
from backoffice.export.doubt import ABSENT, Sent, comments_for, look_up, new_token, sent_by
from backoffice.export.models import ExportAttempt, ExportJob, ExportState
from backoffice.export.preflight import Blocker, check, no_financial_year
from backoffice.export.problems import sync_problems
from backoffice.export.reasons import Reason
from backoffice.export.statements import JOB_AND_CONTEXT, LAST_EXPORT, RENEW_LEASE, insert_attempt, store, update_row
from backoffice.export.states import transition, transition_values
from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.errors import (
    FortnoxAuthError,
    FortnoxConnectionError,
    FortnoxError,
    FortnoxRateLimited,
    FortnoxRejected,
    FortnoxServerError,
    InvalidClientError,
)
from backoffice.integrations.fortnox.metadata import FortnoxSnapshot, refresh_snapshot, snapshot_for
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection
from backoffice.integrations.fortnox.schemas import dumps_body, voucher_body
from backoffice.zreport.voucher import Voucher

log = logging.getLogger(__name__)

#: Seconds to wait before the 1st, 2nd and 3rd retry of a transient error; then the job has failed.
RETRY_DELAYS = (5, 25, 125)

#: The worker's Fortnox client of a connection (``integrations.fortnox.connection.client_for``).
Clients = Callable[[FortnoxConnection], FortnoxClient]


def export_one(session: Session, job_id: int, *, clients: Clients, lease: timedelta,
               now: datetime | None = None) -> ExportState:
    """Try once to bring a claimed job to Fortnox; records the attempt and commits. Returns the new state.

    ``clients`` gives the Fortnox client of the job's connection; ``lease`` is how long the worker's
    leases are renewed for just before the post.
    """
    now = now or now_utc()
    found = session.execute(JOB_AND_CONTEXT, {"job_id": job_id}).one_or_none()
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
    blockers = connection_blockers(context)
    if job.in_doubt and not blockers:
        # First settle the doubt, with what was sent: today's mapping may have changed since.
        settled = _settle_doubt(session, job, context, clients(context.connection), now)
        if settled is not None:
            return settled
    voucher, built_blockers = voucher_or_blockers(context, job.zreport)
    if voucher is None and not built_blockers and not blockers:
        # Every account nets to zero (a day without sales): Fortnox takes no voucher without rows.
        transition(job, ExportState.SKIPPED)
        job.reason_code = "nothing_to_book"
        session.add(ExportAttempt(job=job, started_at=now, finished_at=now_utc(), outcome="nothing_to_book"))
        session.commit()
        return ExportState.SKIPPED
    blockers = built_blockers + blockers
    if blockers:
        return _block(session, job, context, blockers, now)
    client = clients(context.connection)
    try:
        snapshot = _fresh_snapshot(session, context, client, voucher.transaction_date, now)
        blockers = check(voucher, snapshot)
        if blockers:
            job.voucher_description = voucher.description
            return _block(session, job, context, blockers, now)
    except FortnoxError as exc:
        return _handle_error(session, job, context, client, exc, now)
    # The voucher's own financial year, not Fortnox's preselected one (31 Dec exported on 2 Jan).
    year = snapshot.financial_year_for(voucher.transaction_date).id
    return _post(session, job, context, client, voucher, now, year, lease)


def _settle_doubt(session: Session, job: ExportJob, context: CompanyContext, client: FortnoxClient,
                  now: datetime) -> ExportState | None:
    """Look for the voucher the job sent (``doubt``). Adopt it, block the job when Fortnox holds it
    otherwise than sent, or clear the mark when Fortnox certainly has none (None: go on and post)."""
    sent = sent_by(job)
    if sent is None:  # in doubt before anything of the post was kept: look for today's voucher, as then
        voucher, _ = voucher_or_blockers(context, job.zreport)
        if voucher is None:
            return None  # nothing can be looked up; the job stays in doubt and is blocked below
        sent = Sent(voucher.series, voucher.transaction_date, voucher.description, None, None)
    try:
        year = sent.year
        if year is None:
            covering = _fresh_snapshot(session, context, client, sent.day, now).financial_year_for(sent.day)
            year = covering.id if covering is not None else None
        # No transaction stays open while Fortnox is called (on SQLite it would hold the write lock).
        session.commit()
        found = look_up(client, sent, year) if year is not None else ABSENT
    except FortnoxError as exc:
        return _handle_error(session, job, context, client, exc, now)
    if found is ABSENT:
        # Fortnox has no voucher of this job, whatever its date filters mean: it may be built anew
        # from today's mapping and posted (the token stays the job's).
        insert_attempt(session, job, started_at=now, finished_at=now_utc(), outcome="not_found")
        store(session, job, {"in_doubt": False})
        session.commit()
        return None
    if not found.differences:
        return _exported(session, job, context, found.voucher, now, outcome="found")
    stored = found.voucher
    detail = {
        "found_series": stored.get("VoucherSeries"), "found_number": stored.get("VoucherNumber"),
        "found_year": stored.get("Year"), "found_date": str(stored.get("TransactionDate")),
        "sent_series": sent.series, "sent_date": sent.day.isoformat(), "sent_description": sent.description,
        "differences": list(found.differences),
        # What Fortnox holds, for the page where a person settles it (``export.differs``): a view calls no Fortnox.
        "found_rows": [{"account": r.get("Account"), "debit": str(r.get("Debit") or 0), "credit": str(r.get("Credit") or 0),
                        "cost_center": r.get("CostCenter") or None, "removed": bool(r.get("Removed"))}
                       for r in stored.get("VoucherRows") or ()],
    }
    log.error("Z-report %s: Fortnox holds voucher %s %s with our token but %s differ; it is not posted again",
              job.zreport_id, detail["found_series"], detail["found_number"], ", ".join(found.differences))
    key = f"{detail['found_series']} {detail['found_number']}"
    # Still in doubt on purpose: whatever asks for the job again finds the same voucher, never posts.
    return _block(session, job, context, [Blocker(Reason.VOUCHER_DIFFERS, key, detail)], now)


def _fresh_snapshot(session: Session, context: CompanyContext, client: FortnoxClient, day: date,
                    now: datetime) -> FortnoxSnapshot:
    """The snapshot to judge a voucher dated ``day`` by, with the chart of the day's financial year
    (read from Fortnox only when missing or an hour old: ``metadata.snapshot_for``)."""
    snapshot = snapshot_for(session, context.connection, client, day, now=now)
    if snapshot is not context.snapshot:
        context.snapshot = snapshot
        context.refreshed = True
    return snapshot


def _post(session: Session, job: ExportJob, context: CompanyContext, client: FortnoxClient, voucher: Voucher,
          now: datetime, year: int, lease: timedelta) -> ExportState:
    token = job.voucher_token or new_token()  # made before the first post, the same for every retry
    body = voucher_body(voucher, comments=comments_for(token))
    lease_until = now_utc() + lease
    # Write-ahead: from here until Fortnox answers clearly, the voucher may exist in Fortnox. The
    # mark, what is sent (token, series, year, date, description: to look it up by) and the "sending"
    # attempt commit together, with the leases renewed so that a slow post is never taken for a crashed one.
    attempt_id = insert_attempt(session, job, started_at=now, outcome="sending", request_body=dumps_body(body))
    store(session, job, {"in_doubt": True, "voucher_token": token, "sent_series": voucher.series, "sent_year": year,
                         "sent_date": voucher.transaction_date, "voucher_description": voucher.description,
                         "lease_until": lease_until})
    session.connection().execute(RENEW_LEASE, {"connection": context.connection.id, "until": lease_until})
    session.commit()
    try:
        # A 401 is answered by refreshing the token and sending once more (connection.BearerAuth).
        created = client.create_voucher(body, financial_year=year)
    except FortnoxError as exc:
        attempt = session.get(ExportAttempt, attempt_id)
        attempt.finished_at = now_utc()
        attempt.http_status = exc.status
        attempt.fortnox_code = None if exc.code is None else str(exc.code)
        attempt.fortnox_message = exc.fortnox_message or str(exc)
        return _handle_error(session, job, context, client, exc, now, attempt)
    update_row(session, ExportAttempt, attempt_id, {"outcome": "posted", "finished_at": now_utc(), "http_status": 201})
    return _exported(session, job, context, created, now, outcome="posted")


def _exported(session: Session, job: ExportJob, context: CompanyContext, voucher: dict, now: datetime, *,
              outcome: str) -> ExportState:
    """Record the voucher Fortnox holds for the job (posted by us now, or found after a doubt); commits."""
    if outcome != "posted":
        insert_attempt(session, job, started_at=now, finished_at=now_utc(), outcome=outcome)
    exported_at = now_utc()
    store(session, job, {
        **transition_values(job, ExportState.EXPORTED),
        "in_doubt": False,
        "voucher_series": voucher.get("VoucherSeries"),
        "voucher_number": voucher.get("VoucherNumber"),
        "voucher_year": voucher.get("Year"),
        "exported_at": exported_at,
    })
    session.connection().execute(LAST_EXPORT, {"company": job.company_id, "exported_at": exported_at})
    # Its Z-report PDF follows as its own step (or waits for a consent that covers attaching).
    voucher_recorded(session, job.id, job.company_id, exported_at, context.connection)
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


def _handle_error(session: Session, job: ExportJob, context: CompanyContext, client: FortnoxClient, exc: FortnoxError,
                  now: datetime, attempt: ExportAttempt | None = None) -> ExportState:
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
            session.get(FortnoxConnection, connection.id).forget_tokens(ConnectionStatus.NEEDS_REAUTH)
        return _block(session, job, context, [Blocker(reason, str(connection.tenant_id))], now,
                      _refused(job, attempt))
    if isinstance(exc, FortnoxRejected):
        # Fortnox refused, so nothing was booked. Our cached metadata was wrong: read it again.
        attempt = _refused(job, attempt)
        try:
            context.snapshot = refresh_snapshot(session, context.connection, client, now=now)  # commits the refusal first
            context.refreshed = True
        except FortnoxError:
            log.warning("Could not refresh Fortnox metadata after a refusal", exc_info=True)
        said = {"fortnox_code": exc.code, "fortnox_message": exc.fortnox_message}
        # One cause, one problem: when the fresh metadata names the cause (the series, the account,
        # the locked date), block on it as the pre-flight would, so Fortnox's vaguer refusal does
        # not open a second problem beside the pre-flight's (nor a sentence with an empty name).
        _, known = blockers_for(context, job.zreport) if context.refreshed else (None, [])
        if known and exc.reason != "access_denied":
            return _block(session, job, context, [Blocker(b.reason, b.key, {**b.detail, **said}) for b in known],
                          now, attempt)
        return _block(session, job, context, [_refusal_blocker(job, context, exc, said)], now, attempt)
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


def _refusal_blocker(job: ExportJob, context: CompanyContext, exc: FortnoxRejected, said: dict) -> Blocker:
    """The cause of a refusal the metadata cannot name, keyed and described by what we sent where
    Fortnox's message leaves it out (the series, the date), so its sentence never names nothing."""
    # Each kind of refusal's reason is a Reason's value; a refusal no class names blocks as voucher_invalid.
    reason = Reason.VOUCHER_INVALID if type(exc) is FortnoxRejected else Reason(exc.reason)
    detail = dict(said)
    key = ""
    if exc.subject_kind in ("account", "cost_center") and exc.subject:
        key, detail[exc.subject_kind] = str(exc.subject), exc.subject
    elif exc.subject_kind == "series":
        series = exc.subject or job.sent_series or (context.mapping.voucher_series if context.mapping else "")
        key, detail["series"] = series or "", series or ""
    elif reason == Reason.NO_FINANCIAL_YEAR and job.sent_date is not None:
        blocker = no_financial_year(job.sent_date)
        key, detail = blocker.key, {**blocker.detail, **detail}
    elif reason == Reason.PERIOD_LOCKED and job.sent_date is not None:
        detail["date"] = job.sent_date.isoformat()
        if context.snapshot is not None and context.snapshot.locked_through is not None:
            detail["locked_through"] = context.snapshot.locked_through.isoformat()
    return Blocker(reason, key, detail)


def _refused(job: ExportJob, attempt: ExportAttempt | None) -> ExportAttempt | None:
    """Fortnox refused our post, so nothing was booked: the job is no longer in doubt, and the attempt
    leaves "sending" in the same change (a commit before ``_block``'s must not split them)."""
    if attempt is not None:
        job.in_doubt = False
        attempt.outcome = "blocked"
    return attempt


def _note(session: Session, job: ExportJob, attempt: ExportAttempt | None, outcome: str, exc: FortnoxError,
          now: datetime) -> None:
    if attempt is None:
        attempt = ExportAttempt(job=job, started_at=now)
        session.add(attempt)
    attempt.finished_at = now_utc()
    attempt.outcome = outcome
    attempt.http_status = attempt.http_status or exc.status
    attempt.fortnox_message = attempt.fortnox_message or exc.fortnox_message or str(exc)
    attempt.reason_code = str(exc.reason) or None
