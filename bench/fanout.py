"""Fan-out at night: 2,000 restaurants with two registers each close their day within one minute.

One machine: a fresh PostgreSQL database, the back office under gunicorn for the POS API, worker
processes (``bench/worker.py``: ``run_due_jobs`` every 0.2 s with ``EXPORT_CONCURRENCY`` threads),
and the Fortnox emulator in its own process answering every API call after 250 ms. Fortnox metadata is
in the cache (as the hourly health check leaves it). The 4,000 registers post their Z-reports at
random moments within 60 s. Measured:

- the time from the first POST until all 4,000 vouchers are stored (``exported_at`` of the last);
- the export throughput, against what the workers' concurrency allows: every thread can finish at most
  one voucher per emulator latency (one POST each, 250 ms), so processes × threads ÷ 0.25 s per
  second. Reported over the whole run and over the busiest 10 s.

    .venv/bin/python -m bench.fanout [--runs 3] [--companies 2000] [--processes 2] [--concurrency 16]
        [--delay 0.25] [--window 60]

It also reports each process's peak resident memory (``VmHWM``) twice: when a tenth of the vouchers
(400) had been stored, and at the end (4,000). A process that holds on to what it exported grows
between the two; the goal is that none does (at most 10 % more at the end).

Goal (issue 8): all 4,000 stored within 90 s of the first POST; (issue 13) no process's peak memory
grows by more than 10 % from the 400th to the 4,000th voucher.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import requests

from bench.harness import (
    EmulatorProcess,
    Gunicorn,
    WorkerProcess,
    app_config,
    child_pids,
    copy_metadata,
    export_counts,
    fresh_database,
    line,
    machine,
    make_restaurant,
    median,
    peak_memory_mib,
    warm_metadata,
    zreport,
)


def one_run(args, seed: int, workdir: Path) -> dict:
    from sqlalchemy import select

    from backoffice import create_app
    from backoffice.db import session
    from backoffice.export.models import ExportJob

    rng = random.Random(seed)
    reports = args.companies * 2
    with fresh_database("postgres") as url:
        emulator = EmulatorProcess(request_log_size=20_000, log=workdir / "emulator.log")
        server, workers = None, []
        try:
            config = app_config(url, emulator.url, EXPORT_CONCURRENCY=args.concurrency)
            app = create_app(config)
            setup = time.monotonic()
            with app.app_context():
                shops = [make_restaurant(session, emulator.control, f"Nattkrogen {i} AB", ("K1", "K2"))
                         for i in range(args.companies)]
                warm_metadata(session, [shops[0].connection_id])
                copy_metadata(session, shops[0].connection_id, [shop.connection_id for shop in shops[1:]])
            print(f"    setup of {args.companies} restaurants: {time.monotonic() - setup:.0f} s", flush=True)
            emulator.control.set_delay(args.delay)
            server = Gunicorn(config, workers=args.web_workers, log=workdir / "gunicorn.log")
            workers = [WorkerProcess(config, log=workdir / f"worker-{n}.log") for n in range(args.processes)]

            day = date.today() - timedelta(days=1)
            plan = sorted((rng.uniform(0, args.window), token, pos_id) for shop in shops
                          for pos_id, (_, token) in shop.registers.items())
            http = requests.Session()
            http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
            bodies = {token: json.dumps(zreport(pos_id, 1, day)) for _, token, pos_id in plan}
            statuses = []

            def post(at, token, started):
                delay = started + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                answer = http.post(f"{server.url}/api/v1/z-reports", data=bodies[token], timeout=60,
                                   headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                statuses.append(answer.status_code)

            first_post = time.time()
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=32) as pool:
                for at, token, _ in plan:
                    pool.submit(post, at, token, started)
            posted_in = time.monotonic() - started
            deadline = started + args.window + 600
            ids = [shop.company_id for shop in shops]
            processes = {f"worker {n + 1}": worker.pid for n, worker in enumerate(workers)}
            processes.update({f"gunicorn {n + 1}": pid for n, pid in enumerate(child_pids(server.pid))})
            processes["emulator"] = emulator.pid
            at_tenth = None
            with app.app_context():
                while (done := export_counts(session, ids).get("exported", 0)) < reports and time.monotonic() < deadline:
                    if at_tenth is None and done >= reports / 10:
                        at_tenth = {name: peak_memory_mib(pid) for name, pid in processes.items()}
                    time.sleep(0.5)
                at_end = {name: peak_memory_mib(pid) for name, pid in processes.items()}
                session.rollback()
                exported = sorted(t.timestamp() for t in session.scalars(
                    select(ExportJob.exported_at).where(ExportJob.exported_at.is_not(None))))
                counts = export_counts(session, ids)
        finally:
            for worker in workers:
                worker.stop()
            if server:
                server.stop()
            emulator.stop()
            app.extensions["db_engine"].dispose()

    allowed = args.processes * args.concurrency / args.delay
    busy = (exported[-1] - exported[0]) if len(exported) > 1 else float("nan")
    peak = max(sum(1 for t in exported if start <= t < start + 10) for start in exported) / 10 if exported else 0
    return {
        "all_stored": (exported[-1] - first_post) if len(exported) == reports else float("nan"),
        "posted_in": posted_in,
        "exported": len(exported),
        "states": counts,
        "throughput": len(exported) / busy,
        "peak": peak,
        "allowed": allowed,
        "post_errors": sum(1 for s in statuses if s != 201),
        "memory": {name: (at_tenth[name] if at_tenth else float("nan"), at_end[name]) for name in at_end},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=16, help="EXPORT_CONCURRENCY of each worker process")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--delay", type=float, default=0.25, help="emulator latency per call, seconds")
    parser.add_argument("--window", type=float, default=60.0, help="the registers close within this many seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    print(f"Fan-out: {args.companies} restaurants × 2 registers within {args.window:.0f} s, emulator latency "
          f"{args.delay * 1000:.0f} ms, {args.processes} worker processes × {args.concurrency} threads, "
          f"gunicorn {args.web_workers} workers, PostgreSQL, {machine()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        for run in range(1, args.runs + 1):
            result = one_run(args, args.seed + run - 1, Path(folder))
            results.append(result)
            print(f"  run {run}: all {result['exported']} stored {result['all_stored']:.1f} s after the first POST"
                  f" (posting took {result['posted_in']:.1f} s, POST errors {result['post_errors']});"
                  f" throughput {result['throughput']:.1f}/s overall, {result['peak']:.1f}/s in the busiest 10 s,"
                  f" of {result['allowed']:.0f}/s allowed ({result['peak'] / result['allowed']:.0%});"
                  f" states {result['states']}", flush=True)
            for name, (tenth, end) in result["memory"].items():
                print(f"    peak memory {name}: {tenth:.0f} MiB at {result['exported'] // 10} vouchers,"
                      f" {end:.0f} MiB at {result['exported']} ({end / tenth - 1:+.1%})", flush=True)
    all_stored = median([r["all_stored"] for r in results])
    print("Result (median of runs):")
    line("all vouchers stored after the first POST (≤ 90 s)", f"{all_stored:.1f} s")
    line("throughput, busiest 10 s", f"{median([r['peak'] for r in results]):.1f} vouchers/s")
    line("allowed by the concurrency (threads ÷ latency)", f"{results[0]['allowed']:.0f} vouchers/s")
    line("fraction of the allowed", f"{median([r['peak'] / r['allowed'] for r in results]):.0%}")
    growth = max(end / tenth - 1 for r in results for tenth, end in r["memory"].values())
    line("largest peak-memory growth, 10 % → 100 % of the vouchers (≤ 10 %)", f"{growth:+.1%}")
    ok = all_stored <= 90 and all(r["post_errors"] == 0 for r in results) and growth <= 0.10
    print("GOAL MET" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
