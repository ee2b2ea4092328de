"""Many restaurants over HTTP: a user with a role in several companies switches between them in the
header (never to a company they have no role in), sees Alla restauranger with one row per company,
sorted and filtered, and starts Manuell export for the selected rows."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

from sqlalchemy import select

from backoffice.companies.models import Membership, Role
from backoffice.export.models import ExportState, ManualExportRun
from backoffice.integrations.fortnox.models import ConnectionKind, FortnoxConnection
from tests.conftest import PASSWORD
from tests.fixtures import DEMO_MAPPING, Web, fresh, jobs_of, login, open_problem


def owner_of(db, live_server, make_user, *companies_and_roles) -> Web:
    """A user with a role in each given company, logged in; the first company is where they start."""
    (first, first_role), *others = companies_and_roles
    user = make_user(first, role=first_role)
    for company, role in others:
        user.memberships.append(Membership(company=company, role=role))
    db.commit()
    web = Web(live_server.url, user)
    assert login(web.http, live_server.url, user.email, PASSWORD).status_code == 302
    return web


def heading(page: str) -> str:
    return unescape(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)).strip()


def rows(page: str) -> list[str]:
    """The restaurant names of Alla restauranger, top to bottom."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [unescape(name).strip() for name in re.findall(r'<tr data-company="\d+">\s*<td>.*?</td>\s*<td>([^<]*)', body, re.S)]


def test_a_user_of_two_companies_switches_in_the_header_with_the_role_of_each_and_never_to_a_third(
    db, live_server, site, make_user
):
    a, b, c = site(registers=("K1",)), site(registers=("K1",)), site(registers=("K1",))
    owner = owner_of(db, live_server, make_user, (a.company, Role.ADMIN), (b.company, Role.MANAGER))

    start = owner.get("/")
    switch = start.text.split('class="company-switch"', 1)[1].split("</form>", 1)[0]
    assert heading(start.text) == a.company.name
    assert a.company.name in switch and b.company.name in switch and c.company.name not in switch
    assert "Alla restauranger" in switch
    assert owner.get("/foretag/anvandare/").status_code == 200  # an admin of A

    moved = owner.post("/foretag/byt", {"company_id": b.company.id})
    assert moved.status_code == 302 and moved.headers["Location"].endswith("/")
    assert heading(owner.get("/").text) == b.company.name
    assert owner.get("/foretag/anvandare/").status_code == 403  # a manager of B

    # A company without a role in it: 404, and the browser stays where it was.
    assert owner.post("/foretag/byt", {"company_id": c.company.id}).status_code == 404
    assert owner.post("/foretag/byt", {"company_id": "x"}).status_code == 404
    assert heading(owner.get("/").text) == b.company.name

    # A user of one company sees its name and no switch.
    single = a.manager.get("/").text
    assert '<span class="company-switch">' in single and "Alla restauranger" not in single


def test_alla_restauranger_lists_each_company_and_sorts_and_filters_them(db, live_server, site, connect, reports, make_user):
    a = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    b = site(registers=("K1",))
    stranger = site(registers=("K1",))
    reports(a, days=3)
    jobs = jobs_of(db, a.company)
    for job in jobs[:2]:
        job.state = ExportState.EXPORTED
    connection = db.get(FortnoxConnection, a.connection_id)
    connection.kind = ConnectionKind.SERVICE
    db.commit()
    open_problem(db, a.company, "account_inactive", "3001")
    open_problem(db, a.company, "series_missing", "F")
    owner = owner_of(db, live_server, make_user, (a.company, Role.ADMIN), (b.company, Role.ADMIN))

    page = owner.get("/restauranger/")
    assert page.status_code == 200
    assert sorted(rows(page.text)) == sorted([a.company.name, b.company.name])
    assert stranger.company.name not in page.text
    row_a = re.search(rf'<tr data-company="{a.company.id}">.*?</tr>', page.text, re.S).group(0)
    cells = [unescape(re.sub(r"<[^>]+>", "", cell)).split() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row_a, re.S)]
    assert cells[2] == a.company.name.split()  # the Fortnox company
    assert cells[3] == [(date.today() - timedelta(days=2)).isoformat()]  # the later of the two exported days
    assert cells[4] == ["2"]  # open problems
    assert cells[6][:3] == ["Tjänstekonto,", "0", "dagar"]
    row_b = re.search(rf'<tr data-company="{b.company.id}">.*?</tr>', page.text, re.S).group(0)
    assert "Inte kopplad" in row_b and "Ingen ännu" in row_b

    most_problems_first = owner.get("/restauranger/?sortera=problem&ordning=fallande").text
    assert rows(most_problems_first) == [a.company.name, b.company.name]
    fewest_first = owner.get("/restauranger/?sortera=problem").text
    assert rows(fewest_first) == [b.company.name, a.company.name]
    assert rows(owner.get("/restauranger/?visa=atgard").text) == [a.company.name]
    assert rows(owner.get("/restauranger/?visa=ej-kopplad").text) == [b.company.name]
    assert rows(owner.get("/restauranger/", params={"sok": b.company.name.upper()}).text) == [b.company.name]
    assert rows(owner.get("/restauranger/?sok=finns-inte").text) == []
    assert rows(owner.get("/restauranger/?sortera=<script>").text)  # an unknown key sorts by name


