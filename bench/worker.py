"""A real export worker process for benchmarks and the reliability suite: ``run_due_jobs`` in a loop.

``flask --app wsgi worker`` reads its settings from the environment, which has no knob for the lease
or the Fortnox read timeout; a chaos run needs both short (a SIGKILLed worker's lease must run out
within seconds, a ``timeout_after_store`` must time out quickly). So this runner builds the app from
a JSON config dict (the same dict the tests pass to ``create_app``) and otherwise does what the
scheduler's ``export-due-jobs`` job does: call ``backoffice.export.tasks.run_due_jobs`` every
``--interval`` seconds. With ``--corrections`` it also does what ``correction-runs`` does
(``backoffice.correction.tasks.run_due_corrections``), for a test that kills a worker mid-correction.

    BACKOFFICE_CONFIG_JSON='{"DATABASE_URL": ..., ...}' python -m bench.worker [--interval 0.2]
        [--max-seconds 600] [--retry-delays 1,2,4] [--corrections] [--log FILE]

It stops by itself after ``--max-seconds`` (every loop here is bounded), on SIGTERM, or when killed.
``--retry-delays`` compresses the engine's retry plan (5, 25, 125 s) so that a chaos run in CI does
not wait two minutes for a third retry; the plan itself is tested with freezegun in tests/export.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between two runs (the scheduler: 1)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop after this long")
    parser.add_argument("--retry-delays", help="comma-separated seconds instead of the engine's (5, 25, 125)")
    parser.add_argument("--log", type=Path, help="append the worker's log here (default: stderr)")
    parser.add_argument("--corrections", action="store_true", help="run due corrections (Rätta dag) too")
    args = parser.parse_args(argv)

    config = json.loads(os.environ["BACKOFFICE_CONFIG_JSON"])
    handlers = [logging.FileHandler(args.log)] if args.log else [logging.StreamHandler()]
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {os.getpid()} %(levelname)s %(name)s: %(message)s",
                        handlers=handlers)
    logging.getLogger("urllib3").setLevel(logging.WARNING)

    from backoffice import create_app
    from backoffice.correction.tasks import run_due_corrections
    from backoffice.export import engine
    from backoffice.export.tasks import run_due_jobs

    if args.retry_delays:
        engine.RETRY_DELAYS = tuple(int(x) for x in args.retry_delays.split(","))
    app = create_app(config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = time.monotonic() + args.max_seconds
    print("ready", flush=True)
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            run_due_jobs(app)
            if args.corrections:
                run_due_corrections(app)
        except Exception:  # a database hiccup must not end the worker, as in the scheduler
            logging.getLogger(__name__).exception("run_due_jobs crashed")
        stop.wait(args.interval)
    app.extensions["db_engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
