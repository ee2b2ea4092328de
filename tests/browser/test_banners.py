"""Each banner in Chromium: caused through the Fortnox emulator (or a new payment method), followed
through its buttons to the fix, until the banner is gone and the blocked report is in Fortnox."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from backoffice.demo import zreport_document
from backoffice.integrations.fortnox.models import FortnoxIntegration
from backoffice.integrations.fortnox.oauth import DEFAULT_SCOPES
from backoffice.zreport.models import ZReportRecord
from tests.browser.conftest import log_in, wait_for
from tests.fixtures import DEMO_MAPPING, auto_approve

pytestmark = pytest.mark.browser


def deliver(pos, made, *, days_ago: int = 1, pos_id: str = "K1", change=None) -> dict:
    """A register sends the Z-report of a day through the POS API."""
    day = date.today() - timedelta(days=days_ago)
    document = zreport_document(pos_id, f"Kassa {pos_id[1:]}", (day - date(2024, 1, 1)).days + 1, day)
    if change:
        change(document)
    assert pos.post(made.tokens[pos_id], document).status_code == 201
    return document


def banner(page, text: str):
    """Reload until a banner saying ``text`` shows (the worker blocks the export in the background)."""

    def shown():
        page.reload()
        return page.locator(".banner", has_text=text).count() == 1

    wait_for(shown, what=f"a banner saying {text!r}")
    return page.locator(".banner", has_text=text)


def until_exported(page, emulator, made, count: int = 1) -> list[dict]:
    """Wait until the report is in Fortnox with its Z-report attached, and no banner is left (the worker
    is then idle, so the next test's writes meet no export of this one)."""
    vouchers = wait_for(
        lambda: (lambda v: len(v) == count and all(x["files"] for x in v) and v)(
            emulator.control.vouchers(made.tenant_id)),
        what=f"{count} voucher(s) with their Z-report",
    )

    def no_banner():
        page.reload()
        return page.locator(".banner").count() == 0

    wait_for(no_banner, what="the banner to go")
    return vouchers


def expect_fortnox_link(banner) -> None:
    """ "Gå till Fortnox" opens apps.fortnox.se in a new tab (never followed: no internet here)."""
    link = banner.get_by_role("link", name="Gå till Fortnox")
    expect(link).to_have_attribute("href", "https://apps.fortnox.se")
    expect(link).to_have_attribute("target", "_blank")


def test_inactive_account_visa_inaktiva_konton_then_kontrollera_igen(db, shop, connect, pos, new_page, emulator):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING)
    emulator.control.set_account_active(made.tenant_id, 1910, False)
    deliver(pos, made)
    page = new_page()
    log_in(page, made.admin_email)

    shown = banner(page, "Bokföringen kunde inte exporteras eftersom konto 1910 är inaktivt i Fortnox.")
    expect_fortnox_link(shown)
    shown.get_by_role("link", name="Visa inaktiva konton").click()
    row = page.locator('tr[data-account="1910"]')
    expect(row).to_contain_text("Kontant (cash)")
    expect(row).to_contain_text("Inaktivt")
    emulator.control.set_account_active(made.tenant_id, 1910, True)  # the user reactivates it in Fortnox
    page.get_by_role("main").get_by_role("button", name="Kontrollera igen").click()

    until_exported(page, emulator, made)


