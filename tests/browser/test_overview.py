"""Översikt in Chromium: the landing page after login, first for a company with nothing connected
(Aktivera Fortnox-integrationen leads into the wizard), then for one whose reports reach Fortnox:
the light, the chart of 30 days, 14 days per register, and a problem's fix button."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from backoffice.overview.views import business_today
from tests.browser.conftest import log_in, wait_for
from tests.fixtures import DEMO_MAPPING

pytestmark = pytest.mark.browser


def test_a_new_company_lands_on_aktivera_fortnox_integrationen_and_it_opens_the_wizard(shop, new_page, screenshots):
    made = shop()
    page = new_page()
    log_in(page, made.admin_email)

    expect(page).to_have_title("Översikt · BackOffice")
    first = page.locator("main section").first
    expect(first).to_have_id("first-step")
    page.screenshot(path=screenshots / "overview-new.png", full_page=True)
    first.get_by_role("link", name="Aktivera Fortnox-integrationen").click()

    page.wait_for_url("**/foretag/integrationer/fortnox/installningar/**")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_an_active_company_sees_its_days_its_chart_and_fixes_a_problem_from_the_landing_page(
    db, shop, connect, reports, new_page, emulator, screenshots
):
    made = connect(shop(registers=("K1", "K2")), active=True, mapping=DEMO_MAPPING)
    today = business_today()
    reports(made, days=5, registers=("K1",), start=today - timedelta(days=5))
    reports(made, days=3, registers=("K2",), start=today - timedelta(days=5))  # K2 has not closed since
    wait_for(lambda: len(emulator.control.vouchers(made.tenant_id)) == 8, what="the worker to export 8 vouchers")
    page = new_page()
    log_in(page, made.manager_email)

    wait_for(lambda: page.reload() or page.locator("[data-status=green]").count() == 1, what="a green light")
    expect(page.locator("#first-step")).to_have_count(0)
    expect(page.locator("[data-last-export]")).not_to_have_text("Ingen ännu")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(30)
    assert chart.bounding_box()["width"] > 600
    yesterday = (today - timedelta(days=1)).isoformat()
    k2 = page.locator('tr[data-register="K2"]')
    expect(k2.locator(f'td[data-day="{yesterday}"]')).to_contain_text("Saknas")
    expect(page.locator(f'tr[data-register="K1"] td[data-day="{yesterday}"]')).to_contain_text("Exporterad")
    page.screenshot(path=screenshots / "overview-active.png", full_page=True)

    # A series that is no longer manual blocks the next report; its banner sits in the page.
    emulator.control.set_series_manual(made.tenant_id, "F", False)
    reports(made, days=1, registers=("K1",), start=today)
    problems = page.locator("#problems")

    def shown():
        page.reload()
        return problems.locator(".banner", has_text="Verifikationsserien är inte manuell").count() == 1

    wait_for(shown, what="the series banner on Översikt")
    expect(page.locator("[data-status=red]")).to_have_count(1)
    expect(problems.get_by_role("button", name="Kontrollera igen")).to_be_visible()
    emulator.control.set_series_manual(made.tenant_id, "F", True)  # fixed in Fortnox
    problems.get_by_role("button", name="Kontrollera igen").click()

    wait_for(lambda: len(emulator.control.vouchers(made.tenant_id)) == 9, what="the blocked report to go through")
    wait_for(lambda: page.goto("/") and page.locator("[data-no-problems]").count() == 1, what="no problem left")
