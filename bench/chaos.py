"""The long chaos run: 500 Z-reports over 5 restaurants, ~20 % faults, workers SIGKILLed; several runs.

Each run takes a fresh database (PostgreSQL by default), the Fortnox emulator in its own process,
the back office under gunicorn for the POS API, and real worker processes; then it runs
``tests/reliability/chaos.py`` (the same code as the CI test, which uses 100 reports) and prints
what happened: faults armed and hit, kills, adopted vouchers, duplicates and losses.

    .venv/bin/python -m bench.chaos [--runs 3] [--reports 500] [--companies 5] [--seed 1]
        [--database postgres|sqlite] [--fault-rate 0.2] [--lost-answers 0.35]
        [--each-reading | --reading date_filter=refused ...]

``--each-reading`` repeats the runs under each reading of the facts no source settles
(docs/EMULATOR.md "Readings"), one reading at a time: the defaults, each date-filter reading,
normalised descriptions, the weighted rate window, and 429s with ``Retry-After: 2``.

Goal (issues 6, 8, 13): in every run 0 duplicates, 0 losses, 0 wrong vouchers, 0 protocol
violations, nothing left pending.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.harness import (
    EmulatorProcess,
    Gunicorn,
    app_config,
    contract_mapping,
    fresh_database,
    line,
    machine,
    make_restaurant,
)
from tests.reliability.chaos import ChaosRun, ChaosSettings, Shop

#: One run per reading with ``--each-reading``: each reading alone, the others at their defaults.
EACH_READING = [
    {},
    {"date_filter": "todate_exclusive"},
    {"date_filter": "ignored"},
    {"date_filter": "refused"},
    {"descriptions": "normalised"},
    {"rate_window": "weighted"},
    {"retry_after": 2},
]


def _reading(text: str) -> tuple[str, object]:
    name, _, value = text.partition("=")
    return name, (float(value) if name == "retry_after" else value)


def one_run(args, seed: int, workdir: Path, readings: dict) -> dict:
    from backoffice import create_app

    with fresh_database(args.database) as url:
        emulator = EmulatorProcess(request_log_size=100_000, log=workdir / "emulator.log")
        server = None
        try:
            config = app_config(url, emulator.url)
            app = create_app(config)
            server = Gunicorn(config, workers=2, log=workdir / "gunicorn.log")
            http = requests.Session()

            def post(token, document):
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                answer = http.post(f"{server.url}/api/v1/z-reports", data=json.dumps(document), timeout=30,
                                   headers=headers)
                return answer.status_code

            with app.app_context():
                session = app.extensions["db_sessionmaker"]()
                shops = []
                for i in range(args.companies):
                    made = make_restaurant(session, emulator.control, f"Kaoskrogen {seed}-{i} AB", ("K1", "K2"))
                    shops.append(Shop(made.company_id, made.tenant_id, made.connection_id,
                                      {pos_id: token for pos_id, (_, token) in made.registers.items()}))
                settings = ChaosSettings(reports=args.reports, fault_rate=args.fault_rate, seed=seed,
                                         random_kills=args.kills, chaos_seconds=args.reports / 100 * 12,
                                         settle_seconds=300, readings=readings, lost_answers=args.lost_answers)
                run = ChaosRun(session=session, control=emulator.control, config=config, shops=shops, post=post,
                               settings=settings, workdir=workdir)
                report = run.run()
                session.close()
        finally:
            if server:
                server.stop()
            emulator.stop()
            app.extensions["db_engine"].dispose()
    return json.loads(report.summary()) | {"ok": report.ok}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--companies", type=int, default=5)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--kills", type=int, default=4, help="random SIGKILLs per run (plus one mid-export)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first run; run n uses seed + n - 1")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--lost-answers", type=float, default=0.0,
                        help="share of voucher posts whose answer is lost after Fortnox stored them")
    parser.add_argument("--each-reading", action="store_true", help="repeat the runs under each reading")
    parser.add_argument("--reading", type=_reading, action="append", default=[],
                        help="play one reading, e.g. date_filter=todate_exclusive (repeatable)")
    parser.add_argument("--keep", type=Path, help="keep the logs (workers, emulator, gunicorn) in this folder")
    args = parser.parse_args(argv)
    contract_mapping()  # fail early without docs/contracts/

    print(f"Chaos: {args.runs} runs of {args.reports} reports over {args.companies} companies, "
          f"fault rate {args.fault_rate}, {args.database}, {machine()}", flush=True)
    results = []
    plans = EACH_READING if args.each_reading else [dict(args.reading)]
    for readings in plans:
        for n in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bench-chaos-") as folder:
                workdir = Path(folder)
                if args.keep:
                    workdir = args.keep / f"run-{len(results) + 1}"
                    workdir.mkdir(parents=True, exist_ok=True)
                started = time.monotonic()
                result = one_run(args, args.seed + n, workdir, readings)
                results.append(result)
                took = time.monotonic() - started
                print(f"  run {n + 1} {json.dumps(readings)} (seed {args.seed + n}, {took:.0f} s): "
                      f"{json.dumps(result, ensure_ascii=False)}", flush=True)
        if args.each_reading:
            mine = results[-args.runs:]
            print(f"reading {json.dumps(readings)}: duplicates {sum(r['duplicates'] for r in mine)}, "
                  f"losses {sum(r['losses'] for r in mine)}, protocol violations "
                  f"{sum(r['protocol_violations'] for r in mine)}, adopted {sum(r['adopted_after_doubt'] for r in mine)}, "
                  f"429 from the weighted window {sum(r['window_429'] for r in mine)}, "
                  f"{'ok' if all(r['ok'] for r in mine) else 'NOT OK'}", flush=True)
    print("Result (all runs):")
    line("runs", str(len(results)))
    line("reports", str(sum(r["reports"] for r in results)))
    line("faults armed", str(sum(r["fault_total"] for r in results)))
    line("workers SIGKILLed (of them mid-export)",
         f"{sum(r['kills'] for r in results)} ({sum(r['kills_mid_export'] for r in results)})")
    line("vouchers adopted after doubt", str(sum(r["adopted_after_doubt"] for r in results)))
    line("reconnects after revocation (+ unplanned)",
         f"{sum(r['reconnects'] for r in results)} (+{sum(r['unplanned_reconnects'] for r in results)})")
    line("manual exports needed", str(sum(r["manual_exports"] for r in results)))
    line("duplicates (must be 0)", str(sum(r["duplicates"] for r in results)))
    line("losses (must be 0)", str(sum(r["losses"] for r in results)))
    line("wrong vouchers (must be 0)", str(sum(r["wrong"] for r in results)))
    line("protocol violations (must be 0)", str(sum(r["protocol_violations"] for r in results)))
    line("left not exported (must be 0)", str(sum(sum(r["not_exported"].values()) for r in results)))
    ok = all(r["ok"] for r in results)
    print("GOAL MET" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
