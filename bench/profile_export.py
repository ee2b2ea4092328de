"""The export's own cost per voucher: CPU milliseconds and SQL statements, with a cProfile of the run.

A fresh database, the emulator in its own process answering at once (``set_delay(0)``), 50
restaurants with one register each, metadata cached as the health check leaves it. Reports are
delivered through the POS intake (``backoffice.demo.deliver``) and exported in this process by
``backoffice.export.tasks.run_due_jobs`` (what the worker calls every second), in two rounds: 6
reports per restaurant measured plainly (the figure that counts), then 2 more each under cProfile,
one profile per export thread, merged and printed. The emulator works in its own process, so
``process_time`` is the back office's side only (client, engine, SQLAlchemy, psycopg);
PostgreSQL's work is not counted either. Takes about half a minute.

    .venv/bin/python -m bench.profile_export [--companies 50] [--reports 6] [--profiled-reports 2] [--concurrency 8]
        [--database postgres|sqlite] [--top 25] [--dump FILE]

Goal (docs/PERFORMANCE.md §3): under 10 ms of CPU per voucher on PostgreSQL.
"""

from __future__ import annotations

import argparse
import cProfile
import faulthandler
import io
import logging
import pstats
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from datetime import date, timedelta
from pathlib import Path

from bench.harness import (
    EmulatorProcess,
    app_config,
    export_counts,
    fresh_database,
    line,
    machine,
    make_restaurant,
    zreport,
)

GOAL_MS = 10.0


class StatementCounter:
    """Counts the SQL statements an engine sends (``before_cursor_execute``), from every thread."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.count = 0
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        with self._lock:
            self.count += 1


class ThreadProfiles:
    """cProfile of every export thread: ``tasks.drain`` wrapped so that each thread profiles itself.

    The timer is the thread's CPU time: with wall time, waiting for PostgreSQL, the emulator and the
    GIL would fill the listing."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    @contextmanager
    def installed(self):
        from backoffice.export import tasks

        original = tasks.drain

        def profiled_drain(*args, **kwargs):
            profiler = cProfile.Profile(time.thread_time)  # CPU, not the wall time spent waiting
            with self._lock:
                self.profiles.append(profiler)
            return profiler.runcall(original, *args, **kwargs)

        tasks.drain = profiled_drain
        try:
            yield
        finally:
            tasks.drain = original

    def print(self, top: int, dump: Path | None = None) -> int:
        """Print the merged profile's top lines; returns how many Python function calls it counted."""
        text = io.StringIO()
        stats = pstats.Stats(self.profiles[0], stream=text)
        for profiler in self.profiles[1:]:
            stats.add(profiler)
        if dump:
            stats.dump_stats(dump)
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        if top:
            print(text.getvalue(), flush=True)
        return stats.total_calls


def warm_metadata(session, connection_ids) -> None:
    """``harness.warm_metadata``, ending each read transaction before Fortnox is called: on SQLite
    it holds the write lock, which the token store needs for its first refresh."""
    from backoffice.db import now_utc
    from backoffice.integrations.fortnox.connection import client_for
    from backoffice.integrations.fortnox.metadata import refresh_snapshot
    from backoffice.integrations.fortnox.models import FortnoxConnection

    for connection_id in connection_ids:
        connection = session.get(FortnoxConnection, connection_id)
        session.commit()
        refresh_snapshot(session, connection, client_for(connection), now=now_utc())


def export_all(app, counter: StatementCounter, profiles: ThreadProfiles | None = None) -> dict:
    """Run ``run_due_jobs`` once; CPU seconds of this process, wall seconds, statements, vouchers exported."""
    from backoffice.db import session
    from backoffice.export.tasks import run_due_jobs

    with app.app_context():
        before = export_counts(session).get("exported", 0)
        session.close()
    statements0 = counter.count
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with profiles.installed() if profiles else nullcontext():
        run_due_jobs(app)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    statements = counter.count - statements0
    with app.app_context():
        counts = export_counts(session)
        session.close()
    return {"cpu": cpu, "wall": wall, "statements": statements, "exported": counts.get("exported", 0) - before,
            "counts": counts}


