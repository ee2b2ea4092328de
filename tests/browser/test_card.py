"""The Fortnox card's three-dot menu in Chromium: Manuell export (dialog, Bekräfta, the progress bar
to the end) by a manager, and Inaktivera by an admin."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration
from tests.browser.conftest import log_in, wait_for
from tests.fixtures import DEMO_MAPPING, fresh

pytestmark = pytest.mark.browser


def test_a_manager_runs_manuell_export_and_watches_the_progress_bar_to_the_end(
    db, shop, connect, reports, new_page, emulator, screenshots
):
    made = connect(shop(registers=("K1", "K2")), active=False, mapping=DEMO_MAPPING)
    reports(made, days=5)  # stored while the integration was off: nothing exported yet
    fresh(db)
    db.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == made.company.id)).active = True
    db.commit()
    page = new_page()
    log_in(page, made.manager_email)
    page.get_by_role("link", name="Integrationer").click()

    page.get_by_label("Fler val").click()
    page.get_by_role("button", name="Manuell export").click()
    dialog = page.locator("#manual-export-dialog")
    expect(dialog).to_contain_text("Notera att försäljningsdatan även kommer att exporteras efter dagsavslutet")
    dialog.get_by_role("button", name="Bekräfta").click()
    expect(dialog.locator("progress")).to_be_visible()
    expect(dialog.locator("[data-progress-text]")).to_contain_text("Exporterade: 10", timeout=30_000)
    assert dialog.locator("progress").evaluate("bar => bar.value === bar.max")
    page.screenshot(path=screenshots / "manual-export-done.png")
    dialog.get_by_role("button", name="Stäng").click()

    assert len(emulator.control.vouchers(made.tenant_id)) == 10
    wait_for(lambda: page.reload() or page.locator("[data-status=green]").count() == 1, what="a green light")


def test_an_admin_deactivates_the_integration_in_its_dialog(db, shop, connect, reports, new_page, emulator):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING)
    page = new_page()
    log_in(page, made.admin_email)
    page.get_by_role("link", name="Integrationer").click()

    page.get_by_label("Fler val").click()
    page.get_by_role("button", name="Inaktivera").click()
    dialog = page.locator("#deactivate-dialog")
    expect(dialog).to_contain_text("Vill du inaktivera integrationen med Fortnox?")
    dialog.get_by_role("button", name="Inaktivera").click()

    expect(page.get_by_text("Integrationen med Fortnox är inaktiverad")).to_be_visible()
    expect(page.get_by_role("link", name="Aktivera")).to_be_visible()
    fresh(db)
    assert db.get(FortnoxConnection, made.connection_id).status == ConnectionStatus.REVOKED