def test_the_status_light_says_why_in_one_line_on_the_card_and_on_oversikt(db, shop, connect, pos, new_page, emulator):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING)
    emulator.control.set_account_active(made.tenant_id, 1580, False)
    deliver(pos, made, days_ago=2)
    deliver(pos, made, days_ago=1)
    page = new_page()
    log_in(page, made.manager_email)
    banner(page, "konto 1580 är inaktivt i Fortnox")
    wait_for(lambda: page.reload() or "2 Z-rapporter" in page.locator("[data-status-line]").inner_text(),
             what="both reports blocked")

    line = "Röd: 2 Z-rapporter väntar på åtgärd — konto 1580 är inaktivt i Fortnox"
    for path in ("/", "/foretag/integrationer/"):
        page.goto(path)
        light = page.locator("[data-status-line]")
        expect(light).to_have_text(line)
        expect(light).to_have_attribute("data-status", "red")
        height, line_height = light.evaluate("e => [e.getBoundingClientRect().height, parseFloat(getComputedStyle(e).lineHeight)]")
        assert height < 2 * line_height, f"the light's line wraps on {path}"

    emulator.control.set_account_active(made.tenant_id, 1580, True)
    page.locator(".banner").get_by_role("button", name="Kontrollera igen").click()
    until_exported(page, emulator, made, count=2)
    expect(page.locator("[data-status-line]")).to_have_text("Grön: Allt fungerar normalt: allt är exporterat.")


def test_series_not_manual_leads_to_the_series_step_and_is_exported_once_manual(
    db, shop, connect, pos, new_page, emulator
):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING)
    emulator.control.set_series_manual(made.tenant_id, "F", False)
    deliver(pos, made)
    page = new_page()
    log_in(page, made.admin_email)

    shown = banner(page, "Fortnox error 2001940: Verifikationsserien är inte manuell (F).")
    expect_fortnox_link(shown)
    shown.get_by_role("link", name="Åtgärda detta").click()
    page.wait_for_url("**/installningar/serie")
    expect(page.locator("label.choice", has_text="Kassa")).to_contain_text("Verifikationsserien är inte manuell")
    emulator.control.set_series_manual(made.tenant_id, "F", True)  # "Manuell kontering" ticked in Fortnox
    page.locator(".banner").get_by_role("button", name="Kontrollera igen").click()

    until_exported(page, emulator, made)


