"""Rätta dag: what correcting a range of booked days would post (the preview), and confirming it.

The preview reads only our own database and the stored Fortnox snapshot (a page view never calls
Fortnox): it compares, per report, the voucher that is current for it (the export's, or the last
correction's new voucher) with today's booking, as we sent the current one. Whether Fortnox still
holds it as sent is checked by the correction step, just before the reversal: a voucher typed over
by hand is never reversed automatically, it is listed for a person (``voucher_typed_over``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.companies.models import Company, Register
from backoffice.correction.compare import (
    AccountChange,
    changes,
    first_open_day,
    reversal_description,
    reversal_rows,
    rows_of,
)
from backoffice.correction.models import Correction, CorrectionRun, CorrectionState
from backoffice.db import now_utc
from backoffice.export.context import CompanyContext, voucher_or_blockers
from backoffice.export.doubt import sent_by
from backoffice.export.models import ExportJob, ExportState
from backoffice.messages.correction import DEFAULT_WHY
from backoffice.zreport.models import ZReportRecord
from backoffice.zreport.voucher import Voucher

#: Blocks a person must settle in Fortnox: confirming again does not send these corrections again.
NEEDS_A_PERSON = ("voucher_typed_over", "voucher_differs")


class CorrectionError(Exception):
    """A range that cannot be corrected; nothing was written or posted.

    code: ``range_reversed``, ``range_in_future``, ``not_active``, ``no_exported_voucher``,
    ``nothing_to_correct``. detail: what the Swedish sentence names (``messages.correction``).
    """

    def __init__(self, code: str, **detail: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CurrentVoucher:
    """The voucher that is current for a report in Fortnox, as we sent it.

    correction_id: the correction that posted it, or None for the export's voucher.
    """

    series: str
    number: int
    year: int
    day: date
    description: str
    rows: tuple[dict, ...]
    correction_id: int | None = None

    @property
    def name(self) -> str:
        return f"{self.series} {self.number}"


@dataclass(frozen=True, slots=True)
class DayCorrection:
    """One report whose booking changed: what the correction would post."""

    record: ZReportRecord
    register: str
    job_id: int
    current: CurrentVoucher
    booking_date: date
    #: the last locked day when the booking date moved past a locked period, else None
    locked_through: date | None
    reversal: Voucher
    new: Voucher
    changes: tuple[AccountChange, ...]


@dataclass(frozen=True, slots=True)
class Attention:
    """A report in the range that is not corrected now, and why (``messages.correction.attention_message``).

    code: ``not_exported``, ``under_way``, ``voucher_typed_over``, ``voucher_differs``, ``cannot_book``,
    ``failed``, ``blocked``. detail: what the sentence names.
    """

    record: ZReportRecord
    register: str
    code: str
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Preview:
    date_from: date
    date_to: date
    days: tuple[DayCorrection, ...]
    attention: tuple[Attention, ...]
    #: exported reports whose booking would not change (not listed)
    unchanged: int

    def to_json(self) -> dict:
        """The preview as JSON (``export correct --json``): amounts as strings, to the öre."""
        def voucher(v: Voucher) -> dict:
            return {"series": v.series, "date": v.transaction_date.isoformat(), "description": v.description,
                    "rows": [{"account": r.account, "debit": str(r.debit), "credit": str(r.credit),
                              "cost_center": r.cost_center} for r in v.rows]}
        return {
            "from": self.date_from.isoformat(), "to": self.date_to.isoformat(), "unchanged": self.unchanged,
            "days": [{
                "register_id": d.register, "z_number": d.record.z_number,
                "business_date": d.record.business_date.isoformat(),
                "current_voucher": {"series": d.current.series, "number": d.current.number, "year": d.current.year},
                "booking_date": d.booking_date.isoformat(),
                "locked_through": d.locked_through.isoformat() if d.locked_through else None,
                "reversal": voucher(d.reversal), "new": voucher(d.new),
                "changes": [{"account": c.account, "cost_center": c.cost_center, "before": str(c.before),
                             "after": str(c.after), "change": str(c.change)} for c in d.changes],
            } for d in self.days],
            "attention": [{"register_id": a.register, "z_number": a.record.z_number,
                           "business_date": a.record.business_date.isoformat(), "code": a.code,
                           "detail": a.detail} for a in self.attention],
        }


def check_range(date_from: date, date_to: date, *, today: date) -> None:
    if date_from > date_to:
        raise CorrectionError("range_reversed", date_from=date_from.isoformat(), date_to=date_to.isoformat())
    if date_to > today:
        raise CorrectionError("range_in_future", date_to=date_to.isoformat(), today=today.isoformat())


def current_voucher(job: ExportJob, done: list[Correction]) -> CurrentVoucher | None:
    """The report's current voucher: the last done correction's new voucher, else the export's."""
    for correction in sorted(done, key=lambda c: c.sequence, reverse=True):
        if correction.new_number is not None and correction.new_body:
            body = json.loads(correction.new_body, parse_float=Decimal)["Voucher"]
            return CurrentVoucher(correction.new_series or body["VoucherSeries"], correction.new_number,
                                  correction.new_year or 0, date.fromisoformat(body["TransactionDate"]),
                                  body["Description"], tuple(body["VoucherRows"]), correction.id)
    if job.state != ExportState.EXPORTED or job.voucher_number is None or job.voucher_year is None:
        return None
    sent = sent_by(job)
    if sent is None or not sent.rows:
        return None
    return CurrentVoucher(job.voucher_series or sent.series, job.voucher_number, job.voucher_year, sent.day,
                          sent.description, sent.rows)


