"""Koppla med tjänstekonto in Chromium: the wizard's recommended choice, Fortnox's consent page of
the emulator, and back with a service account the card names."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backoffice.integrations.fortnox.models import ConnectionKind, FortnoxConnection
from tests.browser.conftest import log_in
from tests.fixtures import auto_approve, fresh

pytestmark = pytest.mark.browser


def test_an_admin_connects_with_a_service_account_from_the_wizard(db, shop, new_page, emulator, screenshots):
    made = shop()
    tenant = emulator.control.create_tenant(made.company.name, "556677-8899")
    page = new_page()
    with auto_approve(emulator.control, False):  # a system administrator approves on the consent page
        log_in(page, made.admin_email)
        page.goto("/foretag/integrationer/fortnox/installningar/behorighet")
        expect(page.locator(".service-account")).to_contain_text("Rekommenderas")
        page.screenshot(path=screenshots / "wizard-service-account.png", full_page=True)
        page.get_by_role("button", name="Koppla med tjänstekonto").click()
        page.wait_for_url(f"{emulator.url}/oauth-v1/auth*")
        assert "account_type=service" in page.url
        page.select_option("#tenant_id", str(tenant))
        page.get_by_role("button", name="Godkänn").click()
        page.wait_for_url("**/installningar/behorighet")

    expect(page.get_by_text("BackOffice är nu kopplat till Fortnox med tjänstekonto.")).to_be_visible()
    expect(page.locator("[data-connection-kind=service]")).to_contain_text("Tjänstekonto")
    fresh(db)
    connection = db.query(FortnoxConnection).filter_by(tenant_id=tenant).one()
    assert connection.kind == ConnectionKind.SERVICE and connection.refresh_token_enc is None
    expect(page.get_by_text("Byt till tjänstekonto")).to_have_count(0)  # nothing to switch to any more
