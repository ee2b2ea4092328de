"""Z-rapporter: the company's day closes with their export state, one report's voucher rows, and
"Exportera igen".

The list is paginated and its amounts are aggregated in SQL for the reports on the page only; no
voucher is built for a list. A report's page shows the voucher rows that were sent to Fortnox,
or, before that, the voucher its current mapping gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import case, func, select

from backoffice.accounts.defaults import ACCOUNT_LABELS
from backoffice.accounts.fields import vat_rate_text
from backoffice.accounts.mapping import MappingIncompleteError
from backoffice.accounts.operations import load_mapping
from backoffice.business_day import BUSINESS_TIMEZONE
from backoffice.companies.models import Register, RegisterUnit
from backoffice.db import session
from backoffice.export.jobs import integration_of
from backoffice.export.manual import retry_job
from backoffice.export.models import AttachmentState, ExportAttempt, ExportJob, ExportState, VoucherAttachment
from backoffice.export.reasons import Reason
from backoffice.integrations.fortnox.metadata import stored_snapshot
from backoffice.messages import export as export_msg
from backoffice.messages import mapping_incomplete_message, reason_text
from backoffice.messages import zreport as msg
from backoffice.money import ZERO, to_ore
from backoffice.names import STATE_CLASSES, STATE_NAMES, count_text, job_state_name, outcome_name, payment_method_name
from backoffice.scheduler import wake
from backoffice.security import company_object, id_arg, safe_next
from backoffice.zreport.booking import build_voucher
from backoffice.zreport.models import LineKind, ZReportLine, ZReportPayment, ZReportRecord
from backoffice.zreport.pdf import file_name, render_pdf
from backoffice.zreport.report import vat_per_rate
from backoffice.zreport.voucher import NothingToBookError

bp = Blueprint("zreport", __name__, url_prefix="/zrapporter")

PAGE_SIZE = 50
#: The restaurants' time zone: times are shown in it.

@bp.app_context_processor
def _names() -> dict:
    """The one Swedish name of each engine word, for every template (see backoffice/names.py)."""
    return {"state_name": state_name, "state_classes": STATE_CLASSES, "state_names": STATE_NAMES,
            "outcome_name": outcome_name, "method_name": payment_method_name, "count_text": count_text}


@bp.app_template_filter("sek")
def format_sek(amount) -> str:
    """An amount the Swedish way: ``14 000,50`` (a no-break space between thousands)."""
    value = _money(amount)
    whole, _, ore = f"{abs(value):.2f}".partition(".")
    return f"{'-' if value < 0 else ''}{int(whole):,}".replace(",", "\u00a0") + f",{ore}"


@bp.app_template_filter("vat")
def format_vat(rate) -> str:
    """A VAT rate the Swedish way: ``12 %``, ``12,5 %``."""
    return vat_rate_text(rate if isinstance(rate, Decimal) else _money(rate))


@bp.app_template_filter("when")
def format_when(moment: datetime, seconds: bool = False) -> str:
    """A moment in Swedish local time: ``2026-11-23 10:12``."""
    return moment.astimezone(BUSINESS_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def state_name(job: ExportJob | None) -> str:
    """The Swedish name of a report's export state. While the integration is deactivated, a report
    that is not in Fortnox says it will not be exported, not that it waits."""
    if (job is None or job.state in (ExportState.PENDING, ExportState.BLOCKED, ExportState.FAILED)) \
            and _integration_deactivated():
        return msg.NOT_EXPORTED_INACTIVE
    return job_state_name(job)


def _integration_deactivated() -> bool:
    """Whether the logged-in user's company deactivated its integration ("Inaktivera"; read once per request)."""
    if "integration_deactivated" not in g:
        integration = integration_of(session, current_user.company_id)
        g.integration_deactivated = (integration is not None and not integration.active
                                     and integration.deactivated_at is not None)
    return g.integration_deactivated


def can_retry(job: ExportJob | None) -> bool:
    """ "Exportera igen" applies to a failed job and to a voucher Fortnox refused."""
    return job is not None and (
        job.state == ExportState.FAILED
        or (job.state == ExportState.BLOCKED and job.reason_code == Reason.VOUCHER_INVALID)
    )


@dataclass(frozen=True, slots=True)
class ListRow:
    record: ZReportRecord
    register: Register
    job: ExportJob | None
    sales: Decimal
    paid: Decimal


