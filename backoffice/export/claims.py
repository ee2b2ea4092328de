"""Who exports what: a worker thread leases a due job and its Fortnox connection, then gives them back.

The database is the queue. A job and its connection are leased by one worker thread at a time
(``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, and a conditional update of the connection's
lease), so the jobs of one connection run one at a time and its rate limit and token refresh stay
safe. A crashed worker's leases run out and the work is picked up again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from backoffice.export.models import ExportJob
from backoffice.export.statements import CANDIDATES, LEASE_CONNECTION, LEASE_JOB, RELEASE_CONNECTION, RELEASE_JOB

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


def claim_next_job(session: Session, worker: str, *, now: datetime, lease: timedelta = DEFAULT_LEASE) -> Claim | None:
    """Lease the oldest due job whose connection no other worker holds; commits. None when idle.

    Prebuilt Core statements on the session's connection: the worker runs them once per voucher.
    """
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
    connection.execute(RELEASE_JOB, {"job": claim.job_id, "worker": worker})
    if claim.connection_id is not None:
        connection.execute(RELEASE_CONNECTION, {"connection": claim.connection_id, "worker": worker})
    session.commit()
