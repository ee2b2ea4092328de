"""The back office's pages over real HTTP: logged-in admins and managers of their own companies,
each company with its own tenant of the session's Fortnox emulator."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import select

from backoffice.accounts.operations import save_mapping
from backoffice.accounts.schemas import mapping_schema
from backoffice.companies.models import Company, Register, Role
from backoffice.db import now_utc
from backoffice.demo import deliver, zreport_document
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.export.states import transition
from backoffice.integrations.fortnox.connection import store_tokens
from backoffice.integrations.fortnox.models import FortnoxConnection, FortnoxIntegration
from backoffice.integrations.fortnox.oauth import TokenSet
from backoffice.integrations.fortnox.views import SCOPES
from tests.companies.test_login import login
from tests.conftest import PASSWORD

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

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
    """Give a site its own emulator tenant and a stored connection (as after Fortnox's consent)."""

    def make(made: Site, *, active: bool = False, mapping: dict | None = None, scope: str | None = None) -> Site:
        tenant_id = emulator.control.create_tenant(made.company.name, "556677-8899")
        # A connection made now has every scope the product asks for; pass ``scope`` for another consent.
        answer = emulator.control.issue_tokens(tenant_id, scope or " ".join(SCOPES))
        connection = FortnoxConnection(tenant_id=tenant_id, fortnox_company_name=made.company.name)
        # End the read the lines above began: on SQLite a write after a read fails at once when the live
        # server's worker has committed since (its snapshot is old); a write first waits its turn.
        db.rollback()
        store_tokens(
            connection,
            TokenSet(
                access_token=answer["access_token"],
                refresh_token=answer["refresh_token"],
                expires_at=now_utc() + timedelta(seconds=answer["expires_in"]),
                scope=answer.get("scope", ""),
            ),
        )
        db.add(connection)
        db.add(FortnoxIntegration(company=made.company, connection=connection, active=active, wizard_step="startdatum"))
        db.flush()
        db.refresh(made.company)
        if mapping is not None:
            save_mapping(db, made.company, mapping_schema.load(mapping), actor="test")
        db.commit()
        made.tenant_id, made.connection_id = tenant_id, connection.id
        return made

    return make


@pytest.fixture()
def reports(db):
    """Deliver demo Z-reports for a site's registers, one a day ending yesterday."""

    def make(made: Site, days: int = 3, registers: tuple[str, ...] | None = None, start: date | None = None):
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


def fresh(db) -> None:
    """Forget what the test's session has read: the live server has written since."""
    db.rollback()  # on SQLite an open read transaction keeps seeing an old snapshot
    db.expire_all()  # and objects loaded before would not be read again


def jobs_of(db, company: Company) -> list[ExportJob]:
    fresh(db)
    return db.scalars(select(ExportJob).where(ExportJob.company_id == company.id).order_by(ExportJob.id)).all()
