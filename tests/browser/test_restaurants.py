"""Many restaurants in Chromium: the header's switch, Alla restauranger sorted and filtered, and
Manuell export for the ticked rows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backoffice.companies.models import Membership, Role, User
from tests.browser.conftest import log_in
from tests.fixtures import DEMO_MAPPING, fresh, open_problem

pytestmark = pytest.mark.browser


def test_an_owner_switches_restaurant_in_the_header_and_exports_two_from_alla_restauranger(
    db, shop, connect, new_page, screenshots
):
    a = connect(shop(), active=True, mapping=DEMO_MAPPING)
    b = connect(shop(), active=True, mapping=DEMO_MAPPING)
    open_problem(db, b.company, "account_inactive", "3001")
    owner = db.query(User).filter_by(email=a.admin_email).one()
    owner.memberships.append(Membership(company=b.company, role=Role.MANAGER))
    db.commit()
    fresh(db)
    page = new_page()
    log_in(page, a.admin_email)

    expect(page.get_by_role("heading", level=1)).to_have_text(a.company.name)
    page.get_by_label("Restaurang").select_option(label=b.company.name)
    page.get_by_role("button", name="Byt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(b.company.name)

    page.get_by_role("link", name="Alla restauranger").click()
    rows = page.locator("table.restaurants tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="Öppna problem").click()  # fewest first
    page.get_by_role("link", name="Öppna problem ▲").click()  # then most first
    expect(rows.first).to_have_attribute("data-company", str(b.company.id))
    page.get_by_role("searchbox").fill(a.company.name)
    page.get_by_role("button", name="Filtrera").click()
    expect(rows).to_have_count(1)
    page.screenshot(path=screenshots / "restaurants-filtered.png", full_page=True)

    page.get_by_role("searchbox").fill("")
    page.get_by_role("button", name="Filtrera").click()
    page.get_by_label(f"Välj {a.company.name}").check()
    page.get_by_label(f"Välj {b.company.name}").check()
    page.get_by_role("button", name="Manuell export för valda").click()
    expect(page.locator(".flash")).to_contain_text("Manuell export har startats för")
    expect(page.locator(".flash")).to_contain_text(a.company.name)
    expect(page.locator(".flash")).to_contain_text(b.company.name)
