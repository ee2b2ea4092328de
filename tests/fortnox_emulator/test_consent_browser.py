"""The consent page in a real browser: a person picks a company and approves or cancels."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser


class _Callback(http.server.BaseHTTPRequestHandler):
    """Stands in for the back office's OAuth callback and remembers the query it got."""

    received: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        if url.path == "/fortnox/callback":  # not the browser's /favicon.ico
            self.received.append(parse_qs(url.query))
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"<h1>Tillbaka i backoffice</h1>")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def callback_url() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Callback.received.clear()
    yield f"http://127.0.0.1:{server.server_port}/fortnox/callback"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        system_chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        try:
            browser = playwright.chromium.launch(executable_path=system_chromium, args=["--no-sandbox"])
        except sync_api.Error as exc:
            pytest.skip(f"no Chromium to drive: {exc}")
        yield browser.new_page()
        browser.close()


def _consent_url(emulator, callback_url: str, state: str) -> str:
    return emulator.url + "/oauth-v1/auth?" + urlencode({
        "client_id": "demo", "redirect_uri": callback_url, "scope": "bookkeeping costcenter", "state": state,
        "response_type": "code", "access_type": "offline"})


def test_a_person_picks_a_company_and_approves_with_enter(emulator, page, callback_url):
    other = emulator.control.create_tenant("Pizzeria Napoli AB", "559911-2233")
    page.goto(_consent_url(emulator, callback_url, "s1"))
    assert page.title().startswith("Logga in och godkänn integration")

    page.select_option("#tenant_id", str(other))
    page.press("#password", "Enter")
    page.wait_for_url(callback_url + "*")

    (query,) = _Callback.received
    assert query["state"] == ["s1"] and "code" in query
    assert page.inner_text("h1") == "Tillbaka i backoffice"


def test_a_person_cancels(emulator, page, callback_url):
    page.goto(_consent_url(emulator, callback_url, "s2"))

    page.click("text=Avbryt")
    page.wait_for_url(callback_url + "*")

    assert _Callback.received == [{"error": ["access_denied"], "state": ["s2"]}]