def test_manuell_export_for_the_selected_rows_starts_a_run_per_active_restaurant(
    db, live_server, site, connect, reports, make_user
):
    a = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    b = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    idle = site(registers=("K1",))
    stranger = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(a, days=2)
    owner = owner_of(db, live_server, make_user, (a.company, Role.MANAGER), (b.company, Role.MANAGER),
                     (idle.company, Role.ADMIN))

    def runs():
        fresh(db)
        return {
            run.company_id: run.total
            for run in db.scalars(
                select(ManualExportRun).where(
                    ManualExportRun.company_id.in_([c.company.id for c in (a, b, idle, stranger)])
                )
            )
        }

    # A company the user has no role in, among theirs: refused, and nothing starts for anyone.
    refused = owner.http.post(owner.url + "/restauranger/manuell-export", timeout=30, allow_redirects=False,
                              data={"csrf_token": owner.csrf(), "company_id": [a.company.id, stranger.company.id]})
    assert refused.status_code == 404 and runs() == {}

    done = owner.http.post(owner.url + "/restauranger/manuell-export", timeout=30,
                           data={"csrf_token": owner.csrf(), "company_id": [a.company.id, b.company.id, idle.company.id]})
    assert done.status_code == 200
    assert runs() == {a.company.id: 2, b.company.id: 0}
    flash = unescape(re.search(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', done.text, re.S).group(1))
    assert f"{a.company.name} (2 Z-rapporter)" in flash and f"{b.company.name} (inget att exportera)" in flash
    assert f"Inte startad för {idle.company.name}: integrationen med Fortnox är inte aktiverad." in flash

    nothing = owner.post("/restauranger/manuell-export", {})
    assert nothing.status_code == 302 and runs() == {a.company.id: 2, b.company.id: 0}


def test_settings_copied_from_another_restaurant_map_cost_centres_by_register_name_and_keep_the_start_date(
    db, live_server, site, connect, make_user
):
    from backoffice.accounts.operations import load_mapping, save_mapping
    from backoffice.accounts.schemas import mapping_schema
    from tests.settings.test_accounts import confirm

    source = connect(site(registers=("K1", "K2")), active=True,
                     mapping={**DEMO_MAPPING, "start_date": "2026-10-01", "cost_centres": {"K1": "RK1", "K2": "RK2"}})
    target = connect(site(registers=("T1", "T9")), mapping={
        **DEMO_MAPPING, "voucher_series": "A", "start_date": "2026-11-15",
        "payment_methods": {**DEMO_MAPPING["payment_methods"], "card": 1581}})
    stranger = connect(site(registers=("K1",)), mapping=DEMO_MAPPING)
    owner = owner_of(db, live_server, make_user, (source.company, Role.ADMIN), (target.company, Role.ADMIN))

    # From Alla restauranger: the target's row switches to it and opens the copy page.
    listing = owner.get("/restauranger/").text
    assert f'form="copy-{target.company.id}"' in listing
    opened = owner.post("/foretag/byt", {"company_id": target.company.id, "next": "/ekonomi/redovisning/kopiera"})
    assert opened.headers["Location"].endswith("/ekonomi/redovisning/kopiera")
    chooser = owner.get("/ekonomi/redovisning/kopiera").text
    assert f"/ekonomi/redovisning/kopiera?fran={source.company.id}" in chooser
    assert stranger.company.name not in chooser
    assert owner.get(f"/ekonomi/redovisning/kopiera?fran={stranger.company.id}").status_code == 404

    preview = owner.get(f"/ekonomi/redovisning/kopiera?fran={source.company.id}")
    assert preview.status_code == 200
    changed = [re.sub(r"<[^>]+>", "|", unescape(row)) for row in re.findall(r"<tr data-change>(.*?)</tr>", preview.text, re.S)]
    assert changed == ["|Verifikationsserie||A||F|", '|Betalningsmetod "Kort"||1581||1580|']
    assert "Startdatumet kopieras inte" in preview.text and "sitt startdatum 2026-11-15" in preview.text
    t1 = re.search(r'<tr data-register="T1">.*?</tr>', preview.text, re.S).group(0)
    t9 = re.search(r'<tr data-register="T9">.*?</tr>', preview.text, re.S).group(0)
    assert '<option value="RK1" selected>' in t1 and "samma namn" in t1  # Kassa 1 ↔ Kassa 1
    assert "Välj kostnadsställe …" in t9  # no register called Kassa 9 in the source: asked
    fresh(db)
    assert load_mapping(db, target.company).voucher_series == "A"  # a preview writes nothing

    unanswered = confirm(owner, preview.text)
    assert unanswered.status_code == 400 and "Välj kostnadsställe för Kassa 9" in unanswered.text
    assert confirm(owner, preview.text, **{"cc-T9": "RK2"}).status_code == 302
    fresh(db)
    copied = load_mapping(db, target.company)
    assert copied.voucher_series == "F" and copied.payment_methods["card"] == 1580
    assert dict(copied.cost_centres) == {"T1": "RK1", "T9": "RK2"}
    assert str(copied.start_date) == "2026-11-15"

    # Someone saves the target's settings after the preview: "Importera" refuses, nothing changes.
    again = owner.get(f"/ekonomi/redovisning/kopiera?fran={source.company.id}").text
    save_mapping(db, target.company, mapping_schema.load({**DEMO_MAPPING, "voucher_series": "B"}), actor="test")
    db.commit()
    stale = confirm(owner, again, copy_start_date="1")
    assert stale.status_code == 302
    assert "Inställningarna har ändrats sedan förhandsgranskningen" in owner.get("/ekonomi/redovisning/").text
    fresh(db)
    assert load_mapping(db, target.company).voucher_series == "B"

    # Asked for, the source's start date is taken.
    ticked = owner.get(f"/ekonomi/redovisning/kopiera?fran={source.company.id}").text
    assert "Använd i stället startdatumet 2026-10-01" in ticked
    assert confirm(owner, ticked, copy_start_date="1", **{"cc-T9": ""}).status_code == 302
    fresh(db)
    assert str(load_mapping(db, target.company).start_date) == "2026-10-01"
