"""The back office in a real browser: Debian's Chromium driven by Playwright, against a second app
instance that runs the export worker, so reports really reach the Fortnox emulator.

Without /usr/bin/chromium (or Playwright) the whole folder is skipped with a message saying so;
``REQUIRE_BROWSER=1`` (CI) turns that skip into a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from backoffice import create_app
from backoffice.companies.models import Company, Role
from backoffice.scheduler import start_embedded
from tests.conftest import PASSWORD, LiveServer
from tests.fixtures import fresh

#: Debian's Chromium (``BROWSER_CHROMIUM`` names another binary).
CHROMIUM = Path(os.environ.get("BROWSER_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (install Debian's chromium: apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    return None


def pytest_collection_modifyitems(config, items) -> None:
    why = _missing()
    if why is None:
        return
    required = os.environ.get("REQUIRE_BROWSER") == "1"
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            if required:
                item.add_marker(pytest.mark.usefixtures("_browser_required"))
            else:
                item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {why}"))


@pytest.fixture()
def _browser_required() -> None:
    pytest.fail(f"REQUIRE_BROWSER=1 but the browser tests cannot run: {_missing()}")


@pytest.fixture(scope="module")
def worker_server(app_config) -> Iterator[LiveServer]:
    """A second app on the same database, with the export worker running (EMBEDDED_WORKER semantics),
    served over HTTP. The scheduler stops when the module ends, so it cannot take other tests' jobs."""
    app = create_app(app_config)
    scheduler = start_embedded(app)
    server = LiveServer(app)
    yield server
    _until_attached(app)  # leave no Z-report PDF for the next module's worker to attach meanwhile
    server.stop()
    scheduler.shutdown(wait=True)
    app.extensions["db_engine"].dispose()


def _until_attached(app, timeout: float = 60.0) -> None:
    """Wait until the worker has no Z-report PDF left to attach (or ``timeout`` seconds)."""
    from sqlalchemy import func, select

    from backoffice.export.models import AttachmentState, VoucherAttachment

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.extensions["db_sessionmaker"]() as db:
            pending = db.scalar(select(func.count()).select_from(VoucherAttachment)
                                .where(VoucherAttachment.state == AttachmentState.PENDING))
        if not pending:
            return
        time.sleep(0.3)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Headless Chromium (a fresh, empty profile: Playwright launches it with its own temporary
    user data directory)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def new_page(chromium, worker_server) -> Iterator[Callable[..., object]]:
    """Open pages, each in its own browser context (its own cookies) on the worker's server;
    ``new_page(390, 844)`` opens one on a phone's screen.

    Every page's console is watched: a script or style the Content-Security-Policy refused (an
    inline one, say) fails the test at its end."""
    contexts = []
    refused: list[str] = []

    def watch(message) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    def make(width: int = 1280, height: int = 900):
        context = chromium.new_context(
            base_url=worker_server.url, locale="sv-SE", viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", watch)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not refused, "the Content-Security-Policy refused:\n" + "\n".join(refused)


@dataclass
class Shop:
    """A company whose admin and manager log in in the browser (``connect`` and ``reports`` take it)."""

    company: Company
    admin_email: str
    manager_email: str
    registers: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    tenant_id: int | None = None
    connection_id: int | None = None


@pytest.fixture()
def shop(db, make_company, make_user, make_register) -> Callable[..., Shop]:
    """A company with an admin and a manager (to log in in the browser) and registers."""

    def make(registers=("K1",)) -> Shop:
        company = make_company()
        made = Shop(company, make_user(company, role=Role.ADMIN).email, make_user(company, role=Role.MANAGER).email)
        for pos_id in registers:
            register, token = make_register(company, pos_id=pos_id, name=f"Kassa {pos_id[1:]}")
            made.registers[pos_id], made.tokens[pos_id] = register, token
        fresh(db)
        return made

    return make


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url("**/")


def wait_for(check: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.3, what: str = "") -> object:
    """Poll ``check`` until it returns something true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(interval)


@pytest.fixture()
def screenshots(tmp_path_factory) -> Path:
    """Where the suite keeps its screenshots (``BROWSER_SCREENSHOTS`` to keep them somewhere else)."""
    where = os.environ.get("BROWSER_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
