"""Ekonomi → Avstämning over real HTTP: the calendar, "Läs från Fortnox" run by the worker, a day's
detail, and the Månadsrapport as PDF and CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

from pypdf import PdfReader
from sqlalchemy import select

from backoffice.db import business_today
from backoffice.reconcile.models import ReconcileRun, RunState
from backoffice.reconcile.tasks import run_pending
from tests.reconcile.conftest import fresh, job_of


def read_month(app, db, made, month: date) -> ReconcileRun:
    """Press "Läs från Fortnox" for ``month`` and let the worker run it."""
    started = made.manager.post("/ekonomi/avstamning/las", {"manad": f"{month:%Y-%m}"},
                                headers={"Accept": "application/json"})
    assert started.status_code == 202, started.text
    progress_url = started.json()["progress_url"]
    assert made.manager.get(progress_url).json()["state"] == "pending"
    run_pending(app)
    progress = made.manager.get(progress_url).json()
    assert progress["done"] and progress["percent"] == 100 and progress["state"] == "done", progress
    fresh(db)
    return db.get(ReconcileRun, started.json()["run_id"])


def test_the_page_opens_on_this_month_with_earlier_months_a_click_away(db, site):
    made = site(("K1",))
    today = business_today()  # the month in Stockholm, as the page reckons it
    page = made.manager.get("/ekonomi/avstamning/")
    assert page.status_code == 200
    assert 'aria-current="page">Avstämning</a>' in page.text
    months = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
              "november", "december")
    assert f"Avstämning · {months[today.month - 1].capitalize()} {today.year}" in page.text
    earlier = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    assert f'href="/ekonomi/avstamning/?manad={earlier:%Y-%m}" rel="prev"' in page.text
    assert 'rel="next"' not in page.text  # no month after this one
    assert "Månaden är inte avstämd mot Fortnox än." in page.text


def test_reading_fortnox_runs_in_the_worker_and_the_page_shows_the_result_without_reading_again(
        app, db, emulator, exported_month):
    shop = exported_month(days=2)
    made = shop.site
    page = made.manager.get(f"/ekonomi/avstamning/?manad={shop.month:%Y-%m}")
    assert "Läs från Fortnox" in page.text
    emulator.control.clear_requests()

    run = read_month(app, db, made, shop.month)
    calls = len(emulator.control.requests(tenant_id=made.tenant_id))
    page = made.manager.get(f"/ekonomi/avstamning/?manad={shop.month:%Y-%m}")
    again = made.manager.get(f"/ekonomi/avstamning/?manad={shop.month:%Y-%m}")

    assert run.state == RunState.DONE and run.total == run.done == calls
    assert len(emulator.control.requests(tenant_id=made.tenant_id)) == calls  # views read nothing
    assert "Senast avstämd mot Fortnox" in page.text and again.text.count('class="cell green"') >= 4
    cells = re.findall(r'<a class="cell (\w+)" data-date="([\d-]+)" data-register="(\w+)" data-state="(\w+)"', page.text)
    assert ("green", shop.month.isoformat(), "K1", "ok") in cells
    assert ("grey", (shop.month + timedelta(days=2)).isoformat(), "K2", "no_report") in cells
    assert "Inga avvikelser" in page.text


def test_a_typed_over_voucher_is_yellow_and_its_day_shows_the_difference_per_account(app, db, emulator,
                                                                                      exported_month):
    shop = exported_month(days=1, registers=("K1",))
    made, record = shop.site, shop.records[0]
    job = job_of(db, record)
    stored = next(v for v in emulator.control.vouchers(made.tenant_id) if v["number"] == job.voucher_number)
    rows = [dict(r, credit=f"{float(r['credit']) - 12.5:.2f}") if r["account"] == 3001 else r for r in stored["rows"]]
    rows.append({"account": 3990, "debit": "0.00", "credit": "12.50"})
    emulator.control.type_over_voucher(made.tenant_id, job.voucher_year, "F", job.voucher_number, rows)

    read_month(app, db, made, shop.month)
    page = made.manager.get(f"/ekonomi/avstamning/?manad={shop.month:%Y-%m}")
    day = made.manager.get(f"/ekonomi/avstamning/{shop.month:%Y-%m}/{shop.month.isoformat()}/K1")

    assert f'<a class="cell yellow" data-date="{shop.month.isoformat()}" data-register="K1" data-state="differs"' in page.text
    assert 'data-kind="voucher_differs"' in page.text
    assert day.status_code == 200
    assert f'href="/zrapporter/{record.id}"' in day.text and f"Verifikation F {job.voucher_number} i Fortnox" in day.text
    row_3990 = re.search(r'<tr class="differs" data-account="3990">(.*?)</tr>', day.text).group(1)
    assert row_3990.endswith('<td class="num">0,00</td><td class="num">-12,50</td><td class="num">-12,50</td>')
    row_3001 = re.search(r'<tr class="differs" data-account="3001">(.*?)</tr>', day.text).group(1)
    assert row_3001.endswith('<td class="num">12,50</td>')
    assert "Betalningar" in day.text and "Moms" in day.text


def test_bad_months_and_a_company_without_fortnox_are_refused_in_swedish_and_nothing_is_queued(db, site):
    made = site(("K1",))
    today = date.today()
    future = (today.replace(day=28) + timedelta(days=4)).replace(day=1)

    ahead = made.manager.post("/ekonomi/avstamning/las", {"manad": f"{future:%Y-%m}"},
                              headers={"Accept": "application/json"})
    alone = made.manager.post("/ekonomi/avstamning/las", {"manad": f"{today:%Y-%m}"})
    shown = made.manager.get(alone.headers["Location"])

    assert ahead.status_code == 409 and "har inte börjat än" in ahead.json()["error"]
    assert alone.status_code == 302
    assert f"{made.company.name} har ingen integration med Fortnox" in shown.text
    fresh(db)
    assert db.scalars(select(ReconcileRun).where(ReconcileRun.company_id == made.company.id)).all() == []


def test_the_monthly_report_has_sums_days_findings_and_a_chart_and_renders_the_same_bytes(app, db, emulator,
                                                                                         exported_month):
    shop = exported_month(days=3, registers=("K1",))
    made = shop.site
    job = job_of(db, shop.records[1])
    stored = next(v for v in emulator.control.vouchers(made.tenant_id) if v["number"] == job.voucher_number)
    emulator.control.type_over_voucher(made.tenant_id, job.voucher_year, "F", job.voucher_number,
                                       [dict(r, removed=True) for r in stored["rows"]] + stored["rows"][:1]
                                       + [{"account": 1910, "debit": "0.00", "credit": stored["rows"][0]["debit"]}])
    read_month(app, db, made, shop.month)

    pdf = made.manager.get(f"/ekonomi/avstamning/{shop.month:%Y-%m}/manadsrapport.pdf")
    again = made.manager.get(f"/ekonomi/avstamning/{shop.month:%Y-%m}/manadsrapport.pdf")
    sheet = made.manager.get(f"/ekonomi/avstamning/{shop.month:%Y-%m}/manadsrapport.csv")

    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content == again.content  # invariant=1
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Månadsrapport" in text and made.company.name in text
    assert "Summa per konto" in text and "Per momssats" in text and "Försäljning per dag" in text
    for record in shop.records:
        assert f"F {job_of(db, record).voucher_number}" in text
    assert "Öppna avvikelser" in text and "har rättats i Fortnox" in text.replace("\n", " ")

    assert sheet.status_code == 200 and sheet.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig")), delimiter=";"))
    assert ["Konto", "Benämning", "Debet", "Kredit"] in rows
    accounts = rows[rows.index(["Konto", "Benämning", "Debet", "Kredit"]) + 1:]
    accounts = accounts[:accounts.index([])]
    debit = sum(int(r[2].replace(",", "")) for r in accounts)
    credit = sum(int(r[3].replace(",", "")) for r in accounts)
    assert debit == credit > 0
    days = rows[rows.index(["Datum", "Kassa", "Z-nummer", "Försäljning inkl. moms", "Verifikation", "Status"]) + 1:]
    assert [d[0] for d in days[:3]] == [(shop.month + timedelta(days=i)).isoformat() for i in range(3)]
    assert days[1][5] == "Avviker" and days[0][5] == "Stämmer"
    assert any("har rättats i Fortnox" in " ".join(r) for r in rows)
