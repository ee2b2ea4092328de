"""Logging in through the real login form over HTTP: CSRF, wrong passwords, throttling."""

from __future__ import annotations

import re

import requests

from backoffice.companies.auth import MAX_FAILED_LOGINS
from tests.conftest import PASSWORD
from tests.fixtures import login


def test_pages_require_login_and_the_login_page_is_swedish(live_server):
    start = requests.get(f"{live_server.url}/", allow_redirects=False, timeout=10)
    page = requests.get(f"{live_server.url}/login", timeout=10)

    assert start.status_code == 302 and "/login" in start.headers["Location"]
    assert "Logga in" in page.text and "Lösenord" in page.text


def test_correct_password_logs_in_and_logout_ends_the_session(live_server, make_company, make_user):
    user = make_user(make_company())
    http = requests.Session()

    response = login(http, live_server.url, user.email.upper(), PASSWORD)
    start = http.get(f"{live_server.url}/", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', start.text).group(1)
    http.post(f"{live_server.url}/logout", data={"csrf_token": token}, timeout=10)

    assert response.status_code == 302
    assert start.status_code == 200 and user.company.name in start.text
    assert http.get(f"{live_server.url}/", allow_redirects=False, timeout=10).status_code == 302


def test_wrong_password_and_missing_csrf_token_are_refused(live_server, make_company, make_user):
    user = make_user(make_company())
    http = requests.Session()

    wrong = login(http, live_server.url, user.email, "fel-lösenord")
    no_csrf = http.post(f"{live_server.url}/login", data={"email": user.email, "password": PASSWORD}, timeout=10)

    assert wrong.status_code == 401 and "Fel e-postadress eller lösenord" in wrong.text
    assert no_csrf.status_code == 400
    assert http.get(f"{live_server.url}/", allow_redirects=False, timeout=10).status_code == 302


def test_login_is_throttled_after_repeated_failures_even_with_the_right_password(live_server, make_company, make_user):
    user = make_user(make_company())
    http = requests.Session()

    failures = [login(http, live_server.url, user.email, f"fel-{i}").status_code for i in range(MAX_FAILED_LOGINS)]
    locked = login(http, live_server.url, user.email, PASSWORD)

    assert failures == [401] * MAX_FAILED_LOGINS
    assert locked.status_code == 429 and "För många misslyckade inloggningar" in locked.text
