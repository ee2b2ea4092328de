"""The correction step: one report's reversal, then its new voucher, each exactly once.

The export's machinery, not a second engine: each post gets a token of its own in ``Comments``
(``export.doubt.comments_for``), is marked in doubt and committed together with the body it sends
before the call (write-ahead), and a mark left by a lost answer or a crash is settled by looking up
**what was sent** (``export.doubt.look_up``) before anything is posted again. The Fortnox clients
come from the worker (``client_for``: the tenant's shared rate budget, and ``no_transaction_open``
before every request), the voucher's checks from the export's pre-flight, and the new voucher's
Z-report PDF from the export's attachment step.

Order and what a crash leaves: the reversal is posted first and recorded; only then is the new
voucher built from today's mapping and posted. A crash after the reversal resumes with the new
voucher: a recorded reversal is never posted again. Before the reversal, the voucher it reverses is
read from Fortnox and compared with what we sent: one typed over by hand is not corrected.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from backoffice.correction.compare import changes, first_open_day, reversal_description, reversal_rows, rows_of
from backoffice.correction.models import Correction, CorrectionState
from backoffice.db import now_utc
from backoffice.export.context import CompanyContext, connection_blockers, voucher_or_blockers
from backoffice.export.doubt import ABSENT, Sent, comments_for, differences, look_up, new_token
from backoffice.export.models import AttachmentState, VoucherAttachment
from backoffice.export.preflight import check
from backoffice.export.statements import LEASE_CONNECTION, RELEASE_CONNECTION
from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.errors import (
    FortnoxAuthError,
    FortnoxConnectionError,
    FortnoxError,
    FortnoxRateLimited,
    FortnoxRejected,
    FortnoxServerError,
    PeriodLockedError,
)
from backoffice.integrations.fortnox.metadata import refresh_snapshot, snapshot_for
from backoffice.integrations.fortnox.models import FortnoxConnection, FortnoxIntegration
from backoffice.integrations.fortnox.schemas import dumps_body, voucher_body
from backoffice.messages.correction import reversal_comment
from backoffice.zreport.voucher import Voucher

log = logging.getLogger(__name__)

#: The worker's Fortnox client of a connection (``integrations.fortnox.connection.client_for``).
Clients = Callable[[FortnoxConnection], FortnoxClient]
#: Seconds before the 1st, 2nd and 3rd retry of a transient error, as for the export.
RETRY_DELAYS = (5, 25, 125)
#: How long a correction whose step crashed (a bug) waits before it is taken up again.
CRASH_RETRY_DELAY = timedelta(seconds=60)
#: How long a worker holds a correction and its connection.
DEFAULT_LEASE = timedelta(seconds=300)


class _Stop(Exception):
    """Ends a step early with the correction's new state (already committed)."""

    def __init__(self, state: CorrectionState) -> None:
        super().__init__(state)
        self.state = state


# --- claiming: the connection's own lease, so a connection's exports and corrections never run at once ---


@dataclasses.dataclass(frozen=True, slots=True)
class CorrectionClaim:
    correction_id: int
    connection_id: int | None


_c = Correction.__table__.c
_CANDIDATES = (
    select(_c.id, FortnoxIntegration.connection_id)
    .join(FortnoxIntegration, FortnoxIntegration.company_id == _c.company_id)
    .where(_c.state == CorrectionState.PENDING,
           or_(_c.retry_at.is_(None), _c.retry_at <= bindparam("now")),
           or_(_c.lease_until.is_(None), _c.lease_until < bindparam("now")))
    .order_by(_c.id)
    .limit(25)
    .with_for_update(skip_locked=True, of=Correction.__table__)
)
_LEASE = update(Correction.__table__).where(_c.id == bindparam("correction")).values(
    lease_owner=bindparam("worker"), lease_until=bindparam("until"))
_RELEASE = (update(Correction.__table__).where(_c.id == bindparam("correction"), _c.lease_owner == bindparam("worker"))
            .values(lease_owner=None, lease_until=None))


