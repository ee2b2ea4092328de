"""The one fixtures module of a restaurant as the tests use it (loaded by ``pytest_plugins`` in
tests/conftest.py): logged-in users over real HTTP, a company connected to its own tenant of the
session's Fortnox emulator, its mapping and its Z-reports, and the worker run by hand.

``tests/conftest.py`` holds what these stand on: the database, the app, the live server, the
emulator and the ``make_company``/``make_user``/``make_register`` factories.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import requests
from sqlalchemy import func, select

from backoffice.accounts.operations import save_mapping
from backoffice.accounts.schemas import mapping_schema
from backoffice.companies.models import Company, Register, Role
from backoffice.db import now_utc
from backoffice.demo import deliver, zreport_document
from backoffice.export.attachments import attach_one, claim_next_attachment, release_attachment
from backoffice.export.claims import DEFAULT_LEASE, claim_next_job, release
from backoffice.export.engine import export_one
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.export.states import transition
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.models import FortnoxConnection
from backoffice.settings.connect import SCOPES
from backoffice.zreport.models import ZReportRecord
from bench.harness import connect_to_emulator
from tests.conftest import CONTRACTS, PASSWORD

# --- mappings -------------------------------------------------------------------------------------

#: A complete mapping for the demo's Z-reports (zreport_document): card, cash, swish, gift cards,
#: 25/12/6 %, tips, rounding and sold gift cards.
DEMO_MAPPING = {
    "schema": "mapping/v1",
    "voucher_series": "F",
    "payment_methods": {"cash": 1910, "card": 1580, "swish": 1930, "gift_card": 2421},
    "vat_rates": {"25": 2611, "12": 2621, "6": 2631},
    "sales": [
        {"vat_rate": "25", "account": 3001},
        {"vat_rate": "12", "account": 3002},
        {"vat_rate": "6", "account": 3003},
    ],
    "other": {"tips": 2890, "rounding": 3740, "cash_difference": 3740, "gift_cards_sold": 2421},
}


def contract_mapping() -> dict:
    """The contract's example mapping (mapping-v1.md), without its start date."""
    text = (CONTRACTS / "mapping-v1.md").read_text(encoding="utf-8")
    document = json.loads(text.split("```json", 1)[1].split("```", 1)[0])
    document.pop("start_date")
    return document


# --- logging in over HTTP -------------------------------------------------------------------------

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def login_form(http: requests.Session, url: str) -> str:
    page = http.get(f"{url}/login", timeout=10)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)


def login(http: requests.Session, url: str, email: str, password: str) -> requests.Response:
    token = login_form(http, url)
    return http.post(
        f"{url}/login", data={"email": email, "password": password, "csrf_token": token}, allow_redirects=False, timeout=10
    )


class Web:
    """A browser session of one user on the live server: GET, and POST with the page's CSRF token."""

    def __init__(self, url: str, user=None):
        self.url = url
        self.user = user
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.http.get(self.url + path, **kwargs)

    def csrf(self) -> str:
        page = self.get("/")
        return _CSRF.search(page.text).group(1)

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kwargs) -> requests.Response:
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf()
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return self.http.post(self.url + path, data=data, **kwargs)


# --- a restaurant connected to Fortnox ------------------------------------------------------------


def connect_company(
    db, emulator, company: Company, *, active: bool, scope: str | None = None, wizard_step: str | None = None
) -> tuple[int, FortnoxConnection]:
    """Give ``company`` its own emulator tenant and a stored connection, as after Fortnox's consent,
    and its integration (``active`` or not): ``bench.harness.connect_to_emulator``, ending the test's
    read before it writes. Flushes; the caller saves a mapping and commits."""
    tenant_id, connection = connect_to_emulator(
        db, emulator.control, company, active=active, scope=scope, wizard_step=wizard_step, end_read=True
    )
    db.refresh(company)
    return tenant_id, connection


@dataclass
class Restaurant:
    company: Company
    tenant_id: int
    connection_id: int
    tokens: dict  # register pos_id → API token