def preview(session: Session, company: Company, date_from: date, date_to: date, *, today: date) -> Preview:
    """What correcting the reports dated ``date_from``–``date_to`` would post, judged now; writes nothing."""
    check_range(date_from, date_to, today=today)
    context = CompanyContext.load(session, company)
    if context.integration is None or not context.integration.active or context.connection is None:
        raise CorrectionError("not_active", company=company.name)
    rows = session.execute(
        select(ZReportRecord, Register.pos_id, ExportJob)
        .join(Register, Register.id == ZReportRecord.register_id)
        .outerjoin(ExportJob, ExportJob.zreport_id == ZReportRecord.id)
        .where(ZReportRecord.company_id == company.id, ZReportRecord.business_date >= date_from,
               ZReportRecord.business_date <= date_to)
        .order_by(ZReportRecord.business_date, Register.pos_id, ZReportRecord.z_number)
    ).all()
    corrections: dict[int, list[Correction]] = {}
    for correction in session.scalars(select(Correction).where(
            Correction.zreport_id.in_([record.id for record, _, _ in rows])).order_by(Correction.sequence)):
        corrections.setdefault(correction.zreport_id, []).append(correction)
    locked = context.snapshot.locked_through if context.snapshot is not None else None
    days: list[DayCorrection] = []
    attention: list[Attention] = []
    unchanged = exported = 0
    for record, pos_id, job in rows:
        mine = corrections.get(record.id, [])
        open_ = [c for c in mine if c.state != CorrectionState.DONE]
        current = current_voucher(job, [c for c in mine if c.state == CorrectionState.DONE]) if job else None
        if current is None:
            attention.append(Attention(record, pos_id, "not_exported"))
            continue
        exported += 1
        if open_:
            last = open_[-1]
            code = {CorrectionState.PENDING: "under_way", CorrectionState.FAILED: "failed"}.get(
                last.state, last.reason_code or "blocked")
            attention.append(Attention(record, pos_id, code, {"voucher": current.name, **last.detail}))
            continue
        new, blockers = voucher_or_blockers(context, record)
        if new is None:
            if blockers:
                attention.append(Attention(record, pos_id, "cannot_book", {"reason": str(blockers[0].reason)}))
            else:
                unchanged += 1  # nothing to book today: left as it is (see docs/ARCHITECTURE.md)
            continue
        current_rows = rows_of(current.rows)
        changed = changes(current_rows, new.rows)
        if not changed:
            unchanged += 1
            continue
        booking_date = first_open_day(current.day, locked)
        reversal = Voucher(reversal_description(current.series, current.number, current.description), booking_date,
                           current.series, reversal_rows(current_rows))
        days.append(DayCorrection(record, pos_id, job.id, current, booking_date,
                                  locked if booking_date != current.day else None, reversal,
                                  dataclasses.replace(new, transaction_date=booking_date), changed))
    if not exported:
        raise CorrectionError("no_exported_voucher", date_from=date_from.isoformat(), date_to=date_to.isoformat())
    return Preview(date_from, date_to, tuple(days), tuple(attention), unchanged)


