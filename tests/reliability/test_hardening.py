"""Issue 14's hardening, item by item, over real HTTP: each test fails without its fix.

Sections: redirects (``safe_next``), response headers and HTTPS, ids beyond the database, the
secret files of a first start, the OAuth redirect URI. (The intake's limits are in
tests/reliability/test_security.py and tests/zreport.)
"""

from __future__ import annotations

import multiprocessing
import os
import re
from datetime import date
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from sqlalchemy import select

from backoffice.companies.models import Register, Role
from backoffice.demo import deliver, zreport_document
from backoffice.security import safe_next
from tests.conftest import PASSWORD, LiveServer
from tests.fixtures import login, login_form
from tests.reliability.test_security import Browser

pytestmark = pytest.mark.timeout(240)


# --- redirects: one safe_next for the login page, the connect flow and "Kontrollera igen" -------------

#: Targets that must never leave the site (each also percent-encoded once and twice, below).
HOSTILE = [
    "//evil.example/",
    "///evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    "/x\r\nSet-Cookie: a=b",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\\/evil.example/",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "data:text/html,x",
    "//user:pw@evil.example/",
    "https://user@evil.example/",
    " //evil.example/",
    "\t//evil.example/",
    "evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
]
ENCODED = HOSTILE + [quote(t, safe="") for t in HOSTILE] + [quote(quote(t, safe=""), safe="") for t in HOSTILE] + [
    "/%09/evil.example/",
    "/%2F/evil.example/",
    "/%2f%2fevil.example/",
    "/%5Cevil.example/",
    "/%0d%0aSet-Cookie:%20a=b",
    "/%252F%252Fevil.example/",
]
#: Targets of our own pages that must keep working.
OURS = [
    "/",
    "/zrapporter/?kassa=1&status=blocked",
    "/foretag/notifikationer/3",
    "/foretag/integrationer/fortnox/installningar/behorighet",
    "/zrapporter/?back=%2Fzrapporter%2F",
]


@pytest.mark.parametrize("target", ENCODED)
def test_safe_next_refuses_every_target_off_the_site(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", OURS)
def test_safe_next_keeps_a_path_of_this_site(target):
    assert safe_next(target) == target


def assert_stays_on_site(answer: requests.Response, live_url: str) -> None:
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:200])
    location = answer.headers["Location"]
    parts = urlsplit(location)
    assert parts.netloc in ("", urlsplit(live_url).netloc), location
    assert parts.path.startswith("/") and not parts.path.startswith("//"), location
    assert "evil" not in location and "\t" not in location and "Set-Cookie" not in answer.headers.get("Set-Cookie", "")


#: The forms that reached another host or answered 500 before (issue 14), tried over HTTP below.
OVER_HTTP = ["/\t/evil.example/", "/\\evil.example/", "/\r\n/evil.example/", "//evil.example/",
             "https://evil.example/", "/%09/evil.example/", "/%5Cevil.example/"]


@pytest.mark.parametrize("target", OVER_HTTP)
def test_the_login_page_redirects_only_within_the_site_and_never_answers_500(live_server, make_company, make_user,
                                                                             target):
    user = make_user(make_company())
    http = requests.Session()
    token = login_form(http, live_server.url)
    answer = http.post(f"{live_server.url}/login", params={"next": target},
                       data={"email": user.email, "password": PASSWORD, "csrf_token": token},
                       allow_redirects=False, timeout=10)
    assert_stays_on_site(answer, live_server.url)
    assert http.get(f"{live_server.url}/", allow_redirects=False, timeout=10).status_code == 200  # logged in


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_the_connect_flow_returns_only_within_the_site_after_godkann_and_after_avbryt(
    db, emulator, live_server, make_company, make_user, decision
):
    company = make_company()
    browser = Browser(live_server.url, make_user(company, role=Role.ADMIN).email)
    tenant = emulator.control.create_tenant(company.name, "556677-8899")
    emulator.control.set_auto_approve(True, tenant_id=tenant, decision=decision)
    try:
        for target in OVER_HTTP:
            start = browser.call("GET", "/integrations/fortnox/connect", params={"next": target})
            assert start.status_code == 302
            consent = browser.http.get(start.headers["Location"], allow_redirects=False, timeout=30)
            done = browser.http.get(consent.headers["Location"], allow_redirects=False, timeout=30)
            assert_stays_on_site(done, live_server.url)
    finally:
        emulator.control.set_auto_approve(True, tenant_id=None)


