"""What the screens say is so (issue 15, "Never show what isn't so"), over HTTP against the emulator:
one cause one banner, never an empty name, "Åtgärdat" only when it is, and a deactivation that
closes problems as such; a manager told whom to ask; the fixes of a missing permission and a missing
financial year walked to the exported voucher."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from backoffice.companies.models import Company
from backoffice.export.problems import heal_connection, sync_problems
from backoffice.export.reasons import Reason
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration
from tests.fixtures import DEMO_MAPPING, auto_approve, banners, export_pending, fresh, jobs_of, open_problem


def test_a_series_deleted_in_fortnox_gives_one_banner_that_names_it(db, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=1)
    assert export_pending(db, made.company) == ["exported"]  # the snapshot now says F exists
    emulator.control.delete_series(made.tenant_id, "F")
    reports(made, days=1, start=date.today())

    assert export_pending(db, made.company) == ["blocked"]  # Fortnox: "Ogiltig verifikationsserie angiven"
    [banner] = banners(made.admin.get("/").text)
    assert 'Verifikationsserien "F" finns inte i Fortnox' in banner
    assert '""' not in banner


def test_one_invalidated_connection_is_one_banner(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    connection = db.get(FortnoxConnection, made.connection_id)
    connection.forget_tokens(ConnectionStatus.NEEDS_REAUTH)
    db.commit()
    open_problem(db, made.company, Reason.CONNECTION_INVALIDATED, str(made.tenant_id))
    reports(made, days=1)
    [job] = jobs_of(db, made.company)
    from backoffice.export.preflight import Blocker
    from backoffice.export.states import transition

    transition(job, "blocked", blockers=[Blocker(Reason.CONNECTION_INVALIDATED, str(made.tenant_id))])
    db.commit()
    sync_problems(db, made.company)

    shown = banners(made.admin.get("/").text)
    assert len(shown) == 1 and "Kopplingen har invaliderats" in shown[0]
    assert "autentiseringen har upphört" not in made.admin.get("/").text


def test_a_locked_period_moved_but_still_covering_the_report_stays_open_and_closes_only_when_unlocked(
    db, site, connect, reports, emulator
):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    yesterday = date.today() - timedelta(days=1)
    emulator.control.set_locked_period(made.tenant_id, yesterday)
    reports(made, days=1)
    assert export_pending(db, made.company) == ["blocked"]
    connection = db.get(FortnoxConnection, made.connection_id)

    emulator.control.set_locked_period(made.tenant_id, date.today())  # still locked for the report's day
    heal_connection(db, connection, client_for(connection))
    moved = made.admin.get("/foretag/notifikationer/").text
    emulator.control.set_locked_period(made.tenant_id, None)
    heal_connection(db, connection, client_for(connection))
    unlocked = made.admin.get("/foretag/notifikationer/").text

    assert "Åtgärdat" not in moved and "Kräver åtgärd" in moved and f"t.o.m. {date.today()}" in moved
    assert "Åtgärdat" in unlocked
    assert export_pending(db, made.company) == ["exported"]


def test_deactivating_closes_problems_as_avslutad_not_fixed_and_its_reports_are_not_exported(
    db, site, connect, reports, test_sessionmaker
):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    problem = open_problem(db, made.company, Reason.NO_FINANCIAL_YEAR, "2031", {"date": "2031-01-02"})

    made.admin.post("/foretag/integrationer/fortnox/inaktivera")
    listing = made.admin.get("/foretag/notifikationer/").text
    one = made.admin.get(f"/foretag/notifikationer/{problem.id}").text
    with test_sessionmaker() as health_check:  # its own session, as the worker's hourly check has
        sync_problems(health_check, health_check.get(Company, made.company.id))  # opens nothing now
    again = made.admin.get("/foretag/notifikationer/").text

    assert "Avslutad (integrationen inaktiverad)" in listing and "Åtgärdat" not in listing
    assert "Avslutad (integrationen inaktiverad)" in one and "Åtgärdat" not in one
    assert "Kräver åtgärd" not in again


def test_a_manager_is_told_to_ask_the_admin_by_name_where_only_an_admin_has_the_button(db, site, connect):
    made = connect(site(), active=True, mapping=DEMO_MAPPING)
    problem = open_problem(db, made.company, Reason.SERIES_MISSING, "F", {"series": "F"})

    manager = made.manager.get("/").text
    admin = made.admin.get("/").text
    help_page = made.manager.get(f"/foretag/notifikationer/{problem.id}").text

    asked = f"Det här åtgärdar en administratör: be {made.admin.user.email} att göra det."
    assert asked in banners(manager)[0] and "Åtgärda detta" not in banners(manager)[0]
    assert asked not in admin
    assert asked in help_page and "Tryck på Åtgärda detta" not in help_page
    assert "Manuell kontering" not in help_page  # that is the non-manual series' fix, not the missing one's


def test_a_refused_permission_is_a_banner_and_the_fix_exports_the_report(db, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=1)
    emulator.control.set_permission(made.tenant_id, "vouchers", False)

    assert export_pending(db, made.company) == ["blocked"]
    [banner] = banners(made.admin.get("/").text)
    emulator.control.set_permission(made.tenant_id, "vouchers", True)
    connection = db.get(FortnoxConnection, made.connection_id)
    heal_connection(db, connection, client_for(connection))  # what the worker does every 30 s

    assert "Access denied" in banner and "Saknar rättighet för att skapa verifikationer" in banner
    assert export_pending(db, made.company) == ["exported"]
    fresh(db)
    assert banners(made.admin.get("/").text) == []


def test_a_missing_financial_year_has_its_own_help_and_kontrollera_igen_exports_once_it_is_created(
    db, site, connect, reports, emulator
):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    emulator.control.delete_financial_year(made.tenant_id, 2)  # this year's books are not there yet
    reports(made, days=1)

    assert export_pending(db, made.company) == ["blocked"]
    [banner] = banners(made.admin.get("/").text)
    problem_id = re.search(r'data-problem="(\d+)"', banner).group(1)
    help_page = made.admin.get(f"/foretag/notifikationer/{problem_id}").text
    year = date.today().year
    emulator.control.create_financial_year(made.tenant_id, date(year, 1, 1), date(year, 12, 31))
    checked = made.admin.post("/foretag/integrationer/fortnox/kontrollera?next=/zrapporter/")
    page = made.admin.get("/zrapporter/").text

    assert "Räkenskapsår saknas i Fortnox för" in banner
    assert "lägg upp det nya räkenskapsåret" in help_page and "lås upp" not in help_page.lower()
    assert checked.status_code == 302
    assert "1 Z-rapport exporteras nu" in page and "kvarstår" not in page
    assert export_pending(db, made.company) == ["exported"]


def test_reports_of_a_deactivated_integration_say_they_are_not_exported(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    [record] = reports(made, days=1)

    before = made.admin.get("/zrapporter/").text
    made.admin.post("/foretag/integrationer/fortnox/inaktivera")
    listing = made.admin.get("/zrapporter/").text
    one = made.admin.get(f"/zrapporter/{record.id}").text

    def tags(page):
        return re.findall(r'<span class="tag [^"]*">([^<]+)</span>', page)

    assert "Väntar på export" in tags(before)
    assert tags(listing) == ["Exporteras inte (integrationen är inaktiverad)"]
    assert "Exporteras inte (integrationen är inaktiverad)" in tags(one)


def test_a_cost_centre_created_in_fortnox_a_moment_ago_is_there_on_the_page_and_its_banner_goes(
    db, site, connect, reports
):
    made = connect(site(registers=("K1",)), active=True, mapping={**DEMO_MAPPING, "cost_centres": {"K1": "RK1"}})
    reports(made, days=1)
    assert export_pending(db, made.company) == ["blocked"]
    assert "RK1" in banners(made.admin.get("/").text)[0]
    connection = db.get(FortnoxConnection, made.connection_id)
    client = client_for(connection)
    db.commit()
    client.create_cost_center("RK1", "Restaurangen")

    page = made.admin.get("/ekonomi/redovisning/").text

    assert "Saknas i Fortnox" not in page and "Kontrollerat mot Fortnox" in page and "(just nu)" in page
    assert banners(page) == []
    assert export_pending(db, made.company) == ["exported"]


def test_visa_inaktiva_konton_reads_fortnox_afresh_and_says_when(db, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=1)
    emulator.control.set_account_active(made.tenant_id, 1910, False)
    assert export_pending(db, made.company) == ["blocked"]
    first = made.admin.get("/foretag/integrationer/fortnox/inaktiva-konton").text
    emulator.control.set_account_active(made.tenant_id, 1910, True)
    emulator.control.set_account_active(made.tenant_id, 1580, False)  # a minute-old cache would miss both

    again = made.admin.get("/foretag/integrationer/fortnox/inaktiva-konton").text

    assert re.search(r'<tr data-account="1910">.*?Inaktivt', first, re.S)
    assert re.search(r'<tr data-account="1910">.*?Aktivt igen', again, re.S)
    assert re.search(r'<tr data-account="1580">.*?Inaktivt', again, re.S)
    assert "Läst från Fortnox" in again and "(just nu)" in again


def _consent(emulator, web, tenant_id: int):
    """Log in to Fortnox (auto-approved for the tenant) from the wizard's access step; the answer."""
    with auto_approve(emulator.control, True, tenant_id=tenant_id):
        return web.http.get(f"{web.url}/integrations/fortnox/connect",
                            params={"next": "/foretag/integrationer/fortnox/installningar/behorighet"}, timeout=30)


