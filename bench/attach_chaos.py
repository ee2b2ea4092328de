"""The chaos run of attaching: Z-report PDFs while Fortnox loses the answers of uploads and connections.

Fresh database, the Fortnox emulator in its own process, real worker processes (``bench/worker.py``),
some SIGKILLed and restarted. While the vouchers and their PDFs go to Fortnox, a thread keeps arming
faults on the two POSTs of attaching: the upload's or the connection's answer lost *after* Fortnox
stored it (``timeout_after_store`` + drop), the connection dropped before Fortnox processed it, and
500s. Attachments whose retries (5, 25, 125 s) all met faults end ``failed``; the run then does what a
manager would, "Bifoga underlag för tidigare dagar", and counts how many needed it. Measured:

- vouchers with exactly one file, with none, with more than one (goal: all exactly one);
- files left unconnected in the inbox (goal: none); duplicate vouchers (goal: none);
- faults armed and hit, worker kills.

    .venv/bin/python -m bench.attach_chaos [--runs 3] [--reports 100] [--companies 2] [--seed 1]
        [--database postgres|sqlite] [--fault-interval 0.4] [--kills 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from bench.harness import (
    ATTACH_SCOPE,
    EmulatorProcess,
    WorkerProcess,
    app_config,
    export_counts,
    fresh_database,
    line,
    machine,
    make_restaurant,
    zreport,
)

#: (kind, method, path, after): what the fault thread arms, one at a time, on a random tenant.
FAULTS = (
    ("lost upload answer", "timeout_after_store", "/3/inbox", "drop"),
    ("lost connection answer", "timeout_after_store", "/3/voucherfileconnections", "drop"),
    ("upload dropped before processing", "drop", "/3/inbox", "answer"),
    ("connection answered 500", "500", "/3/voucherfileconnections", "answer"),
)


def attachment_counts(session, company_ids) -> dict[str, int]:
    from sqlalchemy import func, select

    from backoffice.export.models import VoucherAttachment

    session.rollback()
    query = (select(VoucherAttachment.state, func.count()).where(VoucherAttachment.company_id.in_(company_ids))
             .group_by(VoucherAttachment.state))
    return {str(state): n for state, n in session.execute(query).all()}


def one_run(kind: str, reports: int, companies: int, seed: int, interval: float, kills: int, workdir: Path) -> dict:
    from backoffice import create_app
    from backoffice.companies.models import Company
    from backoffice.db import session
    from backoffice.demo import deliver
    from backoffice.export.attachments import start_backfill

    rng = random.Random(seed)
    with fresh_database(kind) as url:
        emulator = EmulatorProcess(request_log_size=200_000, log=workdir / "emulator.log")
        workers: list[WorkerProcess] = []
        stop_faults = threading.Event()
        armed: dict[str, int] = {name: 0 for name, *_ in FAULTS}
        try:
            config = app_config(url, emulator.url, EXPORT_CONCURRENCY=4, EXPORT_LEASE_SECONDS=10,
                                FORTNOX_READ_TIMEOUT=2.0)
            app = create_app(config)
            with app.app_context():
                shops = [make_restaurant(session, emulator.control, f"Kaoskrogen {i} AB", ("K1",),
                                         scope=ATTACH_SCOPE) for i in range(companies)]
                ids = [shop.company_id for shop in shops]
                today = date.today()
                per_shop = reports // companies
                for shop in shops:
                    register = session.get(Company, shop.company_id).registers[0]
                    for z in range(1, per_shop + 1):
                        deliver(session, register, zreport("K1", z, today - timedelta(days=per_shop + 1 - z)))
                session.commit()

                def arm_faults() -> None:
                    while not stop_faults.wait(interval):
                        name, fault, path, after = rng.choice(FAULTS)
                        shop = rng.choice(shops)
                        emulator.control.add_fault(fault, method="POST", path_prefix=path, tenant_id=shop.tenant_id,
                                                   seconds=0 if fault == "timeout_after_store" else None, after=after)
                        armed[name] += 1

                faults = threading.Thread(target=arm_faults, daemon=True)
                faults.start()
                workers = [WorkerProcess(config, log=workdir / f"worker{i}.log") for i in range(2)]
                started = time.monotonic()
                killed = 0
                total = per_shop * companies
                deadline = started + 900
                while True:
                    exported = export_counts(session, ids).get("exported", 0)
                    counts = attachment_counts(session, ids)
                    if exported == total and counts.get("attached", 0) + counts.get("failed", 0) == total:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"did not finish: exported {exported}, attachments {counts}")
                    if killed < kills and rng.random() < 0.05:
                        victim = rng.randrange(len(workers))
                        workers[victim].kill()
                        workers[victim] = WorkerProcess(config, log=workdir / f"worker{victim}-{killed}.log")
                        killed += 1
                    time.sleep(0.5)
                stop_faults.set()
                faults.join()
                emulator.control.clear_faults()
                needed_backfill = counts.get("failed", 0)
                if needed_backfill:
                    for company_id in ids:
                        start_backfill(session, session.get(Company, company_id), actor="bench")
                    while attachment_counts(session, ids).get("attached", 0) < total:
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"backfill did not finish: {attachment_counts(session, ids)}")
                        time.sleep(0.5)
                wall = time.monotonic() - started
            for worker in workers:
                worker.stop()
            workers = []
            vouchers, files, hits = [], [], 0
            for shop in shops:
                vouchers += emulator.control.vouchers(shop.tenant_id)
                files += emulator.control.files(shop.tenant_id)
                hits += sum(1 for r in emulator.control.requests(shop.tenant_id) if r["fault"])
        finally:
            stop_faults.set()
            for worker in workers:
                worker.stop()
            emulator.stop()
            app.extensions["db_engine"].dispose()
    per_voucher = [len(v["files"]) for v in vouchers]
    return {
        "wall": wall, "vouchers": len(vouchers), "expected": total,
        "duplicates": len(vouchers) - len({(v["description"], v["transaction_date"]) for v in vouchers}),
        "one_file": per_voucher.count(1), "no_file": per_voucher.count(0),
        "several": sum(1 for n in per_voucher if n > 1),
        "stray": sum(1 for f in files if f["voucher"] is None), "files": len(files),
        "armed": sum(armed.values()), "armed_by_kind": armed, "hit": hits, "kills": killed,
        "needed_backfill": needed_backfill,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--companies", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--fault-interval", type=float, default=0.4, help="seconds between two armed faults")
    parser.add_argument("--kills", type=int, default=3, help="worker processes SIGKILLed per run")
    args = parser.parse_args(argv)

    print(f"Attaching under chaos: {args.reports} reports, {args.companies} companies, a fault every "
          f"{args.fault_interval} s, {args.kills} kills, {args.database}, {machine()}", flush=True)
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-attach-chaos-") as folder:
        for run in range(1, args.runs + 1):
            r = one_run(args.database, args.reports, args.companies, args.seed + run, args.fault_interval,
                        args.kills, Path(folder))
            print(f"  run {run}: {r['wall']:.0f} s, vouchers {r['vouchers']}/{r['expected']}"
                  f" (duplicates {r['duplicates']}), exactly one file {r['one_file']}, none {r['no_file']},"
                  f" several {r['several']}, stray files in the inbox {r['stray']} (of {r['files']}),"
                  f" faults armed {r['armed']} {r['armed_by_kind']}, hit {r['hit']}, kills {r['kills']},"
                  f" needed \"Bifoga underlag\" {r['needed_backfill']}", flush=True)
            ok = ok and r["vouchers"] == r["expected"] and r["duplicates"] == 0 and r["one_file"] == r["expected"] \
                and r["stray"] == 0
    line("every voucher exactly one file, no stray file, no duplicate", "yes" if ok else "NO")
    print("GOAL MET" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
