"""Z-rapporter over HTTP: the paginated list with export states, one report's voucher rows,
"Exportera igen", and that another company's reports stay invisible."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from backoffice.export.models import ExportAttempt, ExportState
from backoffice.export.reasons import Reason
from backoffice.export.states import transition
from backoffice.zreport.pdf import file_name
from tests.fixtures import DEMO_MAPPING, jobs_of


def test_the_list_is_swedish_paginated_and_shows_each_reports_export_state(db, site, connect, reports):
    made = connect(site(), active=True, mapping=DEMO_MAPPING)
    records = reports(made, days=30)  # 60 reports: two pages of 50
    jobs = jobs_of(db, made.company)
    transition(jobs[0], ExportState.EXPORTED)
    jobs[0].voucher_series, jobs[0].voucher_number = "F", 17
    db.commit()

    first = made.manager.get("/zrapporter/")
    second = made.manager.get("/zrapporter/?sida=2")

    assert first.status_code == 200 and "60 Z-rapporter" in first.text and "Sida 1 av 2" in first.text
    assert first.text.count("data-zreport=") == 50 and second.text.count("data-zreport=") == 10
    assert "Försäljning" in first.text and "Väntar på export" in first.text
    assert "F 17" in second.text and "Exporterad" in second.text
    newest = max(records, key=lambda r: (r.business_date, r.id))
    assert first.text.index(f'data-zreport="{newest.id}"') < first.text.index("</tbody>")


def test_the_list_filters_by_register_and_state(db, site, connect, reports):
    made = connect(site(), active=True, mapping=DEMO_MAPPING)
    reports(made, days=3)
    job = jobs_of(db, made.company)[0]
    transition(job, ExportState.FAILED, reason=Reason.EXPORT_FAILED, detail={"error": "timeout"})
    db.commit()

    k2 = made.admin.get(f"/zrapporter/?kassa={made.registers['K2'].id}").text
    failed = made.admin.get("/zrapporter/?status=failed").text

    assert k2.count("data-zreport=") == 3 and "Kassa 1<" not in k2
    assert failed.count("data-zreport=") == 1 and "Misslyckades" in failed and "Exportera igen" in failed
    assert "efter flera försök" in failed


def test_amounts_are_aggregated_the_swedish_way(db, site, reports):
    made = site(registers=("K1",))
    [record] = reports(made, days=1)
    document = json.loads(record.document)
    sales = sum(float(line["gross"]) for line in document["sales"]) - sum(
        float(r["gross"]) for r in document["returns"]
    )

    page = made.admin.get("/zrapporter/").text

    whole, ore = f"{sales:.2f}".split(".")
    assert f"{int(whole):,}".replace(",", "\u00a0") + f",{ore}" in page


def test_a_report_shows_its_voucher_rows_from_the_current_mapping(db, site, connect, reports):
    made = connect(site(registers=("K1",)), mapping=DEMO_MAPPING)
    [record] = reports(made, days=1)

    page = made.manager.get(f"/zrapporter/{record.id}").text

    assert "förhandsgranskning med nuvarande kontoplan" in page
    for heading in ("Konto", "Radtext", "Debet", "Kredit", "Kostnadsställe"):
        assert "<th" in page and heading in page
    assert "<td>1910</td>" in page and "<td>3002</td>" in page
    assert "<td>Kontant</td>" in page and "<td>Moms 12 %</td>" in page  # each row's TransactionInformation
    totals = re.search(r'<td colspan="3">Summa</td><td class="num">([^<]+)</td><td class="num">([^<]+)</td>', page)
    assert totals.group(1) == totals.group(2)


def test_a_report_without_mapping_says_so_and_an_incomplete_mapping_names_the_gap(db, site, connect, reports):
    bare = site(registers=("K1",))
    [record] = reports(bare, days=1)
    partial = connect(site(registers=("K1",)), mapping={**DEMO_MAPPING, "payment_methods": {"card": 1580}})
    [other] = reports(partial, days=1)

    none = bare.admin.get(f"/zrapporter/{record.id}").text
    gap = unescape(partial.admin.get(f"/zrapporter/{other.id}").text)

    assert "Ingen kontoplan är vald ännu" in none
    assert 'Bokföringen kunde inte exporteras: konto saknas för betalningsmetod "cash"' in gap
    assert 'betalningsmetod "swish".' in gap


def test_an_exported_report_shows_the_rows_sent_to_fortnox(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    [record] = reports(made, days=1)
    [job] = jobs_of(db, made.company)
    body = {
        "Voucher": {
            "Description": "x",
            "VoucherRows": [
                {"Account": 1910, "Debit": 100.5, "Credit": 0},
                {"Account": 3001, "Debit": 0, "Credit": 100.5, "CostCenter": "RK1"},
            ],
        }
    }
    db.add(ExportAttempt(job=job, outcome="posted", request_body=json.dumps(body), http_status=201))
    transition(job, ExportState.EXPORTED)
    job.voucher_series, job.voucher_number = "F", 3
    db.commit()

    page = made.admin.get(f"/zrapporter/{record.id}").text

    assert "som den skickades till Fortnox" in page and "Verifikation F 3" in page
    assert "<td>RK1</td>" in page and "100,50" in page


def test_exportera_igen_makes_a_failed_export_pending(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    [record] = reports(made, days=1)
    [job] = jobs_of(db, made.company)
    transition(job, ExportState.FAILED, reason=Reason.EXPORT_FAILED, detail={"error": "timeout"})
    job.retries = 4
    db.commit()

    page = made.manager.get(f"/zrapporter/{record.id}").text
    no_csrf = made.manager.post(f"/zrapporter/{record.id}/exportera", csrf=False)
    done = made.manager.post(f"/zrapporter/{record.id}/exportera")
    again = made.manager.post(f"/zrapporter/{record.id}/exportera")

    assert "Exportera igen" in page and "efter flera försök" in page
    assert no_csrf.status_code == 400
    assert done.status_code == 302
    [job] = jobs_of(db, made.company)
    assert job.state == ExportState.PENDING and job.retries == 0
    assert again.status_code == 302 and "kan inte exporteras igen" in made.manager.get(again.headers["Location"]).text


@pytest.mark.parametrize("path", ["/zrapporter/{id}", "/zrapporter/{id}/exportera"])
def test_another_companys_report_is_404(db, site, reports, path):
    mine, theirs = site(registers=("K1",)), site(registers=("K1",))
    [record] = reports(theirs, days=1)

    url = path.format(id=record.id)
    response = mine.admin.post(url) if url.endswith("exportera") else mine.admin.get(url)
    listing = mine.admin.get("/zrapporter/").text

    assert response.status_code == 404 and "Sidan finns inte" in response.text
    assert f'data-zreport="{record.id}"' not in listing


def test_a_day_without_sales_is_shown_as_nothing_to_book(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    [record] = reports(made, days=1)
    [job] = jobs_of(db, made.company)
    transition(job, ExportState.SKIPPED)
    job.reason_code = "nothing_to_book"
    db.commit()

    listing = made.admin.get("/zrapporter/").text
    page = made.admin.get(f"/zrapporter/{record.id}").text

    assert "Inget att bokföra" in listing and "Inget att bokföra" in page
    assert "nothing_to_book" not in listing and "nothing_to_book" not in page


def test_a_manager_opens_the_report_as_pdf_from_its_page(site, reports):
    made = site(registers=("K1",))
    [record] = reports(made, days=1)

    page = made.manager.get(f"/zrapporter/{record.id}").text
    response = made.manager.get(f"/zrapporter/{record.id}/pdf")

    assert "Visa Z-rapport (PDF)" in page and f"/zrapporter/{record.id}/pdf" in page
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    name = file_name(record.to_report())
    assert f'filename="{name}"' in response.headers["Content-Disposition"]
    assert made.company.name in _pdf_text(response.content) and str(record.z_number) in _pdf_text(response.content)


def _pdf_text(content: bytes) -> str:
    import io

    import pypdf

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
