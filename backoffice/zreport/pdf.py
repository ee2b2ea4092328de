"""The Z-dagrapport as a PDF: the underlag attached to the day's voucher in Fortnox.

Rendered from the report as the register sent it (``ZReportRecord.to_report()`` parses the stored
document again), in Swedish, with everything SKVFS 2014:9 7 kap. 3 § asks of a Z-dagrapport
(``docs/contracts/zreport-v1.md``, "Fields"): the company and its organisation number, the register
with its manufacturing number, the Z-number, business date and time of closing, sales per product
group and VAT rate, VAT per rate, returns, discounts, each payment method, tips, gift cards, rounding,
cash difference, the counters, copies, training, unfinished sales, other reductions and the grand
totals.

Invariants:

- The same report (and company) always gives the same bytes: ReportLab's ``invariant=1`` fixes the
  creation date and document id, and nothing else in the file depends on the time of rendering.
  Attaching relies on it: a file found in Fortnox's inbox after a lost answer is the one we sent.
- Text is drawn with a standard PDF font, so it can be extracted (a text PDF, not an image).
- Amounts are written the Swedish way, ``12 345,67 kr``, from ``Decimal``; no float is involved.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from backoffice.accounts.fields import PAYMENT_METHOD_NAMES
from backoffice.business_day import BUSINESS_TIMEZONE
from backoffice.money import ZERO, format_vat_rate, sek_text
from backoffice.zreport.report import CountAmount, SalesLine, ZReport, vat_per_rate

#: The restaurants' time zone: the time of closing is printed in it.
FONT, BOLD = "Helvetica", "Helvetica-Bold"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 50.0
LINE = 13.0
#: Right edges of the columns of a five-column table (product group, VAT, count, gross, VAT amount).
COLUMNS = (MARGIN, 250.0, 320.0, 440.0, PAGE_WIDTH - MARGIN)


def file_name(report: ZReport) -> str:
    """``Z-<register id>-<Z-number>-<business date>.pdf``; characters a file name cannot hold become ``_``."""
    register = re.sub(r"[^A-Za-z0-9._-]", "_", report.register.id)
    return f"Z-{register}-{report.z_number}-{report.business_date.isoformat()}.pdf"


@dataclass(frozen=True, slots=True)
class _Row:
    """One line of the document: a heading, a label with values, or a table row.

    kind: "title", "heading", "pair" (label, value), "table" (cells right-aligned after the first),
        "total" (a table row in bold), or "space".
    cells: the texts of the line.
    """

    kind: str
    cells: tuple[str, ...] = ()


def _vat(rate: Decimal) -> str:
    return f"{format_vat_rate(rate)} %"


def _count(value: CountAmount) -> str:
    return f"{value.count} st, {sek_text(value.amount)}"


def _method(method: str) -> str:
    name = PAYMENT_METHOD_NAMES.get(method)
    return f"{name} ({method})" if name else method


def _lines_table(title: str, lines: tuple[SalesLine, ...], total_label: str) -> list[_Row]:
    rows = [_Row("heading", (title,)),
            _Row("table", ("Varugrupp", "Moms", "Antal", "Belopp inkl. moms", "Varav moms"))]
    if not lines:
        rows.append(_Row("pair", ("Inga",)))
    for line in lines:
        rows.append(_Row("table", (line.product_group, _vat(line.vat_rate), str(line.count),
                                   sek_text(line.gross), sek_text(line.vat))))
    rows.append(_Row("total", (total_label, "", str(sum(line.count for line in lines)),
                               sek_text(sum((line.gross for line in lines), ZERO)),
                               sek_text(sum((line.vat for line in lines), ZERO)))))
    return rows


def _vat_per_rate(report: ZReport) -> list[_Row]:
    """Net sales and VAT per rate: sales minus returns (SKVFS 2014:9 7 kap. 3 § h)."""
    per_rate = vat_per_rate(report)
    rows = [_Row("heading", ("Moms per momssats",)),
            _Row("table", ("Momssats", "", "", "Underlag exkl. moms", "Moms"))]
    for one in per_rate:
        rows.append(_Row("table", (_vat(one.rate), "", "", sek_text(one.net), sek_text(one.vat))))
    total_vat = sum((one.vat for one in per_rate), ZERO)
    total_net = sum((one.net for one in per_rate), ZERO)
    rows.append(_Row("total", ("Summa moms", "", "", sek_text(total_net), sek_text(total_vat))))
    return rows


def _rows(report: ZReport, company_name: str, org_number: str) -> list[_Row]:
    """Everything the Z-dagrapport shows, top to bottom."""
    register = report.register
    rows = [
        _Row("title", ("Z-dagrapport",)),
        _Row("pair", ("Företag", company_name)),
        _Row("pair", ("Organisationsnummer", org_number)),
        _Row("pair", ("Kassaregister", f"{register.name} (id {register.id})")),
        _Row("pair", ("Tillverkningsnummer", register.serial_number or "uppgift saknas")),
        _Row("pair", ("Z-nummer", str(report.z_number))),
        _Row("pair", ("Datum", report.business_date.isoformat())),
        _Row("pair", ("Dagsavslut", report.closed_at.astimezone(BUSINESS_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S"))),
        _Row("pair", ("Valuta", report.currency)),
        _Row("space"),
    ]
    rows += _lines_table("Försäljning per varugrupp och momssats", report.sales, "Summa försäljning")
    rows.append(_Row("space"))
    rows += _vat_per_rate(report)
    rows.append(_Row("space"))
    rows += _lines_table("Returer", report.returns, "Summa returer")
    rows += [_Row("pair", ("Rabatter", _count(report.discounts))), _Row("space"),
             _Row("heading", ("Betalningar per betalningsmetod",)),
             _Row("table", ("Betalningsmetod", "", "Antal", "", "Belopp"))]
    for payment in report.payments:
        count = "" if payment.count is None else str(payment.count)
        rows.append(_Row("table", (_method(payment.method), "", count, "", sek_text(payment.amount))))
    rows.append(_Row("total", ("Summa betalningar", "", "", "",
                               sek_text(sum((p.amount for p in report.payments), ZERO)))))
    rows += [_Row("space"), _Row("heading", ("Dricks",))]
    if not report.tips:
        rows.append(_Row("pair", ("Dricks", sek_text(ZERO))))
    for tip in report.tips:
        rows.append(_Row("pair", (f"Dricks, {_method(tip.method)}", sek_text(tip.amount))))
    counters = report.counters
    grand = report.grand_total
    rows += [
        _Row("space"),
        _Row("heading", ("Övrigt",)),
        _Row("pair", ("Sålda presentkort", sek_text(report.gift_cards_sold))),
        _Row("pair", ("Öresavrundning", sek_text(report.rounding))),
        _Row("pair", ("Kassadifferens", sek_text(report.cash_difference))),
        _Row("pair", ("Växelkassa", sek_text(report.opening_float))),
        _Row("space"),
        _Row("heading", ("Räkneverk",)),
        _Row("pair", ("Antal kvitton", str(counters.receipts))),
        _Row("pair", ("Antal lådöppningar", str(counters.drawer_openings))),
        _Row("pair", ("Antal sålda varor", str(counters.goods_sold))),
        _Row("pair", ("Antal sålda tjänster", str(counters.services_sold))),
        _Row("pair", ("Kvittokopior", _count(report.copies))),
        _Row("pair", ("Övningskvitton", _count(report.training))),
        _Row("pair", ("Ej avslutade försäljningar", _count(report.unfinished_sales))),
        _Row("pair", ("Övriga reduceringar", _count(report.other_reductions))),
        _Row("space"),
        _Row("heading", ("Grand total",)),
        _Row("pair", ("Grand total försäljning", sek_text(grand.sales))),
        _Row("pair", ("Grand total returer", sek_text(grand.returns))),
        _Row("pair", ("Grand total netto", sek_text(grand.net))),
    ]
    return rows


def _height(row: _Row) -> float:
    return {"title": 2 * LINE, "heading": 1.5 * LINE, "space": LINE / 2}.get(row.kind, LINE)


def _pages(rows: list[_Row]) -> list[list[_Row]]:
    """Split the rows into pages that fit between the margins (a heading never ends a page)."""
    usable = PAGE_HEIGHT - 2 * MARGIN - 2 * LINE  # the footer's line
    pages: list[list[_Row]] = [[]]
    used = 0.0
    for index, row in enumerate(rows):
        needed = _height(row) + (LINE if row.kind == "heading" and index + 1 < len(rows) else 0.0)
        if used + needed > usable and pages[-1]:
            pages.append([])
            used = 0.0
        pages[-1].append(row)
        used += _height(row)
    return pages


def _draw_row(canvas: Canvas, row: _Row, y: float) -> None:
    if row.kind == "title":
        canvas.setFont(BOLD, 18)
        canvas.drawString(MARGIN, y - 6, row.cells[0])
    elif row.kind == "heading":
        canvas.setFont(BOLD, 11)
        canvas.drawString(MARGIN, y - 4, row.cells[0])
    elif row.kind == "pair":
        canvas.setFont(FONT, 9.5)
        canvas.drawString(MARGIN, y, row.cells[0])
        if len(row.cells) > 1:
            canvas.drawString(210.0, y, row.cells[1])
    elif row.kind in ("table", "total"):
        canvas.setFont(BOLD if row.kind == "total" else FONT, 9.5)
        canvas.drawString(COLUMNS[0], y, row.cells[0])
        for edge, text in zip(COLUMNS[1:], row.cells[1:], strict=True):
            if text:
                canvas.drawRightString(edge, y, text)


def render_pdf(report: ZReport, *, company_name: str, org_number: str) -> bytes:
    """The Z-dagrapport of ``report`` for the company, as PDF bytes (the same report, the same bytes)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    name = file_name(report)
    canvas.setTitle(f"Z-dagrapport {report.register.id} nr {report.z_number} {report.business_date.isoformat()}")
    canvas.setAuthor(company_name)
    canvas.setSubject(f"Underlag till verifikation: {name}")
    canvas.setCreator("BackOffice")
    pages = _pages(_rows(report, company_name, org_number))
    for number, page in enumerate(pages, start=1):
        y = PAGE_HEIGHT - MARGIN
        for row in page:
            y -= _height(row)
            _draw_row(canvas, row, y)
        canvas.setFont(FONT, 8)
        canvas.drawString(MARGIN, MARGIN - LINE, f"{company_name} · {name}")
        canvas.drawRightString(PAGE_WIDTH - MARGIN, MARGIN - LINE, f"Sida {number} av {len(pages)}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