def test_kontrollera_igen_returns_only_within_the_site(live_server, make_company, make_user):
    browser = Browser(live_server.url, make_user(make_company(), role=Role.MANAGER).email)
    for target in OVER_HTTP:
        answer = browser.call("POST", "/foretag/integrationer/fortnox/kontrollera", params={"next": target})
        assert_stays_on_site(answer, live_server.url)
        answer = browser.call("POST", "/foretag/integrationer/fortnox/kontrollera", data={"next": target})
        assert_stays_on_site(answer, live_server.url)


# --- headers on every response; Secure cookie, HSTS and ProxyFix behind HTTPS ------------------------

def test_every_response_forbids_framing_sniffing_inline_code_and_foreign_referrers(live_server, make_company,
                                                                                   make_user):
    browser = Browser(live_server.url, make_user(make_company()).email)
    answers = [
        requests.get(f"{live_server.url}/login", timeout=10),
        requests.get(f"{live_server.url}/static/backoffice.css", timeout=10),
        requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=10),
        requests.post(f"{live_server.url}/api/v1/z-reports", data="{}", timeout=10),  # 401
        browser.call("GET", "/"),
        browser.call("GET", "/zrapporter/999999999"),  # 404
    ]
    for answer in answers:
        assert answer.headers["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'", answer.url
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP in development
    assert "Secure" not in answers[0].headers["Set-Cookie"]


def test_behind_https_the_session_cookie_is_secure_with_hsts_and_the_proxy_headers_are_trusted(app_config):
    from backoffice import create_app

    app = create_app({**app_config, "PUBLIC_URL": "https://backoffice.example", "TRUSTED_PROXIES": 1})

    @app.get("/_test/client")
    def client():
        from flask import request

        return {"addr": request.remote_addr, "secure": request.is_secure, "host": request.host}

    server = LiveServer(app)
    try:
        page = requests.get(f"{server.url}/login", headers={"X-Forwarded-Proto": "https"}, timeout=10)
        seen = requests.get(f"{server.url}/_test/client", timeout=10, headers={
            "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "backoffice.example"})
    finally:
        server.stop()
        app.extensions["db_engine"].dispose()
    assert "; Secure" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert seen.json() == {"addr": "203.0.113.7", "secure": True, "host": "backoffice.example"}


def test_without_trusted_proxies_forwarded_headers_are_ignored(app_config):
    from backoffice import create_app

    app = create_app(app_config)

    @app.get("/_test/client")
    def client():
        from flask import request

        return {"addr": request.remote_addr, "secure": request.is_secure}

    server = LiveServer(app)
    try:
        seen = requests.get(f"{server.url}/_test/client", timeout=10,
                            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    finally:
        server.stop()
        app.extensions["db_engine"].dispose()
    assert seen.json() == {"addr": "127.0.0.1", "secure": False}


# --- ids beyond what the database can hold: 404, never 500 (and on PostgreSQL a clean error page) ----

@pytest.mark.parametrize("big", [2**63, 2**64 + 1, 10**30])
def test_ids_beyond_the_database_are_404_in_every_page_and_the_list_filter(db, live_server, restaurant, make_user,
                                                                            big):
    shop = restaurant(registers=("K1",))
    register = db.scalar(select(Register).where(Register.company_id == shop.company.id))
    deliver(db, register, zreport_document("K1", "Kassa 1", 1, date(2026, 11, 2)))
    db.commit()
    browser = Browser(live_server.url, make_user(shop.company, role=Role.ADMIN).email)
    answers = {
        "report": browser.call("GET", f"/zrapporter/{big}"),
        "retry": browser.call("POST", f"/zrapporter/{big}/exportera"),
        "notification": browser.call("GET", f"/foretag/notifikationer/{big}"),
        "manual run": browser.call("GET", f"/foretag/integrationer/fortnox/manuell-export/{big}"),
        "list filter": browser.call("GET", f"/zrapporter/?kassa={big}"),
        "list filter, not a number": browser.call("GET", "/zrapporter/?kassa=1e9"),
    }
    for name, answer in answers.items():
        assert answer.status_code == 404, (name, answer.status_code)
        assert "Sidan finns inte" in answer.text, name
    assert browser.call("GET", f"/zrapporter/?kassa={register.id}").status_code == 200
    assert browser.call("GET", "/zrapporter/?kassa=").status_code == 200


def test_an_error_page_after_a_failed_statement_renders_on_a_rolled_back_session(app_config, make_company,
                                                                                make_user):
    """On PostgreSQL a failed statement aborts the transaction; the error page (its banners read the
    database) must not run inside it. A planted route fails a statement, then answers 404."""
    from flask import abort
    from flask_login import login_required
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from backoffice import create_app
    from backoffice.db import session

    user = make_user(make_company())
    app = create_app(app_config)

    @app.get("/_test/failed-statement")
    @login_required
    def failed_statement():
        try:
            session.execute(text("SELECT no_such_column FROM no_such_table"))
        except SQLAlchemyError:
            abort(404)

    server = LiveServer(app)
    try:
        browser = Browser(server.url, user.email)
        answer = browser.call("GET", "/_test/failed-statement")
    finally:
        server.stop()
        app.extensions["db_engine"].dispose()
    assert answer.status_code == 404 and "Sidan finns inte" in answer.text


# --- the secret files of a first start with several processes -----------------------------------------

def _load_secrets(instance: str, barrier, results) -> None:
    from backoffice.config import load_settings

    barrier.wait()
    settings = load_settings(instance, {"FORTNOX_CLIENT_ID": "x"})
    results.put((settings["SECRET_KEY"], settings["TOKEN_ENCRYPTION_KEY"]))


def test_processes_starting_together_on_an_empty_instance_folder_all_read_the_same_secrets(tmp_path):
    context = multiprocessing.get_context("fork")
    processes = 6
    for trial in range(25):
        instance = tmp_path / f"instance-{trial}"
        barrier, results = context.Barrier(processes), context.Queue()
        workers = [context.Process(target=_load_secrets, args=(str(instance), barrier, results))
                   for _ in range(processes)]
        for worker in workers:
            worker.start()
        seen = {results.get(timeout=30) for _ in workers}
        for worker in workers:
            worker.join(30)
        on_disk = ((instance / "secret_key").read_text(), (instance / "token_encryption_key").read_text())
        assert seen == {on_disk}, f"trial {trial}: {len(seen)} different answers"
        assert all(on_disk)
        assert os.stat(instance / "secret_key").st_mode & 0o777 == 0o600
        assert sorted(p.name for p in instance.iterdir()) == ["secret_key", "token_encryption_key"]  # no leftovers


def test_an_empty_secret_file_is_waited_for_and_then_refused_clearly(tmp_path, monkeypatch):
    import threading

    from backoffice import config
    from backoffice.config import load_settings

    monkeypatch.setattr(config, "SECRET_WAIT", 3.0)
    (tmp_path / "secret_key").write_text("")
    (tmp_path / "token_encryption_key").write_text("k" * 44)
    late = threading.Timer(0.5, (tmp_path / "secret_key").write_text, args=("written-late",))
    late.start()
    assert load_settings(tmp_path, {"FORTNOX_CLIENT_ID": "x"})["SECRET_KEY"] == "written-late"
    (tmp_path / "secret_key").write_text("")
    monkeypatch.setattr(config, "SECRET_WAIT", 0.3)
    with pytest.raises(RuntimeError, match="secret_key is empty"):
        load_settings(tmp_path, {"FORTNOX_CLIENT_ID": "x"})


# --- the OAuth redirect URI -----------------------------------------------------------------------------

def test_the_oauth_redirect_uri_is_built_from_public_url_not_from_the_host_header(app_config, make_company,
                                                                                  make_user):
    from backoffice import create_app

    user = make_user(make_company(), role=Role.ADMIN)
    app = create_app({**app_config, "PUBLIC_URL": "http://backoffice.example:8080/"})
    server = LiveServer(app)
    try:
        http = requests.Session()
        assert login(http, server.url, user.email, PASSWORD).status_code == 302
        # (requests' cookie jar follows the Host header, so the session cookie goes by hand)
        start = requests.get(f"{server.url}/integrations/fortnox/connect", allow_redirects=False, timeout=10,
                             headers={"Host": "evil.example", "Cookie": f"session={http.cookies['session']}"})
    finally:
        server.stop()
        app.extensions["db_engine"].dispose()
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["redirect_uri"] == ["http://backoffice.example:8080/integrations/fortnox/callback"]


# --- sessions end on the server: logout, a password change, a role change, an admin's "Logga ut överallt"

def logged_in(live_url: str, email: str) -> tuple[requests.Session, requests.Session]:
    """A browser that logged in, and a second one holding a copy of its session cookie."""
    http = requests.Session()
    assert login(http, live_url, email, PASSWORD).status_code == 302
    copy = requests.Session()
    copy.cookies.set("session", http.cookies["session"])
    assert can_see_start(copy, live_url)
    return http, copy


def can_see_start(http: requests.Session, live_url: str) -> bool:
    answer = http.get(f"{live_url}/", allow_redirects=False, timeout=10)
    assert answer.status_code in (200, 302)
    return answer.status_code == 200


def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_stops_working(live_server, make_company, make_user):
    user = make_user(make_company())
    http, copy = logged_in(live_server.url, user.email)
    other, _ = logged_in(live_server.url, user.email)  # the same user in another browser
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(f"{live_server.url}/", timeout=10).text).group(1)
    assert http.post(f"{live_server.url}/logout", data={"csrf_token": token}, allow_redirects=False,
                     timeout=10).status_code == 302
    assert not can_see_start(copy, live_server.url)
    assert can_see_start(other, live_server.url)  # logout ends this session only


def test_a_password_change_and_a_role_change_end_the_users_sessions(app, db, live_server, make_company, make_user):
    user = make_user(make_company(), role=Role.ADMIN)

    def command(*args: str, input: str | None = None):
        with app.app_context():  # its own session, as a command has, not the test's
            return app.test_cli_runner().invoke(args=list(args), input=input)
    first, first_copy = logged_in(live_server.url, user.email)
    changed = command("users", "set-password", user.email, "--password-stdin", input="nytt-lösen-99\n")
    assert changed.exit_code == 0, changed.output
    assert not can_see_start(first, live_server.url) and not can_see_start(first_copy, live_server.url)
    assert login(requests.Session(), live_server.url, user.email, "nytt-lösen-99").status_code == 302
    command("users", "set-password", user.email, "--password-stdin", input=PASSWORD + "\n")

    second, second_copy = logged_in(live_server.url, user.email)
    demoted = command("users", "set-role", user.email, "--role", "manager")
    assert demoted.exit_code == 0, demoted.output
    assert not can_see_start(second, live_server.url) and not can_see_start(second_copy, live_server.url)
    db.expire_all()
    db.refresh(user)
    assert user.role == Role.MANAGER

    third, _ = logged_in(live_server.url, user.email)
    ended = command("users", "end-sessions", user.email)
    assert ended.exit_code == 0 and "Ended 1 session(s)" in ended.output, ended.output
    assert not can_see_start(third, live_server.url)


def test_byt_losenord_ends_the_users_other_sessions_and_keeps_this_one(live_server, make_company, make_user):
    user = make_user(make_company(), role=Role.MANAGER)
    other, other_copy = logged_in(live_server.url, user.email)
    page = Browser(live_server.url, user.email)
    wrong = page.call("POST", "/konto/losenord", data={"current": "fel", "new": "nytt-lösen-77",
                                                       "repeat": "nytt-lösen-77"})
    assert wrong.status_code == 400 and "Fel lösenord." in wrong.text and can_see_start(other, live_server.url)
    changed = page.call("POST", "/konto/losenord", data={"current": PASSWORD, "new": "nytt-lösen-77",
                                                         "repeat": "nytt-lösen-77"})
    assert changed.status_code == 302
    assert can_see_start(page.http, live_server.url)  # the session that changed it goes on
    assert not can_see_start(other, live_server.url) and not can_see_start(other_copy, live_server.url)
    assert login(requests.Session(), live_server.url, user.email, "nytt-lösen-77").status_code == 302


def test_an_admin_logs_a_user_of_their_company_out_everywhere_and_no_one_else(live_server, make_company, make_user):
    company = make_company()
    admin = make_user(company, role=Role.ADMIN)
    manager = make_user(company, role=Role.MANAGER)
    stranger_admin = make_user(make_company(), role=Role.ADMIN)
    phone, laptop = logged_in(live_server.url, manager.email)
    page = Browser(live_server.url, admin.email)
    listing = page.call("GET", "/foretag/anvandare/")
    assert listing.status_code == 200 and manager.email in listing.text and "Logga ut överallt" in listing.text

    foreign = Browser(live_server.url, stranger_admin.email).call("POST", f"/foretag/anvandare/{manager.id}/logga-ut")
    assert foreign.status_code == 404 and can_see_start(phone, live_server.url)

    done = page.call("POST", f"/foretag/anvandare/{manager.id}/logga-ut")
    assert done.status_code == 302
    assert not can_see_start(phone, live_server.url) and not can_see_start(laptop, live_server.url)
    assert can_see_start(page.http, live_server.url)  # the admin's own session goes on


def test_session_tokens_are_stored_only_as_hashes(db, live_server, make_company, make_user):
    from flask.sessions import SecureCookieSessionInterface
    from itsdangerous import URLSafeTimedSerializer

    from tests.reliability.test_security import database_text

    user = make_user(make_company())
    http, _ = logged_in(live_server.url, user.email)
    interface = SecureCookieSessionInterface()
    serializer = URLSafeTimedSerializer("test-secret-key", salt=interface.salt, serializer=interface.serializer,
                                        signer_kwargs={"key_derivation": "hmac", "digest_method": interface.digest_method})
    token = serializer.loads(http.cookies["session"])["sid"]
    assert len(token) >= 40 and token not in database_text(db)


# --- login: unknown and known e-mails alike, a NUL, a per-client throttle ------------------------------

def test_unknown_and_known_addresses_take_as_long_and_are_locked_alike(live_server, make_company, make_user):
    user = make_user(make_company())

    def timed(email: str) -> float:
        http = requests.Session()
        token = login_form(http, live_server.url)
        answer = http.post(f"{live_server.url}/login", data={"email": email, "password": "fel", "csrf_token": token},
                           allow_redirects=False, timeout=10)
        assert answer.status_code == 401
        return answer.elapsed.total_seconds()

    known = [timed(user.email) for _ in range(4)]
    unknown = [timed(f"ingen-{i}-{user.email}") for i in range(4)]
    # A password hash costs tens of milliseconds; without one an unknown address answered in ~3 ms.
    assert min(unknown) > min(known) / 3, (known, unknown)

    nobody = f"finns-inte-{user.email}"
    http = requests.Session()
    known_answers = [login(http, live_server.url, user.email, "fel") for _ in range(1)]  # 5th failure of user
    unknown_answers = [login(http, live_server.url, nobody, "fel") for _ in range(5)]
    assert [a.status_code for a in known_answers] == [401]
    assert [a.status_code for a in unknown_answers] == [401] * 5
    locked_known, locked_unknown = login(http, live_server.url, user.email, PASSWORD), login(http, live_server.url,
                                                                                            nobody, PASSWORD)
    assert locked_known.status_code == locked_unknown.status_code == 429

    def flash(answer):
        return answer.text.split('class="flash', 1)[1].split("</", 1)[0]

    assert flash(locked_known) == flash(locked_unknown)


def test_counts_whose_window_and_lock_are_over_are_forgotten(db, live_server):
    from datetime import timedelta

    from backoffice.companies.models import LoginThrottle
    from backoffice.db import now_utc

    long_ago = now_utc() - timedelta(hours=1)
    db.add_all([LoginThrottle(key="stale" + "0" * 59, failures=3, window_started_at=long_ago),
                LoginThrottle(key="locked" + "0" * 58, failures=0, window_started_at=long_ago,
                              locked_until=now_utc() + timedelta(minutes=5))])
    db.commit()
    assert login(requests.Session(), live_server.url, "vem-som-helst@example.se", "fel").status_code == 401
    db.rollback()
    keys = set(db.scalars(select(LoginThrottle.key)))
    assert "stale" + "0" * 59 not in keys and "locked" + "0" * 58 in keys


def test_a_nul_or_a_control_character_in_the_login_form_is_a_400(live_server, make_company, make_user):
    user = make_user(make_company())
    http = requests.Session()
    for email in (user.email + "\x00", "a\x00b@example.se", user.email + "\n"):
        token = login_form(http, live_server.url)
        answer = http.post(f"{live_server.url}/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                           allow_redirects=False, timeout=10)
        assert answer.status_code == 400, (email, answer.status_code)
    nul_password = login(http, live_server.url, user.email, "x\x00y")
    assert nul_password.status_code == 401


def test_one_client_is_throttled_across_addresses_while_others_log_in(app_config, make_company, make_user):
    from backoffice import create_app

    user = make_user(make_company())
    app = create_app({**app_config, "LOGIN_CLIENT_LIMIT": 6, "TRUSTED_PROXIES": 1})
    server = LiveServer(app)

    def attempt(client: str, email: str, password: str) -> int:
        http = requests.Session()
        http.headers["X-Forwarded-For"] = client
        return login(http, server.url, email, password).status_code

    try:
        sprayed = [attempt("198.51.100.9", f"gissning-{i}@example.se", "fel") for i in range(6)]
        blocked = attempt("198.51.100.9", user.email, PASSWORD)
        elsewhere = attempt("198.51.100.10", user.email, PASSWORD)
    finally:
        server.stop()
        app.extensions["db_engine"].dispose()
    assert sprayed == [401] * 6  # no address reached its own limit of 5
    assert blocked == 429
    assert elsewhere == 302


# --- a lone surrogate in an imported settings file ------------------------------------------------------

@pytest.mark.parametrize("where", ["key", "value", "unknown field", "raw bytes"])
def test_a_lone_surrogate_in_an_imported_settings_file_is_a_400_and_changes_nothing(
    db, live_server, make_company, make_user, make_register, where
):
    import json

    from tests.fixtures import contract_mapping

    company = make_company()
    make_register(company, pos_id="K1")
    browser = Browser(live_server.url, make_user(company, role=Role.ADMIN).email)
    document = {**contract_mapping(), "cost_centres": {}}
    if where == "key":
        document["payment_methods"] = {**document["payment_methods"], "kort\ud800": 1580}
    elif where == "value":
        document["schema"] = "mapping/v1\udfff"
    elif where == "unknown field":
        document["ok\ud800nd"] = 1
    text = json.dumps(document)  # \ud800 escapes, as a hostile file would hold them
    body = text.encode() if where != "raw bytes" else text.replace('"mapping/v1"', '"mapping/v1\\u0000"').encode(
    ).replace(b'"cash"', b'"c\xed\xa0\x80sh"')
    answer = browser.call("POST", "/ekonomi/redovisning/installningar",
                          files={"file": ("installningar.json", body, "application/json")})
    assert answer.status_code == 400, answer.status_code
    assert "Filen" in answer.text
    from backoffice.accounts.operations import load_mapping

    db.rollback()
    assert load_mapping(db, company) is None  # nothing stored


# --- demo only: the embedded emulator and worker start from `flask run` alone, and a taken port is used --

def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_flask_run_uses_the_emulator_already_on_its_port_and_other_commands_start_nothing(tmp_path, emulator):
    import subprocess
    import sys
    import time

    from cryptography.fernet import Fernet

    from tests.conftest import REPO

    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FORTNOX_", "DATABASE_URL"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "SECRET_KEY": "s" * 32,
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "EMBEDDED_WORKER": "1",
        "FORTNOX_EMULATOR_URL": emulator.url,  # a port that is taken: the session's emulator is there
    }
    upgrade = subprocess.run([*flask, "db", "upgrade"], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "export worker runs inside" not in upgrade.stderr and "emulator" not in upgrade.stderr.lower()

    port = _free_port()
    server = subprocess.Popen([*flask, "run", "--port", str(port)], cwd=REPO, env=env, stderr=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read()  # Werkzeug's sys.exit ended it before
            try:
                if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "flask run did not serve the login page"
            time.sleep(0.2)
    finally:
        server.terminate()
        logs = server.communicate(timeout=30)[1]
    assert f"Port {emulator.port} is taken: using the Fortnox emulator already running there" in logs
    assert "The export worker runs inside the web process" in logs