@pytest.fixture()
def restaurant(db, emulator, make_company, make_register):
    """Make a company with registers, its own emulator tenant, tokens, a mapping and an active integration."""

    def make(registers=("K1",), mapping: dict | None = None, active: bool = True, cost_centres: dict | None = None,
             scope: str | None = None) -> Restaurant:
        company = make_company()
        tokens = {pos_id: make_register(company, pos_id=pos_id, name=f"Kassa {pos_id[1:]}")[1] for pos_id in registers}
        tenant_id, connection = connect_company(db, emulator, company, active=active, scope=scope)
        document = mapping if mapping is not None else contract_mapping()
        document = {**document, "cost_centres": cost_centres or {}}
        save_mapping(db, company, mapping_schema.load(document), actor="test")
        db.commit()
        return Restaurant(company, tenant_id, connection.id, tokens)

    return make


# --- a restaurant's users on the live server ------------------------------------------------------


@dataclass
class Site:
    """A company with an admin and a manager, each logged in, and its registers."""

    company: Company
    admin: Web
    manager: Web
    registers: dict[str, Register] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    tenant_id: int | None = None
    connection_id: int | None = None


@pytest.fixture()
def register(make_company, make_register):
    """A company with one register, for the POS API: (company, register, token)."""
    company = make_company()
    register, token = make_register(company)
    return company, register, token


def stored_count(db, company) -> int:
    """How many Z-reports ``company`` has stored (a fresh read: another request stored them)."""
    db.rollback()
    return db.scalar(select(func.count()).select_from(ZReportRecord).where(ZReportRecord.company_id == company.id))


@pytest.fixture()
def site(db, live_server, make_company, make_user, make_register):
    """Make a company with a logged-in admin and manager and registers K1 (and K2)."""

    made_companies: list[Company] = []

    def make(registers=("K1", "K2")) -> Site:
        company = make_company()
        made_companies.append(company)
        webs = {}
        for role in (Role.ADMIN, Role.MANAGER):
            user = make_user(company, role=role)
            web = Web(live_server.url, user)
            assert login(web.http, live_server.url, user.email, PASSWORD).status_code == 302
            webs[role] = web
        made = Site(company, webs[Role.ADMIN], webs[Role.MANAGER])
        for pos_id in registers:
            register, token = make_register(company, pos_id=pos_id, name=f"Kassa {pos_id[1:]}")
            made.registers[pos_id] = register
            made.tokens[pos_id] = token
        db.refresh(company)
        return made

    yield make
    # Leave no export waiting, blocked or failed: a worker started by a later test (the browser suite,
    # the chaos run) would otherwise spend its time exporting or healing these companies' reports.
    fresh(db)
    for job in db.scalars(
        select(ExportJob).where(
            ExportJob.company_id.in_([c.id for c in made_companies]),
            ExportJob.state.in_([ExportState.PENDING, ExportState.BLOCKED, ExportState.FAILED]),
        )
    ):
        transition(job, ExportState.SKIPPED)
    db.commit()


@pytest.fixture()
def connect(db, emulator):
    """Give a site (or a browser test's shop) its own emulator tenant and a stored connection."""

    def make(made, *, active: bool = False, mapping: dict | None = None, scope: str | None = None):
        # A connection made now has every scope the product asks for; pass ``scope`` for another consent.
        tenant_id, connection = connect_company(
            db, emulator, made.company, active=active, scope=scope or " ".join(SCOPES), wizard_step="startdatum"
        )
        if mapping is not None:
            save_mapping(db, made.company, mapping_schema.load(mapping), actor="test")
        db.commit()
        made.tenant_id, made.connection_id = tenant_id, connection.id
        return made

    return make


@pytest.fixture()
def reports(db):
    """Deliver demo Z-reports for a site's registers, one a day ending yesterday."""

    def make(made, days: int = 3, registers: tuple[str, ...] | None = None, start: date | None = None):
        records = []
        first = start or date.today() - timedelta(days=days)
        for pos_id in registers or tuple(made.registers):
            register = db.get(Register, made.registers[pos_id].id)
            for offset in range(days):
                day = first + timedelta(days=offset)
                z_number = (day - date(2024, 1, 1)).days + 1
                records.append(deliver(db, register, zreport_document(pos_id, register.name, z_number, day)))
        db.commit()
        return records

    return make


