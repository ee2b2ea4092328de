"""Månadsrapport: a month of one restaurant for the accountant, as a PDF and as a CSV.

Both hold the sums per account and per VAT rate, each day's voucher number and the open findings
of the last reconciliation; the PDF also has a chart of sales per day. Sums per account are what
was sent to Fortnox for exported reports and what the booking core books with today's mapping for
the others. The PDF is rendered with reportlab's ``invariant=1``: the same month gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from backoffice.accounts.defaults import ACCOUNT_LABELS
from backoffice.accounts.fields import vat_rate_text
from backoffice.accounts.mapping import MappingIncompleteError
from backoffice.accounts.operations import load_mapping
from backoffice.companies.models import Company
from backoffice.messages import finding_message
from backoffice.messages import reconcile as msg
from backoffice.money import ZERO, sek_text
from backoffice.reconcile.compare import Posting, net_postings
from backoffice.reconcile.operations import (
    body_postings,
    check_not_future,
    latest_run,
    month_label,
    month_records,
    sent_bodies,
)
from backoffice.zreport.booking import build_voucher
from backoffice.zreport.models import LineKind
from backoffice.zreport.voucher import NothingToBookError


@dataclass(slots=True)
class AccountSum:
    account: int
    name: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO


@dataclass(slots=True)
class VatSum:
    rate: Decimal
    net: Decimal = ZERO
    vat: Decimal = ZERO

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True, slots=True)
class DayLine:
    business_date: date
    register_id: str
    z_number: int
    sales: Decimal
    voucher: str
    state: str


@dataclass(slots=True)
class MonthReport:
    """What the PDF and the CSV show."""

    company: Company
    month: date
    reconciled_at: datetime | None
    accounts: list[AccountSum] = field(default_factory=list)
    vat: list[VatSum] = field(default_factory=list)
    days: list[DayLine] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return msg.report_title(self.month)

    def sales_per_day(self) -> list[tuple[date, Decimal]]:
        totals: dict[date, Decimal] = {}
        for line in self.days:
            totals[line.business_date] = totals.get(line.business_date, ZERO) + line.sales
        return sorted(totals.items())


def month_report(session: Session, company: Company, month: date, *, today: date) -> MonthReport:
    """Gather the month's report (raises ``ReconcileError`` for a future month); needs no Fortnox."""
    check_not_future(month, today)
    records = month_records(session, company, month)
    bodies = sent_bodies(session, [job.id for _, _, job in records if job is not None])
    mapping = load_mapping(session, company)
    run = latest_run(session, company, month, finished=True)
    result = run.result_data if run is not None else None
    states = {(d["zreport_id"]): d["state"] for d in (result or {}).get("days", []) if d.get("zreport_id")}
    report = MonthReport(company, month, run.finished_at if run is not None else None)
    accounts: dict[int, AccountSum] = {}
    vat: dict[Decimal, VatSum] = {}
    for record, register, job in records:
        postings: tuple[Posting, ...] = ()
        body = bodies.get(job.id) if job is not None else None
        if body is not None:
            postings = body_postings(body)
        elif mapping is not None:
            try:
                voucher = build_voucher(record.to_report(), mapping, company_name=company.name)
                postings = net_postings((r.account, r.cost_center, r.debit, r.credit) for r in voucher.rows)
            except (NothingToBookError, MappingIncompleteError):
                postings = ()
        for posting in postings:
            line = accounts.setdefault(posting.account, AccountSum(posting.account, ACCOUNT_LABELS.get(posting.account, "")))
            if posting.amount > 0:
                line.debit += posting.amount
            else:
                line.credit -= posting.amount
        sales = ZERO
        for item in record.lines:
            sign = 1 if item.kind == LineKind.SALE else -1
            rate = vat.setdefault(item.vat_rate, VatSum(item.vat_rate))
            rate.net += sign * (item.gross - item.vat)
            rate.vat += sign * item.vat
            sales += sign * item.gross
        label = f"{job.voucher_series} {job.voucher_number}" if job is not None and job.voucher_number else ""
        state = states.get(record.id) or ("ok" if job is not None and job.voucher_number else "not_exported")
        report.days.append(DayLine(record.business_date, register.pos_id, record.z_number, sales, label, state))
    report.accounts = [accounts[number] for number in sorted(accounts)]
    report.vat = [vat[rate] for rate in sorted(vat)]
    report.findings = [finding_message(f["kind"], f) for f in (result or {}).get("findings", [])]
    return report


def _vat(rate: Decimal) -> str:
    return vat_rate_text(rate)


