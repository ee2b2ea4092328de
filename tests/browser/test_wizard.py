"""The setup wizard in Chromium, end to end: Aktivera, BOKFÖRING, OK to Fortnox's consent page and
Godkänn, every step with BAS suggestions and "Lägg till konto", the preview, OK, and the reports in
the emulator's books."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, wait_for
from tests.fixtures import auto_approve

pytestmark = pytest.mark.browser


def use_every_bas_suggestion(page) -> None:
    for button in page.locator("[data-suggest]").all():
        button.click()


def test_an_admin_walks_the_whole_wizard_and_the_reports_reach_fortnox(
    db, shop, reports, new_page, emulator, screenshots
):
    made = shop(registers=("K1", "K2"))
    reports(made, days=3)
    tenant = emulator.control.create_tenant(made.company.name, "556677-8899")
    page = new_page()
    with auto_approve(emulator.control, False):  # a person approves on Fortnox's consent page
        log_in(page, made.admin_email)
        page.get_by_role("link", name="Integrationer").click()
        expect(page.locator("#fortnox-card")).to_contain_text("Bokföring via Fortnox")
        page.screenshot(path=screenshots / "integrations-inactive.png", full_page=True)
        page.get_by_role("link", name="Aktivera").click()

        page.get_by_label("BOKFÖRING").check()
        page.get_by_role("button", name="NÄSTA").click()
        page.get_by_role("button", name="OK").click()
        page.wait_for_url(f"{emulator.url}/oauth-v1/auth*")
        page.select_option("#tenant_id", str(tenant))
        page.get_by_role("button", name="Godkänn").click()
        page.wait_for_url("**/installningar/behorighet")
        expect(page.get_by_text("Åtkomstuppgifterna är verifierade")).to_be_visible()
        page.get_by_role("button", name="NÄSTA").click()

    page.fill("#start_date", (date.today() - timedelta(days=3)).isoformat())
    page.get_by_role("button", name="NÄSTA").click()

    expect(page.locator("input[name=series][value=B]")).to_be_disabled()
    expect(page.locator("label.choice", has_text="B")).to_contain_text("Verifikationsserien är inte manuell")
    page.check("input[name=series][value=F]")
    page.get_by_role("button", name="NÄSTA").click()

    # Payment methods: nothing is filled in until asked; BAS for all, and a new account for Swish.
    page.wait_for_url("**/betalningsmetoder")
    for field in page.locator(".account-row input").all():
        expect(field).to_have_value("")
    use_every_bas_suggestion(page)
    swish = page.locator('.account-row[data-field="payment_method:swish"]')
    swish.get_by_role("button", name="Lägg till konto").click()
    dialog = page.locator("#add-account-dialog")
    dialog.get_by_label("Kontonummer").fill("1689")
    dialog.get_by_label("Benämning").fill("Swish-fordran")
    dialog.get_by_role("button", name="Lägg till konto").click()
    expect(dialog).to_be_hidden()
    expect(swish.locator("input")).to_have_value("1689")
    expect(swish).to_contain_text("Swish-fordran")
    page.screenshot(path=screenshots / "wizard-payment-methods.png", full_page=True)
    page.get_by_role("button", name="NÄSTA").click()

    for step in ("momssatser", "varugrupper", "ovriga"):
        page.wait_for_url(f"**/{step}")
        use_every_bas_suggestion(page)
        page.get_by_role("button", name="NÄSTA").click()

    page.wait_for_url("**/forhandsgranskning")
    preview = page.locator("table.voucher")
    expect(preview).to_contain_text("1689")
    expect(preview.locator("thead")).to_contain_text("Kostnadsställe")
    expect(page.locator("[data-read-at]")).to_contain_text("Kontoplanen lästes från Fortnox")  # the names' age
    page.screenshot(path=screenshots / "wizard-preview.png", full_page=True)
    expect(page.locator("[data-activation-summary]")).to_contain_text("bokförs nu i serie F")
    page.get_by_role("button", name="Aktivera och exportera").click()

    expect(page.get_by_text("Fortnox-integrationen är aktiverad")).to_be_visible()
    page.get_by_role("button", name="OK").click()
    page.wait_for_url("**/foretag/integrationer/")

    vouchers = wait_for(lambda: (lambda v: len(v) == 6 and v)(emulator.control.vouchers(tenant)), what="six vouchers")
    assert {v["series"] for v in vouchers} == {"F"}
    assert any(row["account"] == 1689 for v in vouchers for row in v["rows"])

    def exported() -> bool:
        page.reload()
        return page.locator("[data-status=green]").count() == 1

    wait_for(exported, what="a green light")
    expect(page.locator(".counts")).to_contain_text("Exporterad: 6")
    page.screenshot(path=screenshots / "integrations-active.png", full_page=True)
    page.get_by_role("link", name="Z-rapporter").click()
    expect(page.locator("table.zreports")).to_contain_text("F 6")


def test_a_deep_link_focuses_the_field_that_lacks_an_account(db, shop, connect, new_page):
    made = connect(shop(), active=False)
    page = new_page()
    log_in(page, made.admin_email)

    page.goto("/foretag/integrationer/fortnox/installningar/?step=ovriga&field=other:tips")

    tips = page.locator('.account-row[data-field="other:tips"]')
    expect(tips).to_have_class("account-row highlight")
    expect(tips.locator("input")).to_be_focused()