def test_missing_cost_centre_is_set_on_redovisning_and_exported_once_fortnox_has_it(
    db, shop, connect, pos, new_page, emulator
):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING)
    page = new_page()
    log_in(page, made.admin_email)
    page.get_by_role("link", name="Redovisning").click()
    page.get_by_label("Kassa 1 (K1)").fill("RK1")
    page.get_by_role("button", name="Spara kostnadsställen").click()
    expect(page.locator('tr[data-register="K1"]')).to_contain_text("Saknas i Fortnox")
    deliver(pos, made)

    shown = banner(page, 'lägga till kostnadsstället "Kassa 1" med koden "RK1"')
    expect(shown).to_contain_text(
        'Du behöver logga in i Fortnox och lägga till kostnadsstället "Kassa 1" med koden "RK1" '
        "för att bokföringen ska exporteras korrekt."
    )
    expect_fortnox_link(shown)
    shown.get_by_role("link", name="Åtgärda detta").click()
    page.wait_for_url("**/ekonomi/redovisning/#kostnadsstallen")
    token = emulator.control.issue_tokens(made.tenant_id)["access_token"]  # the user adds it in Fortnox
    requests.post(
        f"{emulator.url}/3/costcenters",
        json={"CostCenter": {"Code": "RK1", "Description": "Restaurangen"}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).raise_for_status()
    page.locator("#kostnadsstallen").get_by_role("button", name="Kontrollera igen").click()
    expect(page.locator('tr[data-register="K1"]')).to_contain_text("Finns i Fortnox")

    [voucher] = until_exported(page, emulator, made)
    assert {row["cost_center"] for row in voucher["rows"] if 3000 <= row["account"] <= 8999} == {"RK1"}


def test_expired_authorisation_runs_the_fortnox_login_and_returns_to_the_wizard(
    db, shop, connect, pos, new_page, emulator
):
    # A start date, as every activated integration has one: the wizard is walked again with NÄSTA.
    made = connect(shop(), active=True, mapping={**DEMO_MAPPING, "start_date": "2026-11-01"})
    emulator.control.revoke_tokens(made.tenant_id)  # e.g. a new password in Fortnox
    deliver(pos, made)
    page = new_page()
    log_in(page, made.admin_email)

    shown = banner(page, "Din Fortnox-autentisering har upphört att gälla.")
    expect(shown).to_contain_text(
        "Din Fortnox-autentisering har upphört att gälla. Logga in på Fortnox för att uppdatera autentiseringen."
    )
    # A manager sees the same banner and its notification, is told which admin to ask, and gets no
    # button only an admin has.
    asked = f"Det här åtgärdar en administratör: be {made.admin_email} att göra det."
    manager = new_page()
    log_in(manager, made.manager_email)
    theirs = manager.locator(".banner", has_text="Din Fortnox-autentisering har upphört att gälla.")
    expect(theirs).to_contain_text(asked)
    expect(theirs.get_by_role("link", name="Åtgärda detta")).to_have_count(0)
    theirs.get_by_role("link", name="Visa").click()
    notification = manager.locator("section.notification")
    expect(notification).to_contain_text(asked)
    expect(notification).not_to_contain_text("Åtgärda detta")
    with auto_approve(emulator.control, True, tenant_id=made.tenant_id):  # the consent page answers at once
        shown.get_by_role("link", name="Åtgärda detta").click()
        page.wait_for_url("**/installningar/behorighet")
    expect(page.get_by_text("Åtkomstuppgifterna är verifierade")).to_be_visible()
    for _ in range(7):  # behörighet, startdatum, serie and the four account steps: all still filled in
        page.get_by_role("button", name="NÄSTA").click()
    page.wait_for_url("**/forhandsgranskning")
    page.get_by_role("button", name="NÄSTA").click()
    expect(page.get_by_text("Inställningarna för Fortnox-integrationen är sparade")).to_be_visible()
    page.get_by_role("button", name="OK").click()

    until_exported(page, emulator, made)


def test_a_connection_without_the_attaching_consent_warns_and_the_admin_logs_in_again(
    db, shop, connect, new_page, emulator
):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING, scope=" ".join(DEFAULT_SCOPES))  # before attaching
    warning = '.banner.warning[data-kind="attachments_need_consent"]'
    manager = new_page()
    log_in(manager, made.manager_email)
    theirs = manager.locator(warning)
    expect(theirs).to_contain_text("Logga in på Fortnox igen för att bifoga Z-rapporterna som underlag")
    expect(theirs).to_contain_text(f"Det här åtgärdar en administratör: be {made.admin_email} att göra det.")
    expect(theirs.locator("a, button")).to_have_count(0)

    page = new_page()
    log_in(page, made.admin_email)
    mine = page.locator(warning)
    expect(mine).not_to_contain_text("Det här åtgärdar en administratör")
    with auto_approve(emulator.control, True, tenant_id=made.tenant_id):
        mine.get_by_role("link", name="Åtgärda detta").click()
        page.wait_for_url("**/foretag/integrationer/")
    expect(page.locator(warning)).to_have_count(0)
    manager.reload()
    expect(manager.locator(warning)).to_have_count(0)


def test_a_new_payment_method_shows_the_missing_account_banner_and_aatgarda_detta_opens_its_field(
    db, shop, connect, pos, new_page, emulator
):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING)

    def lunch_cards(document: dict) -> None:
        card = document["payments"][0]
        card["amount"] = f"{float(card['amount']) - 100:.2f}"  # exact: the generator's amounts have two decimals
        document["payments"].append({"method": "lunch_card", "amount": "100.00", "count": 2})

    deliver(pos, made, change=lunch_cards)
    page = new_page()
    log_in(page, made.admin_email)

    shown = banner(page, "eftersom ett konto saknades")
    expect(shown).to_contain_text(
        "Bokföringen kunde inte exporteras till Fortnox eftersom ett konto saknades. "
        "Uppdatera inställningarna för din Fortnox-integration för att åtgärda detta."
    )
    shown.get_by_role("link", name="Åtgärda detta").click()
    page.wait_for_url("**/betalningsmetoder?field=payment_method:lunch_card")
    field = page.locator('.account-row[data-field="payment_method:lunch_card"]')
    expect(field).to_have_class("account-row highlight")
    expect(field.locator("input")).to_be_focused()
    page.keyboard.type("1580")
    page.get_by_role("button", name="NÄSTA").click()
    page.wait_for_url("**/momssatser")

    [voucher] = until_exported(page, emulator, made)
    assert sum(float(row["debit"]) for row in voucher["rows"] if row["account"] == 1580) > 100


