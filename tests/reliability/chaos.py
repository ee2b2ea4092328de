"""A chaos run: Z-reports arrive while Fortnox misbehaves and workers die; afterwards the books must be exact.

Used by ``test_chaos.py`` (CI: 100 reports) and by ``bench/chaos.py`` (the full 500, several runs).

While real worker processes (``bench/worker.py`` around ``run_due_jobs``) export, the run

- posts the reports through the POS API, in random order, spread over the first seconds;
- arms a fault for a random company at random moments, about ``fault_rate`` × reports of them:
  ``timeout_after_store`` (Fortnox stores the voucher, then answers too late or drops the
  connection), ``500``, ``drop`` (reset before processing), a ``429`` storm, an expired access
  token and a revoked token chain (the company "reconnects" a little later, as a user would);
- SIGKILLs a worker at random moments, and once exactly while it waits for Fortnox's answer to a
  voucher it posted (its write-ahead ``sending`` attempt is in the database), and starts another.

Then it lets the workers finish, the way the product would finish: a revoked company reconnects; a job
that ``failed`` (transient errors outlasted the retries) is retried by "Manuell export", which the
notification asks the user to do. Finally it compares Fortnox (the emulator) with the booking core:
exactly one voucher per report, equal to ``build_voucher``'s rows, and nothing left pending.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[2]

#: Kinds of fault and how often each is drawn.
FAULT_WEIGHTS = {
    "timeout_after_store": 4,
    "timeout_after_store_drop": 2,
    "500": 4,
    "drop": 3,
    "429_storm": 2,
    "token_expiry": 2,
    "revocation": 1,
}


#: The violation of more than 25 calls per 5 s of one tenant (a 429 from the sliding window itself).
OVER_THE_WINDOW = "over 25 requests per 5 s"


@dataclass
class Shop:
    """What a chaos run needs to know of a restaurant (the fixtures and the bench both make these)."""

    company_id: int
    tenant_id: int
    connection_id: int
    tokens: dict  # pos_id → register API token


@dataclass
class ChaosSettings:
    reports: int = 100
    fault_rate: float = 0.2
    workers: int = 2
    random_kills: int = 2
    seed: int = 1
    #: how long the workers get to finish after the last fault, in seconds
    settle_seconds: float = 90.0
    #: spread the posts and faults over this many seconds
    chaos_seconds: float = 12.0
    #: the worker's lease; a SIGKILLed worker's jobs wait this long. It must outlast the longest post
    #: (the engine's invariant): 3 in-call 429 retries × 5 s + the read timeout + a limiter wait. A
    #: chaos run with 8 s here duly made a duplicate: a post slowed by a 429 storm outlived its lease.
    lease_seconds: float = 25.0
    read_timeout: float = 1.5
    retry_delays: str = "1,2,4"
    concurrency: int = 4
    #: the emulator's readings of the facts no source settles (docs/EMULATOR.md "Readings") for this
    #: run, e.g. {"date_filter": "todate_exclusive"}; the defaults come back afterwards
    readings: dict = field(default_factory=dict)
    #: share of the voucher posts whose answer is lost after Fortnox stored them, on top of the faults
    lost_answers: float = 0.0


@dataclass
class ChaosReport:
    reports: int = 0
    posted: Counter = field(default_factory=Counter)
    faults_armed: Counter = field(default_factory=Counter)
    faults_hit: Counter = field(default_factory=Counter)
    kills: int = 0
    kills_mid_export: int = 0
    reconnects: int = 0
    unplanned_reconnects: int = 0
    manual_exports: int = 0
    vouchers: int = 0
    duplicates: int = 0
    losses: int = 0
    wrong: int = 0
    strangers: int = 0
    not_exported: Counter = field(default_factory=Counter)
    adopted: int = 0
    readings: dict = field(default_factory=dict)
    #: requests Fortnox's stated rules forbid: a request refused with 4xx that no fault or reading
    #: explains (our client sent something wrong), a request before a Retry-After ran out, a 429 from
    #: the sliding window itself (more than 25 per 5 s). Under the weighted window its 429s are
    #: counted apart (``window_429``): its algorithm is unsourced and the client waits them out.
    violations: Counter = field(default_factory=Counter)
    window_429: int = 0
    seconds: float = 0.0
    errors: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.losses or self.wrong or self.strangers or self.not_exported or self.errors
                    or sum(self.violations.values()))

    def summary(self) -> str:
        return json.dumps({
            "reports": self.reports, "posted": dict(self.posted), "faults_armed": dict(self.faults_armed),
            "faults_hit": dict(self.faults_hit), "fault_total": sum(self.faults_armed.values()),
            "kills": self.kills, "kills_mid_export": self.kills_mid_export, "reconnects": self.reconnects,
            "unplanned_reconnects": self.unplanned_reconnects,
            "manual_exports": self.manual_exports, "vouchers": self.vouchers, "adopted_after_doubt": self.adopted,
            "duplicates": self.duplicates, "losses": self.losses, "wrong": self.wrong, "strangers": self.strangers,
            "not_exported": dict(self.not_exported), "readings": self.readings,
            "protocol_violations": sum(self.violations.values()), "violations": dict(self.violations),
            "window_429": self.window_429, "seconds": round(self.seconds, 1), "errors": self.errors,
        }, ensure_ascii=False)


def reconnect(session, control, shop: Shop) -> None:
    """What a user's new Fortnox login leaves behind: fresh tokens on the connection, blocked jobs woken.

    The OAuth callback (``settings/connect.py``) stores the exchanged tokens and calls
    ``unblock_jobs`` for every restaurant on the connection; the consent itself is tested in
    tests/integrations. Commits.
    """
    from datetime import UTC, datetime

    from backoffice.companies.models import Company
    from backoffice.export.problems import unblock_jobs
    from backoffice.integrations.fortnox.connection import store_tokens
    from backoffice.integrations.fortnox.models import FortnoxConnection
    from backoffice.integrations.fortnox.oauth import TokenSet

    answer = control.issue_tokens(shop.tenant_id)
    session.rollback()
    # Objects loaded before stay in the session after a commit (expire_on_commit=False), and a rollback
    # outside a transaction expires nothing: without this, a second reconnect of the same connection
    # read the old "active" and wrote only the tokens, leaving the "needs_reauth" a worker had set.
    session.expire_all()
    connection = session.get(FortnoxConnection, shop.connection_id)
    store_tokens(connection, TokenSet(access_token=answer["access_token"], refresh_token=answer["refresh_token"],
                                      expires_at=datetime.now(UTC) + timedelta(seconds=answer["expires_in"]),
                                      scope=answer.get("scope", "")))
    session.commit()
    unblock_jobs(session, session.get(Company, shop.company_id))


class Worker:
    """One ``python -m bench.worker`` process; killed or stopped by its pid."""

    def __init__(self, config: dict, settings: ChaosSettings, log: Path, *, corrections: bool = False):
        argv = [sys.executable, "-m", "bench.worker", "--interval", "0.1", "--max-seconds", "900",
                "--retry-delays", settings.retry_delays, "--log", str(log), *(["--corrections"] if corrections else [])]
        env = {**os.environ, "BACKOFFICE_CONFIG_JSON": json.dumps(config)}
        self.popen = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if self.popen.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"worker {self.popen.pid} did not start (exit {self.popen.poll()})")

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)
        self.popen.stdout.close()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self.popen.stdout.close()


def documents_for(shops: list[Shop], reports: int, today: date) -> list[tuple[Shop, str, dict]]:
    """``reports`` balanced documents spread over the shops' registers, one business day each."""
    from backoffice.demo import zreport_document

    slots = [(shop, pos_id) for shop in shops for pos_id in sorted(shop.tokens)]
    out = []
    for i in range(reports):
        shop, pos_id = slots[i % len(slots)]
        z_number = i // len(slots) + 1
        document = zreport_document(pos_id, f"Kassa {pos_id}", z_number, today - timedelta(days=z_number))
        out.append((shop, pos_id, document))
    return out