def claim_next_correction(session: Session, worker: str, *, now: datetime,
                          lease: timedelta = DEFAULT_LEASE) -> CorrectionClaim | None:
    """Lease the oldest due correction whose connection no other worker holds; commits. None when idle."""
    connection = session.connection()
    busy: set[int] = set()
    leased = {"worker": worker, "now": now, "until": now + lease}
    for correction_id, connection_id in connection.execute(_CANDIDATES, {"now": now}).all():
        if connection_id in busy:
            continue
        if connection_id is not None and not connection.execute(
                LEASE_CONNECTION, {**leased, "connection": connection_id}).rowcount:
            busy.add(connection_id)
            continue
        connection.execute(_LEASE, {**leased, "correction": correction_id})
        session.commit()
        return CorrectionClaim(correction_id, connection_id)
    session.commit()
    return None


def release_correction(session: Session, claim: CorrectionClaim, worker: str) -> None:
    """Give back the leases of a claim (only ours)."""
    connection = session.connection()
    connection.execute(_RELEASE, {"correction": claim.correction_id, "worker": worker})
    if claim.connection_id is not None:
        connection.execute(RELEASE_CONNECTION, {"connection": claim.connection_id, "worker": worker})
    session.commit()


def postpone_crashed_correction(session: Session, correction_id: int, *, now: datetime) -> None:
    """After an unexpected exception: try later, keeping every committed write-ahead mark; commits."""
    session.rollback()
    session.execute(update(Correction).where(Correction.id == correction_id)
                    .values(retry_at=now + CRASH_RETRY_DELAY))
    session.commit()


# --- one correction ---------------------------------------------------------------------------------


def correct_one(session: Session, correction_id: int, *, clients: Clients, now: datetime | None = None,
                actor_note: str | None = None) -> CorrectionState:
    """Bring a claimed correction one step on, as far as it goes: the reversal, then the new voucher;
    commits. Returns its new state."""
    now = now or now_utc()
    correction = session.get(Correction, correction_id)
    if correction is None or correction.state != CorrectionState.PENDING:
        return correction.state if correction is not None else CorrectionState.FAILED
    context = CompanyContext.load(session, correction.company)
    blockers = connection_blockers(context)
    if blockers:
        return _block(session, correction, str(blockers[0].reason), {})
    client = clients(context.connection)
    try:
        if correction.reversal_number is None:
            _reverse(session, correction, context, client, now)
        if correction.new_number is None:
            _post_new(session, correction, context, client, now)
    except _Stop as stop:
        return stop.state
    except FortnoxError as exc:
        return _handle_error(session, correction, context, client, exc, now)
    correction.state = CorrectionState.DONE
    correction.finished_at = now_utc()
    correction.retries, correction.retry_at = 0, None
    session.commit()
    log.info("Corrected Z-report %s: %s %s reversed by %s %s, new voucher %s %s", correction.zreport_id,
             correction.corrected_series, correction.corrected_number, correction.reversal_series,
             correction.reversal_number, correction.new_series, correction.new_number)
    return CorrectionState.DONE


def _settle(session: Session, correction: Correction, client: FortnoxClient, which: str) -> bool:
    """Settle a lost answer of the ``which`` post ("reversal" or "new") with what was sent.

    True: Fortnox holds it as sent, and it is recorded. False: Fortnox certainly has none, the mark
    is cleared and the post may be made again. Fortnox holding it otherwise blocks the correction.
    """
    body = json.loads(getattr(correction, f"{which}_body"), parse_float=Decimal)["Voucher"]
    year = getattr(correction, f"{which}_year")
    sent = Sent(body["VoucherSeries"], correction.booking_date, body["Description"], year,
                getattr(correction, f"{which}_token"), tuple(body["VoucherRows"]))
    session.commit()  # no transaction stays open while Fortnox is called
    found = look_up(client, sent, year)
    if found is ABSENT:
        _store(session, correction, **{f"{which}_in_doubt": False})
        return False
    if found.differences:
        stored = found.voucher
        raise _Stop(_block(session, correction, "voucher_differs", {
            "found": f"{stored.get('VoucherSeries')} {stored.get('VoucherNumber')}",
            "differences": list(found.differences), "step": which}))
    _record(session, correction, which, found.voucher)
    return True


