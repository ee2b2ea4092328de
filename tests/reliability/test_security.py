"""Security sweeps over real HTTP: every route's access checks, the OAuth state, secrets at rest and in logs,
register tokens as hashes, login throttling.

The per-page tests live beside each feature (tests/<feature>/test_views.py). The sweep here walks ``app.url_map`` itself, so a route added
tomorrow is tried too: it fails when a route answers an anonymous visitor, shows or changes another
company's object, lets a manager do an admin's action, or has a URL parameter this file does not know
how to fill (then say here which object it names).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, text

from backoffice.companies.models import Register, Role
from backoffice.correction.models import CorrectionRun
from backoffice.db import Base, import_models, now_utc
from backoffice.demo import deliver, zreport_document
from backoffice.export.models import AttachmentRun, ExportJob, ExportState, ManualExportRun, Problem
from backoffice.export.preflight import Blocker
from backoffice.export.reasons import Reason
from backoffice.export.states import transition
from backoffice.integrations.fortnox.connection import decrypt
from backoffice.integrations.fortnox.models import FortnoxConnection, FortnoxIntegration
from backoffice.reconcile.models import ReconcileRun
from backoffice.zreport.models import ZReportRecord
from tests.conftest import PASSWORD
from tests.fixtures import login, login_form, run_jobs

pytestmark = pytest.mark.timeout(240)

#: Routes anyone may call: the login page, static files and the favicon, the POS API's document. The POS API's other
#: routes authenticate registers by bearer token (401 without one).
PUBLIC = {"static", "overview.favicon", "companies.login", "zreport_api.openapi"}
BEARER = {"zreport_api.post_zreport", "zreport_api.get_zreport"}
#: State-changing routes a manager may use ("sees everything of their own company and may run
#: Manuell export", companies/models.py Role). Every other POST is an admin's action.
#: "mail.preferences" is each user's own choice of e-mails (E-postnotiser); "companies.switch" picks
#: which of the user's companies the browser shows; "overview.bulk_export" is Manuell export for
#: several of them.
MANAGER_MAY_POST = {"companies.logout", "companies.password", "export.manual_export_start", "export.recheck",
                    "zreport.retry", "reconcile.read_start", "export.attach_start",
                    "mail.preferences", "companies.switch", "overview.bulk_export"}
#: Pages only an admin may open (connecting Fortnox, the setup wizard).
ADMIN_ONLY_GET = {"fortnox.connect_start", "fortnox.callback", "integrations.wizard_entry", "integrations.wizard",
                  "companies.users", "accounts.copy_settings"}
#: URL parameters that name an object of one company: how to fill them with company A's object.
OBJECT_PARAMS = {"zreport_id", "problem_id", "run_id", "user_id", "reconcile_run_id", "attach_run_id",
                 "correction_run_id", "job_id"}
#: URL parameters that select within the user's own company (no object of another company to name).
CONTEXT_PARAMS = {"step": "konton", "filename": "backoffice.css", "manad": "2026-11", "day": "2026-11-02",
                  "register_id": "K1"}


def routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


class Browser:
    """One user's session on the live server, with the CSRF token of its form pages."""

    def __init__(self, url: str, email: str | None = None):
        self.url = url
        self.http = requests.Session()
        self.csrf = login_form(self.http, url)
        if email:
            assert login(self.http, url, email, PASSWORD).status_code == 302
            # A login starts a fresh session, with a CSRF token of its own.
            start = self.http.get(url + "/", timeout=30).text
            self.csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', start).group(1)

    def call(self, method: str, path: str, *, url: str | None = None, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        if method == "POST":
            kwargs.setdefault("data", {})["csrf_token"] = self.csrf
            kwargs.setdefault("headers", {})["X-CSRFToken"] = self.csrf
        return self.http.request(method, (url or self.url) + path, **kwargs)


@pytest.fixture()
def two_companies(db, live_server, restaurant, make_user):
    """Company A with one object of every kind the routes name; users of A and of B."""
    a = restaurant(registers=("K1",))
    b = restaurant(registers=("K1",))
    register = db.scalar(select(Register).where(Register.company_id == a.company.id))
    record = deliver(db, register, zreport_document("K1", "Kassa 1", 1, date(2026, 11, 2)))
    # A job blocked by a voucher that differs: the page of its fix ("Åtgärda detta") names it.
    job = db.scalar(select(ExportJob).where(ExportJob.zreport_id == record.id))
    transition(job, ExportState.BLOCKED, blockers=[Blocker(Reason.VOUCHER_DIFFERS, "F 1", {
        "found_series": "F", "found_number": 1, "found_year": 2, "found_date": "2026-11-02", "differences": ["rows"],
        "found_rows": []})])
    problem = Problem(company_id=a.company.id, kind="account_inactive", key="3001", detail="{}", opened_at=now_utc())
    run = ManualExportRun(company_id=a.company.id, started_by="test", started_at=now_utc(), job_ids="[]", total=0)
    reconciling = ReconcileRun(company_id=a.company.id, month="2026-11", started_by="test")
    attach_run = AttachmentRun(company_id=a.company.id, started_by="test", started_at=now_utc())
    correcting = CorrectionRun(company_id=a.company.id, started_by="test", date_from=date(2026, 11, 2),
                               date_to=date(2026, 11, 2), why="test")
    db.add_all([problem, run, reconciling, attach_run, correcting])
    db.commit()
    users = {(name, role): make_user(shop.company, role=role) for name, shop in (("a", a), ("b", b)) for role in Role}
    return {
        "objects": {"zreport_id": record.id, "problem_id": problem.id, "run_id": run.id,
                    "user_id": users[("a", Role.MANAGER)].id, "reconcile_run_id": reconciling.id,
                    "attach_run_id": attach_run.id, "correction_run_id": correcting.id, "job_id": job.id},
        "a_admin": Browser(live_server.url, users[("a", Role.ADMIN)].email),
        "a_manager": Browser(live_server.url, users[("a", Role.MANAGER)].email),
        "b_admin": Browser(live_server.url, users[("b", Role.ADMIN)].email),
        "b_manager": Browser(live_server.url, users[("b", Role.MANAGER)].email),
        "record": record,
        "a": a,
    }


def path_for(rule, objects: dict) -> str:
    values = {}
    for name in rule.arguments:
        if name in OBJECT_PARAMS:
            values[name] = objects[name]
        elif name in CONTEXT_PARAMS:
            values[name] = CONTEXT_PARAMS[name]
        elif rule.endpoint in BEARER:
            values[name] = {"register_id": "K1", "z_number": 1}[name]
        else:
            pytest.fail(f"{rule.rule}: unknown URL parameter {name!r}; add it to OBJECT_PARAMS (with the object it"
                        " names)"
                        " or CONTEXT_PARAMS in tests/reliability/test_security.py")
    return rule.build(values, append_unknown=False)[1]


def sweep(app, url: str, users: dict) -> list[str]:
    """Try every route of ``app`` (served at ``url``) as nobody, as company B and as A's manager."""
    objects = users["objects"]
    anonymous = requests.Session()
    failures = []
    for rule, method in routes(app):
        endpoint = rule.endpoint
        path = path_for(rule, objects)
        if endpoint in PUBLIC:
            continue
        # 1. Nobody logged in: the login page (or 401 for the bearer API), never the page itself.
        answer = anonymous.request(method, url + path, allow_redirects=False, timeout=30,
                                   data={"csrf_token": "x"} if method == "POST" else None)
        if endpoint in BEARER:
            ok = answer.status_code == 401
        else:
            to_login = answer.status_code in (302, 303) and "/login" in answer.headers.get("Location", "")
            ok = to_login or (method == "POST" and answer.status_code == 400)  # refused for its CSRF token
        if not ok:
            failures.append(f"anonymous {method} {path}: {answer.status_code}")
        if endpoint in BEARER:
            continue
        # 2. Users of company B on company A's objects: 404, as if they did not exist.
        if OBJECT_PARAMS & set(rule.arguments):
            for who in ("b_admin", "b_manager"):
                answer = users[who].call(method, path, url=url)
                if answer.status_code != 404:
                    failures.append(f"{who} {method} {path} (company A's object): {answer.status_code}, not 404")
        # 3. A manager on an admin's action: 403.
        admin_only = (method == "POST" and endpoint not in MANAGER_MAY_POST) or (
            method == "GET" and endpoint in ADMIN_ONLY_GET)
        if admin_only:
            answer = users["a_manager"].call(method, path, url=url)
            if answer.status_code != 403:
                failures.append(f"manager {method} {path}: {answer.status_code}, not 403")
    return failures


def test_every_route_refuses_strangers_other_companies_and_managers_on_admin_actions(
    app, db, live_server, two_companies
):
    objects = two_companies["objects"]
    failures = sweep(app, live_server.url, two_companies)
    assert not failures, "\n".join(failures)

    # The sweep is not vacuous: company A's own admin reaches every object route of company A.
    for rule, method in routes(app):
        if method == "GET" and OBJECT_PARAMS & set(rule.arguments):
            answer = two_companies["a_admin"].call("GET", path_for(rule, objects))
            assert answer.status_code == 200, f"{rule.rule}: {answer.status_code}"
    db.rollback()
    assert db.get(ZReportRecord, objects["zreport_id"]).company_id == two_companies["a"].company.id


def test_the_sweep_catches_a_route_added_without_its_checks(app_config, two_companies):
    """A second app with three planted routes that forget a check each: the sweep must name all three."""
    from flask import abort
    from flask_login import current_user, login_required

    from backoffice import create_app
    from backoffice.db import session
    from tests.conftest import LiveServer

    planted = create_app(app_config)

    @planted.get("/planted/open")
    def open_page():  # no login_required
        return "open"

    @planted.get("/planted/<int:zreport_id>")
    @login_required
    def any_company(zreport_id):  # no check that the report is the user's company's
        record = session.get(ZReportRecord, zreport_id)
        return str(record.z_number) if record else abort(404)

    @planted.post("/planted/delete")
    @login_required
    def managers_too():  # no admin_required
        return "done" if current_user.is_authenticated else abort(403)

    server = LiveServer(planted)
    try:
        failures = sweep(planted, server.url, two_companies)
    finally:
        server.stop()
        planted.extensions["db_engine"].dispose()
    assert any(f.startswith("anonymous GET /planted/open") for f in failures), failures
    assert any(f.startswith("b_admin GET /planted/") and "not 404" in f for f in failures), failures
    assert any(f.startswith("manager POST /planted/delete") for f in failures), failures
    assert len(failures) == 4  # those three, and B's manager on the report as well


def test_oauth_callbacks_with_a_wrong_or_reused_state_store_nothing(
    app, db, emulator, live_server, make_company, make_user
):
    company = make_company()
    admin = make_user(company, role=Role.ADMIN)
    tenant = emulator.control.create_tenant(company.name, "556677-8899")
    browser = Browser(live_server.url, admin.email)

    def connection_of_company():
        db.rollback()
        return db.scalar(select(FortnoxIntegration.connection_id).where(FortnoxIntegration.company_id == company.id))

    # A state that is not the one the session was given: refused, nothing stored, the state is used up.
    start = browser.call("GET", "/integrations/fortnox/connect")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    wrong = browser.call("GET", f"/integrations/fortnox/callback?code=stolen&state={state[::-1]}")
    assert wrong.status_code == 400 and connection_of_company() is None
    again = browser.call("GET", f"/integrations/fortnox/callback?code=stolen&state={state}")
    assert again.status_code == 400 and connection_of_company() is None  # one try per state

    # The real flow, then the same callback URL replayed (a reused state and code): refused, nothing changed.
    emulator.control.set_auto_approve(True, tenant_id=tenant)
    try:
        start = browser.call("GET", "/integrations/fortnox/connect")
        consent = browser.http.get(start.headers["Location"], allow_redirects=False, timeout=30)
        callback_url = consent.headers["Location"]
        assert urlsplit(callback_url).path == "/integrations/fortnox/callback"
        done = browser.http.get(callback_url, allow_redirects=False, timeout=30)
        assert done.status_code == 302
    finally:
        emulator.control.set_auto_approve(True, tenant_id=None)
    connection_id = connection_of_company()
    assert connection_id is not None
    stored = db.get(FortnoxConnection, connection_id)
    before = (stored.access_token_enc, stored.refresh_token_enc, stored.tenant_id)

    replay = browser.http.get(callback_url, allow_redirects=False, timeout=30)
    assert replay.status_code == 400
    other = Browser(live_server.url, make_user(company, role=Role.ADMIN).email)  # another session, same URL
    assert other.http.get(callback_url, allow_redirects=False, timeout=30).status_code == 400
    db.expire_all()
    after = db.get(FortnoxConnection, connection_id)
    assert (after.access_token_enc, after.refresh_token_enc, after.tenant_id) == before
    assert connection_of_company() == connection_id


def database_text(db) -> str:
    """Every value of every table, as text (works on SQLite and PostgreSQL alike)."""
    import_models()
    db.rollback()
    parts = []
    for table in Base.metadata.sorted_tables:
        for row in db.execute(text(f'SELECT * FROM "{table.name}"')):
            parts.append(json.dumps([str(value) for value in row], ensure_ascii=False))
    return "\n".join(parts)


def test_secrets_are_absent_from_the_database_and_the_logs_of_a_run_that_connected_and_exported(
    app, app_config, db, emulator, live_server, make_company, make_user, caplog, database_url, make_document, pos
):
    caplog.set_level(logging.DEBUG)
    company = make_company()
    password = "Ett-hemligt-lösen-42"
    admin = make_user(company, role=Role.ADMIN, password=password)
    register = Register(company=company, pos_id="K1", name="Kassa 1")
    register_token = register.issue_token()
    db.add(register)
    db.commit()
    tenant = emulator.control.create_tenant(company.name, "556677-8899")

    # Connect through the OAuth flow of the live server, as an admin would.
    http = requests.Session()
    assert login(http, live_server.url, admin.email, password).status_code == 302
    emulator.control.set_auto_approve(True, tenant_id=tenant)
    try:
        assert http.get(f"{live_server.url}/integrations/fortnox/connect", timeout=30).status_code == 200
    finally:
        emulator.control.set_auto_approve(True, tenant_id=None)
    db.rollback()
    integration = db.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == company.id))
    connection = integration.connection
    from backoffice.accounts.operations import save_mapping
    from backoffice.accounts.schemas import mapping_schema
    from tests.fixtures import contract_mapping

    save_mapping(db, company, mapping_schema.load({**contract_mapping(), "cost_centres": {}}), actor="test")
    integration.active = True
    db.commit()

    # A report arrives and is exported; its token expires on the way, so a refresh happens too.
    assert pos.post(register_token, make_document()).status_code == 201
    emulator.control.expire_access_tokens(tenant)
    assert "exported" in run_jobs(db)
    assert len(emulator.control.vouchers(tenant)) == 1

    db.rollback()
    db.refresh(connection)
    with app.app_context():
        access, refresh = decrypt(connection.access_token_enc), decrypt(connection.refresh_token_enc)
    secrets = {
        "access token": access, "refresh token": refresh, "register token": register_token, "password": password,
        "client secret": app_config["FORTNOX_CLIENT_SECRET"], "SECRET_KEY": app_config["SECRET_KEY"],
        "TOKEN_ENCRYPTION_KEY": app_config["TOKEN_ENCRYPTION_KEY"],
    }
    stored = database_text(db)
    raw = b""
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        for suffix in ("", "-wal"):
            try:
                with open(path + suffix, "rb") as handle:
                    raw += handle.read()
            except FileNotFoundError:
                pass
    logs = "\n".join(record.getMessage() + " " + str(record.args) for record in caplog.records)
    for name, secret in secrets.items():
        assert secret and len(secret) >= 8
        assert secret not in stored, f"the {name} is stored in clear text"
        assert secret.encode() not in raw, f"the {name} is in the database file in clear text"
        assert secret not in logs, f"the {name} is in the logs"
    # The register token is kept only as its SHA-256.
    db.refresh(register)
    assert register.token_hash == hashlib.sha256(register_token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", register.token_hash)


def test_register_tokens_are_stored_only_as_hashes(db, restaurant):
    shop = restaurant(registers=("K1", "K2"))
    db.rollback()
    rows = db.execute(select(Register.pos_id, Register.token_hash).where(Register.company_id == shop.company.id)).all()
    assert len(rows) == 2
    for pos_id, token_hash in rows:
        token = shop.tokens[pos_id]
        assert token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in database_text(db)
        assert len(token) >= 40  # 256 random bits (token_urlsafe(32)) plus the prefix


def test_login_is_throttled_after_repeated_failures(live_server, make_company, make_user):
    user = make_user(make_company())
    http = requests.Session()
    answers = [login(http, live_server.url, user.email, "fel-lösenord").status_code for _ in range(5)]
    assert answers == [401] * 5
    locked = login(http, live_server.url, user.email, PASSWORD)  # the right password, too late
    assert locked.status_code == 429
    assert http.get(f"{live_server.url}/", allow_redirects=False, timeout=10).status_code == 302  # not logged in
    fresh = requests.Session()  # a new session does not get around it
    assert login(fresh, live_server.url, user.email, PASSWORD).status_code == 429