class ChaosRun:
    """One chaos run (see the module docstring). ``post(token, document)`` returns the HTTP status."""

    def __init__(self, *, session, control, config: dict, shops: list[Shop], post, settings: ChaosSettings,
                 workdir: Path):
        self.session = session
        self.control = control
        self.config = {**config, "EXPORT_LEASE_SECONDS": settings.lease_seconds,
                       "FORTNOX_READ_TIMEOUT": settings.read_timeout, "EXPORT_CONCURRENCY": settings.concurrency}
        self.shops = shops
        self.post = post
        self.settings = settings
        self.workdir = workdir
        from sqlalchemy.orm import sessionmaker

        from backoffice.db import make_engine

        self._read_engine = make_engine(config["DATABASE_URL"], sqlite_write_lock_at_begin=False)
        self.reader = sessionmaker(self._read_engine)
        self.rng = random.Random(settings.seed)
        self.report = ChaosReport(reports=settings.reports)
        self.workers: list[Worker] = []
        self.revoked: dict[int, float] = {}  # tenant id → when to reconnect

    # --- the run ------------------------------------------------------------------------------------

    def run(self) -> ChaosReport:
        started = time.monotonic()
        documents = documents_for(self.shops, self.settings.reports, date.today())
        self.rng.shuffle(documents)
        before = self.control.readings()
        self.report.readings = {name: self.control.set_readings(**self.settings.readings)[name]
                                for name in ("date_filter", "descriptions", "rate_window", "retry_after")}
        try:
            if self.settings.lost_answers:
                for shop in self.shops:  # Fortnox stores the voucher, then the answer is lost
                    self.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers",
                                           tenant_id=shop.tenant_id, seconds=0.05, after="drop",
                                           count=round(self.settings.lost_answers * self.settings.reports
                                                       / len(self.shops)))
            for _ in range(self.settings.workers):
                self._start_worker()
            self._chaos(documents)
            self._settle(started)
        finally:
            for worker in self.workers:
                worker.stop()
            self.control.clear_faults()
            self.control.set_readings(**{name: before[name] for name in self.report.readings})
        self.report.seconds = time.monotonic() - started
        self._verify()
        self._read_engine.dispose()
        return self.report

    def _start_worker(self) -> None:
        self.workers.append(Worker(self.config, self.settings, self.workdir / "workers.log"))

    def _chaos(self, documents) -> None:
        s = self.settings
        faults = round(s.fault_rate * s.reports)
        kinds = list(FAULT_WEIGHTS)
        weights = list(FAULT_WEIGHTS.values())
        # When each event happens, in seconds from now: posts, faults, random kills, one targeted kill.
        events = [(self.rng.uniform(0, s.chaos_seconds * 0.7), "post", item) for item in documents]
        events += [(self.rng.uniform(0.5, s.chaos_seconds), "fault", self.rng.choices(kinds, weights)[0])
                   for _ in range(faults)]
        events += [(self.rng.uniform(1, s.chaos_seconds), "kill", None) for _ in range(s.random_kills)]
        events.append((self.rng.uniform(1, s.chaos_seconds * 0.5), "kill_mid_export", None))
        events.sort(key=lambda event: event[0])
        start = time.monotonic()
        for at, kind, payload in events:
            self._reconnect_due()
            wait = at - (time.monotonic() - start)
            if wait > 0:
                time.sleep(wait)
            if kind == "post":
                shop, pos_id, document = payload
                self.report.posted[self.post(shop.tokens[pos_id], document)] += 1
            elif kind == "fault":
                self._fault(payload)
            elif kind == "kill":
                self._kill(self.rng.choice(self.workers))
            else:
                for _ in range(3):  # the chosen company may run out of work before its next post
                    if self._kill_mid_export(deadline=time.monotonic() + 10):
                        break
                else:
                    self.report.errors.append("no export was caught mid-flight to kill its worker")

    def _fault(self, kind: str) -> None:
        shop = self.rng.choice(self.shops)
        tenant = shop.tenant_id
        self.report.faults_armed[kind] += 1
        if kind == "timeout_after_store":
            # Stored, then answered after the read timeout: the client gives up, the voucher exists.
            self.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers", tenant_id=tenant,
                                   seconds=self.settings.read_timeout + 1)
        elif kind == "timeout_after_store_drop":
            self.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers", tenant_id=tenant,
                                   seconds=0.1, after="drop")
        elif kind in ("500", "drop"):
            method = self.rng.choice(["POST", "POST", None])
            self.control.add_fault(kind, method=method, path_prefix="/3/", tenant_id=tenant)
        elif kind == "429_storm":
            self.control.add_fault("429", count=self.rng.randint(2, 4), path_prefix="/3/", tenant_id=tenant)
        elif kind == "token_expiry":
            self.control.expire_access_tokens(tenant)
        elif kind == "revocation":
            if tenant not in self.revoked:
                self.control.revoke_tokens(tenant)
                self.revoked[tenant] = time.monotonic() + self.rng.uniform(1, 4)

    def _reconnect_due(self, *, all_now: bool = False) -> None:
        for tenant, at in list(self.revoked.items()):
            if all_now or time.monotonic() >= at:
                shop = next(shop for shop in self.shops if shop.tenant_id == tenant)
                reconnect(self.session, self.control, shop)
                del self.revoked[tenant]
                self.report.reconnects += 1

    def _kill(self, worker: Worker) -> None:
        worker.kill()
        self.workers.remove(worker)
        self.report.kills += 1
        self._start_worker()

    def _kill_mid_export(self, deadline: float) -> bool:
        """Make a voucher POST hang after Fortnox stored it, and SIGKILL the worker waiting for it."""
        from backoffice.export.models import ExportAttempt, ExportJob

        # The company with the most work left, so that its next post comes soon.
        waiting = Counter(dict(self._read(
            select(ExportJob.company_id, func.count()).where(
                ExportJob.company_id.in_([shop.company_id for shop in self.shops]), ExportJob.state == "pending"
            ).group_by(ExportJob.company_id)
        )))
        busiest = waiting.most_common(1)[0][0] if waiting else self.shops[0].company_id
        shop = next(shop for shop in self.shops if shop.company_id == busiest)
        self.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers",
                               tenant_id=shop.tenant_id, seconds=self.settings.read_timeout + 5)
        self.report.faults_armed["timeout_after_store"] += 1
        while time.monotonic() < deadline:
            owners = self._read(
                select(ExportJob.lease_owner)
                .join(ExportAttempt, ExportAttempt.job_id == ExportJob.id)
                .where(ExportJob.company_id == shop.company_id, ExportAttempt.outcome == "sending",
                       ExportJob.in_doubt.is_(True), ExportJob.lease_owner.is_not(None))
            )
            pids = {int(owner.split(":")[1]) for (owner,) in owners}
            victims = [worker for worker in self.workers if worker.pid in pids]
            if victims:
                self._kill(victims[0])
                self.report.kills_mid_export += 1
                return True
            time.sleep(0.02)
        return False

    def _settle(self, started: float) -> None:
        """Let the workers finish; reconnect and "Manuell export" as a user would. Bounded in time."""
        from backoffice.companies.models import Company
        from backoffice.export.manual import start_manual_export

        ids = [shop.company_id for shop in self.shops]
        deadline = time.monotonic() + self.settings.settle_seconds
        while time.monotonic() < deadline:
            self._reconnect_due()
            counts = self._counts(ids)
            if counts.get("exported", 0) + counts.get("skipped", 0) == self.settings.reports:
                return
            self.session.expire_all()
            for state, company_id in self._company_states(ids):
                if state == "failed":
                    start_manual_export(self.session, self.session.get(Company, company_id), actor="chaos")
                    self.report.manual_exports += 1
            if counts.get("blocked"):
                self._reconnect_due(all_now=True)
                self._unblock_auth(ids)
            time.sleep(0.25)

    def _unblock_auth(self, ids) -> None:
        """Blocked jobs after the chaos: only an ended authorisation can block them here. A connection
        that needs a new login gets one (a worker killed between Fortnox's refresh answer and our commit
        loses the single-use refresh token: counted apart); otherwise the jobs are woken again."""
        from backoffice.companies.models import Company
        from backoffice.export.problems import unblock_jobs
        from backoffice.integrations.fortnox.models import FortnoxConnection

        for state, company_id in self._company_states(ids):
            if state != "blocked":
                continue
            shop = next(shop for shop in self.shops if shop.company_id == company_id)
            [(status,)] = self._read(select(FortnoxConnection.status).where(FortnoxConnection.id == shop.connection_id))
            if status != "active":
                reconnect(self.session, self.control, shop)
                self.report.unplanned_reconnects += 1
            else:
                unblock_jobs(self.session, self.session.get(Company, company_id))

    def _read(self, query) -> list:
        """Rows of ``query`` in a read transaction of their own (on SQLite a plain deferred BEGIN, which
        never waits for nor holds the write lock the workers need)."""
        with self.reader() as reader:
            return reader.execute(query).all()

    def _counts(self, ids) -> Counter:
        from backoffice.export.models import ExportJob

        rows = self._read(
            select(ExportJob.state, func.count()).where(ExportJob.company_id.in_(ids)).group_by(ExportJob.state)
        )
        return Counter({str(state): count for state, count in rows})

    def _company_states(self, ids) -> set:
        from backoffice.export.models import ExportJob

        return set(self._read(select(ExportJob.state, ExportJob.company_id).where(ExportJob.company_id.in_(ids))))

    # --- the books ----------------------------------------------------------------------------------

    def _verify(self) -> None:
        """Compare each tenant's vouchers with the booking core's: duplicates, losses, wrong rows."""
        from backoffice.accounts.operations import load_mapping
        from backoffice.companies.models import Company
        from backoffice.export.models import ExportAttempt, ExportJob
        from backoffice.zreport.booking import build_voucher

        report = self.report
        self.session.rollback()
        for shop in self.shops:
            company = self.session.get(Company, shop.company_id)
            mapping = load_mapping(self.session, company)
            jobs = self.session.scalars(select(ExportJob).where(ExportJob.company_id == shop.company_id)).all()
            # A voucher is ours by the token in its Comments (its description may come back normalised).
            expected = {}
            for job in jobs:
                voucher = build_voucher(job.zreport.to_report(), mapping, company_name=company.name)
                expected[job.voucher_token or f"no token: job {job.id}"] = (voucher, job)
                if job.state != "exported" or job.in_doubt:
                    report.not_exported[f"{job.state}{' in doubt' if job.in_doubt else ''}"] += 1
            stored: dict[str, list[dict]] = {}
            for voucher in self.control.vouchers(shop.tenant_id):
                token = (voucher.get("comments") or "").rsplit(" ", 1)[-1].lower()
                stored.setdefault(token, []).append(voucher)
            report.vouchers += sum(len(v) for v in stored.values())
            for token, vouchers in stored.items():
                report.duplicates += len(vouchers) - 1
                if len(vouchers) > 1 and token in expected:
                    job = expected[token][1]
                    report.errors.append({
                        "duplicate": token, "job": job.id, "numbers": [v["number"] for v in vouchers],
                        "attempts": [(a.outcome, a.http_status, a.started_at.isoformat(),
                                      a.finished_at and a.finished_at.isoformat()) for a in job.attempts],
                    })
                if token not in expected:
                    report.strangers += len(vouchers)
            for token, (voucher, job) in expected.items():
                found = stored.get(token)
                if not found:
                    report.losses += 1
                    continue
                mine = found[0]
                rows = sorted((r["account"], Decimal(r["debit"]), Decimal(r["credit"]), r.get("cost_center"))
                              for r in mine["rows"])
                want = sorted((r.account, r.debit, r.credit, r.cost_center) for r in voucher.rows)
                same = (rows == want and mine["transaction_date"] == voucher.transaction_date.isoformat()
                        and mine["series"] == voucher.series and job.voucher_number == mine["number"])
                report.wrong += 0 if same else 1
            report.adopted += self.session.scalar(
                select(func.count(ExportAttempt.id)).join(ExportJob).where(
                    ExportJob.company_id == shop.company_id, ExportAttempt.outcome == "found"
                )
            )
        for tenant in {shop.tenant_id for shop in self.shops}:
            entries = self.control.requests(tenant)
            for entry in entries:
                if entry["fault"]:
                    report.faults_hit[entry["fault"]] += 1
                elif entry["status"] == 429:
                    report.faults_hit["429 (rate limit)"] += 1
            self._count_violations(entries)

    def _count_violations(self, entries: list[dict]) -> None:
        """Requests of one tenant that Fortnox's stated rules forbid (``ChaosReport.violations``)."""
        from datetime import datetime

        report = self.report
        readings = report.readings
        wait_until = None
        for entry in entries:
            at = datetime.fromisoformat(entry["time"])
            if wait_until is not None and at < wait_until and entry["path"].startswith("/3/"):
                report.violations["sent before Retry-After ran out"] += 1
            status, fault = entry["status"], entry["fault"]
            if status == 429 and readings.get("retry_after") is not None:
                wait_until = at + timedelta(seconds=float(readings["retry_after"]))
            if status == 429 and not fault:
                if readings.get("rate_window") == "weighted":
                    report.window_429 += 1
                else:
                    report.violations[OVER_THE_WINDOW] += 1
            elif status is not None and 400 <= status < 500 and status not in (401, 429):
                dated_list = entry["path"].startswith("/3/vouchers") and ("fromdate" in entry["query"]
                                                                         or "todate" in entry["query"])
                if not (status == 400 and dated_list and readings.get("date_filter") == "refused"):
                    report.violations[f"{status} on {entry['method']} {entry['path']}"] += 1
