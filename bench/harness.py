"""What every benchmark needs: a fresh database, the Fortnox emulator in its own process, restaurants
connected to it, worker and gunicorn processes, and the statistics the figures are made of.

Everything listens on 127.0.0.1 and every process started here is stopped by the same object that
started it (by its pid, never by name). Nothing here is imported by the product.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTRACTS = REPO / "docs" / "contracts"

PYTHON = sys.executable
BIN = Path(PYTHON).parent
#: The scopes of a consent that covers attaching each voucher's Z-report PDF (``inbox``, ``connectfile``).
ATTACH_SCOPE = "bookkeeping costcenter companyinformation settings inbox connectfile"
#: The dev server of the brief and of .ci/run; override with BENCH_POSTGRES_URL.
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:55432/postgres"


# --- statistics ---------------------------------------------------------------------------------


def percentile(values, q: float) -> float:
    """The ``q``-th percentile (0–100) by the nearest-rank method: a value that was measured."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values) -> float:
    return statistics.median(values) if values else math.nan


def line(label: str, value: str) -> None:
    print(f"  {label:<44} {value}", flush=True)


# --- database -----------------------------------------------------------------------------------


@contextmanager
def fresh_database(kind: str = "postgres"):
    """A new, migrated database for one run (PostgreSQL: a database ``bench_<random>``, dropped after)."""
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from backoffice.cli import alembic_config

    if kind == "postgres":
        server = make_url(os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_POSTGRES)
        name = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
        try:
            command.upgrade(alembic_config(url), "head")
            yield url
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bench-db-") as folder:
            url = f"sqlite:///{folder}/backoffice.db"
            command.upgrade(alembic_config(url), "head")
            yield url


# --- CPU accounting -----------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds used between ``start()`` and ``stop()`` by the machine and by groups of processes.

    On a shared 2-core machine a throughput means little without what it cost and what else ran:
    ``groups`` maps a name to a predicate on a process's command line (``/proc/<pid>/cmdline``);
    ``busy`` is the whole machine's non-idle CPU, so ``busy − Σ groups`` is everything else (the
    kernel's network work, and other people's processes). Linux only.
    """

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, groups: dict):
        self.groups = groups

    @staticmethod
    def _machine() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields[:8]) - idle, idle

    def _processes(self) -> dict[int, tuple[str, int]]:
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    cmdline = file.read().replace(b"\0", b" ").decode(errors="replace")
                with open(f"/proc/{entry}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            for name, matches in self.groups.items():
                if matches(cmdline):
                    found[int(entry)] = (name, int(fields[11]) + int(fields[12]))
                    break
        return found

    def start(self) -> None:
        self.began, self.machine0, self.processes0 = time.monotonic(), self._machine(), self._processes()

    def stop(self) -> dict[str, float]:
        """CPU seconds per group, ``busy`` and ``idle`` of the machine, and the ``wall`` seconds."""
        wall, (busy, idle), processes = time.monotonic() - self.began, self._machine(), self._processes()
        used = dict.fromkeys(self.groups, 0.0)
        for pid, (name, ticks) in processes.items():
            before = self.processes0.get(pid)
            used[name] += (ticks - (before[1] if before and before[0] == name else 0)) / self.TICK
        used["busy"] = (busy - self.machine0[0]) / self.TICK
        used["idle"] = (idle - self.machine0[1]) / self.TICK
        used["wall"] = wall
        return used


def peak_memory_mib(pid: int) -> float:
    """The peak resident memory of a process so far (``VmHWM``), in MiB; NaN when it has ended."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for row in status:
                if row.startswith("VmHWM:"):
                    return int(row.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers), from /proc."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    except OSError:
        pass
    return found


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A child process we started; stopped by its pid (SIGTERM, then SIGKILL), never by name."""

    def __init__(self, argv: list[str], *, env: dict | None = None, log: Path | None = None, cwd: Path = REPO):
        self.log_file = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        self.popen = subprocess.Popen(
            argv, cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log_file,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_for_line(self, timeout: float = 60.0) -> str:
        """The first line the child prints (its "ready" signal); fails if it dies or takes too long."""
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(self.popen.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            self.stop()
            raise RuntimeError(f"process {self.pid} printed nothing within {timeout} s")
        text = self.popen.stdout.readline().decode().strip()
        if not text:
            raise RuntimeError(f"process {self.pid} exited with {self.popen.wait(5)}")
        return text

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (what a crash or an OOM kill does)."""
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(10)
        self._close()

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def _close(self) -> None:
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream and not stream.closed:
                stream.close()
        if self.log_file is not subprocess.DEVNULL and not self.log_file.closed:
            self.log_file.close()


_EMULATOR_MAIN = """
import json, sys, threading
from fortnox_emulator.server import start_emulator
emulator = start_emulator(**json.loads(sys.argv[1]))
print(emulator.url, flush=True)
sys.stdin.read()  # until the parent closes our stdin or ends us
emulator.stop()
"""