def open_problem(db, company: Company, kind: str, key: str = "", detail: dict | None = None) -> Problem:
    problem = Problem(company_id=company.id, kind=kind, key=key, detail=json.dumps(detail or {}), opened_at=now_utc())
    db.add(problem)
    db.commit()
    return problem


# --- reading what the server and the worker wrote -------------------------------------------------


@contextmanager
def auto_approve(control, enabled: bool, *, tenant_id: int | None = None) -> Iterator[None]:
    """The emulator's consent page answers at once for ``tenant_id`` (``enabled``) or waits for a person,
    while the block runs; then it is set back to what it was."""
    before = control.get_auto_approve()
    control.set_auto_approve(enabled, tenant_id=tenant_id)
    try:
        yield
    finally:
        control.set_auto_approve(before["enabled"], tenant_id=before["tenant_id"], decision=before["decision"])


def fresh(db) -> None:
    """Forget what the test's session has read: the live server has written since."""
    db.rollback()  # on SQLite an open read transaction keeps seeing an old snapshot
    db.expire_all()  # and objects loaded before would not be read again


def jobs_of(db, company: Company) -> list[ExportJob]:
    fresh(db)
    return db.scalars(select(ExportJob).where(ExportJob.company_id == company.id).order_by(ExportJob.id)).all()


def run_jobs(db, *, now: datetime | None = None, limit: int = 1000, company: Company | None = None) -> list[str]:
    """Claim and export due jobs one by one at ``now`` (an explicit clock instead of sleeping).

    Like a worker, it exports every due job in the database. ``company``: return only the states of
    that company's jobs, for a test whose clock jumps ahead to where an earlier test's retries are due.
    """
    now = now or now_utc()
    states = []
    for _ in range(limit):
        claim = claim_next_job(db, "test-worker", now=now)
        if claim is None:
            break
        try:
            state = str(export_one(db, claim.job_id, clients=client_for, lease=DEFAULT_LEASE, now=now))
            if company is None or db.get(ExportJob, claim.job_id).company_id == company.id:
                states.append(state)
        finally:
            release(db, claim, "test-worker")
    return states


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


# --- attaching Z-reports --------------------------------------------------------------------------

#: The scopes the product asks for since Z-reports are attached (a new consent).
ATTACH_SCOPE = "bookkeeping costcenter companyinformation settings inbox connectfile"

#: The scopes of a consent given before Z-reports were attached.
OLD_SCOPE = "bookkeeping costcenter companyinformation settings"


def run_attachments(db, company, *, now: datetime | None = None, limit: int = 1000) -> list[str]:
    """Claim and attach the company's due Z-report PDFs one by one at ``now``, as the worker does when no
    voucher is due."""
    now = now or now_utc()
    states = []
    for _ in range(limit):
        claim = claim_next_attachment(db, "test-worker", now=now, lease=timedelta(seconds=300), company_id=company.id)
        if claim is None:
            break
        db.expire_all()  # the worker gives each attachment a fresh session
        try:
            states.append(str(attach_one(db, claim.attachment_id, clients=client_for, now=now)))
        finally:
            release_attachment(db, claim, "test-worker")
    return states


def banners(page: str) -> list[str]:
    """The text of each banner on a page."""
    return [unescape(b) for b in re.findall(r'<div class="banner" role="alert".*?</div>\s*</div>', page, re.S)]


def export_pending(db, company) -> list[str]:
    """Export the company's due jobs once each, in this process (no worker runs in these tests)."""
    states = []
    for job in jobs_of(db, company):
        if job.state == ExportState.PENDING:
            states.append(str(export_one(db, job.id, clients=client_for, lease=DEFAULT_LEASE)))
    return states
