"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when DATABASE_URL says so), the app,
a real HTTP server thread, and factories with counters for companies, users, registers and reports.

Tests never share rows: every factory makes uniquely named companies, so the session-wide database
needs no cleaning between tests, and a live server thread sees exactly what the test committed.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from alembic import command
from cryptography.fernet import Fernet
from flask import g
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from backoffice import create_app
from backoffice.cli import alembic_config
from backoffice.companies.models import Company, Register, Role, User
from backoffice.db import make_engine
from backoffice.db import session as db_session

# Hypothesis's timing checks measure the machine, not the code: on a shared two-core machine they
# fail at random. Properties are judged on what they assert; performance lives in bench/.
settings.register_profile("shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")

#: The restaurants, logged-in users and the worker by hand that the tests share.
pytest_plugins = ["tests.fixtures"]

REPO = Path(__file__).resolve().parent.parent
CONTRACTS = REPO / "docs" / "contracts"
PASSWORD = "rätt-lösenord-1"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """A fresh, migrated database for this test run."""
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith("postgresql"):
        url = make_url(given)
        name = f"backoffice_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        test_url = url.set(database=name).render_as_string(hide_password=False)
        command.upgrade(alembic_config(test_url), "head")
        yield test_url
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        test_url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'backoffice.db'}"
        command.upgrade(alembic_config(test_url), "head")
        yield test_url


@pytest.fixture(scope="session")
def emulator():
    """The Fortnox emulator over real HTTP on 127.0.0.1, with its control API, for the whole run."""
    from fortnox_emulator.server import start_emulator

    running = start_emulator(auto_approve=True)
    yield running
    running.stop()


@pytest.fixture()
def readings(emulator):
    """Play other readings of the facts no source settles for one test (``readings(date_filter="refused")``);
    the emulator's defaults come back afterwards."""
    before = emulator.control.readings()
    yield lambda **chosen: emulator.control.set_readings(**chosen)
    emulator.control.set_readings(**{name: value for name, value in before.items()
                                     if name not in ("choices", "unsourced")})


@pytest.fixture(scope="session")
def app_config(database_url, emulator) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "EMBEDDED_WORKER": False,
        "FORTNOX_CLIENT_ID": "demo",
        "FORTNOX_CLIENT_SECRET": "demo-secret",
        "FORTNOX_AUTH_URL": f"{emulator.url}/oauth-v1/auth",
        "FORTNOX_TOKEN_URL": f"{emulator.url}/oauth-v1/token",
        "FORTNOX_REVOKE_URL": f"{emulator.url}/oauth-v1/revoke",
        "FORTNOX_API_URL": f"{emulator.url}/3",
        "EXPORT_CONCURRENCY": 4,
        "FORTNOX_READ_TIMEOUT": 2.0,
        # Every test logs in from 127.0.0.1: the per-client throttle is tried with its own app
        # (tests/reliability/test_hardening.py), not left to trip on the whole suite's failures.
        "LOGIN_CLIENT_LIMIT": 100_000,
    }


@pytest.fixture(scope="session")
def app(app_config):
    app = create_app(app_config)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture(scope="session")
def test_sessionmaker(app, database_url):
    """Sessions for the test's own reads and writes. On SQLite their transactions are deferred, so a
    test that looks at the database never holds the write lock the live server is waiting for."""
    engine = make_engine(database_url, sqlite_write_lock_at_begin=False)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture()
def db(app, test_sessionmaker):
    """The session of an app context around the test (``backoffice.db.session`` inside it)."""
    with app.app_context():
        g.db_session = test_sessionmaker()
        yield db_session
        db_session.rollback()


class LiveServer:
    """The app served over real HTTP on 127.0.0.1 by a thread of this process."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()


_counter = itertools.count(1)


@pytest.fixture()
def make_company(db):
    def make(name: str | None = None, org_number: str = "556677-8899") -> Company:
        company = Company(name=name or f"Krogen {next(_counter)} AB", org_number=org_number)
        db.add(company)
        db.commit()
        return company

    return make


@pytest.fixture()
def make_user(db):
    def make(company: Company, role: Role = Role.ADMIN, email: str | None = None, password: str = PASSWORD) -> User:
        user = User(email=email or f"user{next(_counter)}@example.se", company=company, role=role)
        user.set_password(password)
        db.add(user)
        db.commit()
        return user

    return make


@pytest.fixture()
def make_register(db):
    """Make a register; returns ``(register, api_token)``."""

    def make(company: Company, pos_id: str = "K1", name: str = "Kassa 1", cost_center: str | None = None):
        register = Register(company=company, pos_id=pos_id, name=name, cost_center=cost_center)
        token = register.issue_token()
        db.add(register)
        db.commit()
        return register, token

    return make


def example_document() -> dict:
    """The contract's example Z-report (zreport-v1.md), parsed from the contract itself."""
    contract = (CONTRACTS / "zreport-v1.md").read_text(encoding="utf-8")
    return json.loads(contract.split("```json", 1)[1].split("```", 1)[0])


_EXAMPLE = example_document()


@pytest.fixture()
def make_document():
    """Build a valid zreport/v1 document: the contract's example with ``overrides`` applied."""

    def make(register_id: str = "K1", z_number: int | None = None, **overrides) -> dict:
        document = copy.deepcopy(_EXAMPLE)
        document["register"]["id"] = register_id
        document["z_number"] = z_number if z_number is not None else next(_counter)
        document.update(overrides)
        return document

    return make


@pytest.fixture()
def pos(live_server):
    """POST/GET against the POS API of the live server with a register token."""

    class Pos:
        def post(self, token: str | None, document, **kwargs) -> requests.Response:
            headers = {"Content-Type": "application/json"}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            body = document if isinstance(document, (str, bytes)) else json.dumps(document)
            return requests.post(f"{live_server.url}/api/v1/z-reports", data=body, headers=headers, timeout=30, **kwargs)

        def get(self, token: str, register_id: str, z_number: int) -> requests.Response:
            return requests.get(
                f"{live_server.url}/api/v1/z-reports/{register_id}/{z_number}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )

    return Pos()
