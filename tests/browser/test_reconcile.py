"""Avstämning in Chromium: "Läs från Fortnox" shows a progress bar while the worker reads the month,
then the calendar shows each day's colour, and a cell opens the day beside its voucher."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from backoffice.demo import deliver, zreport_document
from tests.browser.conftest import log_in, wait_for
from tests.fixtures import DEMO_MAPPING, fresh
from tests.reconcile.conftest import previous_month, z_number_of

pytestmark = pytest.mark.browser


def test_reading_a_month_shows_progress_then_the_calendar_and_a_day_beside_its_voucher(
        db, emulator, shop, connect, new_page, screenshots):
    from backoffice.companies.models import Register

    made = connect(shop(("K1", "K2")), active=True, mapping=DEMO_MAPPING)
    month = previous_month()
    for offset in range(3):
        day = month + timedelta(days=offset)
        for pos_id in ("K1", "K2"):
            register = db.get(Register, made.registers[pos_id].id)
            deliver(db, register, zreport_document(pos_id, register.name, z_number_of(day), day))
    db.commit()
    wait_for(lambda: len(emulator.control.vouchers(made.tenant_id)) == 6, what="six vouchers in Fortnox")
    fresh(db)
    first = min(emulator.control.vouchers(made.tenant_id), key=lambda v: v["number"])
    rows = [dict(r, credit=str(Decimal(r["credit"]) - Decimal("12.50"))) if r["account"] == 3001 else r
            for r in first["rows"]]
    emulator.control.type_over_voucher(made.tenant_id, first["financial_year"], "F", first["number"],
                                       rows + [{"account": 3990, "debit": "0.00", "credit": "12.50"}])
    page = new_page()
    log_in(page, made.manager_email)

    page.get_by_role("link", name="Avstämning").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Avstämning")
    page.get_by_role("link", name="← Föregående månad").click()
    expect(page.get_by_text("Månaden är inte avstämd mot Fortnox än.")).to_be_visible()
    page.get_by_role("button", name="Läs från Fortnox").click()
    progress = page.locator("[data-reconcile-progress]")
    expect(progress).to_be_visible()
    expect(progress.locator("progress")).to_have_attribute("aria-label", "Läst från Fortnox")
    expect(page.locator("[data-made-at]")).to_contain_text("Senast avstämd mot Fortnox", timeout=60_000)
    page.screenshot(path=str(screenshots / "avstamning.png"), full_page=True)

    cells = page.locator("a.cell")
    expect(cells.filter(has=page.locator("text=K1")).first).to_be_visible()
    assert page.locator("a.cell.green").count() == 5
    assert page.locator("a.cell.yellow").count() == 1
    expect(page.locator('li[data-kind="voucher_differs"]')).to_contain_text("har ändrats i Fortnox")
    page.locator("a.cell.yellow").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(month.isoformat())
    expect(page.get_by_role("link", name="Visa Z-rapporten")).to_be_visible()
    expect(page.locator('tr.differs[data-account="3990"]')).to_be_visible()
    page.screenshot(path=str(screenshots / "avstamning-dag.png"), full_page=True)