def test_connecting_to_a_fortnox_company_another_restaurant_uses_warns_first_and_avbryt_keeps_it_unlinked(
    db, site, connect, emulator
):
    first = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    second = site(registers=("K1",))

    asked = _consent(emulator, second.admin, first.tenant_id)
    cancelled = second.admin.post("/integrations/fortnox/bekrafta", {"decision": "cancel"})
    fresh(db)
    unlinked = db.scalar(select_integration(second.company))

    assert asked.url.endswith("/integrations/fortnox/bekrafta")
    assert f"används redan av {first.company.name} i BackOffice" in asked.text
    assert cancelled.status_code == 302
    assert unlinked is None or unlinked.connection_id is None
    assert db.get(FortnoxConnection, first.connection_id).status == ConnectionStatus.ACTIVE  # the first goes on


def test_a_fortnox_company_with_another_organisation_number_warns_and_koppla_andå_connects(db, site, emulator):
    made = site(registers=("K1",))
    tenant = emulator.control.create_tenant("Fel AB", "559999-0001")

    asked = _consent(emulator, made.admin, tenant)
    chosen = made.admin.post("/integrations/fortnox/bekrafta", {"decision": "connect"})
    fresh(db)
    linked = db.scalar(select_integration(made.company))

    assert "har organisationsnummer 559999-0001, men" in asked.text and "556677-8899" in asked.text
    assert chosen.headers["Location"].endswith("/installningar/behorighet")
    assert linked.connection is not None and linked.connection.tenant_id == tenant


