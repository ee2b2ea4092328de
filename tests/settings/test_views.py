"""Företag → Integrationer over HTTP: the Fortnox card, the settings wizard step by step against the
emulator, "Lägg till konto", "F – Kassa", the deep links of "Åtgärda detta", and Inaktivera."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import select

from backoffice.accounts.fields import payment_key
from backoffice.accounts.operations import load_mapping
from backoffice.demo import zreport_document
from backoffice.export.models import ExportState
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration
from tests.fixtures import DEMO_MAPPING, fresh, jobs_of

WIZARD = "/foretag/integrationer/fortnox/installningar"


def integration_of(db, company) -> FortnoxIntegration | None:
    fresh(db)
    return db.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == company.id))


def mapping_of(db, company):
    fresh(db)
    return load_mapping(db, company)


def field_id(page: str, key: str) -> str:
    """The id of the account field named ``key`` on a wizard page."""
    return re.search(rf'id="(f-[0-9a-f]+)" name="{re.escape(key)}"', unescape(page)).group(1)


def test_the_card_offers_aktivera_to_an_admin_and_shows_the_light_off(site):
    made = site()

    admin = made.admin.get("/foretag/integrationer/")
    manager = made.manager.get("/foretag/integrationer/")

    assert admin.status_code == 200 and "Bokföring via Fortnox" in admin.text
    assert ">Aktivera</a>" in admin.text and 'data-status="off"' in admin.text
    assert manager.status_code == 200 and ">Aktivera</a>" not in manager.text
    assert "En administratör kan aktivera integrationen" in manager.text


def test_an_active_card_has_the_three_dot_menu_and_a_green_light(site, connect):
    made = connect(site(), active=True, mapping=DEMO_MAPPING)

    page = made.admin.get("/foretag/integrationer/").text
    manager = made.manager.get("/foretag/integrationer/").text

    assert 'data-status="green"' in page and "Allt fungerar normalt" in page and "Senaste export" in page
    for label in ("Inställningar", "Manuell export", "Inaktivera", "Bekräfta"):
        assert label in page
    assert "Manuell export" in manager and "Inställningar</a>" not in manager and "deactivate-dialog" not in manager


def test_the_whole_wizard_over_http_connects_saves_every_step_and_activates(db, site, reports, emulator):
    made = site(registers=("K1",))
    reports(made, days=3)
    web = made.admin
    tenant = emulator.control.create_tenant(made.company.name, "556677-8899")
    emulator.control.set_auto_approve(True, tenant_id=tenant)

    entry = web.get(f"{WIZARD}/", allow_redirects=False)
    assert entry.status_code == 302 and entry.headers["Location"].endswith(f"{WIZARD}/bokforing")
    step1 = web.get(f"{WIZARD}/bokforing")
    assert "BOKFÖRING" in step1.text and "NÄSTA" in step1.text
    assert web.post(f"{WIZARD}/bokforing", {"kind": "bokforing"}).headers["Location"].endswith("/behorighet")

    access = web.get(f"{WIZARD}/behorighet")
    assert ">OK</button>" in access.text and "skickas du vidare till Fortnox" in access.text
    # OK: to Fortnox's consent page (auto-approved for this tenant) and back to this step.
    back = web.http.get(f"{web.url}/integrations/fortnox/connect", params={"next": f"{WIZARD}/behorighet"}, timeout=30)
    assert back.url == f"{web.url}{WIZARD}/behorighet"
    assert "Åtkomstuppgifterna är verifierade" in back.text and made.company.name in back.text
    assert web.post(f"{WIZARD}/behorighet").headers["Location"].endswith("/startdatum")

    start = (date.today() - timedelta(days=2)).isoformat()
    assert web.post(f"{WIZARD}/startdatum", {"start_date": start}).headers["Location"].endswith("/serie")
    assert mapping_of(db, made.company).start_date.isoformat() == start

    series = web.get(f"{WIZARD}/serie").text
    assert 'value="B" disabled' in series and "Verifikationsserien är inte manuell" in series
    assert "Skapa verifikationsserie F" not in series  # F exists in the seeded books
    refused = web.post(f"{WIZARD}/serie", {"series": "B"})
    assert refused.status_code == 400
    assert web.post(f"{WIZARD}/serie", {"series": "F"}).headers["Location"].endswith("/betalningsmetoder")

    payments = web.get(f"{WIZARD}/betalningsmetoder").text
    for method in ("card", "cash", "swish"):
        assert f'name="{payment_key(method)}" value=""' in payments  # offered, never pre-applied
    assert "Använd BAS-förslag" in payments and 'data-suggest="1910"' in payments
    assert '<option value="1910">1910 – Kassa</option>' in payments
    assert '<option value="1920">' not in payments  # inactive accounts are not offered
    # Empty parts are allowed until the end: NÄSTA with only card saves just card.
    assert web.post(f"{WIZARD}/betalningsmetoder", {"payment_method:card": "1580"}).status_code == 302
    assert dict(mapping_of(db, made.company).payment_methods) == {"card": 1580}
    saved = web.post(
        f"{WIZARD}/betalningsmetoder",
        {
            "payment_method:card": "1580 – Fordringar",
            "payment_method:cash": "1910",
            "payment_method:swish": "1930",
            "payment_method:gift_card": "2421",
        },
    )
    assert saved.headers["Location"].endswith("/momssatser")

    vat = web.get(f"{WIZARD}/momssatser").text
    assert "Moms 25 %" in vat and "Moms 12 %" in vat and "Moms 6 %" in vat
    web.post(f"{WIZARD}/momssatser", {"vat_rate:25": "2611", "vat_rate:12": "2621", "vat_rate:6": "2631"})

    groups = web.get(f"{WIZARD}/varugrupper").text
    for label in ("Mat, 12 % moms", "Dryck, 25 % moms", "Alkoholfritt, 12 % moms", "Avhämtning, 6 % moms"):
        assert label in groups
    web.post(
        f"{WIZARD}/varugrupper",
        {
            "sales:12:Mat": "3002",
            "sales:25:Dryck": "3001",
            "sales:12:Alkoholfritt": "3002",
            "sales:6:Avhämtning": "3003",
        },
    )

    # The preview refuses to activate while a part of the reports has no account, and links to it.
    early = web.post(f"{WIZARD}/forhandsgranskning")
    assert early.status_code == 400 and "Konto saknas för dricks" in early.text
    assert "step=ovriga" not in early.text and f"{WIZARD}/ovriga?field=other:tips" in unescape(early.text)

    other = web.get(f"{WIZARD}/ovriga").text
    assert "Dricks" in other and "Öresavrundning" in other and "Sålda presentkort" in other
    web.post(f"{WIZARD}/ovriga", {"other:tips": "2890", "other:rounding": "3740", "other:gift_cards_sold": "2421"})

    preview = web.get(f"{WIZARD}/forhandsgranskning").text
    assert "Verifikation för den senaste Z-rapporten" in preview and "Kostnadsställe" in preview
    assert "<td>1910</td>" in preview and "<td>2611</td>" in preview
    first, last = date.today() - timedelta(days=2), date.today() - timedelta(days=1)
    assert f"2 Z-rapporter {first} – {last} bokförs nu i serie F." in preview  # said before it is done
    assert ">Aktivera och exportera</button>" in preview
    done = web.post(f"{WIZARD}/forhandsgranskning")
    assert done.headers["Location"].endswith(f"{WIZARD}/klar")
    klar = web.get(f"{WIZARD}/klar").text
    assert "Fortnox-integrationen är aktiverad" in klar and ">OK</button>" in klar
    assert web.post(f"{WIZARD}/klar").headers["Location"].endswith("/foretag/integrationer/")

    integration = integration_of(db, made.company)
    assert integration.active and integration.connection.tenant_id == tenant
    states = sorted(job.state for job in jobs_of(db, made.company))
    assert states == [ExportState.PENDING, ExportState.PENDING, ExportState.SKIPPED]


def test_the_wizard_resumes_where_it_was_left_and_deep_links_highlight_the_field(db, site, connect, reports):
    made = connect(site(registers=("K1",)))
    reports(made, days=1)
    web = made.admin

    resumed = web.get(f"{WIZARD}/", allow_redirects=False)
    linked = web.get(f"{WIZARD}/?step=betalningsmetoder&field=payment_method:swish", allow_redirects=False)
    page = web.get(linked.headers["Location"]).text

    assert resumed.headers["Location"].endswith(f"{WIZARD}/startdatum")
    assert linked.headers["Location"].endswith(f"{WIZARD}/betalningsmetoder?field=payment_method:swish")
    row = re.search(
        r'<div class="account-row([^"]*)" data-field="payment_method:swish">(.*?)</div>\s*</div>', page, re.S
    )
    assert "highlight" in row.group(1) and "autofocus" in row.group(2)


def test_account_fields_refuse_unknown_and_inactive_accounts_and_bad_input(db, site, connect, reports):
    made = connect(site(registers=("K1",)))
    reports(made, days=1)
    web = made.admin

    unknown = web.post(f"{WIZARD}/betalningsmetoder", {"payment_method:cash": "1999"})
    inactive = web.post(f"{WIZARD}/betalningsmetoder", {"payment_method:cash": "1920"})
    garbage = web.post(f"{WIZARD}/betalningsmetoder", {"payment_method:cash": "kassa"})

    assert unknown.status_code == 400 and "Konto 1999 finns inte i Fortnox" in unknown.text
    assert inactive.status_code == 400 and "Konto 1920 är inaktivt i Fortnox" in inactive.text
    assert garbage.status_code == 400 and "Ange ett kontonummer med fyra siffror" in garbage.text
    assert mapping_of(db, made.company) is None


def test_lagg_till_konto_creates_the_account_in_fortnox(db, site, connect, emulator):
    made = connect(site(registers=("K1",)))
    web = made.admin

    created = web.post(
        f"{WIZARD}/konto", {"number": "1689", "description": "Swish-fordran"}, headers={"Accept": "application/json"}
    )
    again = web.post(
        f"{WIZARD}/konto", {"number": "1689", "description": "Igen"}, headers={"Accept": "application/json"}
    )
    bad = web.post(f"{WIZARD}/konto", {"number": "99", "description": "x"}, headers={"Accept": "application/json"})
    page = web.get(f"{WIZARD}/betalningsmetoder").text

    assert created.status_code == 201 and created.json()["number"] == 1689
    assert again.status_code == 409 and "finns redan" in again.json()["errors"][0]
    assert bad.status_code == 400 and "fyra siffror" in bad.json()["errors"][0]
    assert '<option value="1689">1689 – Swish-fordran</option>' in page


def test_the_series_step_offers_f_kassa_when_fortnox_has_no_f_series(db, site, connect, emulator):
    made = connect(site(registers=("K1",)))
    emulator.control.delete_series(made.tenant_id, "F")
    web = made.admin

    before = web.get(f"{WIZARD}/serie").text
    created = web.post(f"{WIZARD}/serie/ny")
    after = web.get(f"{WIZARD}/serie").text

    assert "Skapa verifikationsserie F – Kassa" in before and 'value="F"' not in before
    assert created.status_code == 302
    assert 'value="F"' in after and "Skapa verifikationsserie F" not in after


def test_inaktivera_revokes_the_authorisation_and_keeps_the_history(db, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=2)

    refused = made.manager.post("/foretag/integrationer/fortnox/inaktivera")
    done = made.admin.post("/foretag/integrationer/fortnox/inaktivera")
    card = made.admin.get("/foretag/integrationer/").text

    assert refused.status_code == 403
    assert done.status_code == 302 and "Integrationen med Fortnox är inaktiverad" in card
    assert ">Aktivera</a>" in card and 'data-status="off"' in card
    integration = integration_of(db, made.company)
    assert not integration.active and integration.connection is None
    assert db.get(FortnoxConnection, made.connection_id).status == ConnectionStatus.REVOKED
    assert len(jobs_of(db, made.company)) == 2


@pytest.mark.parametrize(
    "path",
    [
        f"{WIZARD}/startdatum",
        f"{WIZARD}/betalningsmetoder",
        f"{WIZARD}/konto",
        "/foretag/integrationer/fortnox/inaktivera",
    ],
)
def test_posts_without_a_csrf_token_are_refused(site, connect, path):
    made = connect(site(registers=("K1",)))

    response = made.admin.post(path, {"start_date": "2026-01-01"}, csrf=False)

    assert response.status_code == 400


def test_steps_after_access_need_a_connection_and_unknown_steps_are_404(site):
    made = site()

    needs = made.admin.get(f"{WIZARD}/serie", allow_redirects=False)
    unknown = made.admin.get(f"{WIZARD}/nagot", allow_redirects=False)

    assert needs.status_code == 302 and needs.headers["Location"].endswith(f"{WIZARD}/behorighet")
    assert unknown.status_code == 404


def test_an_account_step_lists_a_payment_method_as_soon_as_a_report_brings_it(db, site, connect, reports, pos):
    made = connect(site(registers=("K1",)))
    reports(made, days=1)
    before = made.admin.get(f"{WIZARD}/betalningsmetoder").text
    document = zreport_document("K1", "Kassa 1", 9000, date.today())
    document["payments"][0]["amount"] = f"{Decimal(document['payments'][0]['amount']) - 50:.2f}"
    document["payments"].append({"method": "lunch_card", "amount": "50.00"})

    assert pos.post(made.tokens["K1"], document).status_code == 201
    after = made.admin.get(f"{WIZARD}/betalningsmetoder").text

    assert 'name="payment_method:lunch_card"' not in before
    assert 'name="payment_method:lunch_card"' in after and 'name="payment_method:swish"' in after


def test_what_only_reports_before_the_start_date_hold_needs_no_account(db, site, connect, pos):
    made = connect(site(registers=("K1",)), mapping={**DEMO_MAPPING, "start_date": date.today().isoformat()})
    old = zreport_document("K1", "Kassa 1", 8000, date.today() - timedelta(days=10))
    old["payments"][0]["amount"] = f"{Decimal(old['payments'][0]['amount']) - 50:.2f}"
    old["payments"].append({"method": "lunch_card", "amount": "50.00"})
    assert pos.post(made.tokens["K1"], old).status_code == 201
    assert pos.post(made.tokens["K1"], zreport_document("K1", "Kassa 1", 8010, date.today())).status_code == 201

    page = made.admin.get(f"{WIZARD}/betalningsmetoder").text
    preview = made.admin.get(f"{WIZARD}/forhandsgranskning").text

    assert 'name="payment_method:lunch_card"' not in page and "från startdatumet" in page
    assert "lunch_card" not in preview and "Konto saknas" not in preview
