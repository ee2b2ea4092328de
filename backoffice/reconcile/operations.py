"""Avstämning: read a month back from Fortnox and reconcile it with the month's Z-reports.

Reading Fortnox is the worker's job (``tasks.run_pending``) or the CLI's, never a page view's:
``start_run`` records a pending run after checking the input, ``execute_run`` does the reading.

What a month costs in Fortnox calls, within the connection's rate limiter (24 per 5 s): one list
per voucher series and financial year (500 items a page; no date filter is sent, since how
Fortnox reads one on this endpoint is unsettled), the files connected to the series' vouchers
(``GET /3/voucherfileconnections``, every page: a year of two registers is two pages of 500 where
Fortnox pages it), then one read per voucher of the month in our series, for its rows. 31 days × 2
registers: 2–3 list pages, 1–2 file-connection pages and 62 reads, about 14 s. Every call
takes its slot from the tenant's one budget shared by all our processes (``fortnox/budget.py``), so
a reading beside a night's exports slows them down a little but never makes Fortnox answer 429.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from backoffice.accounts.defaults import ACCOUNT_LABELS
from backoffice.accounts.mapping import MappingIncompleteError
from backoffice.accounts.operations import load_mapping
from backoffice.companies.models import Company, Register
from backoffice.correction.models import Correction, CorrectionState
from backoffice.db import business_today, now_utc
from backoffice.export.jobs import integration_of
from backoffice.export.models import ExportAttempt, ExportJob, ExportState
from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.errors import AccessDeniedError, FortnoxAuthError, FortnoxError
from backoffice.integrations.fortnox.metadata import FinancialYear, refresh_snapshot, stored_snapshot
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration
from backoffice.messages import finding_message
from backoffice.money import ORE
from backoffice.reconcile.compare import (
    CorrectionLink,
    ExpectedReport,
    FortnoxVoucher,
    MonthResult,
    Posting,
    VoucherRef,
    description_key,
    net_postings,
    reconcile_month,
)
from backoffice.reconcile.models import ReconcileRun, RunState
from backoffice.reconcile.sie import SieExport, render_sie
from backoffice.zreport.booking import build_voucher, voucher_description
from backoffice.zreport.models import ZReportRecord
from backoffice.zreport.voucher import NothingToBookError

log = logging.getLogger(__name__)

#: How long a run may hold its connection before another worker may take over (renewed per call).
RUN_LEASE = timedelta(seconds=120)
#: The scope that reading a voucher's files needs (docs/fortnox/api-facts.md, scopes: ``connectfile`` [B]).
FILE_SCOPE = "connectfile"


class ReconcileError(Exception):
    """A month that cannot be reconciled (or exported as SIE); nothing was read from Fortnox.

    code: ``invalid_month``, ``future_month``, ``before_start_date``, ``no_integration``,
    ``auth_expired``, ``no_mapping``, ``mapping_incomplete``, ``fortnox_unavailable``.
    detail: what the Swedish sentence names (``messages.reconcile_error_message``).
    """

    def __init__(self, code: str, **detail) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


# --- input --------------------------------------------------------------------------------------


def parse_month(text: str | None) -> date:
    """``YYYY-MM`` → the month's first day, or ``ReconcileError("invalid_month")``."""
    try:
        year, month = (text or "").split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(text)
        return date(int(year), int(month), 1)
    except ValueError:
        raise ReconcileError("invalid_month", month=text or "") from None


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def check_not_future(month: date, today: date) -> None:
    if month > today.replace(day=1):
        raise ReconcileError("future_month", month=month_label(month))


def check_month(session: Session, company: Company, month: date, *, today: date) -> FortnoxConnection:
    """The connection to read ``month`` from, or why it cannot be read (nothing is called)."""
    check_not_future(month, today)
    mapping = load_mapping(session, company)
    if mapping is not None and mapping.start_date is not None and month_end(month) < mapping.start_date:
        raise ReconcileError("before_start_date", month=month_label(month), start_date=mapping.start_date.isoformat())
    integration = integration_of(session, company.id)
    connection = integration.connection if integration is not None else None
    if connection is None or connection.status == ConnectionStatus.REVOKED:
        raise ReconcileError("no_integration", company=company.name)
    if connection.status == ConnectionStatus.NEEDS_REAUTH:
        raise ReconcileError("auth_expired")
    return connection