def _reverse(session: Session, correction: Correction, context: CompanyContext, client: FortnoxClient,
             now: datetime) -> None:
    if correction.reversal_in_doubt and _settle(session, correction, client, "reversal"):
        return
    # What Fortnox holds as the voucher to reverse must be what we sent: one typed over is for a person.
    sent_rows = json.loads(correction.corrected_rows, parse_float=Decimal)
    sent = Sent(correction.corrected_series, correction.corrected_date, correction.corrected_description,
                correction.corrected_year, None, tuple(sent_rows))
    session.commit()
    stored = client.get_voucher(correction.corrected_series, correction.corrected_number,
                                financial_year=correction.corrected_year)
    typed_over = differences(sent, stored)
    if typed_over:
        # What the person must compare, per account to the öre: our rows against Fortnox's.
        by_hand = changes(rows_of(sent_rows), rows_of(stored.get("VoucherRows") or ()))
        raise _Stop(_block(session, correction, "voucher_typed_over", {
            "voucher": f"{correction.corrected_series} {correction.corrected_number}",
            "differences": list(typed_over),
            "accounts": [{"account": c.account, "cost_center": c.cost_center, "sent": str(c.before),
                          "fortnox": str(c.after)} for c in by_hand]}))
    snapshot = snapshot_for(session, context.connection, client, correction.corrected_date, now=now)
    day = first_open_day(correction.corrected_date, snapshot.locked_through)
    if day != correction.corrected_date:
        snapshot = snapshot_for(session, context.connection, client, day, now=now)
    rows = rows_of(sent_rows)
    voucher = Voucher(reversal_description(correction.corrected_series, correction.corrected_number,
                                           correction.corrected_description),
                      day, correction.corrected_series, reversal_rows(rows))
    _check(session, correction, voucher, snapshot)
    year = snapshot.financial_year_for(day).id
    _post(session, correction, client, "reversal", voucher, year, context)


def _post_new(session: Session, correction: Correction, context: CompanyContext, client: FortnoxClient,
              now: datetime) -> None:
    if correction.new_in_doubt and _settle(session, correction, client, "new"):
        return
    voucher, blockers = voucher_or_blockers(context, correction.zreport)
    if voucher is None:
        raise _Stop(_block(session, correction, str(blockers[0].reason) if blockers else "nothing_to_book",
                           blockers[0].detail if blockers else {}))
    day = correction.booking_date  # the reversal's date: both are dated alike
    voucher = dataclasses.replace(voucher, transaction_date=day)
    snapshot = snapshot_for(session, context.connection, client, day, now=now)
    _check(session, correction, voucher, snapshot)
    _post(session, correction, client, "new", voucher, snapshot.financial_year_for(day).id, context)


def _check(session: Session, correction: Correction, voucher: Voucher, snapshot: Any) -> None:
    """The export's pre-flight: a voucher Fortnox would refuse is never sent."""
    blockers = check(voucher, snapshot)
    if blockers:
        raise _Stop(_block(session, correction, str(blockers[0].reason),
                           {"key": blockers[0].key, **blockers[0].detail}))


def comments_of(correction: Correction, token: str) -> str:
    """The reversal's ``Comments``: who corrected, when and why (BFL 5 kap. 5 §), and our token."""
    run = correction.run
    when = run.started_at.strftime("%Y-%m-%d %H:%M UTC")
    text = reversal_comment(run.started_by, when, run.why)
    return text[: 1000 - len(comments_for(token))] + comments_for(token)