class EmulatorProcess(Process):
    """The Fortnox emulator in a process of its own (as Fortnox is not in ours), with its control API."""

    def __init__(self, *, log: Path | None = None, **settings):
        settings.setdefault("auto_approve", True)
        settings.setdefault("control_token", secrets.token_urlsafe(24))
        super().__init__([PYTHON, "-c", _EMULATOR_MAIN, json.dumps(settings)], log=log)
        self.url = self.wait_for_line()
        from fortnox_emulator.control import EmulatorControl

        self.control = EmulatorControl(self.url, token=settings["control_token"], timeout=120)

    def stop(self, timeout: float = 15.0) -> None:
        self.control.close()
        super().stop(timeout)


def app_config(database_url: str, emulator_url: str, **extra) -> dict:
    """The back office's settings for a run: this database, this emulator, fresh secrets."""
    from cryptography.fernet import Fernet

    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": uuid.uuid4().hex,
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "EMBEDDED_WORKER": False,
        "FORTNOX_CLIENT_ID": "demo",
        "FORTNOX_CLIENT_SECRET": "demo-secret",
        "FORTNOX_AUTH_URL": f"{emulator_url}/oauth-v1/auth",
        "FORTNOX_TOKEN_URL": f"{emulator_url}/oauth-v1/token",
        "FORTNOX_REVOKE_URL": f"{emulator_url}/oauth-v1/revoke",
        "FORTNOX_API_URL": f"{emulator_url}/3",
        **extra,
    }


def environment(config: dict) -> dict:
    """The same settings as environment variables, for ``flask --app wsgi worker`` and gunicorn."""
    keys = ("DATABASE_URL", "SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "FORTNOX_CLIENT_ID", "FORTNOX_CLIENT_SECRET",
            "FORTNOX_AUTH_URL", "FORTNOX_TOKEN_URL", "FORTNOX_REVOKE_URL", "FORTNOX_API_URL", "EXPORT_CONCURRENCY")
    env = {key: str(config[key]) for key in keys if key in config}
    env["EMBEDDED_WORKER"] = "0"
    return env


class WorkerProcess(Process):
    """``python -m bench.worker``: ``run_due_jobs`` in a loop, in its own process (see its docstring)."""

    def __init__(self, config: dict, *, interval: float = 0.2, max_seconds: float = 900,
                 retry_delays: str | None = None, log: Path | None = None):
        argv = [PYTHON, "-m", "bench.worker", "--interval", str(interval),
                "--max-seconds", str(max_seconds)]
        if retry_delays:
            argv += ["--retry-delays", retry_delays]
        if log:
            argv += ["--log", str(log)]
        super().__init__(argv, env={"BACKOFFICE_CONFIG_JSON": json.dumps(config)}, log=log)
        self.wait_for_line()


class FlaskWorker(Process):
    """The production worker: ``flask --app wsgi worker`` (APScheduler, run_due_jobs every second)."""

    def __init__(self, config: dict, *, log: Path | None = None):
        super().__init__([str(BIN / "flask"), "--app", "wsgi", "worker"], env=environment(config), log=log)
        if not self.wait_for_line().startswith("Export worker started"):
            raise RuntimeError("flask worker did not start")


class Gunicorn(Process):
    """The back office under gunicorn on 127.0.0.1 (``wsgi:app``), configured by the environment."""

    def __init__(self, config: dict, *, workers: int = 4, threads: int = 1, log: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                "--threads", str(threads), "--backlog", "2048", "--log-level", "warning", "wsgi:app"]
        super().__init__(argv, env=environment(config), log=log)
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/v1/openapi.json", timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or busy starting its workers
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer within 60 s")


# --- restaurants --------------------------------------------------------------------------------


def contract_mapping() -> dict:
    """The mapping of ``docs/contracts/mapping-v1.md`` (no start date, no cost centres), plus a
    12 % rule for the demo generator's "Alkoholfritt" group, which the contract's example lacks."""
    text = (CONTRACTS / "mapping-v1.md").read_text(encoding="utf-8")
    document = json.loads(text.split("```json", 1)[1].split("```", 1)[0])
    document.pop("start_date", None)
    document["cost_centres"] = {}
    document["sales"].append({"vat_rate": "12", "account": 3052})
    return document


@dataclass
class Restaurant:
    company_id: int
    name: str
    tenant_id: int
    connection_id: int
    registers: dict = field(default_factory=dict)  # pos_id → (register id, API token)