# --- what we know -------------------------------------------------------------------------------


def month_records(session: Session, company: Company, month: date) -> list[tuple[ZReportRecord, Register, ExportJob | None]]:
    """The month's reports with their register and export job, by day, register and number."""
    return session.execute(
        select(ZReportRecord, Register, ExportJob)
        .join(Register, Register.id == ZReportRecord.register_id)
        .outerjoin(ExportJob, ExportJob.zreport_id == ZReportRecord.id)
        .where(
            ZReportRecord.company_id == company.id,
            ZReportRecord.business_date >= month,
            ZReportRecord.business_date <= month_end(month),
        )
        .order_by(ZReportRecord.business_date, Register.pos_id, ZReportRecord.z_number)
    ).all()


def sent_bodies(session: Session, job_ids: list[int]) -> dict[int, dict]:
    """The body last sent to Fortnox per job (the only one, unless a refused post was sent again)."""
    bodies: dict[int, dict] = {}
    if not job_ids:
        return bodies
    rows = session.execute(
        select(ExportAttempt.job_id, ExportAttempt.request_body)
        .where(ExportAttempt.job_id.in_(job_ids), ExportAttempt.request_body.is_not(None))
        .order_by(ExportAttempt.id)
    ).all()
    for job_id, body in rows:
        bodies[job_id] = json.loads(body, parse_float=Decimal)
    return bodies


