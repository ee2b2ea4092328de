"""A voucher Fortnox holds otherwise than we sent it (``voucher_differs``): what a person sees and decides.

The engine blocks such a job and never posts it again (``engine._settle_doubt``): the voucher
carries the job's token, so BackOffice made it, and a second voucher would book the day twice.
What is left is a person's decision, and only two are offered, both without a post:

- :func:`accept_found_voucher`: Fortnox's voucher, as it stands (e.g. corrected there by the
  accountant), is taken as the report's booking. The job becomes ``exported`` with that voucher,
  the Z-report's PDF is attached to it as usual, and the attempt names the person.
- :func:`look_again`: the job is given back to the worker still in doubt, so it searches for the
  token again and compares anew (after the voucher was corrected in Fortnox to what was sent, it is
  adopted as ``found``; still different, it is blocked again with what Fortnox holds now).

Posting a new voucher is not offered: "certainly not ours" cannot be known of a voucher that carries
our token. Nothing here calls Fortnox; the page reads what the engine stored when it blocked the job.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from backoffice.db import now_utc
from backoffice.export.attachments import voucher_recorded
from backoffice.export.doubt import Sent, sent_by
from backoffice.export.models import ExportAttempt, ExportJob, ExportState
from backoffice.export.problems import sync_problems
from backoffice.export.reasons import Reason
from backoffice.export.statements import LAST_EXPORT
from backoffice.export.states import transition

ZERO = Decimal("0.00")


class NotDiffering(Exception):
    """The job is no longer blocked by a voucher that differs (settled meanwhile, or never was)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"export job {job_id} is not blocked by a voucher that differs")
        self.job_id = job_id


@dataclass(frozen=True, slots=True)
class RowComparison:
    """One account (and cost centre) of the two vouchers, as a net amount: debit positive, credit negative.

    fortnox is None when the page has no copy of Fortnox's rows (a job blocked before they were kept).
    """

    account: int
    cost_center: str | None
    sent: Decimal
    fortnox: Decimal | None

    @property
    def differs(self) -> bool:
        return self.fortnox is not None and self.sent != self.fortnox


@dataclass(frozen=True, slots=True)
class DiffersCase:
    """A job blocked by a voucher that differs: the voucher found, what was sent, and the rows side by side.

    found: "A 7" as Fortnox names it; found_year: its financial-year id. sent: what the job posted
    (None if unknown). rows: every account of either voucher, struck-out (``Removed``) rows left out.
    """

    job: ExportJob
    found: str
    found_series: str
    found_number: int
    found_year: int | None
    found_date: str | None
    differences: tuple[str, ...]
    sent: Sent | None
    rows: tuple[RowComparison, ...]
    has_fortnox_rows: bool


def _net(rows: Iterable[dict[str, Any]], *, keys: tuple[str, str, str, str]) -> dict[tuple[int, str | None], Decimal]:
    account, debit, credit, cost_center = keys
    out: dict[tuple[int, str | None], Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        key = (int(row[account]), row.get(cost_center) or None)
        out[key] += Decimal(str(row.get(debit) or 0)) - Decimal(str(row.get(credit) or 0))
    return out


def compare_rows(sent_rows: Iterable[dict[str, Any]], found_rows: Iterable[dict[str, Any]] | None
                 ) -> tuple[RowComparison, ...]:
    """Both vouchers per (account, cost centre), sorted by account. ``sent_rows`` as in our request body
    (``Account``, ``Debit``…); ``found_rows`` as the engine kept them (``account``, ``debit``…, ``removed``)."""
    sent = _net(sent_rows, keys=("Account", "Debit", "Credit", "CostCenter"))
    found = None if found_rows is None else _net(
        (r for r in found_rows if not r.get("removed")), keys=("account", "debit", "credit", "cost_center"))
    keys = sorted(set(sent) | set(found or ()), key=lambda k: (k[0], k[1] or ""))
    return tuple(
        RowComparison(account, cost_center, sent.get((account, cost_center), ZERO),
                      None if found is None else found.get((account, cost_center), ZERO))
        for account, cost_center in keys
    )


def differs_case(job: ExportJob) -> DiffersCase:
    """What the page shows of a job blocked by a voucher that differs (``NotDiffering`` otherwise)."""
    if job.state != ExportState.BLOCKED or job.reason_code != Reason.VOUCHER_DIFFERS:
        raise NotDiffering(job.id)
    detail = job.detail
    sent = sent_by(job)
    found_rows = detail.get("found_rows")
    series, number = str(detail.get("found_series") or ""), int(detail.get("found_number") or 0)
    return DiffersCase(
        job=job,
        found=f"{series} {number}",
        found_series=series,
        found_number=number,
        found_year=detail.get("found_year"),
        found_date=detail.get("found_date"),
        differences=tuple(detail.get("differences") or ()),
        sent=sent,
        rows=compare_rows(sent.rows if sent else (), found_rows),
        has_fortnox_rows=found_rows is not None,
    )


def _still_differing(session: Session, job_id: int) -> ExportJob:
    job = session.get(ExportJob, job_id, with_for_update=True)
    if job is None or job.state != ExportState.BLOCKED or job.reason_code != Reason.VOUCHER_DIFFERS:
        raise NotDiffering(job_id)
    return job


def accept_found_voucher(session: Session, job_id: int, *, actor: str, now: datetime | None = None) -> ExportJob:
    """Take the voucher Fortnox holds with the job's token as the report's booking. Commits.

    The job becomes ``exported`` with that voucher (its series, number and financial year as the
    engine found them), leaves doubt, and its Z-report PDF is attached to that voucher next. Nothing
    is posted. The attempt records who decided.
    """
    now = now or now_utc()
    job = _still_differing(session, job_id)
    detail = job.detail
    transition(job, ExportState.EXPORTED)
    job.in_doubt = False
    job.voucher_series = detail.get("found_series")
    job.voucher_number = detail.get("found_number")
    job.voucher_year = detail.get("found_year")
    job.exported_at = now
    session.add(ExportAttempt(job=job, started_at=now, finished_at=now, outcome="accepted", actor=actor))
    session.flush()
    session.connection().execute(LAST_EXPORT, {"company": job.company_id, "exported_at": now})
    voucher_recorded(session, job.id, job.company_id, now)
    session.commit()
    sync_problems(session, job.company, now=now)
    return job


def look_again(session: Session, job_id: int, *, actor: str, now: datetime | None = None) -> ExportJob:
    """Give the job back to the worker, still in doubt: it searches for its token and compares again. Commits.

    The engine alone decides then (adopt, block again, or post only when Fortnox certainly has none).
    """
    now = now or now_utc()
    job = _still_differing(session, job_id)
    transition(job, ExportState.PENDING)
    job.retries = 0
    job.retry_at = now
    session.add(ExportAttempt(job=job, started_at=now, finished_at=now, outcome="look_again", actor=actor))
    session.commit()
    sync_problems(session, job.company, now=now)
    return job
