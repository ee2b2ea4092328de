"""Connecting a restaurant to Fortnox over real HTTP (our live server ↔ the emulator), and the
token store that never kills Fortnox's single-use refresh-token chain."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from backoffice.companies.models import Role
from backoffice.db import now_utc
from backoffice.export.models import Problem
from backoffice.export.problems import sync_problems
from backoffice.integrations.fortnox.connection import decrypt, fresh_access_token
from backoffice.integrations.fortnox.errors import FortnoxAuthError
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration
from tests.conftest import PASSWORD, REPO
from tests.fixtures import login


@pytest.fixture()
def admin_session(live_server, make_company, make_user):
    """A logged-in admin's browser session, and the company."""

    def make(company=None, role=Role.ADMIN):
        company = company or make_company()
        user = make_user(company, role=role)
        http = requests.Session()
        assert login(http, live_server.url, user.email, PASSWORD).status_code == 302
        return http, company

    return make


def token_requests(emulator, grant: str) -> int:
    return sum(
        1
        for r in emulator.control.requests()
        if r["path"] == "/oauth-v1/token" and r["method"] == "POST" and r.get("status") == 200 and grant in (r.get("grant_type") or grant)
    )


def connection_of(db, company) -> FortnoxConnection | None:
    db.rollback()  # end the test's read transaction: on SQLite it would keep seeing an old snapshot
    integration = db.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == company.id))
    return integration.connection if integration else None


def connect(http: requests.Session, live_server, *, confirm: bool = True) -> requests.Response:
    """Press "connect", let the emulator's (auto-approving) consent answer, follow back to us, and
    (``confirm``) press "Koppla ändå" where we ask first about a shared or other company."""
    landed = http.get(f"{live_server.url}/integrations/fortnox/connect?next=/", timeout=30)
    if confirm and urlsplit(landed.url).path == "/integrations/fortnox/bekrafta":
        token = re.search(r'name="csrf-token" content="([^"]+)"', landed.text).group(1)
        landed = http.post(landed.url, data={"decision": "connect", "csrf_token": token}, timeout=30)
    return landed


def test_an_admin_connects_through_fortnox_consent_and_the_connection_is_stored(db, live_server, emulator, admin_session):
    http, company = admin_session()
    # The restaurant's own organisation number: another one is asked about first (tests/export/test_truth.py).
    tenant = emulator.control.create_tenant(company.name, company.org_number or "556000-0001")
    emulator.control.set_auto_approve(True, tenant_id=tenant)

    start = http.get(f"{live_server.url}/integrations/fortnox/connect", allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    landed = connect(http, live_server, confirm=False)

    assert start.status_code == 302 and start.headers["Location"].startswith(f"{emulator.url}/oauth-v1/auth")
    assert query["access_type"] == ["offline"] and query["response_type"] == ["code"]
    assert set(query["scope"][0].split()) == {"bookkeeping", "costcenter", "companyinformation", "settings", "inbox",
                                              "connectfile"}
    assert landed.status_code == 200 and landed.url == f"{live_server.url}/"
    connection = connection_of(db, company)
    assert connection.tenant_id == tenant and connection.fortnox_company_name == company.name
    assert connection.status == ConnectionStatus.ACTIVE
    assert decrypt(connection.refresh_token_enc) not in (None, "") and connection.refresh_token_enc != decrypt(connection.refresh_token_enc)


def test_pressing_avbryt_at_fortnox_comes_back_to_a_clear_message_and_stores_nothing(db, live_server, emulator, admin_session):
    http, company = admin_session()
    tenant = emulator.control.create_tenant(company.name, "556000-0002")
    emulator.control.set_auto_approve(True, tenant_id=tenant, decision="deny")
    try:
        landed = connect(http, live_server)
    finally:
        emulator.control.set_auto_approve(True)

    assert "Du avbröt inloggningen i Fortnox" in landed.text
    assert connection_of(db, company) is None


def test_a_forged_missing_or_reused_state_is_refused_and_nothing_is_stored(db, live_server, emulator, admin_session):
    http, company = admin_session()
    tenant = emulator.control.create_tenant(company.name, "556000-0003")
    emulator.control.set_auto_approve(True, tenant_id=tenant)
    start = http.get(f"{live_server.url}/integrations/fortnox/connect", allow_redirects=False, timeout=10)
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"]
    code = parse_qs(urlsplit(back).query)["code"][0]

    forged = http.get(f"{live_server.url}/integrations/fortnox/callback?code={code}&state=forged", timeout=10)
    missing = http.get(f"{live_server.url}/integrations/fortnox/callback?code={code}", timeout=10)
    stored_before = connection_of(db, company)
    first = http.get(back, timeout=10)  # the real state has been used up by the forged attempt
    assert forged.status_code == 400 and missing.status_code == 400 and first.status_code == 400
    assert stored_before is None and connection_of(db, company) is None

    connect(http, live_server)  # a fresh attempt works, and its callback cannot be replayed
    replay = http.get(back, timeout=10)
    assert connection_of(db, company) is not None
    assert replay.status_code == 400


def test_a_manager_cannot_connect(live_server, admin_session):
    http, _ = admin_session(role=Role.MANAGER)

    assert http.get(f"{live_server.url}/integrations/fortnox/connect", allow_redirects=False, timeout=10).status_code == 403


def test_a_second_restaurant_on_the_same_fortnox_company_shares_one_connection(db, app, live_server, emulator, admin_session, make_company):
    first_http, first = admin_session()
    second_http, second = admin_session()
    tenant = emulator.control.create_tenant("Gemensamma AB", "556000-0004")
    emulator.control.set_auto_approve(True, tenant_id=tenant)

    connect(first_http, live_server)
    connect(second_http, live_server)

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(FortnoxConnection).where(FortnoxConnection.tenant_id == tenant)) == 1
    shared = connection_of(db, first).id
    assert shared == connection_of(db, second).id
    with app.app_context():  # the one chain is alive: a refresh works
        token, _ = fresh_access_token(shared, force=True)
    assert token


