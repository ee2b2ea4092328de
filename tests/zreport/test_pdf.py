"""The Z-dagrapport PDF, read back with pypdf: every legal item present, Swedish amounts, same bytes."""

from __future__ import annotations

import copy
import io
import json
import re

import pypdf
import pytest

from backoffice.zreport.pdf import file_name, render_pdf, sek_text
from backoffice.zreport.schemas import parse_document
from tests.conftest import example_document


def _report(**overrides):
    document = copy.deepcopy(example_document())
    document.update(overrides)
    return parse_document(json.dumps(document))


def _text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize(("amount", "text"), [
    ("12345.67", "12 345,67 kr"), ("0.00", "0,00 kr"), ("-0.21", "-0,21 kr"), ("9123456.00", "9 123 456,00 kr"),
], ids=["thousands", "zero", "negative", "millions"])
def test_amounts_are_written_the_swedish_way(amount, text):
    from decimal import Decimal

    assert sek_text(Decimal(amount)) == text


def test_the_pdf_shows_everything_a_z_dagrapport_must_show():
    text = _text(render_pdf(_report(), company_name="Krogen AB", org_number="556677-8899"))

    expected = [
        "Z-dagrapport", "Krogen AB", "556677-8899", "Kassa 1 (id K1)", "Tillverkningsnummer", "CR-00017",
        "Z-nummer", "1042", "2026-11-20", "Dagsavslut", "2026-11-21 00:12:40",
        "Försäljning per varugrupp och momssats", "Mat", "12 %", "18 450,00 kr", "1 976,79 kr", "Dryck", "25 %",
        "6 200,00 kr", "Summa försäljning", "24 650,00 kr",
        "Moms per momssats", "1 216,00 kr",  # 25 %: 1 240,00 sold less 24,00 returned
        "Returer", "120,00 kr", "Rabatter", "12 st, 350,00 kr",
        "Betalningar per betalningsmetod", "Kort (card)", "22 390,00 kr", "Kontant (cash)", "2 779,79 kr",
        "Dricks, Kort (card)", "640,00 kr", "Sålda presentkort", "Öresavrundning", "-0,21 kr", "Kassadifferens",
        "Växelkassa", "2 000,00 kr", "Antal kvitton", "220", "Antal lådöppningar", "14", "Antal sålda varor", "310",
        "Antal sålda tjänster", "Kvittokopior", "1 st, 245,00 kr", "Övningskvitton", "Ej avslutade försäljningar",
        "Övriga reduceringar", "Grand total försäljning", "9 123 456,00 kr", "Grand total returer",
        "23 456,00 kr", "Grand total netto", "9 100 000,00 kr",
    ]
    missing = [item for item in expected if item not in text]
    assert missing == []


def test_the_same_report_always_gives_the_same_bytes_and_another_report_others():
    first = render_pdf(_report(), company_name="Krogen AB", org_number="556677-8899")
    again = render_pdf(_report(), company_name="Krogen AB", org_number="556677-8899")
    other = render_pdf(_report(z_number=1043), company_name="Krogen AB", org_number="556677-8899")

    assert first.startswith(b"%PDF-") and first == again
    assert other != first


def test_a_long_report_runs_over_pages_that_say_how_many_there_are():
    sales = [{"product_group": f"Grupp {i}", "vat_rate": "25", "gross": "100.00", "vat": "20.00", "count": 1}
             for i in range(80)]
    report = _report(sales=sales, returns=[], tips=[], rounding="0.00",
                     payments=[{"method": "card", "amount": "8000.00", "count": 80}],
                     grand_total={"sales": "8000.00", "returns": "0.00", "net": "8000.00"})

    reader = pypdf.PdfReader(io.BytesIO(render_pdf(report, company_name="Krogen AB", org_number="556677-8899")))

    pages = len(reader.pages)
    assert pages >= 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert all(f"Grupp {i}\n" in text for i in range(80)) and f"Sida {pages} av {pages}" in text


def test_the_file_is_named_after_register_z_number_and_business_date():
    assert file_name(_report()) == "Z-K1-1042-2026-11-20.pdf"
    report = _report(register={"id": "Bar/1 ö", "name": "Baren"})
    assert re.fullmatch(r"Z-Bar_1__-1042-2026-11-20\.pdf", file_name(report))
