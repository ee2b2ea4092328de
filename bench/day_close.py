"""Day-close latency: from a register's POST of a Z-report to the voucher stored in Fortnox.

Production setup on one machine: a fresh PostgreSQL database, the back office under gunicorn for the
POS API, the production worker ``flask --app wsgi worker`` (APScheduler wakes ``run_due_jobs`` every
second), and the Fortnox emulator in its own process answering every API call after 200 ms
(``control.set_delay(0.2)``). 20 restaurants with two registers each; Fortnox metadata is in the cache
as the hourly health check leaves it. The registers post 200 reports at random moments (a Poisson
stream, 4 per second on average); for each, the latency is the time from the start of its POST to
``exported_at``, which the worker writes when Fortnox has answered 201 with the voucher's number.

    .venv/bin/python -m bench.day_close [--runs 3] [--reports 200] [--rate 4] [--delay 0.2]

Goal (issue 13, "How it is measured"): p95 ≤ 0.6 s from the POST to the stored voucher.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import requests

from bench.harness import (
    ATTACH_SCOPE,
    EmulatorProcess,
    FlaskWorker,
    Gunicorn,
    app_config,
    child_pids,
    cpu_seconds,
    export_counts,
    fresh_database,
    line,
    load,
    machine,
    make_restaurant,
    median,
    percentile,
    warm_metadata,
    zreport,
)

#: issue 13: p95 of POST → voucher stored, seconds, with 200 ms per Fortnox call
GOAL_P95 = 0.6


def one_run(args, seed: int, workdir: Path) -> dict:
    from sqlalchemy import select

    from backoffice import create_app
    from backoffice.companies.models import Register
    from backoffice.db import session
    from backoffice.export.models import ExportAttempt, ExportJob
    from backoffice.zreport.models import ZReportRecord

    rng = random.Random(seed)
    with fresh_database("postgres") as url:
        emulator = EmulatorProcess(log=workdir / "emulator.log")
        server = worker = None
        try:
            config = app_config(url, emulator.url)
            app = create_app(config)
            with app.app_context():
                shops = [make_restaurant(session, emulator.control, f"Kvällskrogen {i} AB", ("K1", "K2"),
                                         scope=ATTACH_SCOPE if args.attachments else None)
                         for i in range(args.companies)]
                warm_metadata(session, [shop.connection_id for shop in shops])
                ids = [shop.company_id for shop in shops]
            registers = [(pos_id, token) for shop in shops for pos_id, (_, token) in shop.registers.items()]
            emulator.control.set_delay(args.delay)
            server = Gunicorn(config, workers=2, log=workdir / "gunicorn.log")
            worker = FlaskWorker(config, log=workdir / "worker.log")

            # Which register posts which report, and when (seconds from the start).
            plan, at = [], 0.0
            for n in range(args.reports):
                at += rng.expovariate(args.rate)
                pos_id, token = registers[n % len(registers)]
                z_number = n // len(registers) + 1
                document = zreport(pos_id, z_number, date.today() - timedelta(days=z_number))
                plan.append((at, pos_id, token, z_number, document))
            posted: dict[tuple[str, str, int], tuple[float, float, int]] = {}
            lock = threading.Lock()

            def deliver(pos_id, token, z_number, document):
                started = time.time()
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                response = requests.post(f"{server.url}/api/v1/z-reports", data=json.dumps(document), timeout=30,
                                         headers=headers)
                with lock:
                    posted[(token, pos_id, z_number)] = (started, time.time() - started, response.status_code)

            # CPU per report of each of our processes: unlike wall time, it does not grow with the load
            # other work puts on the shared machine.
            processes = {"POS API (gunicorn)": [server.pid, *child_pids(server.pid)], "worker": [worker.pid],
                         "emulator": [emulator.pid]}
            cpu_before = {name: cpu_seconds(pids) for name, pids in processes.items()}
            threads = []
            start = time.monotonic()
            for at, pos_id, token, z_number, document in plan:
                delay = at - (time.monotonic() - start)
                if delay > 0:
                    time.sleep(delay)
                thread = threading.Thread(target=deliver, args=(pos_id, token, z_number, document))
                thread.start()
                threads.append(thread)
            for thread in threads:
                thread.join(60)

            deadline = time.monotonic() + 120
            with app.app_context():
                while export_counts(session, ids).get("exported", 0) < args.reports and time.monotonic() < deadline:
                    time.sleep(0.2)
                session.rollback()
                rows = session.execute(
                    select(Register.pos_id, Register.company_id, ZReportRecord.z_number, ExportJob.exported_at,
                           ExportAttempt.started_at, ExportAttempt.finished_at)
                    .join(ZReportRecord, ZReportRecord.register_id == Register.id)
                    .join(ExportJob, ExportJob.zreport_id == ZReportRecord.id)
                    .outerjoin(ExportAttempt, (ExportAttempt.job_id == ExportJob.id) & (ExportAttempt.outcome == "posted"))
                    .where(Register.company_id.in_(ids))
                ).all()
                counts = export_counts(session, ids)
            cpu = {name: (cpu_seconds(pids) - cpu_before[name]) / args.reports for name, pids in processes.items()}
        finally:
            for process in (worker, server):
                if process:
                    process.stop()
            emulator.stop()
            app.extensions["db_engine"].dispose()

    token_of = {(shop.company_id, pos_id): token for shop in shops for pos_id, (_, token) in shop.registers.items()}
    latencies, missing, samples = [], 0, []
    # Where each report's time went: the POST's answer, the wait until a worker took the job (the wake and
    # the claim), the export's own work and Fortnox's answer, and recording the voucher.
    stages: dict[str, list[float]] = {"POST answered": [], "until the export began": [],
                                      "export began → Fortnox answered": [], "answer → exported_at": []}
    for pos_id, company_id, z_number, exported_at, attempt_start, attempt_end in rows:
        started, took, status = posted[(token_of[(company_id, pos_id)], pos_id, z_number)]
        if exported_at is None:
            missing += 1
            continue
        latencies.append(exported_at.timestamp() - started)
        samples.append((started, latencies[-1], company_id, pos_id, z_number))
        if attempt_start is not None and attempt_end is not None:
            stages["POST answered"].append(took)
            stages["until the export began"].append(attempt_start.timestamp() - started - took)
            stages["export began → Fortnox answered"].append((attempt_end - attempt_start).total_seconds())
            stages["answer → exported_at"].append((exported_at - attempt_end).total_seconds())
    # One restaurant's vouchers go to Fortnox one at a time (the connection's lease): a report that arrives
    # while its restaurant's other register's voucher is on its way waits for that answer.
    queued, behind = 0, []
    by_company: dict[int, list[tuple[float, float, float]]] = {}
    for pos_id, company_id, z_number, _, attempt_start, attempt_end in rows:
        if attempt_start is not None and attempt_end is not None:
            started, took, _ = posted[(token_of[(company_id, pos_id)], pos_id, z_number)]
            by_company.setdefault(company_id, []).append((attempt_start.timestamp(), attempt_end.timestamp(),
                                                           started + took))
    for exports in by_company.values():
        exports.sort()
        for (_, previous_end, _), (_, _, answered) in zip(exports, exports[1:], strict=False):
            if previous_end > answered:
                queued += 1
                behind.append(previous_end - answered)
    intake = [v[1] for v in posted.values()]
    return {
        "queued": queued, "behind_median": median(behind),
        "median": median(latencies), "p95": percentile(latencies, 95), "max": max(latencies, default=float("nan")),
        "intake_p95": percentile(intake, 95), "not_exported": missing, "states": counts,
        "cpu_per_report": cpu,
        "stages": {name: (median(values), percentile(values, 95)) for name, values in stages.items()},
        "statuses": sorted({v[2] for v in posted.values()}),
        "samples": sorted(samples),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--companies", type=int, default=20)
    parser.add_argument("--rate", type=float, default=4.0, help="reports per second, on average")
    parser.add_argument("--delay", type=float, default=0.2, help="emulator latency per call, seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--attachments", action="store_true",
                        help="the consent covers attaching: each voucher's Z-report PDF follows it (upload + connect)")
    parser.add_argument("--verbose", action="store_true", help="print every report's latency")
    args = parser.parse_args(argv)

    print(f"Day close: {args.reports} reports from {args.companies * 2} registers at {args.rate}/s, emulator latency "
          f"{args.delay * 1000:.0f} ms, gunicorn + flask worker + PostgreSQL, {machine()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-dayclose-") as folder:
        for run in range(1, args.runs + 1):
            before = load()
            result = one_run(args, args.seed + run - 1, Path(folder))
            results.append(result)
            print(f"  run {run} ({before} before, {load()} after): median {result['median']:.2f} s, p95 {result['p95']:.2f} s, max {result['max']:.2f} s;"
                  f" POST p95 {result['intake_p95'] * 1000:.0f} ms; not exported {result['not_exported']};"
                  f" POST statuses {result['statuses']}", flush=True)
            for name, (mid, high) in result["stages"].items():
                print(f"    {name:<34} median {mid * 1000:6.0f} ms, p95 {high * 1000:6.0f} ms", flush=True)
            print(f"    behind the same restaurant's previous voucher: {result['queued']} reports,"
                  f" median {result['behind_median'] * 1000:.0f} ms", flush=True)
            print("    CPU per report: " + ", ".join(f"{name} {seconds * 1000:.1f} ms"
                                                   for name, seconds in result["cpu_per_report"].items()), flush=True)
            if args.verbose:
                first = result["samples"][0][0] if result["samples"] else 0
                for started, latency, company_id, pos_id, z_number in result["samples"]:
                    print(f"    t={started - first:6.2f} s  latency {latency:5.2f} s"
                          f"  company {company_id} {pos_id} z {z_number}")
    p95 = median([r["p95"] for r in results])
    missing = sum(r["not_exported"] for r in results)
    print("Result (median of runs):")
    line("latency POST → voucher stored, median", f"{median([r['median'] for r in results]):.2f} s")
    line(f"latency POST → voucher stored, p95 (≤ {GOAL_P95} s)", f"{p95:.2f} s")
    line("not exported, all runs", str(missing))
    ok = p95 <= GOAL_P95 and missing == 0
    print("GOAL MET" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