def connect_to_emulator(session, control, company, *, active: bool = True, scope: str | None = None,
                        wizard_step: str | None = None, end_read: bool = False):
    """Give ``company`` its own emulator tenant, the tokens Fortnox's consent would give (stored as the
    product stores them) and its integration (``active`` or not); returns ``(tenant_id, connection)``.

    The one way a restaurant is connected in the benchmarks and in the tests (``tests/fixtures.py``).
    ``scope``: the consent's scopes (the emulator's default, without attaching, when None).
    ``end_read``: roll back between reading the company and writing (on SQLite a write after a read
    fails at once when a live server's worker has committed since; a write first waits its turn).
    Flushes; the caller saves a mapping and commits.
    """
    from backoffice.db import now_utc
    from backoffice.integrations.fortnox.connection import store_tokens
    from backoffice.integrations.fortnox.models import FortnoxConnection, FortnoxIntegration
    from backoffice.integrations.fortnox.oauth import TokenSet

    name = company.name
    tenant_id = control.create_tenant(name, "556677-8899")
    answer = control.issue_tokens(tenant_id, *([scope] if scope else []))
    if end_read:
        session.rollback()
    connection = FortnoxConnection(tenant_id=tenant_id, fortnox_company_name=name)
    store_tokens(connection, TokenSet(access_token=answer["access_token"], refresh_token=answer["refresh_token"],
                                      expires_at=now_utc() + timedelta(seconds=answer["expires_in"]),
                                      scope=answer.get("scope", "")))
    session.add(connection)
    session.add(FortnoxIntegration(company=company, connection=connection, active=active, wizard_step=wizard_step))
    session.flush()
    return tenant_id, connection


def make_restaurant(session, control, name: str, registers=("K1",), mapping: dict | None = None,
                    scope: str | None = None) -> Restaurant:
    """A company with registers, its own emulator tenant, stored tokens, a mapping and an active integration.

    Call inside an app context. ``scope``: the consent's scopes (the emulator's default, without
    attaching, when None). Commits.
    """
    from backoffice.accounts.operations import save_mapping
    from backoffice.accounts.schemas import mapping_schema
    from backoffice.companies.models import Company, Register

    company = Company(name=name, org_number="556677-8899")
    session.add(company)
    tokens = {}
    for pos_id in registers:
        register = Register(company=company, pos_id=pos_id, name=f"Kassa {pos_id}")
        tokens[pos_id] = register.issue_token()
        session.add(register)
    tenant_id, connection = connect_to_emulator(session, control, company, scope=scope)
    save_mapping(session, company, mapping_schema.load(mapping or contract_mapping()), actor="bench")
    session.commit()
    ids = {r.pos_id: (r.id, tokens[r.pos_id]) for r in company.registers}
    return Restaurant(company.id, name, tenant_id, connection.id, ids)


def warm_metadata(session, connection_ids, *, now=None) -> None:
    """Fill the metadata cache of connections as the hourly health check does (one snapshot per connection)."""
    from backoffice.db import now_utc
    from backoffice.integrations.fortnox.connection import client_for
    from backoffice.integrations.fortnox.metadata import refresh_snapshot
    from backoffice.integrations.fortnox.models import FortnoxConnection

    for connection_id in connection_ids:
        connection = session.get(FortnoxConnection, connection_id)
        refresh_snapshot(session, connection, client_for(connection), now=now or now_utc())


def copy_metadata(session, source_connection_id: int, connection_ids) -> None:
    """Give connections whose emulator tenants were seeded alike the snapshot read for one of them.

    For thousands of connections this stands in for the hourly health check, which would read each
    tenant's identical seed; the measured part of a benchmark never depends on how the cache was filled.
    """
    from sqlalchemy import update

    from backoffice.integrations.fortnox.models import FortnoxConnection

    source = session.get(FortnoxConnection, source_connection_id)
    session.execute(
        update(FortnoxConnection)
        .where(FortnoxConnection.id.in_(list(connection_ids)))
        .values(metadata_json=source.metadata_json, metadata_fetched_at=source.metadata_fetched_at)
    )
    session.commit()


def zreport(register_id: str, z_number: int, business_date) -> dict:
    """A balanced zreport/v1 document (``backoffice.demo.zreport_document``)."""
    from backoffice.demo import zreport_document

    return zreport_document(register_id, f"Kassa {register_id}", z_number, business_date)


def export_counts(session, company_ids=None) -> dict[str, int]:
    """How many export jobs are in each state (of some companies, or all)."""
    from sqlalchemy import func, select

    from backoffice.export.models import ExportJob

    query = select(ExportJob.state, func.count()).group_by(ExportJob.state)
    if company_ids is not None:
        query = query.where(ExportJob.company_id.in_(list(company_ids)))
    session.rollback()  # a fresh snapshot of the database
    return {str(state): count for state, count in session.execute(query).all()}


def machine() -> str:
    """What the figures were measured on."""
    import platform

    cores = len(os.sched_getaffinity(0))
    return f"{platform.python_implementation()} {platform.python_version()}, {cores} cores, {platform.machine()}"


def load() -> str:
    """The machine's load average (1, 5, 15 minutes), printed beside every figure: the machine is shared."""
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def cpu_seconds(pids) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` (those that ended count 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CpuMeter.TICK
