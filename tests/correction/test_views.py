"""Rätta dagarna in the back office over real HTTP: the preview, Bekräfta for admins only, the progress
and the chain on the Z-report's page."""

from __future__ import annotations

import re

from backoffice.companies.models import Role
from backoffice.db import business_today
from tests.conftest import PASSWORD
from tests.correction.conftest import MOVED_SALES, change_mapping, run_corrections
from tests.fixtures import Web, jobs_of, login

RANGE = {"fran": "2026-11-20", "till": "2026-11-22"}


def logged_in(live_server, make_user, company, role) -> Web:
    user = make_user(company, role=role)
    web = Web(live_server.url, user)
    assert login(web.http, live_server.url, user.email, PASSWORD).status_code == 302
    return web


def test_an_admin_previews_confirms_and_sees_the_chain_a_manager_only_looks(db, live_server, make_user, emulator, booked):
    shop = booked()
    admin = logged_in(live_server, make_user, shop.company, Role.ADMIN)
    manager = logged_in(live_server, make_user, shop.company, Role.MANAGER)
    change_mapping(db, shop.company, sales=MOVED_SALES)
    [_, job_21, _] = jobs_of(db, shop.company)

    page = admin.get("/zrapporter/ratta/", params=RANGE)
    looked = manager.get("/zrapporter/ratta/", params=RANGE)
    refused = manager.post("/zrapporter/ratta/", RANGE)

    assert page.status_code == 200 and "1 dag bokförs annorlunda" in page.text
    assert 'data-day="2026-11-21"' in page.text and f"F {job_21.voucher_number}" in page.text
    assert "−16 473,21" in page.text and "Bekräfta" in page.text
    assert looked.status_code == 200 and "Bara en administratör kan rätta dagar." in looked.text
    assert "Bekräfta</button>" not in looked.text and refused.status_code == 403
    assert len(emulator.control.vouchers(shop.tenant_id)) == 3

    confirmed = admin.post("/zrapporter/ratta/", {**RANGE, "why": "Fel konto för dryck"})
    assert confirmed.status_code == 302
    run_url = confirmed.headers["Location"]
    assert re.search(r"/zrapporter/ratta/\d+$", run_url), run_url
    assert run_corrections(db) == ["done"]
    progress = admin.get(run_url + "/progress").json()
    assert (progress["done"], progress["percent"], progress["corrected"]) == (True, 100, 1)

    report = admin.get(f"/zrapporter/{job_21.zreport_id}")
    chain = re.findall(r'<li data-kind="([^"]+)"><strong>[^<]* (F \d+)</strong>', report.text)
    [original, reversal, new] = [v for v in emulator.control.vouchers(shop.tenant_id) if v["transaction_date"] == "2026-11-21"]
    assert chain == [("Original", f"F {original['number']}"), ("Återföring", f"F {reversal['number']}"),
                     ("Ny verifikation", f"F {new['number']}")]
    assert "Fel konto för dryck" in manager.get(run_url).text  # the history, for a manager too


def test_a_bad_range_is_refused_in_swedish_on_the_page(db, live_server, make_user, booked):
    shop = booked()
    admin = logged_in(live_server, make_user, shop.company, Role.ADMIN)

    page = admin.get("/zrapporter/ratta/", params={"fran": "2026-11-22", "till": "2026-11-20"})

    assert "Från-datumet 2026-11-22 ligger efter till-datumet 2026-11-20." in page.text


def test_saving_the_wizard_says_how_many_exported_days_would_be_booked_otherwise(db, live_server, make_user, booked):
    shop = booked()
    admin = logged_in(live_server, make_user, shop.company, Role.ADMIN)
    wizard = "/foretag/integrationer/fortnox/installningar/varugrupper"

    saved = admin.post(wizard, {"sales:12:Mat": "3052", "sales:25:Dryck": "3051", "sales:12:Dryck": "3002"})
    after = admin.get(saved.headers["Location"])

    assert "1 exporterad dag bokförs annorlunda med de nya inställningarna (2026-11-21)." in after.text
    button = re.search(r'<a class="button primary" href="([^"]+)">Rätta dagarna</a>', after.text)
    assert button and button.group(1).replace("&amp;", "&") == "/zrapporter/ratta/?fran=2026-11-21&till=2026-11-21"
    assert "bokförs annorlunda" not in admin.get(saved.headers["Location"]).text  # said once, like a flash
    preview = admin.get(button.group(1).replace("&amp;", "&"))
    assert 'data-day="2026-11-21"' in preview.text and "Bekräfta</button>" in preview.text
    zreports = admin.get("/zrapporter/")
    assert "data-correction-start" in zreports.text and "Rätta dagarna</button>" in zreports.text
    assert f'name="till" max="{business_today()}"' in zreports.text  # a range may end today, in Stockholm