def _expire(db, connection_id: int) -> None:
    connection = db.get(FortnoxConnection, connection_id)
    connection.access_expires_at = now_utc() - timedelta(minutes=1)
    db.commit()


def _connected(db, live_server, emulator, admin_session) -> tuple:
    http, company = admin_session()
    tenant = emulator.control.create_tenant(company.name, "556000-0005")
    emulator.control.set_auto_approve(True, tenant_id=tenant)
    connect(http, live_server)
    return company, tenant, connection_of(db, company).id


def test_two_threads_refreshing_at_once_make_one_refresh_and_keep_the_chain(db, app, live_server, emulator, admin_session):
    company, tenant, connection_id = _connected(db, live_server, emulator, admin_session)
    _expire(db, connection_id)
    results, errors = [], []

    def refresh():
        try:
            with app.app_context():
                results.append(fresh_access_token(connection_id)[0])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == [] and len(set(results)) == 1
    db.expire_all()
    assert db.get(FortnoxConnection, connection_id).status == ConnectionStatus.ACTIVE
    with app.app_context():  # the chain is alive
        assert fresh_access_token(connection_id, force=True)[0]


def test_two_processes_refreshing_at_once_keep_the_chain(db, app, app_config, live_server, emulator, admin_session):
    company, tenant, connection_id = _connected(db, live_server, emulator, admin_session)
    _expire(db, connection_id)
    script = (
        "import json, sys\n"
        "from backoffice import create_app\n"
        "from backoffice.integrations.fortnox.connection import fresh_access_token\n"
        "app = create_app(json.loads(sys.argv[1]))\n"
        "with app.app_context():\n"
        f"    print(fresh_access_token({connection_id})[0][-12:])\n"
    )
    config = json.dumps({k: v for k, v in app_config.items() if isinstance(v, (str, int, float, bool))})
    processes = [
        subprocess.Popen([sys.executable, "-c", script, config], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    assert [p.returncode for p in processes] == [0, 0], outputs
    assert len({out.strip() for out, _ in outputs}) == 1
    db.expire_all()
    assert db.get(FortnoxConnection, connection_id).status == ConnectionStatus.ACTIVE
    with app.app_context():
        assert fresh_access_token(connection_id, force=True)[0]


def test_a_refresh_token_used_elsewhere_leads_to_the_reauthorisation_banner_state(db, app, live_server, emulator, admin_session):
    company, tenant, connection_id = _connected(db, live_server, emulator, admin_session)
    with app.app_context():
        stolen = decrypt(db.get(FortnoxConnection, connection_id).refresh_token_enc)
    elsewhere = requests.post(
        f"{emulator.url}/oauth-v1/token",
        data={"grant_type": "refresh_token", "refresh_token": stolen},
        auth=("demo", "demo-secret"),
        timeout=10,
    )
    assert elsewhere.status_code == 200
    db.get(FortnoxIntegration, connection_of(db, company).integrations[0].id).active = True
    db.commit()

    with app.app_context(), pytest.raises(FortnoxAuthError):
        fresh_access_token(connection_id, force=True)

    db.expire_all()
    connection = db.get(FortnoxConnection, connection_id)
    assert connection.status == ConnectionStatus.NEEDS_REAUTH and connection.refresh_token_enc is None
    sync_problems(db, company)
    kinds = db.scalars(select(Problem.kind).where(Problem.company_id == company.id, Problem.closed_at.is_(None))).all()
    assert "auth_expired" in kinds