def start_correction(session: Session, company: Company, date_from: date, date_to: date, *, actor: str,
                     why: str | None = None, today: date, now: datetime | None = None) -> CorrectionRun:
    """Confirm ("Bekräfta"): plan a correction of every day the preview lists, for the worker; flushes.

    Failed corrections of the range, and those blocked by something other than a voucher typed over,
    are sent again. Raises ``CorrectionError("nothing_to_correct")`` when nothing would be posted.
    """
    now = now or now_utc()
    planned = preview(session, company, date_from, date_to, today=today)
    run = CorrectionRun(company_id=company.id, started_by=actor, started_at=now, date_from=date_from,
                        date_to=date_to, why=(why or DEFAULT_WHY).strip()[:200] or DEFAULT_WHY)
    session.add(run)
    retried = session.scalars(
        select(Correction).join(ZReportRecord, ZReportRecord.id == Correction.zreport_id)
        .where(Correction.company_id == company.id, ZReportRecord.business_date >= date_from,
               ZReportRecord.business_date <= date_to,
               Correction.state.in_([CorrectionState.FAILED, CorrectionState.BLOCKED]))
    ).all()
    retried = [c for c in retried if c.reason_code not in NEEDS_A_PERSON]
    if not planned.days and not retried:
        raise CorrectionError("nothing_to_correct", date_from=date_from.isoformat(), date_to=date_to.isoformat())
    session.flush()
    for correction in retried:
        correction.state, correction.retries, correction.retry_at = CorrectionState.PENDING, 0, None
        correction.reason_code = correction.reason_detail = None
        correction.run_id = run.id
    sequences = dict(session.execute(
        select(Correction.zreport_id, func.max(Correction.sequence))
        .where(Correction.zreport_id.in_([d.record.id for d in planned.days])).group_by(Correction.zreport_id)
    ).all())
    for day in planned.days:
        current = day.current
        session.add(Correction(
            run_id=run.id, company_id=company.id, zreport_id=day.record.id, job_id=day.job_id,
            sequence=(sequences.get(day.record.id) or 0) + 1, state=CorrectionState.PENDING,
            corrected_series=current.series, corrected_number=current.number, corrected_year=current.year,
            corrected_date=current.day, corrected_description=current.description[:200],
            corrected_rows=json.dumps(list(current.rows), default=str), created_at=now,
        ))
    run.total = len(planned.days) + len(retried)
    session.flush()
    return run


@dataclass(frozen=True, slots=True)
class RunProgress:
    total: int
    done: int
    blocked: int
    failed: int
    pending: int

    @property
    def finished(self) -> bool:
        return self.pending == 0


def run_progress(session: Session, run: CorrectionRun) -> RunProgress:
    """How far a run has come (what its progress bar shows)."""
    counts = dict(session.execute(
        select(Correction.state, func.count()).where(Correction.run_id == run.id).group_by(Correction.state)
    ).all())
    return RunProgress(run.total, counts.get(CorrectionState.DONE, 0), counts.get(CorrectionState.BLOCKED, 0),
                       counts.get(CorrectionState.FAILED, 0), counts.get(CorrectionState.PENDING, 0))


@dataclass(frozen=True, slots=True)
class ChangedDays:
    """The exported reports today's settings would book otherwise (the wizard's hint and its button).

    count: how many; date_from, date_to: the first and last of their business days (None when none),
    the range **Rätta dagarna** previews (days between them whose booking is unchanged are not listed).
    """

    count: int
    date_from: date | None = None
    date_to: date | None = None


def changed_days(session: Session, company: Company, today: date) -> ChangedDays:
    """Which exported days would be booked otherwise with today's settings; reads only our database."""
    try:
        days = preview(session, company, date(2000, 1, 1), today, today=today).days
    except CorrectionError:
        return ChangedDays(0)
    dates = [day.record.business_date for day in days]
    return ChangedDays(len(days), min(dates, default=None), max(dates, default=None))
