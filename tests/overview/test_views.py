"""Översikt over HTTP: the first step for a company with nothing connected, the status light and the
last export, the open problems with their buttons, 14 days per register with missing days marked,
and the server-drawn chart of 30 days' sales."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

from backoffice.db import now_utc
from backoffice.export.models import ExportState
from backoffice.export.reasons import Reason
from backoffice.export.states import transition
from backoffice.integrations.fortnox.models import FortnoxIntegration
from backoffice.overview.views import business_today
from tests.fixtures import DEMO_MAPPING, jobs_of, open_problem


def cell(page: str, pos_id: str, day: date) -> str:
    """The table cell of one register's day."""
    row = re.search(rf'<tr data-register="{pos_id}">.*?</tr>', page, re.S).group(0)
    return re.search(rf'<td class="num day[^"]*" data-day="{day}".*?</td>', row, re.S).group(0)


def test_a_company_with_nothing_connected_sees_aktivera_fortnox_integrationen_first(site):
    made = site(registers=("K1",))

    admin = made.admin.get("/")
    manager = made.manager.get("/")

    assert admin.status_code == 200
    main = admin.text.split("<main", 1)[1]
    first = re.search(r"<section[^>]*>.*?</section>", main, re.S).group(0)
    assert 'id="first-step"' in first
    assert 'href="/foretag/integrationer/fortnox/installningar/">Aktivera Fortnox-integrationen<' in first
    assert 'data-status="off"' in admin.text and "Inte aktiverad" in admin.text
    assert "Ingen ännu" in admin.text
    # A manager cannot run the wizard: told who can, and given no link to a 403.
    assert "Aktivera Fortnox-integrationen" in manager.text
    assert "installningar/" not in manager.text.split('id="first-step"', 1)[1].split("</section>", 1)[0]


def test_an_active_company_sees_the_light_the_last_export_and_no_first_step(db, site, connect):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    integration = db.query(FortnoxIntegration).filter_by(company_id=made.company.id).one()
    integration.last_export_at = now_utc()
    db.commit()

    page = made.manager.get("/").text

    assert 'id="first-step"' not in page
    assert 'data-status="green"' in page and "Allt fungerar normalt" in page
    last = re.search(r"<dd data-last-export[^>]*>(.*?)</dd>", page).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", last)
    assert "Inga öppna problem." in page


def test_open_problems_show_once_in_the_page_with_their_fix_buttons(db, site, connect):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    problem = open_problem(db, made.company, Reason.SERIES_NOT_MANUAL, "F", {"series": "F"})

    page = made.admin.get("/").text

    banners = re.findall(r'<div class="banner" role="alert".*?</div>\s*</div>', page, re.S)
    assert len(banners) == 1  # in the page, not also above it
    [banner] = banners
    assert f'data-problem="{problem.id}"' in banner
    assert "Fortnox error 2001940: Verifikationsserien är inte manuell (F)." in unescape(banner)
    assert 'href="/foretag/integrationer/fortnox/installningar/?step=serie">Åtgärda detta<' in banner
    assert page.index('id="fortnox-status"') < page.index('id="problems"') < page.index('id="register-days"')
    assert 'data-status="red"' in page


def test_fourteen_days_per_register_with_sales_export_state_and_missing_days(db, site, connect, reports):
    made = connect(site(registers=("K1", "K2")), active=True, mapping=DEMO_MAPPING)
    today = business_today()
    # K1 reported the last 20 days but for the day before yesterday; K2 only yesterday.
    records = reports(made, days=18, registers=("K1",), start=today - timedelta(days=20))
    reports(made, days=1, registers=("K1", "K2"), start=today - timedelta(days=1))
    gap = today - timedelta(days=2)
    jobs = {job.zreport_id: job for job in jobs_of(db, made.company)}
    exported_day = today - timedelta(days=3)
    exported = next(r for r in records if r.business_date == exported_day)
    transition(jobs[exported.id], ExportState.EXPORTED)
    db.commit()

    page = made.admin.get("/").text

    header = re.search(r'<table class="days">.*?</thead>', page, re.S).group(0)
    assert len(re.findall(r'<th class="num"', header)) == 14
    # A missing day of a register that had reported before is marked; today is not over.
    assert 'data-state="missing"' in cell(page, "K1", gap) and "Saknas" in cell(page, "K1", gap)
    assert "Inte avslutad" in cell(page, "K1", today) and 'data-state="none"' in cell(page, "K1", today)
    assert "1 dag saknas" in re.search(r'<tr data-register="K1">.*?</th>', page, re.S).group(0)
    # K2 began yesterday: the days before are not missing.
    assert 'data-state="missing"' not in re.search(r'<tr data-register="K2">.*?</tr>', page, re.S).group(0)
    # The export state per day, and the day's net sales in whole kronor.
    assert "Exporterad" in cell(page, "K1", exported_day) and 'data-state="exported"' in cell(page, "K1", exported_day)
    assert "Väntar på export" in cell(page, "K1", today - timedelta(days=1))
    sales = exported.lines
    net = sum((line.gross if line.kind == "sale" else -line.gross for line in sales), Decimal(0))
    kronor = f"{net.quantize(Decimal(1)):,}".replace(",", "\u00a0")
    assert f">{kronor}</a>" in cell(page, "K1", exported_day)


def test_the_chart_draws_a_bar_per_day_for_thirty_days_summing_every_register(db, site, connect, reports):
    made = connect(site(registers=("K1", "K2")), active=True, mapping=DEMO_MAPPING)
    today = business_today()
    records = reports(made, days=40, start=today - timedelta(days=40))

    page = made.admin.get("/").text

    svg = re.search(r'<svg class="chart".*?</svg>', page, re.S).group(0)
    bars = re.findall(r'<rect class="bar"[^>]*data-day="([^"]+)" data-sales="([^"]+)"', svg)
    assert len(bars) == 30
    assert bars[-1][0] == today.isoformat() and bars[0][0] == (today - timedelta(days=29)).isoformat()
    yesterday = (today - timedelta(days=1)).isoformat()
    expected = sum(
        (
            line.gross if line.kind == "sale" else -line.gross
            for record in records
            if record.business_date.isoformat() == yesterday
            for line in record.lines
        ),
        Decimal(0),
    )
    assert Decimal(dict(bars)[yesterday]) == expected
    assert dict(bars)[today.isoformat()] == "0.00"  # today has not closed yet
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org", "")