def _post(session: Session, correction: Correction, client: FortnoxClient, which: str, voucher: Voucher,
          year: int, context: CompanyContext) -> None:
    token = getattr(correction, f"{which}_token") or new_token()  # the same for every retry
    comments = comments_of(correction, token) if which == "reversal" else comments_for(token)
    body = voucher_body(voucher, comments=comments)
    # Write-ahead: the mark, the token, the body and the year commit before the post.
    _store(session, correction, **{f"{which}_in_doubt": True, f"{which}_token": token,
                                   f"{which}_body": dumps_body(body), f"{which}_year": year,
                                   "booking_date": voucher.transaction_date})
    try:
        created = client.create_voucher(body, financial_year=year)
    except FortnoxError as exc:
        ambiguous = isinstance(exc, FortnoxServerError) or (isinstance(exc, FortnoxConnectionError) and exc.ambiguous)
        if not ambiguous:
            _store(session, correction, **{f"{which}_in_doubt": False})  # a clear answer: nothing stored
        raise
    _record(session, correction, which, created)


def _record(session: Session, correction: Correction, which: str, voucher: dict) -> None:
    values = {f"{which}_in_doubt": False, f"{which}_series": voucher.get("VoucherSeries"),
              f"{which}_number": voucher.get("VoucherNumber"), f"{which}_year": voucher.get("Year")}
    for column, value in values.items():
        setattr(correction, column, value)
    if which == "new":
        # Its Z-report PDF follows as the export's own attachment step, in the same transaction.
        session.add(VoucherAttachment(job_id=correction.job_id, correction_id=correction.id,
                                      company_id=correction.company_id, state=AttachmentState.PENDING,
                                      voucher_series=correction.new_series, voucher_number=correction.new_number,
                                      voucher_year=correction.new_year, voucher_date=correction.booking_date))
        # The report's current voucher is the new one now (``export status``, the next correction).
        job = correction.job
        job.current_series, job.current_number, job.current_year = (
            correction.new_series, correction.new_number, correction.new_year)
    session.commit()


def _store(session: Session, correction: Correction, **values: Any) -> None:
    """Set and commit: every write-ahead mark is durable before the call it guards."""
    for column, value in values.items():
        setattr(correction, column, value)
    session.commit()


def _block(session: Session, correction: Correction, code: str, detail: dict) -> CorrectionState:
    correction.state = CorrectionState.BLOCKED
    correction.reason_code = code
    correction.reason_detail = json.dumps(detail, default=str)
    correction.retry_at = None
    session.commit()
    log.warning("Correction of Z-report %s blocked: %s %s", correction.zreport_id, code, detail)
    return CorrectionState.BLOCKED


def _handle_error(session: Session, correction: Correction, context: CompanyContext, client: FortnoxClient,
                  exc: FortnoxError, now: datetime) -> CorrectionState:
    if isinstance(exc, FortnoxRateLimited):
        correction.retry_at = now + timedelta(seconds=exc.retry_after or 5)
        session.commit()
        return CorrectionState.PENDING
    if isinstance(exc, PeriodLockedError):
        # Locked since our snapshot was read: read it again and go on at once, past the new lock.
        refresh_snapshot(session, context.connection, client, now=now)
        correction.retry_at = None
        session.commit()
        return CorrectionState.PENDING
    if isinstance(exc, FortnoxAuthError | FortnoxRejected):
        return _block(session, correction, str(exc.reason),
                      {"fortnox_code": exc.code, "fortnox_message": exc.fortnox_message})
    correction.retries += 1
    if correction.retries > len(RETRY_DELAYS):
        correction.state = CorrectionState.FAILED
        correction.reason_code = "correction_failed"
        correction.reason_detail = json.dumps({"error": str(exc)})
        session.commit()
        return CorrectionState.FAILED
    correction.retry_at = now + timedelta(seconds=RETRY_DELAYS[correction.retries - 1])
    session.commit()
    return CorrectionState.PENDING