def one_run(kind: str, companies: int, reports: int, profiled_reports: int, concurrency: int, top: int,
            dump: Path | None, workdir: Path) -> dict:
    """Two rounds on one set of restaurants: ``reports`` reports each measured plainly, then
    ``profiled_reports`` more each under cProfile (which multiplies the CPU it measures)."""
    from backoffice import create_app
    from backoffice.companies.models import Company
    from backoffice.db import session
    from backoffice.demo import deliver

    with fresh_database(kind) as url:
        emulator = EmulatorProcess(request_log_size=companies * reports * 2, log=workdir / "emulator.log")
        app = None
        try:
            app = create_app(app_config(url, emulator.url, EXPORT_CONCURRENCY=concurrency))
            counter = StatementCounter(app.extensions["db_engine"])
            first = date.today() - timedelta(days=reports + profiled_reports + 1)

            def deliver_reports(z_numbers) -> None:
                with app.app_context():
                    for shop in shops:
                        register = session.get(Company, shop.company_id).registers[0]
                        for z in z_numbers:
                            deliver(session, register, zreport("K1", z, first + timedelta(days=z)))
                    session.commit()
                    session.close()

            with app.app_context():
                shops = [make_restaurant(session, emulator.control, f"Profilkrogen {n} AB") for n in range(companies)]
                warm_metadata(session, [shop.connection_id for shop in shops])
                session.close()
            emulator.control.set_delay(0)
            deliver_reports(range(1, reports + 1))
            plain = export_all(app, counter)
            deliver_reports(range(reports + 1, reports + profiled_reports + 1))
            profiles = ThreadProfiles()
            profiled = export_all(app, counter, profiles)
            profiled["calls"] = profiles.print(top, dump)
            vouchers = sum(len(emulator.control.vouchers(shop.tenant_id)) for shop in shops)
        finally:
            emulator.stop()
            if app is not None:
                app.extensions["db_engine"].dispose()
    return {"plain": plain, "profiled": profiled, "vouchers": vouchers,
            "total": companies * (reports + profiled_reports)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=50)
    parser.add_argument("--reports", type=int, default=6, help="reports per restaurant, measured plainly")
    parser.add_argument("--profiled-reports", type=int, default=2, help="then this many more each, under cProfile")
    parser.add_argument("--concurrency", type=int, default=8, help="EXPORT_CONCURRENCY (threads)")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--top", type=int, default=25, help="lines of each profile listing (0: none)")
    parser.add_argument("--dump", type=Path, help="also save the merged profile here (pstats)")
    args = parser.parse_args(argv)
    # A job that crashes every time is claimed again at once, for ever: end a run that hangs so
    # (the emulator ends with us; the database bench_… is left behind to look at).
    faulthandler.dump_traceback_later(300, exit=True)

    print(f"Export cost per voucher: {args.companies} restaurants × {args.reports} + {args.profiled_reports} reports, "
          f"{args.concurrency} threads, {args.database}, {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="profile-export-") as folder:
        # The worker logs a line per voucher; it still does, into a file (its cost stays in the figures).
        logging.basicConfig(level=logging.INFO, handlers=[logging.FileHandler(Path(folder) / "export.log")],
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        result = one_run(args.database, args.companies, args.reports, args.profiled_reports, args.concurrency,
                         args.top, args.dump, Path(folder))
    plain, profiled = result["plain"], result["profiled"]

    def both(figure) -> str:
        return " / ".join(figure(r) for r in (plain, profiled))

    line("round 1 plain / round 2 under cProfile", "")
    line("  exported", both(lambda r: f"{r['exported']}"))
    line("  wall", both(lambda r: f"{r['wall']:.2f} s"))
    line("  CPU per voucher, this process", both(lambda r: f"{1000 * r['cpu'] / max(r['exported'], 1):.1f} ms"))
    line("  SQL statements per voucher", both(lambda r: f"{r['statements'] / max(r['exported'], 1):.1f}"))
    # Steadier than CPU time on a shared machine, whose other load inflates the CPU a voucher takes.
    line("  Python function calls per voucher", f"- / {profiled['calls'] / max(profiled['exported'], 1):,.0f}")
    line("vouchers in the emulator", f"{result['vouchers']} of {result['total']}")
    per_voucher = 1000 * plain["cpu"] / max(plain["exported"], 1)
    complete = plain["exported"] + profiled["exported"] == result["vouchers"] == result["total"]
    met = complete and per_voucher < GOAL_MS
    print("GOAL MET" if met else "GOAL MISSED", flush=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