def _amount(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(ORE)


def body_postings(body: dict) -> tuple[Posting, ...]:
    """The net per (account, cost centre) of a ``{"Voucher": {...}}`` body sent or read back."""
    rows = (body.get("Voucher") or body).get("VoucherRows") or []
    return net_postings(
        (int(r["Account"]), r.get("CostCenter") or None, _amount(r.get("Debit")), _amount(r.get("Credit")))
        for r in rows
        if r.get("Removed") is not True
    )


def expected_reports(session: Session, company: Company, month: date) -> tuple[list[ExpectedReport], list[str], dict[str, int]]:
    """The month's reports as the reconciliation expects them, the registers' POS ids, and each
    register's last Z-number before the month."""
    records = month_records(session, company, month)
    bodies = sent_bodies(session, [job.id for _, _, job in records if job is not None])
    mapping = load_mapping(session, company)
    chains = corrections_of(session, [record.id for record, _, _ in records])
    expected = []
    for record, register, job in records:
        body = bodies.get(job.id) if job is not None else None
        links, current_body = chains.get(record.id, ((), None))
        body = current_body or body
        description = job.voucher_description if job is not None else None
        postings: tuple[Posting, ...] = ()
        nothing_to_book = job is not None and job.reason_code == "nothing_to_book"
        if body is not None:
            postings = body_postings(body)
            description = description or body["Voucher"].get("Description")
        else:
            report = record.to_report()
            description = description or voucher_description(report, company.name)
            if mapping is not None:
                try:
                    voucher = build_voucher(report, mapping, company_name=company.name)
                    postings = net_postings((r.account, r.cost_center, r.debit, r.credit) for r in voucher.rows)
                except NothingToBookError:
                    nothing_to_book = True
                except MappingIncompleteError:
                    pass
        exported = job is not None and job.state == ExportState.EXPORTED
        ref = None
        if job is not None and job.voucher_series and job.voucher_number:
            ref = VoucherRef(job.voucher_year, job.voucher_series, job.voucher_number)
        expected.append(ExpectedReport(
            zreport_id=record.id,
            business_date=record.business_date,
            register_id=register.pos_id,
            z_number=record.z_number,
            description=description,
            exported=exported,
            voucher=ref,
            postings=postings,
            nothing_to_book=nothing_to_book,
            before_start=job is not None and job.state == ExportState.SKIPPED and not nothing_to_book,
            token=job.voucher_token if job is not None else None,
            corrections=links,
        ))
    previous = dict(session.execute(
        select(Register.pos_id, func.max(ZReportRecord.z_number))
        .join(Register, Register.id == ZReportRecord.register_id)
        .where(ZReportRecord.company_id == company.id, ZReportRecord.business_date < month)
        .group_by(Register.pos_id)
    ).all())
    registers = [r.pos_id for r in company.registers]
    return expected, registers, previous


def corrections_of(session: Session, zreport_ids: list[int]) -> dict[int, tuple[tuple[CorrectionLink, ...], dict | None]]:
    """Per corrected report: its corrections in order ("Rätta dag"), and the body of the last new
    voucher posted (today's booking of the report), or None while no new voucher is in Fortnox."""
    chains: dict[int, tuple[tuple[CorrectionLink, ...], dict | None]] = {}
    if not zreport_ids:
        return chains
    rows = session.scalars(select(Correction).where(Correction.zreport_id.in_(zreport_ids))
                           .order_by(Correction.zreport_id, Correction.sequence)).all()
    for correction in rows:
        links, current = chains.get(correction.zreport_id, ((), None))

        def ref(series, number, year):
            return VoucherRef(year, series, number) if series and number else None

        new = ref(correction.new_series, correction.new_number, correction.new_year)
        link = CorrectionLink(
            corrected=VoucherRef(correction.corrected_year, correction.corrected_series, correction.corrected_number),
            reversal=ref(correction.reversal_series, correction.reversal_number, correction.reversal_year),
            new=new, reversal_token=correction.reversal_token, new_token=correction.new_token,
            under_way=correction.state == CorrectionState.PENDING,
        )
        if new is not None and correction.new_body:
            current = json.loads(correction.new_body, parse_float=Decimal)
        chains[correction.zreport_id] = ((*links, link), current)
    return chains


def our_series(session: Session, company: Company, month: date) -> list[str]:
    """The voucher series our vouchers of the month are in: the mapping's and the jobs' own."""
    mapping = load_mapping(session, company)
    series = {mapping.voucher_series} if mapping is not None else set()
    series |= set(session.scalars(
        select(ExportJob.voucher_series).distinct()
        .join(ZReportRecord, ZReportRecord.id == ExportJob.zreport_id)
        .where(ExportJob.company_id == company.id, ExportJob.voucher_series.is_not(None),
               ZReportRecord.business_date >= month, ZReportRecord.business_date <= month_end(month))
    ).all())
    return sorted(series)


# --- runs ---------------------------------------------------------------------------------------


def start_run(session: Session, company: Company, month: date, *, actor: str, now: datetime | None = None) -> ReconcileRun:
    """Record a pending reading of ``month`` for the worker, after checking the input. Flushes."""
    now = now or now_utc()
    check_month(session, company, month, today=business_today(now))
    run = ReconcileRun(company_id=company.id, month=month_label(month), state=RunState.PENDING,
                       started_by=actor, created_at=now)
    session.add(run)
    session.flush()
    return run


def latest_run(session: Session, company: Company, month: date, *, finished: bool = False) -> ReconcileRun | None:
    """The company's newest run of ``month`` (only a finished one with ``finished``)."""
    query = select(ReconcileRun).where(ReconcileRun.company_id == company.id, ReconcileRun.month == month_label(month))
    if finished:
        query = query.where(ReconcileRun.state == RunState.DONE)
    return session.scalar(query.order_by(ReconcileRun.id.desc()).limit(1))


def due_runs(session: Session, *, now: datetime) -> list[int]:
    """Ids of runs waiting for a worker (or whose worker's lease ran out), oldest first."""
    return session.scalars(
        select(ReconcileRun.id)
        .where(or_(ReconcileRun.state == RunState.PENDING,
                   (ReconcileRun.state == RunState.RUNNING) & (ReconcileRun.lease_until < now)))
        .order_by(ReconcileRun.id)
    ).all()


def _claim(session: Session, run: ReconcileRun, worker: str, now: datetime) -> bool:
    """Take the run (a pending one, or one whose worker's lease ran out); commits. False: taken."""
    claimed = session.execute(
        update(ReconcileRun)
        .where(ReconcileRun.id == run.id,
               or_(ReconcileRun.state == RunState.PENDING,
                   (ReconcileRun.state == RunState.RUNNING) & (ReconcileRun.lease_until < now)))
        .values(state=RunState.RUNNING, lease_owner=worker, lease_until=now + RUN_LEASE, started_at=now, done=0)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if claimed:
        session.refresh(run)
    return bool(claimed)


class _Progress:
    """Counts the run's Fortnox calls into its row, one short transaction each (the page polls it),
    renewing the run's lease as it goes."""

    def __init__(self, session: Session, run: ReconcileRun) -> None:
        self.session, self.run = session, run

    def expect(self, calls: int) -> None:
        self.run.total = self.run.done + calls
        self.session.commit()

    def step(self) -> None:
        self.run.done += 1
        self.run.lease_until = now_utc() + RUN_LEASE
        self.session.commit()


def execute_run(session: Session, run_id: int, *, worker: str, now: datetime | None = None) -> ReconcileRun | None:
    """Read the run's month from Fortnox, reconcile it and store the result; commits.

    Returns the run, or None when it is not due (finished, or another worker has it).
    A Fortnox error fails the run with the reason; the result of an earlier run stays as it was.
    """
    now = now or now_utc()
    run = session.get(ReconcileRun, run_id)
    if run is None or run.state in (RunState.DONE, RunState.FAILED):
        return None
    company = session.get(Company, run.company_id)
    month = parse_month(run.month)
    try:
        connection = check_month(session, company, month, today=business_today(now))
    except ReconcileError as exc:
        _fail(session, run, exc.code, exc.detail)
        return run
    if not _claim(session, run, worker, now):
        return None
    try:
        progress = _Progress(session, run)
        result, expected, vouchers = reconcile(session, company, month, connection, now=now, progress=progress)
    except FortnoxAuthError:
        _fail(session, run, "auth_expired", {})
    except FortnoxError as exc:
        log.warning("Reconciliation of %s %s could not read Fortnox: %s", company.name, run.month, exc)
        _fail(session, run, "fortnox_unavailable", {"error": str(exc), "fortnox_message": exc.fortnox_message})
    else:
        run.result = json.dumps(result_to_json(result, expected, vouchers, made_at=now_utc()), ensure_ascii=False)
        run.state = RunState.DONE
        run.finished_at = now_utc()
        run.done = run.total
        session.commit()
        log.info("Reconciled %s %s: %s findings", company.name, run.month, len(result.findings))
    return run


def _fail(session: Session, run: ReconcileRun, code: str, detail: dict) -> None:
    session.rollback()
    run.state = RunState.FAILED
    run.error_code = code
    run.error_detail = json.dumps(detail, ensure_ascii=False, default=str)
    run.finished_at = now_utc()
    session.commit()


def reconcile(session: Session, company: Company, month: date, connection: FortnoxConnection, *,
              now: datetime, progress: _Progress | None = None
              ) -> tuple[MonthResult, list[ExpectedReport], list[FortnoxVoucher]]:
    """Read the month's vouchers in our series from Fortnox and reconcile them with the reports;
    returns the result with what it compared."""
    expected, registers, previous = expected_reports(session, company, month)
    series = our_series(session, company, month)
    snapshot = stored_snapshot(connection)
    end = month_end(month)
    if snapshot is None or not all(snapshot.financial_year_for(d) for d in (month, end) if d <= business_today(now)):
        session.commit()  # no transaction stays open while Fortnox is called
        snapshot = refresh_snapshot(session, connection, client_for(connection), now=now)
    month_years = {y.id: y for y in snapshot.financial_years if y.from_date <= end and y.to_date >= month}
    years = sorted(month_years)
    session.commit()
    client = client_for(connection)
    may_read_files = FILE_SCOPE in (connection.scope or "").split()
    if progress is not None:
        progress.expect(len(series) * len(years) + (len(series) if may_read_files else 0))
    items = []
    for code in series:
        for year in years:
            for item in client.list_vouchers(code, financial_year=year):
                day = date.fromisoformat(str(item.get("TransactionDate")))
                if month <= day <= end:
                    items.append(item)
            if progress is not None:
                progress.step()
    # A restaurant of ours that books into the same Fortnox company shares the series: its vouchers
    # were made by the back office too, so they are neither ours nor foreign, and are not read.
    others, other_texts = _vouchers_of_neighbours(session, company, connection, month)
    session.commit()
    items = [item for item in items
             if (item.get("Year"), item.get("VoucherSeries"), item.get("VoucherNumber")) not in others
             and description_key(item.get("Description") or "") not in other_texts]
    attached, unreadable = (_file_connections(client, series, progress) if may_read_files else (None, "scope"))
    if progress is not None:
        progress.expect(len(items))
    vouchers = []
    for item in items:
        full = client.get_voucher(item["VoucherSeries"], int(item["VoucherNumber"]), financial_year=int(item["Year"]))
        voucher = _fortnox_voucher(full)
        if attached is not None:
            voucher = replace(voucher, has_attachment=_has_file(voucher.ref, attached, month_years))
        vouchers.append(voucher)
        if progress is not None:
            progress.step()
    last_day = min(end, business_today(now))
    result = reconcile_month(month, expected, vouchers, registers=registers, last_day=last_day, previous_z=previous,
                             year_names={y.id: year_name(y) for y in month_years.values()},
                             attachments_unreadable=unreadable)
    return result, expected, vouchers


def year_name(year: FinancialYear) -> str:
    """A financial year as accountants name it: its period, ``2025-07-01–2026-06-30``."""
    return f"{year.from_date.isoformat()}–{year.to_date.isoformat()}"


def _file_connections(client: FortnoxClient, series: list[str], progress: _Progress | None
                      ) -> tuple[set[tuple[str, int, str]] | None, str | None]:
    """The (series, number, ``VoucherYear`` as text) of every file connected to a voucher of our
    series, or None with why they cannot be read: Fortnox refused (a permission or licence the user
    lacks; a consent without ``connectfile`` is not asked at all)."""
    found: set[tuple[str, int, str]] = set()
    try:
        for code in series:
            for item in client.list_voucher_file_connections(code):
                number = str(item.get("VoucherNumber") or "")
                if number.isdigit():
                    found.add((code, int(number), str(item.get("VoucherYear"))))
            if progress is not None:
                progress.step()
    except AccessDeniedError:
        return None, "refused"
    return found, None


def _has_file(ref: VoucherRef, attached: set[tuple[str, int, str]], years: dict[int, FinancialYear]) -> bool:
    """Whether a file is connected to the voucher. ``VoucherYear`` is the financial year's Id or the
    calendar year it starts in (no source says which): both count, and so does a connection without one."""
    year = years.get(ref.year) if ref.year is not None else None
    readings = {str(ref.year), "None", ""} | ({str(year.from_date.year)} if year is not None else set())
    return any((ref.series, ref.number, reading) in attached for reading in readings)


def _vouchers_of_neighbours(session: Session, company: Company, connection: FortnoxConnection,
                            month: date) -> tuple[set[tuple], set[str]]:
    """The vouchers (year, series, number) and texts that the other restaurants on ``connection``
    recorded for reports of ``month`` (±1 day, as a voucher is dated on its report's business day)."""
    rows = session.execute(
        select(ExportJob.voucher_year, ExportJob.voucher_series, ExportJob.voucher_number, ExportJob.voucher_description)
        .join(FortnoxIntegration, FortnoxIntegration.company_id == ExportJob.company_id)
        .join(ZReportRecord, ZReportRecord.id == ExportJob.zreport_id)
        .where(FortnoxIntegration.connection_id == connection.id, ExportJob.company_id != company.id,
               ZReportRecord.business_date >= month - timedelta(days=1),
               ZReportRecord.business_date <= month_end(month) + timedelta(days=1))
    ).all()
    refs = {(year, series, number) for year, series, number, _ in rows if number is not None}
    texts = {description_key(text) for *_, text in rows if text}
    return refs, texts


def _fortnox_voucher(data: dict) -> FortnoxVoucher:
    rows = data.get("VoucherRows") or []
    return FortnoxVoucher(
        ref=VoucherRef(int(data["Year"]) if data.get("Year") is not None else None, str(data["VoucherSeries"]),
                       int(data["VoucherNumber"])),
        transaction_date=date.fromisoformat(str(data["TransactionDate"])),
        description=data.get("Description") or "",
        postings=body_postings({"VoucherRows": rows}),
        corrected=any(r.get("Removed") is True for r in rows),
        has_attachment=None,
        comments=data.get("Comments"),
    )


# --- the stored result --------------------------------------------------------------------------


def _postings_json(postings: tuple[Posting, ...]) -> list[dict]:
    return [{"account": p.account, "cost_center": p.cost_center, "amount": str(p.amount)} for p in postings]


def result_to_json(result: MonthResult, expected: list[ExpectedReport], vouchers: list[FortnoxVoucher], *,
                   made_at: datetime) -> dict:
    """The stored form of a result (and, trimmed by ``public_json``, the CLI's ``--json``), with what
    was compared: per report what was sent, per voucher what Fortnox holds (the day's detail)."""

    def day(entry) -> dict:
        data = asdict(entry)
        data["business_date"] = entry.business_date.isoformat()
        data["state"] = str(entry.state)
        data["vouchers"] = list(entry.vouchers)
        data["differences"] = [
            {"account": d.account, "cost_center": d.cost_center, "sent": str(d.sent), "fortnox": str(d.fortnox),
             "difference": str(d.difference)}
            for d in entry.differences
        ]
        return data

    return {
        "month": month_label(result.month),
        "made_at": made_at.isoformat(),
        "days": [day(entry) for entry in result.days],
        "findings": [
            {"kind": str(f.kind), "register_id": f.register_id, "z_number": f.z_number, "voucher": f.voucher,
             "data": f.data}
            for f in result.findings
        ],
        "sent": {str(r.zreport_id): _postings_json(r.postings) for r in expected},
        "vouchers": {
            result.names.get(v.ref, v.ref.label): {"year": v.ref.year, "date": v.transaction_date.isoformat(), "description": v.description,
                          "corrected": v.corrected, "has_attachment": v.has_attachment,
                          "postings": _postings_json(v.postings)}
            for v in vouchers
        },
    }


def public_json(stored: dict) -> dict:
    """The CLI's ``--json`` object: {month, days: [{business_date, register_id, z_number, state,
    vouchers}], findings: [{kind, register_id, z_number, voucher, detail}]}, detail in Swedish."""
    return {
        "month": stored["month"],
        "days": [{key: d[key] for key in ("business_date", "register_id", "z_number", "state", "vouchers")}
                 for d in stored["days"]],
        "findings": [
            {"kind": f["kind"], "register_id": f["register_id"], "z_number": f["z_number"], "voucher": f["voucher"],
             "detail": finding_message(f["kind"], f)}
            for f in stored["findings"]
        ],
    }


# --- the month's vouchers as the booking core books them (SIE, Månadsrapport) --------------------


def booked_month(session: Session, company: Company, month: date, *, today: date):
    """The month's reports and their vouchers as the booking core books them with today's mapping,
    by day, register and number: ``[(record, register, job, voucher or None)]`` (None: nothing to book).

    Raises ``ReconcileError``: a future month, no mapping, or parts the mapping lacks an account for
    (every missing part named, as the export does). Needs no Fortnox connection.
    """
    check_not_future(month, today)
    mapping = load_mapping(session, company)
    if mapping is None:
        raise ReconcileError("no_mapping")
    booked, missing = [], []
    for record, register, job in month_records(session, company, month):
        try:
            voucher = build_voucher(record.to_report(), mapping, company_name=company.name)
        except NothingToBookError:
            voucher = None
        except MappingIncompleteError as exc:
            for part in exc.missing:
                item = {"kind": part.kind, "key": part.key, "vat_rate": None if part.vat_rate is None else str(part.vat_rate)}
                if item not in missing:
                    missing.append(item)
            continue
        booked.append((record, register, job, voucher))
    if missing:
        raise ReconcileError("mapping_incomplete", missing=missing)
    return booked


def month_sie(session: Session, company: Company, month: date, *, today: date) -> bytes:
    """The month's Z-reports as a SIE 4I file: one ``#VER`` per report, as booked with today's mapping."""
    booked = booked_month(session, company, month, today=today)
    vouchers = tuple(voucher for _, _, _, voucher in booked if voucher is not None)
    if not vouchers:
        raise ReconcileError("no_reports", month=month_label(month))
    cost_centres: dict[str, str] = {}
    for register in company.registers:
        if register.cost_center:
            name = cost_centres.get(register.cost_center)
            cost_centres[register.cost_center] = f"{name}, {register.name}" if name else register.name
    export = SieExport(
        program="BackOffice", version="1.0", generated=today, org_number=company.org_number,
        company_name=company.name, accounts=ACCOUNT_LABELS, cost_centres=cost_centres, vouchers=vouchers,
    )
    return render_sie(export)
