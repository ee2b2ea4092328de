"""Who may do what, over HTTP: a manager sees everything of their own company and runs Manuell
export; only an admin changes the integration (403 otherwise); nobody reaches another company's
pages, actions or API (404)."""

from __future__ import annotations

import pytest
import requests

from backoffice.export.reasons import Reason
from backoffice.settings.forms import STEPS
from tests.fixtures import DEMO_MAPPING, jobs_of, open_problem

WIZARD = "/foretag/integrationer/fortnox/installningar"

#: (method, path) of every admin-only action and page.
ADMIN_ONLY = [
    ("get", f"{WIZARD}/"),
    *[("get", f"{WIZARD}/{step}") for step in STEPS],
    *[("post", f"{WIZARD}/{step}") for step in STEPS],
    ("post", f"{WIZARD}/konto"),
    ("post", f"{WIZARD}/serie/ny"),
    ("post", "/foretag/integrationer/fortnox/inaktivera"),
    ("get", "/integrations/fortnox/connect"),
    ("post", "/ekonomi/redovisning/kostnadsstallen"),
    ("post", "/ekonomi/redovisning/installningar"),
]

#: Pages every user of the company may see.
PAGES = [
    "/",
    "/zrapporter/",
    "/ekonomi/redovisning/",
    "/ekonomi/redovisning/installningar.json",
    "/foretag/integrationer/",
    "/foretag/integrationer/fortnox/inaktiva-konton",
    "/konto/e-post",
    "/foretag/notifikationer/",
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p in ADMIN_ONLY])
def test_a_manager_gets_403_for_every_admin_action(site, connect, method, path):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)

    response = made.manager.get(path, allow_redirects=False) if method == "get" else made.manager.post(path)

    assert response.status_code == 403, f"{method} {path}"


@pytest.mark.parametrize("path", PAGES)
def test_a_manager_sees_every_page_of_their_own_company(site, connect, reports, path):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=1)

    response = made.manager.get(path)

    assert response.status_code == 200, path


def test_a_manager_may_run_manuell_export_exportera_igen_and_kontrollera_igen(db, site, connect, reports):
    from backoffice.export.models import ExportState
    from backoffice.export.states import transition

    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    [record] = reports(made, days=1)
    [job] = jobs_of(db, made.company)
    transition(job, ExportState.FAILED, reason=Reason.EXPORT_FAILED, detail={})
    db.commit()

    retried = made.manager.post(f"/zrapporter/{record.id}/exportera")
    started = made.manager.post("/foretag/integrationer/fortnox/manuell-export", headers={"Accept": "application/json"})
    checked = made.manager.post("/foretag/integrationer/fortnox/kontrollera")

    assert retried.status_code == 302 and started.status_code == 202 and checked.status_code == 302


def test_every_page_action_and_api_of_another_company_is_404(db, site, connect, reports, pos):
    mine = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    theirs = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    [their_report] = reports(theirs, days=1)
    problem = open_problem(db, theirs.company, Reason.EXPORT_FAILED)
    run = theirs.admin.post(
        "/foretag/integrationer/fortnox/manuell-export", headers={"Accept": "application/json"}
    ).json()

    for web in (mine.manager, mine.admin):
        assert web.get(f"/zrapporter/{their_report.id}").status_code == 404
        assert web.post(f"/zrapporter/{their_report.id}/exportera").status_code == 404
        assert web.get(f"/foretag/notifikationer/{problem.id}").status_code == 404
        assert web.get(run["progress_url"]).status_code == 404
    # The POS API: my register's token never reads another company's report.
    api = pos.get(mine.tokens["K1"], "K1", their_report.z_number)
    assert api.status_code == 404
    # And their data shows on none of my pages.
    for path in PAGES[:-1]:
        text = mine.manager.get(path).text
        assert theirs.company.name not in text and f'data-zreport="{their_report.id}"' not in text


def test_every_page_needs_a_login(live_server):
    for path in [*PAGES, f"{WIZARD}/bokforing", "/foretag/notifikationer/1", "/zrapporter/1"]:
        response = requests.get(live_server.url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
