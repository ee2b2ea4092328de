"""Reading a month back from Fortnox ("Avstämning"): Fortnox calls, 429 answers and wall time.

A fresh database, the emulator in its own process (answering at once, or after ``--delay`` seconds
per call, as a far-away Fortnox would), one restaurant with ``--registers`` registers and a report
per register and day of last month, exported with their Z-report PDFs attached (a consent with the
scopes the product asks for today). Then the month is read as the worker reads it
(``reconcile.operations.execute_run``), and the emulator's request log gives the calls it made.

    .venv/bin/python -m bench.reconcile_month [--registers 2] [--delay 0] [--database postgres|sqlite]

Goal (issue 19): a few list pages (vouchers and their file connections) plus one read per voucher,
never a 429; the rate limit (24 calls per 5 s) is what sets the time: about 14 s for 31 days × 2
registers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.harness import EmulatorProcess, app_config, fresh_database, line, machine, make_restaurant, zreport

#: "A few list pages": one per voucher series and financial year, 500 vouchers a page.
MAX_LIST_PAGES = 3
#: The files connected to the series' vouchers: 500 a page where Fortnox pages the list.
MAX_FILE_PAGES = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registers", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds the emulator waits before each answer")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    args = parser.parse_args(argv)

    from backoffice import create_app
    from backoffice.companies.models import Company
    from backoffice.db import session
    from backoffice.demo import deliver
    from backoffice.export.tasks import run_due_jobs
    from backoffice.reconcile.models import ReconcileRun
    from backoffice.reconcile.operations import execute_run, month_end, start_run
    from backoffice.settings.connect import SCOPES

    first = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    days = month_end(first).day
    registers = tuple(f"K{n}" for n in range(1, args.registers + 1))
    with tempfile.TemporaryDirectory(prefix="reconcile-month-") as folder, fresh_database(args.database) as url:
        emulator = EmulatorProcess(log=Path(folder) / "emulator.log")
        app = create_app(app_config(url, emulator.url))
        try:
            with app.app_context():
                shop = make_restaurant(session, emulator.control, "Avstämningskrogen AB", registers=registers,
                                       scope=" ".join(SCOPES))
                company = session.get(Company, shop.company_id)
                for offset in range(days):
                    for register in company.registers:
                        deliver(session, register, zreport(register.pos_id, offset + 1, first + timedelta(days=offset)))
                session.commit()
                session.close()
            run_due_jobs(app)
            emulator.control.set_delay(args.delay)
            emulator.control.clear_requests()
            with app.app_context():
                run = start_run(session, session.get(Company, shop.company_id), first, actor="bench")
                session.commit()
                started = time.monotonic()
                execute_run(session, run.id, worker="bench")
                seconds = time.monotonic() - started
                run = session.get(ReconcileRun, run.id)
                state, findings = run.state, len(run.result_data["findings"]) if run.result_data else None
                session.close()
            calls = emulator.control.requests(tenant_id=shop.tenant_id)
        finally:
            emulator.stop()
            app.extensions["db_engine"].dispose()
    lists = [c for c in calls if c["path"].startswith("/3/vouchers/sublist/")]
    reads = [c for c in calls if c["path"].startswith("/3/vouchers/") and c not in lists]
    files = [c for c in calls if c["path"] == "/3/voucherfileconnections"]
    line("machine", machine())
    line("month", f"{first:%Y-%m}: {days} days × {len(registers)} registers = {days * len(registers)} vouchers")
    line("run", f"{state}, {findings} findings")
    line("Fortnox calls", f"{len(calls)}: {len(lists)} list pages, {len(files)} file-connection pages, "
                          f"{len(reads)} voucher reads, {len(calls) - len(lists) - len(files) - len(reads)} other")
    line("429 answers", str(sum(1 for c in calls if c["status"] == 429)))
    line("wall time", f"{seconds:.1f} s ({args.delay * 1000:.0f} ms per call at the emulator)")
    met = (state == "done" and findings == 0 and not any(c["status"] == 429 for c in calls)
           and len(lists) <= MAX_LIST_PAGES and 1 <= len(files) <= MAX_FILE_PAGES and len(reads) == days * len(registers))
    print("GOAL MET" if met else "GOAL MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
