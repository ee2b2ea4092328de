"""Every screen in Chromium: on a 390 px phone every page fits its width (the menu behind a button,
tables scrolling inside their card), the Z-report page shows the Z-dagrapport's legal content,
the keyboard works (a skip link; Esc closes the three-dot menu, a dialog and the page's menu and
gives focus back to the button that opened it), the tags' colours reach WCAG AA (4.5:1, computed
from the CSS colours), and no page asks for a favicon that isn't there."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from backoffice.demo import zreport_document
from backoffice.intake.views import format_sek
from tests.browser.conftest import log_in, wait_for
from tests.fixtures import DEMO_MAPPING, auto_approve, fresh

pytestmark = pytest.mark.browser

PHONE = (390, 844)

#: Computes, for every coloured text on the page (tags, lights, badges, the calendar's cells, muted
#: text, buttons, flashes and banners), its contrast with the background it is drawn on.
COLOURED = (".tag, .used, .light, .badge, .cell, .muted, .small, button, .button, .flash, .banner-text, .field-error,"
            " .bad-text, .menu a, .skip-link, td.day span")
CONTRASTS = """
(selector) => {
  const parse = (text) => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const [r, g, b, a] = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return { r, g, b, a: a === undefined ? 1 : a };
  };
  const lum = ({ r, g, b }) => {
    const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour && colour.a > 0.5) return colour;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  return [...document.querySelectorAll(selector)]
    .filter((element) => element.offsetParent !== null && element.textContent.trim())
    .map((element) => {
      const fg = lum(parse(getComputedStyle(element).color));
      const bg = lum(background(element));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      return { what: element.className + ": " + element.textContent.trim().slice(0, 40), ratio };
    });
}
"""


def overflow(page) -> int:
    """How far the page is wider than the screen (0 when it fits)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.fixture()
def busy_shop(db, shop, connect, pos, emulator):
    """An active shop with three exported days on two registers and one open problem (a register sent
    a payment method the mapping has no account for) with its banner. ``records``: oldest first."""
    from sqlalchemy import select

    from backoffice.zreport.models import ZReportRecord

    made = connect(shop(registers=("K1", "K2")), active=True, mapping=DEMO_MAPPING)
    today = date.today()
    for offset in range(3, -1, -1):
        day = today - timedelta(days=offset)
        for pos_id in ("K1", "K2") if offset else ("K1",):
            document = zreport_document(pos_id, f"Kassa {pos_id[1:]}", (day - date(2024, 1, 1)).days + 1, day)
            for payment in document["payments"]:
                if not offset and payment["method"] == "swish":
                    payment["method"] = "lunchkort"
            assert pos.post(made.tokens[pos_id], document).status_code == 201
    wait_for(lambda: len(emulator.control.vouchers(made.tenant_id)) == 6, what="the worker to export 6 vouchers")
    fresh(db)
    made.records = db.scalars(select(ZReportRecord).where(ZReportRecord.company_id == made.company.id)
                              .order_by(ZReportRecord.business_date, ZReportRecord.id)).all()
    return made


#: Every date or moment of a table or a fact list (``2026-11-23``, ``2026-11-23 10:12``, standing alone) that
#: may wrap: a browser breaks a date at its hyphens, so each stands in an element that does not (``.date``).
WRAPPING_DATES = """
() => {
  const found = [];
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (!/^\\d{4}-\\d{2}-\\d{2}( \\d{2}:\\d{2}(:\\d{2})?)?$/.test(text) || !node.parentElement.closest("table, dl")) continue;
    if (getComputedStyle(node.parentElement).whiteSpace !== "nowrap") found.push(text);
  }
  return found;
}
"""


def typed_over_in_fortnox(db, made, pos, emulator):
    """One more report whose voucher Fortnox stores while the answer is lost, then typed over in Fortnox
    before the worker looks again (5 s later): its job waits on the voucher that differs. Returns the job."""
    from sqlalchemy import select

    from backoffice.export.models import ExportJob

    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers",
                               tenant_id=made.tenant_id, seconds=0, after="drop")
    day = date.today()
    document = zreport_document("K2", "Kassa 2", (day - date(2024, 1, 1)).days + 1, day)
    assert pos.post(made.tokens["K2"], document).status_code == 201
    stored = wait_for(lambda: (lambda v: len(v) == 7 and v[-1])(emulator.control.vouchers(made.tenant_id)),
                      timeout=10, interval=0.1, what="Fortnox to store the seventh voucher")
    rows = [dict(r, removed=True) if r["account"] == 1580 else r for r in stored["rows"]]
    rows.append({"account": 1580, "debit": "1.00", "credit": "0.00"})
    rows.append({"account": 1930, "debit": "0.00", "credit": "1.00"})
    emulator.control.type_over_voucher(made.tenant_id, stored["financial_year"], stored["series"], stored["number"], rows)
    return wait_for(lambda: db.rollback() or db.scalar(select(ExportJob).where(
        ExportJob.company_id == made.company.id, ExportJob.reason_code == "voucher_differs")),
        what="the job to wait on the voucher that differs")


