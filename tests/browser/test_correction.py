"""Rätta dagarna in Chromium on a 390 px phone, against the emulator: an admin moves card payments to
another account in the wizard, is told how many exported days are now booked otherwise, presses
Rätta dagarna, sees each day's voucher, its reversal, the new voucher and the difference per account
to the öre, presses Bekräfta and watches the progress bar to the end; the Z-report page then shows the
chain original → reversal → new with Fortnox's numbers. A manager sees the same preview (reached from
the Z-rapporter page's date range) and the history, but no Bekräfta."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from backoffice.db import business_today
from backoffice.demo import zreport_document
from backoffice.messages.correction import kronor
from tests.browser.conftest import log_in, wait_for
from tests.browser.test_screens import PHONE, overflow
from tests.fixtures import DEMO_MAPPING

pytestmark = pytest.mark.browser


def fits(page, screenshots, name: str) -> None:
    """The page fits the phone's width (no horizontal scrolling); its screenshot is kept."""
    page.screenshot(path=screenshots / f"{name}.png", full_page=True)
    assert overflow(page) <= 0, f"{name} is {overflow(page)} px wider than the phone"


def test_an_admin_corrects_the_days_the_wizard_names_and_a_manager_only_looks(
        db, shop, connect, pos, emulator, new_page, screenshots):
    made = connect(shop(("K1",)), active=True, mapping=DEMO_MAPPING)
    first = business_today() - timedelta(days=3)
    days = [first, first + timedelta(days=1)]
    for day in days:
        document = zreport_document("K1", "Kassa 1", 1000 + day.toordinal() % 1000, day)
        assert pos.post(made.tokens["K1"], document).status_code == 201
    originals = wait_for(lambda: (lambda v: len(v) == 2 and v)(emulator.control.vouchers(made.tenant_id)),
                         what="the worker to export both days")
    card = {v["transaction_date"]: sum(Decimal(r["debit"]) - Decimal(r["credit"]) for r in v["rows"]
                                       if r["account"] == 1580) for v in originals}
    swish = {v["transaction_date"]: sum(Decimal(r["debit"]) - Decimal(r["credit"]) for r in v["rows"]
                                        if r["account"] == 1930) for v in originals}
    assert all(card.values())

    # The admin books card payments on 1930 from now on: both exported days are booked otherwise.
    admin = new_page(*PHONE)
    log_in(admin, made.admin_email)
    admin.goto("/foretag/integrationer/fortnox/installningar/betalningsmetoder")
    admin.locator('.account-row[data-field="payment_method:card"] input').fill("1930")
    admin.get_by_role("button", name="NÄSTA").click()
    admin.wait_for_url("**/momssatser")
    hint = admin.locator("[data-correction-hint]")
    expect(hint).to_contain_text(f"2 exporterade dagar bokförs annorlunda med de nya inställningarna "
                                 f"({days[0]} – {days[1]})")
    fits(admin, screenshots, "correction-wizard-hint")
    hint.get_by_role("link", name="Rätta dagarna").click()

    admin.wait_for_url(f"**/zrapporter/ratta/?fran={days[0]}&till={days[1]}")
    preview = admin.locator("[data-correction-preview]")
    expect(preview.get_by_role("heading", level=2)).to_have_text("2 dagar bokförs annorlunda")
    for original in originals:
        day = admin.locator(f'article[data-day="{original["transaction_date"]}"]')
        name = f"F {original['number']}"
        expect(day).to_contain_text(f"Verifikation i Fortnox: {name}")
        expect(day).to_contain_text(f"återföring ”Rättelse av {name}: ")
        amount, before_1930 = card[original["transaction_date"]], swish[original["transaction_date"]]
        expect(day.locator('tr[data-account="1580"] td.num')).to_have_text(
            [kronor(amount), "0,00", kronor(-amount)])
        expect(day.locator('tr[data-account="1930"] td.num')).to_have_text(
            [kronor(before_1930), kronor(before_1930 + amount), kronor(amount)])
        day.locator("summary").click()
        expect(day.locator("h4")).to_have_text([f"Återföring: Rättelse av {name}: {original['description']}",
                                                f"Ny verifikation: {original['description']}"])
    fits(admin, screenshots, "correction-preview")
    assert len(emulator.control.vouchers(made.tenant_id)) == 2  # nothing is posted before Bekräfta

    # The manager reaches the same preview from the Z-rapporter page's date range, and cannot confirm.
    manager = new_page(*PHONE)
    log_in(manager, made.manager_email)
    manager.goto("/zrapporter/")
    start = manager.locator("[data-correction-start]")
    start.get_by_label("Från").fill(days[0].isoformat())
    start.get_by_label("Till").fill(days[1].isoformat())
    start.get_by_role("button", name="Rätta dagarna").click()
    expect(manager.locator("[data-correction-preview] article")).to_have_count(2)
    expect(manager.get_by_text("Bara en administratör kan rätta dagar.")).to_be_visible()
    expect(manager.get_by_role("button", name="Bekräfta")).to_have_count(0)
    fits(manager, screenshots, "correction-preview-manager")

    admin.get_by_label("Orsak").fill("Kort bokförs på 1930")
    admin.get_by_role("button", name="Bekräfta").click()
    admin.wait_for_url("**/zrapporter/ratta/*")
    bar = admin.locator("[data-reconcile-progress] progress")
    expect(bar).to_have_js_property("value", 100, timeout=60_000)
    expect(admin.locator("[data-progress-text]")).to_have_text(
        "Rättade: 2, väntar på en person: 0, misslyckade: 0, pågår: 0", timeout=60_000)
    expect(admin.locator("[data-reconcile-progress][data-url]")).to_have_count(0)  # reloaded at the end
    fits(admin, screenshots, "correction-run")

    vouchers = emulator.control.vouchers(made.tenant_id)
    assert len(vouchers) == 6
    admin.get_by_role("link", name=originals[0]["transaction_date"]).click()
    chain = admin.locator("[data-correction-chain] li")
    [original, reversal, new] = sorted((v for v in vouchers if v["transaction_date"] == originals[0]["transaction_date"]),
                                       key=lambda v: v["number"])
    expect(chain).to_have_count(3)
    expect(chain.nth(0)).to_contain_text(f"Original F {original['number']}: Bokförd i Fortnox")
    expect(chain.nth(1)).to_contain_text(f"Återföring F {reversal['number']}: Bokförd i Fortnox")
    expect(chain.nth(2)).to_contain_text(f"Ny verifikation F {new['number']}: Bokförd i Fortnox")
    expect(chain.nth(1)).to_contain_text("Kort bokförs på 1930")
    fits(admin, screenshots, "correction-chain")
    assert {r["account"] for r in new["rows"]} >= {1930} and 1580 not in {r["account"] for r in new["rows"]}

    # The manager sees the history.
    manager.goto("/zrapporter/ratta/")
    expect(manager.locator("section", has_text="Tidigare rättelser")).to_contain_text("Kort bokförs på 1930")
    fits(manager, screenshots, "correction-history-manager")