@bp.get("/")
@login_required
def index():
    company = current_user.company
    registers = company.registers
    register_id = id_arg("kassa")
    status = request.args.get("status") or None
    if status is not None and status not in {*ExportState, "none"}:
        status = None
    page = max(request.args.get("sida", 1, type=int), 1)

    conditions = [ZReportRecord.company_id == company.id]
    if register_id is not None:
        conditions.append(ZReportRecord.register_id == register_id)
    query = select(ZReportRecord.id).where(*conditions)
    if status == "none":
        query = query.outerjoin(ExportJob, ExportJob.zreport_id == ZReportRecord.id).where(ExportJob.id.is_(None))
    elif status is not None:
        query = query.join(ExportJob, ExportJob.zreport_id == ZReportRecord.id).where(ExportJob.state == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    ids = session.scalars(
        query.order_by(ZReportRecord.business_date.desc(), ZReportRecord.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    rows = _list_rows(ids)
    return render_template(
        "zreport/index.html",
        rows=rows,
        history=_unit_history(company.id, register_id) if register_id is not None else [],
        registers=registers,
        register_id=register_id,
        status=status,
        page=page,
        pages=pages,
        total=total,
        can_retry=can_retry,
        reason_text=reason_text,
    )


@bp.get("/koppla-kassa")
@login_required
def connect_register():
    """ "Så kopplar du en kassa": where a register sends its Z-reports, and the company's registers."""
    public = current_app.config.get("PUBLIC_URL")
    path = url_for("zreport_api.post_zreport")
    endpoint = public.rstrip("/") + path if public else request.host_url.rstrip("/") + path
    last = dict(
        session.execute(
            select(ZReportRecord.register_id, func.max(ZReportRecord.business_date))
            .where(ZReportRecord.company_id == current_user.company_id)
            .group_by(ZReportRecord.register_id)
        ).all()
    )
    return render_template("zreport/connect.html", endpoint=endpoint, registers=current_user.company.registers,
                           last=last)


@dataclass(frozen=True, slots=True)
class UnitHistory:
    """One unit of a register (a replaced register has several) and the reports it sent."""

    number: int
    serial_number: str | None
    started_at: datetime
    reports: int
    first_z: int | None
    last_z: int | None
    first_date: date | None
    last_date: date | None


def _unit_history(company_id: int, register_id: int) -> list[UnitHistory]:
    """The units of one of the company's registers, oldest first, with the span of their reports."""
    rows = session.execute(
        select(
            RegisterUnit.number, RegisterUnit.serial_number, RegisterUnit.started_at, func.count(ZReportRecord.id),
            func.min(ZReportRecord.z_number), func.max(ZReportRecord.z_number),
            func.min(ZReportRecord.business_date), func.max(ZReportRecord.business_date),
        )
        .join(Register, Register.id == RegisterUnit.register_id)
        .outerjoin(ZReportRecord, ZReportRecord.unit_id == RegisterUnit.id)
        .where(Register.company_id == company_id, Register.id == register_id)
        .group_by(RegisterUnit.id, RegisterUnit.number, RegisterUnit.serial_number, RegisterUnit.started_at)
        .order_by(RegisterUnit.number)
    ).all()
    return [UnitHistory(*row) for row in rows]


def _list_rows(ids: list[int]) -> list[ListRow]:
    """The reports of one page with their register, job, net sales and payments (two grouped queries)."""
    if not ids:
        return []
    records = session.execute(
        select(ZReportRecord, Register, ExportJob)
        .join(Register, Register.id == ZReportRecord.register_id)
        .outerjoin(ExportJob, ExportJob.zreport_id == ZReportRecord.id)
        .where(ZReportRecord.id.in_(ids))
    ).all()
    sales = dict(
        session.execute(
            select(
                ZReportLine.zreport_id,
                func.sum(case((ZReportLine.kind == LineKind.SALE, ZReportLine.gross), else_=-ZReportLine.gross)),
            )
            .where(ZReportLine.zreport_id.in_(ids))
            .group_by(ZReportLine.zreport_id)
        ).all()
    )
    paid = dict(
        session.execute(
            select(ZReportPayment.zreport_id, func.sum(ZReportPayment.amount))
            .where(ZReportPayment.zreport_id.in_(ids))
            .group_by(ZReportPayment.zreport_id)
        ).all()
    )
    by_id = {record.id: (record, register, job) for record, register, job in records}
    return [ListRow(*by_id[i], _money(sales.get(i)), _money(paid.get(i))) for i in ids]


def _money(value) -> Decimal:
    if value is None:
        return ZERO
    return to_ore(value if isinstance(value, Decimal) else Decimal(str(value)))


@dataclass(frozen=True, slots=True)
class VoucherLine:
    account: int
    name: str
    debit: Decimal
    credit: Decimal
    cost_center: str | None
    #: the row's TransactionInformation: the sources netted on it ("Kort", "Moms 12 %")
    text: str | None = None


def _account_names(company, day: date) -> dict[int, str]:
    """Account number → name: Fortnox's chart of the financial year of ``day`` (the one metadata store),
    else the BAS names we suggest."""
    names = dict(ACCOUNT_LABELS)
    integration = integration_of(session, company.id)
    snapshot = stored_snapshot(integration.connection if integration is not None else None)
    chart = snapshot.chart_for(day) if snapshot is not None else None
    if chart is not None:
        names.update({number: account.description for number, account in chart.accounts.items()})
    return names


def _sent_rows(job: ExportJob | None, names: dict[int, str]) -> list[VoucherLine] | None:
    """The rows of the voucher last sent to Fortnox for this job, or None when none was sent."""
    if job is None:
        return None
    sent = session.scalar(
        select(ExportAttempt.request_body)
        .where(ExportAttempt.job_id == job.id, ExportAttempt.request_body.is_not(None))
        .order_by(ExportAttempt.id.desc())
        .limit(1)
    )
    if sent is None:
        return None
    body = json.loads(sent, parse_float=Decimal, parse_int=Decimal)
    return [
        VoucherLine(
            int(row["Account"]),
            names.get(int(row["Account"]), ""),
            to_ore(Decimal(row.get("Debit") or 0)),
            to_ore(Decimal(row.get("Credit") or 0)),
            row.get("CostCenter"),
            row.get("TransactionInformation"),
        )
        for row in body["Voucher"]["VoucherRows"]
    ]


@bp.get("/<int:zreport_id>")
@login_required
def show(zreport_id: int):
    company = current_user.company
    record = company_object(ZReportRecord, zreport_id)
    job = session.scalar(select(ExportJob).where(ExportJob.zreport_id == record.id))
    report = record.to_report()
    names = _account_names(company, record.business_date)
    rows = _sent_rows(job, names) if job is not None and job.state == ExportState.EXPORTED else None
    from_fortnox = rows is not None
    voucher_error = None
    description = job.voucher_description if job else None
    if rows is None:
        mapping = load_mapping(session, company)
        if mapping is None:
            voucher_error = msg.NO_MAPPING
        else:
            try:
                voucher = build_voucher(report, mapping, company_name=company.name)
            except MappingIncompleteError as exc:
                voucher_error = mapping_incomplete_message(exc)
            except NothingToBookError:
                voucher_error = msg.NOTHING_TO_BOOK
            else:
                description = voucher.description
                rows = [
                    VoucherLine(r.account, names.get(r.account, ""), r.debit, r.credit, r.cost_center,
                                r.transaction_information)
                    for r in voucher.rows
                ]
    attachment = None
    if job is not None and job.state == ExportState.EXPORTED:
        attachment = session.scalar(select(VoucherAttachment).where(VoucherAttachment.job_id == job.id,
                                                                    VoucherAttachment.correction_id.is_(None)))
    attempts = []
    if job is not None:
        attempts = session.scalars(
            select(ExportAttempt).where(ExportAttempt.job_id == job.id).order_by(ExportAttempt.id.desc()).limit(20)
        ).all()
    return render_template(
        "zreport/show.html",
        record=record,
        report=report,
        vat_rates=vat_per_rate(report),
        job=job,
        rows=rows or [],
        from_fortnox=from_fortnox,
        voucher_error=voucher_error,
        description=description,
        total_debit=sum((r.debit for r in rows or []), ZERO),
        total_credit=sum((r.credit for r in rows or []), ZERO),
        attempts=attempts,
        attachment=attachment,
        attachment_missing=(job is not None and job.state == ExportState.EXPORTED
                            and (attachment is None or attachment.state != AttachmentState.ATTACHED)),
        missing_sentence=export_msg.ATTACHMENT_MISSING,
        missing_reason=export_msg.attachment_missing_reason(attachment),
        reason=reason_text(job) if job is not None and job.state in (ExportState.BLOCKED, ExportState.FAILED) else None,
        can_retry=can_retry(job),
        sales_lines=[line for line in record.lines if line.kind == LineKind.SALE],
        return_lines=[line for line in record.lines if line.kind == LineKind.RETURN],
    )


@bp.get("/<int:zreport_id>/pdf")
@login_required
def pdf(zreport_id: int):
    """ "Visa Z-rapport (PDF)": the Z-dagrapport as attached to the voucher, rendered from the stored report."""
    record = company_object(ZReportRecord, zreport_id)
    report = record.to_report()
    company = current_user.company
    content = render_pdf(report, company_name=company.name, org_number=company.org_number)
    disposition = f'inline; filename="{file_name(report)}"'
    return Response(content, mimetype="application/pdf", headers={"Content-Disposition": disposition})


@bp.post("/<int:zreport_id>/exportera")
@login_required
def retry(zreport_id: int):
    """ "Exportera igen" for a failed or refused export (admins and managers)."""
    record = company_object(ZReportRecord, zreport_id)
    job = session.scalar(select(ExportJob).where(ExportJob.zreport_id == record.id))
    if not can_retry(job):
        flash(msg.CANNOT_RETRY, "error")
        return redirect(url_for("zreport.show", zreport_id=record.id))
    retry_job(session, job)
    wake(current_app._get_current_object())
    flash(msg.exporting_again(record.z_number), "info")
    return redirect(safe_next(request.form.get("back")) or url_for("zreport.show", zreport_id=record.id))