def test_every_page_fits_a_390_px_phone(db, busy_shop, shop, connect, pos, emulator, new_page, screenshots):
    from sqlalchemy import select

    from backoffice.companies.models import Membership, Role, User
    from backoffice.export.models import Problem

    made = busy_shop
    other = connect(shop(), active=True, mapping=DEMO_MAPPING)  # Alla restauranger, Kopiera inställningar hit
    fresh(db)
    admin = db.scalars(select(User).where(User.email == made.admin_email)).one()
    admin.memberships.append(Membership(company_id=other.company.id, role=Role.ADMIN))
    db.commit()
    differs = typed_over_in_fortnox(db, made, pos, emulator)
    problem = wait_for(lambda: db.rollback() or db.scalar(select(Problem).where(
        Problem.company_id == made.company.id, Problem.closed_at.is_(None))), what="the open problem")
    exported, blocked = made.records[0], made.records[-1]
    month = f"{exported.business_date:%Y-%m}"
    pages = [
        "/", "/zrapporter/", f"/zrapporter/?kassa={made.registers['K1'].id}", f"/zrapporter/{exported.id}",
        f"/zrapporter/{blocked.id}", "/zrapporter/koppla-kassa", "/ekonomi/redovisning/", "/ekonomi/avstamning/",
        f"/ekonomi/avstamning/?manad={month}", f"/ekonomi/avstamning/{month}/{exported.business_date}/K1",
        "/ekonomi/redovisning/kopiera", f"/ekonomi/redovisning/kopiera?fran={other.company.id}", "/restauranger/",
        "/foretag/integrationer/", "/foretag/notifikationer/", f"/foretag/notifikationer/{problem.id}",
        "/foretag/integrationer/fortnox/inaktiva-konton", f"/foretag/integrationer/fortnox/avvikande-verifikation/{differs.id}",
        "/foretag/anvandare/", "/konto/losenord", "/konto/e-post", "/zrapporter/999999",
    ] + [f"/foretag/integrationer/fortnox/installningar/{step}" for step in (
        "bokforing", "behorighet", "startdatum", "serie", "betalningsmetoder", "momssatser", "varugrupper", "ovriga",
        "forhandsgranskning", "klar")]
    missing: list[str] = []
    page = new_page(*PHONE)
    page.on("response", lambda response: response.status == 404 and "favicon" in response.url
            and missing.append(response.url))
    page.goto("/login")
    assert overflow(page) <= 0, "the login page is wider than the phone"
    log_in(page, made.admin_email)

    too_wide, wrapping, landed = {}, {}, {}
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("load")
        if not page.url.endswith(path):
            landed[path] = page.url
        if overflow(page) > 0:
            too_wide[path] = overflow(page)
            page.screenshot(path=screenshots / f"too-wide-{len(too_wide)}.png", full_page=True)
        if dates := page.evaluate(WRAPPING_DATES):
            wrapping[path] = dates
    assert too_wide == {}
    assert wrapping == {}
    assert landed == {}, "a page redirected instead of showing itself"
    assert missing == []

    # With the menu open the header still fits, and Logga ut is on the screen.
    page.goto("/")
    logout = page.get_by_role("button", name="Logga ut")
    expect(logout).to_be_hidden()
    page.get_by_role("button", name="Meny").click()
    expect(logout).to_be_visible()
    box = logout.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0]
    assert overflow(page) <= 0
    page.screenshot(path=screenshots / "phone-menu-open.png", full_page=True)


def test_connecting_to_a_fortnox_company_another_restaurant_books_in_warns_first_on_a_phone(
    db, shop, connect, new_page, emulator
):
    first = connect(shop(), active=True, mapping=DEMO_MAPPING)
    second = shop()
    page = new_page(*PHONE)
    log_in(page, second.admin_email)
    page.goto("/foretag/integrationer/fortnox/installningar/behorighet")
    with auto_approve(emulator.control, False):
        page.get_by_role("button", name="OK").click()
        page.wait_for_url(f"{emulator.url}/oauth-v1/auth*")
        page.select_option("#tenant_id", str(first.tenant_id))
        page.get_by_role("button", name="Godkänn").click()
        page.wait_for_url("**/integrations/fortnox/bekrafta")

    expect(page.locator("[data-warning]")).to_contain_text(
        f"används redan av {first.company.name} i BackOffice. Kopplar du hit bokförs båda restaurangernas "
        "försäljning i samma Fortnox-företag.")
    assert overflow(page) <= 0
    page.get_by_role("button", name="Koppla ändå").click()
    page.wait_for_url("**/installningar/behorighet")
    expect(page.get_by_text("Åtkomstuppgifterna är verifierade")).to_be_visible()


