"""How many requests per second the Fortnox emulator serves on one CPU core.

Starts the emulator in a child process pinned to one core (os.sched_setaffinity), then drives it
from client threads in this process (pinned to the other cores when there are any): half
GET /3/accounts (the whole seeded chart, 42 accounts) and half POST /3/vouchers (a balanced
3-row voucher, validated and stored), each with a valid bearer token. The rate limiter stays in
the path but is raised to 10**9 per window so it does not refuse the benchmark.

    .venv/bin/python -m bench.emulator_throughput [--seconds 10] [--threads 4]

Prints the figure; docs/EMULATOR.md records it. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from pathlib import Path

TARGET = 500  # requests per second on one core (issue 4)


def _serve(queue: multiprocessing.Queue, stop: multiprocessing.Event, core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})
    from fortnox_emulator.server import start_emulator

    emulator = start_emulator(rate_limit_requests=10**9, request_log_size=1000)
    token = emulator.control.issue_tokens(emulator.default_tenant_id, "bookkeeping")["access_token"]
    queue.put((emulator.port, token, emulator.app.today().isoformat()))
    stop.wait()
    emulator.stop()


def _client(port: int, token: str, day: str, deadline: float, latencies: dict[str, list[float]],
            errors: list[str]) -> None:
    body = json.dumps({"Voucher": {"Description": "Z-rapport bänk", "TransactionDate": day, "VoucherSeries": "F",
                                   "VoucherRows": [{"Account": 1910, "Debit": 125.0},
                                                   {"Account": 3001, "Credit": 100.0},
                                                   {"Account": 2611, "Credit": 25.0}]}})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    calls = [("GET", "/3/accounts", None, 200), ("POST", "/3/vouchers", body, 201)]
    i = 0
    while time.monotonic() < deadline:
        method, path, payload, expected = calls[i % 2]
        i += 1
        start = time.perf_counter()
        # The emulator's server closes each connection after the answer (Werkzeug), so every
        # call pays a TCP connect, as a client without keep-alive would.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != expected:
                errors.append(f"{method} {path} -> {response.status}")
        except OSError as exc:
            errors.append(f"{method} {path} -> {exc!r}")
        finally:
            connection.close()
        latencies[f"{method} {path}"].append(time.perf_counter() - start)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(seconds: float, threads: int) -> float:
    """Run the benchmark and return requests per second."""
    cores = sorted(os.sched_getaffinity(0))
    server_core = cores[0]
    client_cores = set(cores[1:]) or {server_core}
    queue: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(queue, stop, server_core), daemon=True)
    server.start()
    port, token, day = queue.get(timeout=30)
    os.sched_setaffinity(0, client_cores)

    def drive(duration: float) -> tuple[dict[str, list[float]], list[str]]:
        latencies: dict[str, list[float]] = {"GET /3/accounts": [], "POST /3/vouchers": []}
        errors: list[str] = []
        deadline = time.monotonic() + duration
        workers = [threading.Thread(target=_client, args=(port, token, day, deadline, latencies, errors))
                   for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return latencies, errors

    try:
        drive(1.0)  # warm up
        cpu_before = _cpu_seconds(server.pid)
        latencies, errors = drive(seconds)
        cpu_after = _cpu_seconds(server.pid)
    finally:
        stop.set()
        server.join(timeout=10)

    total = sum(len(v) for v in latencies.values())
    rate = total / seconds
    print(f"emulator throughput: {rate:.0f} requests/s on 1 core (server pinned to CPU {server_core}, "
          f"clients on CPU {','.join(map(str, sorted(client_cores)))}, {threads} client threads, {seconds:g} s)")
    for name, values in latencies.items():
        values.sort()
        print(f"  {name:18} {len(values) / seconds:7.0f}/s  median {statistics.median(values) * 1000:5.1f} ms"
              f"  p95 {values[int(len(values) * 0.95)] * 1000:5.1f} ms")
    if cpu_before is not None and cpu_after is not None:
        busy = (cpu_after - cpu_before) / seconds
        print(f"  server CPU busy {busy:.0%} of its core: about {total / max(cpu_after - cpu_before, 1e-9):.0f} "
              "requests per CPU-second")
    print(f"  errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    print(f"  target {TARGET}/s: {'met' if rate >= TARGET and not errors else 'NOT met'}")
    return rate


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement time (default 10)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    args = parser.parse_args()
    rate = run(args.seconds, args.threads)
    sys.exit(0 if rate >= TARGET else 1)


if __name__ == "__main__":
    main()
