"""Backlog at Fortnox's rate limit: a year of Z-reports blocked by a missing account, then fixed.

One company, one register, 365 daily reports (the last 365 days). The mapping lacks the Swish
account, so every report is blocked without a call to Fortnox. Then the mapping is saved complete
(``save_mapping`` → ``unblock_jobs``, as the wizard does) and a real worker process
(``bench/worker.py``, ``run_due_jobs`` every 0.2 s) exports the backlog. Measured:

- wall time from the fix to the last voucher stored, against the floor the rate limit sets:
  API calls made ÷ (24 calls / 5 s), our client's limit (Fortnox allows 25; api-facts §5);
- 429 answers Fortnox (the emulator, 25 per 5 s as Fortnox) sent: the goal is none;
- API calls per voucher in steady state: every call after the first voucher (metadata is cached).

    .venv/bin/python -m bench.backlog [--runs 3] [--reports 365] [--delay 0] [--database postgres|sqlite]
        [--attachments]

Goal (issue 8): at most 1.05 × the floor, zero 429s, at most 1.02 calls per voucher.

With ``--attachments`` the connection's consent has the scopes ``inbox`` and ``connectfile``, so each
voucher also gets its Z-report PDF (upload, then connect: three calls per voucher), and the wall time
runs until the last PDF is connected. Goal (issue 17): at most 1.05 × the floor, zero 429s, at most
3.05 calls per voucher, every voucher exactly one file and no file left in the inbox.

``--activate --workers 3`` runs the production shape instead (PostgreSQL): the 365 reports wait for
an integration that is not active yet; the web process (this one) walks the wizard's last steps,
reading the chart of accounts from Fortnox, activates the integration and wakes the workers, and
reads the chart once more while they drain the backlog; three ``flask --app wsgi worker`` processes
export it. Every process spends the tenant's one rate-limit budget (``integrations.fortnox.budget``);
each counting alone, the web's reads on top of a worker's full window drew 429s.

    .venv/bin/python bench/backlog.py --activate --workers 3 [--runs 3]

Goal (issue 8, issue 13 item 9): at most 1.05 × the floor, zero 429s, at most 1.02 calls per voucher.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.harness import (
    ATTACH_SCOPE,
    EmulatorProcess,
    FlaskWorker,
    WorkerProcess,
    app_config,
    contract_mapping,
    export_counts,
    fresh_database,
    line,
    machine,
    make_restaurant,
    median,
    zreport,
)

CLIENT_LIMIT = 24  # calls per window our limiter lets start (backoffice.integrations.fortnox.ratelimit)
WINDOW = 5.0


def attached_count(session, company_id: int) -> int:
    from sqlalchemy import func, select

    from backoffice.export.models import AttachmentState, VoucherAttachment

    session.rollback()
    return session.scalar(select(func.count()).select_from(VoucherAttachment).where(
        VoucherAttachment.company_id == company_id, VoucherAttachment.state == AttachmentState.ATTACHED))


def one_run(kind: str, reports: int, delay: float, concurrency: int, workdir: Path, attachments: bool = False) -> dict:
    from backoffice import create_app
    from backoffice.accounts.operations import save_mapping
    from backoffice.accounts.schemas import mapping_schema
    from backoffice.companies.models import Company
    from backoffice.db import session
    from backoffice.demo import deliver
    from backoffice.export.problems import unblock_jobs

    with fresh_database(kind) as url:
        emulator = EmulatorProcess(request_log_size=50_000, log=workdir / "emulator.log")
        worker = None
        try:
            config = app_config(url, emulator.url, EXPORT_CONCURRENCY=concurrency)
            app = create_app(config)
            with app.app_context():
                incomplete = contract_mapping()
                del incomplete["payment_methods"]["swish"]
                shop = make_restaurant(session, emulator.control, "Årskrogen AB", ("K1",), mapping=incomplete,
                                       scope=ATTACH_SCOPE if attachments else None)
                company = session.get(Company, shop.company_id)
                register = company.registers[0]
                today = date.today()
                for z in range(1, reports + 1):
                    deliver(session, register, zreport("K1", z, today - timedelta(days=reports + 1 - z)))
                session.commit()

                worker = WorkerProcess(config, log=workdir / "worker.log")
                deadline = time.monotonic() + 120
                while export_counts(session, [shop.company_id]).get("blocked", 0) < reports:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"not all blocked: {export_counts(session, [shop.company_id])}")
                    time.sleep(0.2)
                calls_before = len(emulator.control.requests(shop.tenant_id))
                emulator.control.set_delay(delay)

                started = time.monotonic()
                save_mapping(session, company, mapping_schema.load(contract_mapping()), actor="bench")
                session.commit()
                unblock_jobs(session, company)  # what saving the mapping in the wizard does next
                deadline = started + max(600, reports * 2)
                while (counts := export_counts(session, [shop.company_id])).get("exported", 0) < reports:
                    stuck = counts.get("blocked", 0) > 0 and time.monotonic() - started > 30
                    if time.monotonic() > deadline or counts.get("failed") or stuck:
                        raise RuntimeError(f"backlog did not drain: {counts}")
                    time.sleep(0.05)
                while attachments and attached_count(session, shop.company_id) < reports:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"attachments did not drain: {attached_count(session, shop.company_id)}")
                    time.sleep(0.05)
                wall = time.monotonic() - started
            worker.stop()
            worker = None
            log = emulator.control.requests(shop.tenant_id)[calls_before:]
            vouchers = emulator.control.vouchers(shop.tenant_id)
            files = emulator.control.files(shop.tenant_id)
        finally:
            if worker:
                worker.stop()
            emulator.stop()
            app.extensions["db_engine"].dispose()
    result = _result(wall, log, vouchers, reports)
    result["one_file"] = sum(1 for v in vouchers if len(v["files"]) == 1)
    result["stray"] = sum(1 for f in files if f["voucher"] is None)
    return result


def activation_run(kind: str, reports: int, delay: float, concurrency: int, workers: int, workdir: Path) -> dict:
    """The web process activates the integration while ``workers`` flask workers drain the backlog."""
    from sqlalchemy import update

    from backoffice import create_app
    from backoffice.companies.models import Company
    from backoffice.db import session
    from backoffice.demo import deliver
    from backoffice.export.problems import unblock_jobs
    from backoffice.integrations.fortnox.lists import fortnox_accounts, fortnox_series
    from backoffice.integrations.fortnox.models import FortnoxConnection, FortnoxIntegration
    from backoffice.scheduler import wake
    from backoffice.settings.operations import activate

    with fresh_database(kind) as url:
        emulator = EmulatorProcess(request_log_size=50_000, log=workdir / "emulator.log")
        processes = []
        try:
            config = app_config(url, emulator.url, EXPORT_CONCURRENCY=concurrency)
            app = create_app(config)
            with app.app_context():
                today = date.today()
                # The wizard requires a start date before activating: the first of the stored reports.
                mapping = {**contract_mapping(), "start_date": (today - timedelta(days=reports)).isoformat()}
                shop = make_restaurant(session, emulator.control, "Årskrogen AB", ("K1",), mapping=mapping)
                session.execute(update(FortnoxIntegration).where(FortnoxIntegration.company_id == shop.company_id)
                                .values(active=False))
                session.commit()
                company = session.get(Company, shop.company_id)
                register = company.registers[0]
                for z in range(1, reports + 1):
                    deliver(session, register, zreport("K1", z, today - timedelta(days=reports + 1 - z)))
                session.commit()
                processes = [FlaskWorker(config, log=workdir / f"worker-{n}.log") for n in range(workers)]
                time.sleep(3)  # each worker connects its listener
                calls_before = len(emulator.control.requests(shop.tenant_id))
                emulator.control.set_delay(delay)
                connection = session.get(FortnoxConnection, shop.connection_id)

                started = time.monotonic()
                # The wizard's last steps: the series and the chart of accounts, read from Fortnox (NÄSTA).
                fortnox_series(connection, fresh=True)
                fortnox_accounts(connection, fresh=True)
                activate(session, company)  # "OK": jobs for the stored reports
                session.commit()
                unblock_jobs(session, company)
                wake(app)
                reread = False
                deadline = started + max(600, reports * 2)
                while (counts := export_counts(session, [shop.company_id])).get("exported", 0) < reports:
                    if time.monotonic() > deadline or counts.get("failed") or counts.get("blocked"):
                        raise RuntimeError(f"backlog did not drain: {counts}")
                    if not reread and time.monotonic() - started > 2:
                        # The admin opens an account step again while the workers drain ("Läs om").
                        session.commit()
                        fortnox_accounts(connection, fresh=True)
                        reread = True
                    time.sleep(0.05)
                wall = time.monotonic() - started
            for process in processes:
                process.stop()
            processes = []
            log = emulator.control.requests(shop.tenant_id)[calls_before:]
            vouchers = emulator.control.vouchers(shop.tenant_id)
        finally:
            for process in processes:
                process.stop()
            emulator.stop()
            app.extensions["db_engine"].dispose()
    return _result(wall, log, vouchers, reports)


def _result(wall: float, log: list[dict], vouchers: list[dict], reports: int) -> dict:
    """The figures of one run from the emulator's request log and vouchers (both shapes)."""
    calls = len(log)
    too_many = sum(1 for entry in log if entry["status"] == 429)
    first_post = next(i for i, entry in enumerate(log) if entry["method"] == "POST" and entry["status"] == 201)
    steady_calls = calls - first_post  # from the first voucher on: metadata is in the store by then
    floor = calls / (CLIENT_LIMIT / WINDOW)
    # The sliding window lets the first 24 calls start at once, so the least time n calls can take
    # is (⌈n / 24⌉ − 1) windows: the "tight floor", also reported.
    tight = (math.ceil(calls / CLIENT_LIMIT) - 1) * WINDOW
    return {
        "wall": wall,
        "calls": calls,
        "floor": floor,
        "ratio": wall / floor,
        "tight": tight,
        "tight_ratio": wall / tight if tight else math.nan,
        "429": too_many,
        "vouchers": len(vouchers),
        "distinct": len({v["description"] for v in vouchers}),
        "calls_per_voucher": steady_calls / reports,
        "calls_per_voucher_all": calls / reports,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reports", type=int, default=365)
    parser.add_argument("--delay", type=float, default=0.0, help="emulator latency per call, seconds")
    parser.add_argument("--concurrency", type=int, default=8, help="EXPORT_CONCURRENCY of the worker")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--attachments", action="store_true", help="attach each voucher's Z-report PDF too")
    parser.add_argument("--activate", action="store_true",
                        help="the web process activates the integration while flask workers drain (PostgreSQL)")
    parser.add_argument("--workers", type=int, default=3, help="flask worker processes with --activate")
    args = parser.parse_args(argv)
    goal_per_voucher = 3.05 if args.attachments else 1.02

    shape = f"web activates, {args.workers} flask workers" if args.activate else "one worker process"
    print(f"Backlog of {args.reports} reports{' with attachments' if args.attachments else ''}, one company, {shape}, "
          f"emulator latency {args.delay * 1000:.0f} ms, {args.database}, {machine()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-backlog-") as folder:
        for run in range(1, args.runs + 1):
            if args.activate:
                result = activation_run(args.database, args.reports, args.delay, args.concurrency, args.workers,
                                        Path(folder))
            else:
                result = one_run(args.database, args.reports, args.delay, args.concurrency, Path(folder),
                                 args.attachments)
            results.append(result)
            print(f"  run {run}: {result['wall']:.1f} s for {result['calls']} calls (floor {result['floor']:.1f} s,"
                  f" ratio {result['ratio']:.3f}; tight floor {result['tight']:.0f} s,"
                  f" ratio {result['tight_ratio']:.3f}),"
                  f" 429s {result['429']}, vouchers {result['vouchers']}"
                  f" ({result['distinct']} distinct), calls/voucher {result['calls_per_voucher']:.3f}"
                  f" (all {result['calls_per_voucher_all']:.3f})"
                  + (f", exactly one file {result['one_file']}, stray files {result['stray']}" if args.attachments
                     else ""), flush=True)
    ratio = median([r["ratio"] for r in results])
    per_voucher = median([r["calls_per_voucher"] for r in results])
    too_many = sum(r["429"] for r in results)
    duplicates = sum(r["vouchers"] - r["distinct"] for r in results)
    print("Result (median of runs):")
    line("wall time", f"{median([r['wall'] for r in results]):.1f} s")
    line("floor (calls ÷ 24 per 5 s)", f"{median([r['floor'] for r in results]):.1f} s")
    line("ratio to the floor (goal ≤ 1.05)", f"{ratio:.3f}")
    line("ratio to the tight floor (⌈n/24⌉−1 windows)", f"{median([r['tight_ratio'] for r in results]):.3f}")
    line("429s received, all runs (goal 0)", str(too_many))
    line(f"calls per voucher, steady state (goal ≤ {goal_per_voucher})", f"{per_voucher:.3f}")
    line("duplicate vouchers, all runs", str(duplicates))
    ok = ratio <= 1.05 and too_many == 0 and per_voucher <= goal_per_voucher and duplicates == 0
    if args.attachments:
        files_ok = all(r["one_file"] == args.reports and r["stray"] == 0 for r in results)
        line("every voucher exactly one file, none stray", "yes" if files_ok else "NO")
        ok = ok and files_ok
    print("GOAL MET" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