def render_csv(report: MonthReport) -> bytes:
    """The report as CSV for a spreadsheet: ``;`` between fields, decimal comma, UTF-8 with BOM,
    one section per table with its own header row."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")

    def amount(value: Decimal) -> str:
        return f"{value:.2f}".replace(".", ",")

    writer.writerow([report.title, report.company.name, report.company.org_number])
    writer.writerow(["Avstämd mot Fortnox", report.reconciled_at.isoformat() if report.reconciled_at else "nej"])
    writer.writerow([])
    writer.writerow(["Konto", "Benämning", "Debet", "Kredit"])
    for line in report.accounts:
        writer.writerow([line.account, line.name, amount(line.debit), amount(line.credit)])
    writer.writerow([])
    writer.writerow(["Momssats", "Försäljning exkl. moms", "Moms", "Försäljning inkl. moms"])
    for rate in report.vat:
        writer.writerow([_vat(rate.rate), amount(rate.net), amount(rate.vat), amount(rate.gross)])
    writer.writerow([])
    writer.writerow(["Datum", "Kassa", "Z-nummer", "Försäljning inkl. moms", "Verifikation", "Status"])
    for day in report.days:
        writer.writerow([day.business_date.isoformat(), day.register_id, day.z_number, amount(day.sales), day.voucher,
                         msg.DAY_STATES.get(day.state, day.state)])
    writer.writerow([])
    writer.writerow(["Öppna avvikelser"])
    for sentence in report.findings:
        writer.writerow([sentence])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_pdf(report: MonthReport) -> bytes:
    """The report as an A4 PDF with a chart of sales per day; the same report gives the same bytes."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, invariant=1, title=f"{report.title} · {report.company.name}",
        author="BackOffice", creator="BackOffice", leftMargin=18 * mm, rightMargin=18 * mm,
    )
    grid = TableStyle([
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
    ])
    story = [
        Paragraph(escape(f"{report.title} · {report.company.name} ({report.company.org_number})"), styles["Title"]),
        Paragraph(
            msg.reconciled_at(report.reconciled_at) if report.reconciled_at else msg.NOT_RECONCILED, styles["Normal"]),
        Spacer(1, 6 * mm),
        Paragraph("Försäljning per dag (inkl. moms, kr)", styles["Heading2"]),
    ]
    per_day = report.sales_per_day()
    drawing = Drawing(170 * mm, 60 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 8 * mm, 155 * mm, 48 * mm
    # Whole kronor: the chart's scale needs numbers, and no amount goes through float.
    chart.data = [[int(total) for _, total in per_day] or [0]]
    chart.categoryAxis.categoryNames = [str(day.day) for day, _ in per_day] or [""]
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#1f5fa8")
    drawing.add(chart)
    story += [drawing, Spacer(1, 4 * mm), Paragraph("Summa per konto", styles["Heading2"])]
    rows = [["Konto", "Debet", "Kredit"]] + [
        [f"{line.account} {line.name}", sek_text(line.debit), sek_text(line.credit)] for line in report.accounts
    ]
    story += [Table(rows, colWidths=[90 * mm, 35 * mm, 35 * mm], style=grid, repeatRows=1),
              Paragraph("Per momssats", styles["Heading2"])]
    rows = [["Momssats", "Exkl. moms", "Moms", "Inkl. moms"]] + [
        [_vat(rate.rate), sek_text(rate.net), sek_text(rate.vat), sek_text(rate.gross)] for rate in report.vat
    ]
    story += [Table(rows, colWidths=[40 * mm, 40 * mm, 40 * mm, 40 * mm], style=grid, repeatRows=1),
              Paragraph("Dagar", styles["Heading2"])]
    rows = [["Datum", "Kassa", "Z-nr", "Försäljning", "Verifikation", "Status"]] + [
        [day.business_date.isoformat(), day.register_id, str(day.z_number), sek_text(day.sales), day.voucher,
         msg.DAY_STATES.get(day.state, day.state)] for day in report.days
    ]
    story += [Table(rows, colWidths=[25 * mm, 18 * mm, 18 * mm, 30 * mm, 28 * mm, 40 * mm], style=grid, repeatRows=1),
              Paragraph("Öppna avvikelser", styles["Heading2"])]
    if report.findings:
        story += [Paragraph(escape(sentence), styles["Normal"]) for sentence in report.findings]
    else:
        story.append(Paragraph(msg.NO_OPEN_FINDINGS if report.reconciled_at else msg.NO_KNOWN_FINDINGS,
                               styles["Normal"]))
    document.build(story)
    return buffer.getvalue()


def file_name(report: MonthReport, extension: str) -> str:
    return f"manadsrapport-{month_label(report.month)}.{extension}"
