"""Export problems over HTTP: a banner per problem in OPEN Two's words, with the buttons that lead to
its fix; notifications (Visa); the status light; Manuell export and its progress; Kontrollera igen."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest

from backoffice.db import now_utc
from backoffice.export.models import ExportState
from backoffice.export.reasons import Reason
from backoffice.export.states import transition
from tests.fixtures import DEMO_MAPPING, banners, export_pending, jobs_of, open_problem

FORTNOX = (
    '<a class="button" href="https://apps.fortnox.se" target="_blank" rel="noopener noreferrer">Gå till Fortnox</a>'
)


# Each kind of problem: its detail, the exact sentence (OPEN Two's where the seeds have one) and buttons.
CASES = [
    (
        Reason.MAPPING_INCOMPLETE,
        {"missing": [{"kind": "payment_method", "key": "swish", "vat_rate": None}]},
        "Bokföringen kunde inte exporteras till Fortnox eftersom ett konto saknades. "
        "Uppdatera inställningarna för din Fortnox-integration för att åtgärda detta. "
        'Konto saknas för betalningsmetod "swish".',
        [
            'href="/foretag/integrationer/fortnox/installningar/?step=betalningsmetoder&field=payment_method:swish">'
            "Åtgärda detta"
        ],
    ),
    (
        Reason.ACCOUNT_INACTIVE,
        {"account": 1910},
        "Bokföringen kunde inte exporteras eftersom konto 1910 är inaktivt i Fortnox. "
        "Aktivera kontot i Fortnox eller välj ett annat konto i inställningarna.",
        ['href="/foretag/integrationer/fortnox/inaktiva-konton">Visa inaktiva konton<', FORTNOX, ">Kontrollera igen<"],
    ),
    (
        Reason.AUTH_EXPIRED,
        {},
        "Din Fortnox-autentisering har upphört att gälla. Logga in på Fortnox för att uppdatera autentiseringen.",
        [
            'href="/integrations/fortnox/connect?next=/foretag/integrationer/fortnox/installningar/behorighet">'
            "Åtgärda detta"
        ],
    ),
    (
        Reason.COST_CENTER_MISSING,
        {"cost_center": "RK1"},
        'Du behöver logga in i Fortnox och lägga till kostnadsstället "Kassa 1" med koden "RK1" '
        "för att bokföringen ska exporteras korrekt.",
        [FORTNOX, 'href="/ekonomi/redovisning/#kostnadsstallen">Åtgärda detta', ">Kontrollera igen<"],
    ),
    (
        Reason.SERIES_NOT_MANUAL,
        {"series": "F"},
        "Fortnox error 2001940: Verifikationsserien är inte manuell (F). "
        "Tillåt manuella verifikationer i serie F i Fortnox eller välj en annan serie i inställningarna.",
        [FORTNOX, "installningar/?step=serie", ">Kontrollera igen<"],
    ),
    (Reason.SERIES_MISSING, {"series": "F"}, 'Verifikationsserien "F" finns inte i Fortnox. Lägg upp serien i '
     "Fortnox eller välj en annan serie i inställningarna.", [FORTNOX]),
    (
        Reason.ACCOUNT_MISSING,
        {"account": 1930},
        'Bokföringen kunde inte exporteras eftersom konto "1930" saknas i Fortnox.',
        ["field=payment_method:swish", FORTNOX],
    ),
    (
        Reason.COST_CENTER_INACTIVE,
        {"cost_center": "RK1"},
        'Kostnadsstället med koden "RK1" är inaktivt i Fortnox.',
        [FORTNOX],
    ),
    (Reason.NO_FINANCIAL_YEAR, {"date": "2031-01-02"}, "Räkenskapsår saknas i Fortnox för 2031-01-02.", [FORTNOX]),
    (Reason.PERIOD_LOCKED, {"locked_through": "2026-01-31"}, "Fortnox har låst perioden t.o.m. 2026-01-31.", [FORTNOX]),
    (Reason.CONNECTION_INVALIDATED, {}, "Kopplingen har invaliderats av Fortnox.", ["Åtgärda detta", FORTNOX]),
    (Reason.ACCESS_DENIED, {"fortnox_message": "Saknar rättighet för kostnadsställen"},
     "Access denied: användaren som kopplade integrationen har inte längre behörighet i Fortnox "
     "(Fortnox: ”Saknar rättighet för kostnadsställen”). Ge användaren behörigheten i Fortnox och logga in på Fortnox igen.",
     ["Åtgärda detta", FORTNOX]),
    (
        Reason.VOUCHER_DIFFERS,
        {"found_series": "A", "found_number": 7, "sent_series": "F", "sent_date": "2026-11-20",
         "sent_description": "Z-rapport 1001 Kassa 1 (K1) 2026-11-20", "differences": ["series", "rows"]},
        "Fortnox har redan verifikation A 7 med vårt export-id för den här Z-rapporten, men den har en annan "
        "verifikationsserie och andra rader än verifikationen vi skickade (serie F, 2026-11-20, "
        "”Z-rapport 1001 Kassa 1 (K1) 2026-11-20”). Vi skickar den inte igen",
        [FORTNOX],
    ),
    (Reason.NOT_CONNECTED, {}, "BackOffice är inte kopplat till Fortnox.", ["/integrations/fortnox/connect?next="]),
    (
        Reason.VOUCHER_INVALID,
        {"fortnox_message": "Obalanserad verifikation"},
        "Fortnox godtog inte verifikationen: Obalanserad verifikation",
        ["/zrapporter/?status=blocked"],
    ),
    (
        Reason.EXPORT_FAILED,
        {},
        "Bokföringen kunde inte exporteras till Fortnox efter flera försök.",
        ["/zrapporter/?status=failed"],
    ),
    (
        Reason.MAPPING_MISSING,
        {},
        "Bokföringen kunde inte exporteras till Fortnox eftersom ingen kontoplan är vald.",
        ["Åtgärda detta"],
    ),
]


@pytest.mark.parametrize(("kind", "detail", "sentence", "buttons"), CASES, ids=[str(case[0]) for case in CASES])
def test_each_problem_shows_a_banner_with_its_fix_and_it_goes_when_the_problem_closes(
    db, site, connect, kind, detail, sentence, buttons
):
    made = connect(site(), active=True, mapping={**DEMO_MAPPING, "cost_centres": {"K1": "RK1"}})
    problem = open_problem(db, made.company, kind, str(detail.get("account") or detail.get("series") or ""), detail)

    shown = made.admin.get("/zrapporter/").text
    problem.closed_at = now_utc()
    db.commit()
    gone = made.admin.get("/zrapporter/").text

    [banner] = banners(shown)
    assert sentence in banner
    assert f'href="/foretag/notifikationer/{problem.id}">Visa</a>' in banner
    for button in buttons:
        assert button in banner
    assert banners(gone) == []


def test_managers_see_the_banner_without_the_admins_settings_buttons(db, site, connect):
    made = connect(site(), active=True, mapping=DEMO_MAPPING)
    open_problem(db, made.company, Reason.MAPPING_INCOMPLETE, "", {"missing": [{"kind": "tips"}]})
    open_problem(db, made.company, Reason.ACCOUNT_INACTIVE, "1910", {"account": 1910})

    admin = banners(made.admin.get("/").text)
    manager = banners(made.manager.get("/").text)

    assert "Åtgärda detta" in admin[0] and "Åtgärda detta" not in manager[0]
    assert "ett konto saknades" in manager[0] and ">Visa<" in manager[0]
    assert "Visa inaktiva konton" in manager[1] and "Gå till Fortnox" in manager[1]


def test_banners_are_only_for_the_own_company_and_only_while_the_integration_is_active(db, site, connect):
    mine = connect(site(), active=True, mapping=DEMO_MAPPING)
    theirs = connect(site(), active=True, mapping=DEMO_MAPPING)
    paused = connect(site(), active=False, mapping=DEMO_MAPPING)
    open_problem(db, theirs.company, Reason.AUTH_EXPIRED)
    open_problem(db, paused.company, Reason.AUTH_EXPIRED)

    assert banners(mine.admin.get("/").text) == []
    assert banners(paused.admin.get("/").text) == []
    assert len(banners(theirs.admin.get("/").text)) == 1


def test_a_missing_account_blocks_the_export_and_the_wizard_fix_exports_it(db, site, connect, reports):
    mapping = {
        **DEMO_MAPPING,
        "payment_methods": {k: v for k, v in DEMO_MAPPING["payment_methods"].items() if k != "swish"},
    }
    made = connect(site(registers=("K1",)), active=True, mapping=mapping)
    reports(made, days=1)

    assert export_pending(db, made.company) == ["blocked"]
    [banner] = banners(made.admin.get("/").text)
    fix = re.search(r'href="([^"]+)">Åtgärda detta', banner).group(1)
    step = made.admin.get(fix, allow_redirects=False).headers["Location"]
    page = made.admin.get(step).text
    saved = made.admin.post(
        "/foretag/integrationer/fortnox/installningar/betalningsmetoder",
        {
            "payment_method:card": "1580",
            "payment_method:cash": "1910",
            "payment_method:swish": "1930",
            "payment_method:gift_card": "2421",
        },
    )

    assert step.endswith("/betalningsmetoder?field=payment_method:swish")
    assert re.search(r'class="account-row highlight" data-field="payment_method:swish"', page)
    assert saved.status_code == 302
    assert [job.state for job in jobs_of(db, made.company)] == [ExportState.PENDING]
    assert export_pending(db, made.company) == ["exported"]
    assert banners(made.admin.get("/").text) == []


def test_an_inactive_account_is_listed_where_it_is_used_and_kontrollera_igen_exports_after_the_fix(
    db, site, connect, reports, emulator
):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=1)
    emulator.control.set_account_active(made.tenant_id, 1910, False)

    assert export_pending(db, made.company) == ["blocked"]
    [banner] = banners(made.admin.get("/").text)
    listing = made.admin.get(re.search(r'href="([^"]+)">Visa inaktiva konton', banner).group(1)).text
    row = re.search(r'<tr data-account="1910">(.*?)</tr>', listing, re.S).group(1)
    field = unescape(re.search(r'href="([^"]+)">Kontant \(cash\)</a>', row).group(1))
    wizard = made.admin.get(made.admin.get(field, allow_redirects=False).headers["Location"]).text
    emulator.control.set_account_active(made.tenant_id, 1910, True)
    checked = made.admin.post("/foretag/integrationer/fortnox/kontrollera?next=/zrapporter/")
    again = made.admin.get("/foretag/integrationer/fortnox/inaktiva-konton").text

    assert "Kassa" in row and "Inaktivt" in row
    assert field.endswith("?step=betalningsmetoder&field=payment_method:cash")
    assert re.search(
        r'class="account-row highlight[^"]*" data-field="payment_method:cash">.*?Inaktivt i Fortnox', wizard, re.S
    )
    assert '<tr data-account="1910">' not in again  # read again from Fortnox after Kontrollera igen
    assert checked.status_code == 302 and checked.headers["Location"] == "/zrapporter/"
    assert export_pending(db, made.company) == ["exported"]
    assert banners(made.admin.get("/").text) == []
    assert "Inga inaktiva konton hittades" in again


def test_notifications_list_and_visa_open_one_with_its_reports(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    records = reports(made, days=2)
    for job in jobs_of(db, made.company):
        transition(job, ExportState.FAILED, reason=Reason.EXPORT_FAILED, detail={"error": "timeout"})
    db.commit()
    problem = open_problem(db, made.company, Reason.EXPORT_FAILED)
    closed = open_problem(db, made.company, Reason.AUTH_EXPIRED)
    closed.closed_at = now_utc()
    db.commit()

    listing = made.manager.get("/foretag/notifikationer/").text
    page = made.manager.get(f"/foretag/notifikationer/{problem.id}").text

    assert "efter flera försök" in listing and "Kräver åtgärd" in listing and "Åtgärdat" in listing
    assert f'/foretag/notifikationer/{problem.id}">Visa</a>' in listing
    assert "Varför inträffar felet?" in page and "Hur åtgärdar jag felet?" in page
    assert "2 Z-rapporter väntar" in page
    for record in records:
        assert f'href="/zrapporter/{record.id}"' in page


def test_another_companys_notification_is_404(db, site, connect):
    mine, theirs = site(), connect(site(), active=True, mapping=DEMO_MAPPING)
    problem = open_problem(db, theirs.company, Reason.AUTH_EXPIRED)

    assert mine.admin.get(f"/foretag/notifikationer/{problem.id}").status_code == 404
    assert "autentisering" not in mine.admin.get("/foretag/notifikationer/").text


def test_the_status_light_is_green_while_the_backlog_goes_and_when_exported_and_red_when_stuck(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=2)

    waiting = made.admin.get("/foretag/integrationer/").text
    export_pending(db, made.company)
    exported = made.admin.get("/foretag/integrationer/").text
    reports(made, days=1, start=date.today())
    [job] = [job for job in jobs_of(db, made.company) if job.state == ExportState.PENDING]
    transition(job, ExportState.FAILED, reason=Reason.EXPORT_FAILED, detail={})
    db.commit()
    failed = made.admin.get("/foretag/integrationer/").text

    # The first backlog is on its way, not delayed.
    assert 'data-status="green"' in waiting and "2 Z-rapporter exporteras nu till Fortnox." in waiting
    assert "Fördröjningar" not in waiting
    assert 'data-status="green"' in exported and "Allt fungerar normalt" in exported
    assert "Senaste export" in exported and "Ingen ännu" not in exported
    assert 'data-status="red"' in failed and "1 Z-rapport väntar på åtgärd — " in failed


def test_manuell_export_starts_a_run_whose_progress_the_bar_polls(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=2)
    json_headers = {"Accept": "application/json"}

    refused = made.manager.post("/foretag/integrationer/fortnox/manuell-export", csrf=False, headers=json_headers)
    started = made.manager.post("/foretag/integrationer/fortnox/manuell-export", headers=json_headers)
    progress_url = started.json()["progress_url"]
    before = made.manager.get(progress_url).json()
    export_pending(db, made.company)
    after = made.manager.get(progress_url).json()

    assert refused.status_code == 400
    assert started.status_code == 202 and started.json()["total"] == 2
    assert before["total"] == 2 and before["pending"] == 2 and before["done"] is False and before["percent"] == 0
    assert after["exported"] == 2 and after["done"] is True and after["percent"] == 100
    assert after["text"].startswith("Exporterade: 2")


def test_manuell_export_without_javascript_redirects_to_the_card_with_the_run(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=1)

    started = made.admin.post("/foretag/integrationer/fortnox/manuell-export")
    card = made.admin.get(started.headers["Location"]).text

    assert started.status_code == 302 and "?run=" in started.headers["Location"]
    assert "data-run=" in card and "Manuell export har startats" in card


def test_manuell_export_needs_an_active_integration_and_runs_are_per_company(db, site, connect, reports):
    inactive = site(registers=("K1",))
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=1)
    run = made.admin.post(
        "/foretag/integrationer/fortnox/manuell-export", headers={"Accept": "application/json"}
    ).json()

    refused = inactive.admin.post(
        "/foretag/integrationer/fortnox/manuell-export", headers={"Accept": "application/json"}
    )
    other = inactive.admin.get(run["progress_url"])

    assert refused.status_code == 409 and "inte aktiverad" in refused.json()["error"]
    assert other.status_code == 404


def test_kontrollera_igen_needs_csrf_and_says_when_nothing_is_wrong(db, site, connect):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)

    refused = made.manager.post("/foretag/integrationer/fortnox/kontrollera", csrf=False)
    checked = made.manager.post("/foretag/integrationer/fortnox/kontrollera")
    page = made.manager.get(checked.headers["Location"]).text
    offsite = made.manager.post("/foretag/integrationer/fortnox/kontrollera?next=//evil.example/")

    assert refused.status_code == 400
    assert "Fortnox är kontrollerat igen. Inga problem hittades i Fortnox." in page
    assert offsite.headers["Location"] == "/foretag/integrationer/"


def test_every_page_renders_in_swedish_for_a_company_with_nothing_set_up(db, site):
    made = site()
    for path in ("/", "/zrapporter/", "/ekonomi/redovisning/", "/foretag/integrationer/", "/foretag/notifikationer/"):
        page = made.manager.get(path)
        assert page.status_code == 200 and '<html lang="sv">' in page.text, path