def test_missing_series_is_created_as_f_kassa_from_the_series_step(db, shop, connect, pos, new_page, emulator):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING)
    emulator.control.delete_series(made.tenant_id, "F")
    deliver(pos, made)
    page = new_page()
    log_in(page, made.admin_email)

    shown = banner(page, 'Verifikationsserien "F" finns inte i Fortnox.')
    expect_fortnox_link(shown)
    shown.get_by_role("link", name="Åtgärda detta").click()
    page.get_by_role("button", name="Skapa verifikationsserie F – Kassa").click()
    expect(page.get_by_text("Verifikationsserien F – Kassa är skapad i Fortnox.")).to_be_visible()
    expect(page.locator(".banner", has_text="finns inte")).to_have_count(0)  # not under a stale banner

    [voucher] = until_exported(page, emulator, made)
    assert voucher["series"] == "F"


def test_locked_period_is_exported_once_fortnox_unlocks_it(db, shop, connect, pos, new_page, emulator):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING)
    emulator.control.set_locked_period(made.tenant_id, date.today() - timedelta(days=1))
    deliver(pos, made)
    page = new_page()
    log_in(page, made.admin_email)

    shown = banner(page, f"Fortnox har låst perioden t.o.m. {date.today() - timedelta(days=1)}.")
    expect_fortnox_link(shown)
    emulator.control.set_locked_period(made.tenant_id, None)  # the accountant unlocks it in Fortnox
    shown.get_by_role("button", name="Kontrollera igen").click()

    until_exported(page, emulator, made)


def test_access_denied_is_fixed_by_logging_in_to_fortnox_again(db, shop, connect, pos, new_page, emulator):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING, scope="companyinformation")  # no bookkeeping scope
    deliver(pos, made)
    page = new_page()
    log_in(page, made.admin_email)

    shown = banner(page, "Access denied")
    expect_fortnox_link(shown)
    with auto_approve(emulator.control, True, tenant_id=made.tenant_id):
        shown.get_by_role("link", name="Åtgärda detta").click()
        page.wait_for_url("**/installningar/behorighet")
    page.get_by_role("button", name="NÄSTA").click()

    until_exported(page, emulator, made)


def test_an_export_that_failed_after_its_retries_is_sent_again_with_exportera_igen(
    db, shop, connect, pos, new_page, emulator
):
    from backoffice.export.models import ExportJob, ExportState
    from backoffice.export.problems import sync_problems
    from backoffice.export.reasons import Reason
    from backoffice.export.states import transition
    from tests.fixtures import fresh

    # The retries (5, 25 and 125 s) are the engine's to test; here the job has used them up already.
    made = connect(shop(), active=False, mapping=DEMO_MAPPING)
    deliver(pos, made)
    fresh(db)
    record_id = db.scalar(select(ZReportRecord.id).where(ZReportRecord.company_id == made.company.id))
    db.add(job := ExportJob(zreport_id=record_id, company_id=made.company.id))
    db.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == made.company.id)).active = True
    db.flush()
    transition(job, ExportState.FAILED, reason=Reason.EXPORT_FAILED, detail={"error": "Fortnox svarade 503"})
    db.commit()
    sync_problems(db, made.company)
    page = new_page()
    log_in(page, made.manager_email)

    shown = banner(page, "Bokföringen kunde inte exporteras till Fortnox efter flera försök.")
    shown.get_by_role("link", name="Åtgärda detta").click()
    page.wait_for_url("**/zrapporter/?status=failed")
    page.locator(f'tr[data-zreport="{record_id}"]').get_by_role("button", name="Exportera igen").click()

    until_exported(page, emulator, made)