def test_the_wizard_shows_its_steps_above_the_form_on_a_phone(db, busy_shop, new_page):
    page = new_page(*PHONE)
    log_in(page, busy_shop.admin_email)
    page.goto("/foretag/integrationer/fortnox/installningar/betalningsmetoder")

    steps = page.locator(".wizard-steps").bounding_box()
    form = page.locator(".wizard > .card").bounding_box()
    assert steps["y"] + steps["height"] <= form["y"] and form["x"] + form["width"] <= PHONE[0]


def test_the_z_report_page_shows_the_legal_fields_on_a_phone(db, busy_shop, new_page):
    record = busy_shop.records[0]
    page = new_page(*PHONE)
    log_in(page, busy_shop.manager_email)
    page.goto(f"/zrapporter/{record.id}")

    for name, text in [
        ("serial_number", "CR-DEMO"), ("z_number", str(record.z_number)), ("copies", "1 st, 245,00"),
        ("training", "0 st, 0,00"), ("unfinished_sales", "0 st, 0,00"), ("other_reductions", "0 st, 0,00"),
        ("drawer_openings", str(record.drawer_openings)), ("receipts", str(record.receipts)),
        ("opening_float", "2\u00a0000,00"), ("discounts", f"{record.discounts_count} st"),
        ("goods_sold", str(record.goods_sold)), ("services_sold", str(record.services_sold)),
        ("company", busy_shop.company.name), ("org_number", busy_shop.company.org_number),
        ("grand_total_net", format_sek(record.grand_total_net)),
        ("grand_total_sales", format_sek(record.grand_total_sales)),
        ("grand_total_returns", format_sek(record.grand_total_returns)),
    ]:
        value = page.locator(f'[data-field="{name}"]')
        expect(value).to_be_visible()
        expect(value).to_contain_text(text)
    expect(page.locator('[data-method="card"]').first).to_contain_text("Kort")
    expect(page.locator("#exporthistorik")).to_contain_text("Skickad till Fortnox")
    expect(page.locator("table[data-table=vat] tbody tr")).to_have_count(3)
    # The voucher's rows name their accounts; a wide table scrolls inside its card, the page does not.
    expect(page.locator('#verifikation tr[data-account="1580"] td').nth(1)).not_to_be_empty()
    voucher = page.locator("#verifikation .table-scroll")
    assert voucher.evaluate("box => box.scrollWidth > box.clientWidth") and overflow(page) <= 0
    # A payment method the register names but we do not know is shown as sent, marked as such.
    page.goto(f"/zrapporter/{busy_shop.records[-1].id}")
    expect(page.locator('[data-method="lunchkort"]').first).to_contain_text("lunchkort")
    expect(page.locator('[data-method="lunchkort"]').first).to_contain_text("okänd betalningsmetod")


def test_the_skip_link_and_esc_on_menus_and_dialogs(db, busy_shop, new_page):
    page = new_page()
    log_in(page, busy_shop.manager_email)
    page.goto("/foretag/integrationer/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Hoppa till innehållet")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    kebab = page.locator("details.kebab")
    summary = kebab.locator("summary")
    summary.click()
    expect(kebab).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(kebab).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()

    summary.click()
    page.get_by_role("button", name="Manuell export").click()
    dialog = page.locator("#manual-export-dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(summary).to_be_focused()

    # The page's menu on a phone: Esc closes it and gives focus back to Meny.
    phone = new_page(*PHONE)
    log_in(phone, busy_shop.manager_email)
    toggle = phone.get_by_role("button", name="Meny")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    phone.get_by_role("link", name="Z-rapporter").focus()
    phone.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(phone.get_by_role("link", name="Z-rapporter")).to_be_hidden()


def test_coloured_text_reaches_wcag_aa(db, busy_shop, new_page):
    page = new_page()
    log_in(page, busy_shop.admin_email)
    weak = []
    for path in ("/", "/zrapporter/", f"/zrapporter/{busy_shop.records[0].id}", "/foretag/integrationer/",
                 "/ekonomi/redovisning/", "/foretag/notifikationer/",
                 "/foretag/integrationer/fortnox/installningar/betalningsmetoder"):
        page.goto(path)
        seen = page.evaluate(CONTRASTS, COLOURED)
        assert seen, f"nothing coloured found on {path}"
        weak += [f"{path} {one['what']} {one['ratio']:.2f}" for one in seen if one["ratio"] < 4.5]
    assert weak == []


def test_the_green_tag_itself_reaches_4_5(db, busy_shop, new_page):
    page = new_page()
    log_in(page, busy_shop.manager_email)
    page.goto("/zrapporter/?status=exported")

    green = page.evaluate(CONTRASTS, ".tag.ok")
    assert green and min(one["ratio"] for one in green) >= 4.5