def select_integration(company):
    return select(FortnoxIntegration).where(FortnoxIntegration.company_id == company.id)


def test_the_series_step_never_lists_a_series_deleted_a_moment_ago_and_says_when_it_read(db, site, connect, emulator):
    made = connect(site(registers=("K1",)), mapping=DEMO_MAPPING)
    wizard = "/foretag/integrationer/fortnox/installningar"
    first = made.admin.get(f"{wizard}/serie").text
    emulator.control.delete_series(made.tenant_id, "A")

    again = made.admin.get(f"{wizard}/serie").text

    assert 'value="A"' in first
    assert 'value="A"' not in again and "Läst från Fortnox" in again and "(just nu)" in again


def test_a_fix_link_to_an_account_field_tags_an_account_made_inactive_a_moment_ago(db, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), mapping=DEMO_MAPPING)
    reports(made, days=1)
    wizard = "/foretag/integrationer/fortnox/installningar"
    made.admin.get(f"{wizard}/betalningsmetoder")  # the chart is read and kept for a minute
    emulator.control.set_account_active(made.tenant_id, 1910, False)

    linked = made.admin.get(f"{wizard}/betalningsmetoder?field=payment_method:cash").text

    assert "Konto 1910 är inaktivt i Fortnox" in linked


def test_an_account_the_banner_calls_inactive_in_last_years_chart_is_tagged_in_the_wizard_too(db, site, connect):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    open_problem(db, made.company, Reason.ACCOUNT_INACTIVE, "1910 2025", {"account": 1910, "financial_year": "2025"})

    page = made.admin.get("/foretag/integrationer/fortnox/installningar/betalningsmetoder").text

    assert "Konto 1910 är inaktivt i Fortnox för räkenskapsåret 2025." in page
