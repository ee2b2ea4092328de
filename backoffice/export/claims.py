"""Who exports what: a worker thread leases a due job and its Fortnox connection, then gives them back.

The database is the queue. A job and its connection are leased by one worker thread at a time
(``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, and a conditional update of the connection's
lease), so the jobs of one connection run one at a time and its rate limit and token refresh stay
safe. A crashed worker's leases run out and the work is picked up again.

A thread that has exported a job keeps its connection's lease for the connection's next due job
(``held``), so a backlog is one thread's run of exports: no release and new lease between two
vouchers, and no other thread or process taking the connection over in the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from backoffice.export.models import ExportJob
from backoffice.export.statements import (
    ANY_DUE,
    CANDIDATES,
    DUE_ON_CONNECTION,
    HELD_CANDIDATES,
    LEASE_CONNECTION,
    LEASE_JOB,
    RELEASE_CONNECTION,
    RELEASE_JOB,
    RENEW_OWN_LEASE,
)

#: How long a worker may hold a job and its connection before another may take over. Longer than
#: the longest post (read timeout, rate-limit waits and 429 retries), and renewed just before the
#: post, so a slow post is never taken for a crashed one.
DEFAULT_LEASE = timedelta(seconds=300)

#: how long a job whose export crashed (a bug, not a refusal: those block or retry) waits before it is
#: taken up again, so that one broken job cannot keep a worker thread busy in a loop
CRASH_RETRY_DELAY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Claim:
    job_id: int
    connection_id: int | None


def claim_next_job(session: Session, worker: str, *, now: datetime, lease: timedelta = DEFAULT_LEASE,
                   held: int | None = None) -> Claim | None:
    """Lease the oldest due job whose connection no other worker holds; commits. None when idle.

    ``held``: a connection whose lease this worker kept (``release(keep_connection=True)``): only its
    next due job is leased, with the connection's lease renewed, and None when it has none (or when
    the lease ran out and another worker took it); the caller then gives it back
    (:func:`release_connection`). Prebuilt Core statements on the session's connection (``statements``,
    its rule at the top): the worker runs them once per voucher.
    """
    if held is not None:
        return _claim_held(session, worker, held, now=now, lease=lease)
    connection = session.connection()
    candidates = connection.execute(CANDIDATES, {"now": now}).all()
    busy: set[int] = set()
    leased = {"worker": worker, "now": now, "until": now + lease}
    for job_id, connection_id in candidates:
        if connection_id in busy:
            continue
        if connection_id is not None:
            if not connection.execute(LEASE_CONNECTION, {**leased, "connection": connection_id}).rowcount:
                busy.add(connection_id)
                continue
        connection.execute(LEASE_JOB, {**leased, "job": job_id})
        session.commit()
        return Claim(job_id, connection_id)
    session.commit()
    return None


def has_due_job(connection: Connection, *, now: datetime) -> bool:
    """Whether a job is due on a connection no worker holds (a look without a lock or a lease)."""
    return bool(connection.execute(ANY_DUE, {"now": now}).scalar())


def has_due_job_on(session: Session, connection_id: int, *, now: datetime) -> bool:
    """Whether a job of the connection ``connection_id`` is due (its lease holder's look); ends the
    transaction, so nothing stays open while the caller goes on calling Fortnox."""
    due = bool(session.connection().execute(DUE_ON_CONNECTION, {"now": now, "connection": connection_id}).scalar())
    session.commit()
    return due


def _claim_held(session: Session, worker: str, held: int, *, now: datetime, lease: timedelta) -> Claim | None:
    connection = session.connection()
    leased = {"worker": worker, "now": now, "until": now + lease, "connection": held}
    job_id = connection.execute(HELD_CANDIDATES, leased).scalar()
    if job_id is None or not connection.execute(RENEW_OWN_LEASE, leased).rowcount:
        session.commit()
        return None
    connection.execute(LEASE_JOB, {**leased, "job": job_id})
    session.commit()
    return Claim(job_id, held)


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


def release(session: Session, claim: Claim, worker: str, *, keep_connection: bool = False) -> None:
    """Give back the leases of a claim (only ours: a lease that ran out may belong to another now).

    ``keep_connection``: keep the connection's lease for its next job (``claim_next_job(held=…)``).
    """
    connection = session.connection()
    connection.execute(RELEASE_JOB, {"job": claim.job_id, "worker": worker})
    if claim.connection_id is not None and not keep_connection:
        connection.execute(RELEASE_CONNECTION, {"connection": claim.connection_id, "worker": worker})
    session.commit()


def release_connection(session: Session, connection_id: int, worker: str) -> None:
    """Give back a connection's lease kept from job to job (only ours); commits."""
    session.connection().execute(RELEASE_CONNECTION, {"connection": connection_id, "worker": worker})
    session.commit()
