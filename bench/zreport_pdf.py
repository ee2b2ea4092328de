"""Render time of the Z-dagrapport PDF (``backoffice/zreport/pdf.py``) for a report with 40 lines.

The report is the contract's example grown to 40 lines (sales and returns over four VAT rates,
payments, tips), parsed by the intake schema as a stored report is; each round renders it once, as
attaching does for every voucher. Measured in this process, CPU-bound, after 20 warm-up renders.

    .venv/bin/python -m bench.zreport_pdf [--rounds 500] [--lines 40]

Goal (issue 17): p95 ≤ 50 ms for a report with 40 lines. The CPU time per render is printed too: on a
shared machine it is what a quiet one would take.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import line, machine

RATES = ("25", "12", "6", "0")


def document(lines: int) -> dict:
    """A balanced zreport/v1 document with ``lines`` sales, return, payment and tip lines in all."""
    returns = max(lines // 8, 1)
    methods = ("card", "cash", "swish")
    sales_count = lines - returns - len(methods) - 1
    sales, returned = [], []
    for i in range(sales_count):
        rate = Decimal(RATES[i % len(RATES)])
        gross = Decimal(1000 + 37 * i)
        vat = (gross * rate / (100 + rate)).quantize(Decimal("0.01"))
        sales.append({"product_group": f"Varugrupp {i + 1}", "vat_rate": str(rate), "gross": f"{gross:.2f}",
                      "vat": f"{vat:.2f}", "count": 10 + i})
    for i in range(returns):
        rate = Decimal(RATES[i % len(RATES)])
        gross = Decimal(50 + i)
        vat = (gross * rate / (100 + rate)).quantize(Decimal("0.01"))
        returned.append({"product_group": f"Varugrupp {i + 1}", "vat_rate": str(rate), "gross": f"{gross:.2f}",
                         "vat": f"{vat:.2f}", "count": 1})
    tips = Decimal("640.00")
    due = sum(Decimal(s["gross"]) for s in sales) - sum(Decimal(r["gross"]) for r in returned) + tips
    card = (due * Decimal("0.7")).quantize(Decimal("0.01"))
    swish = (due * Decimal("0.1")).quantize(Decimal("0.01"))
    payments = [{"method": "card", "amount": f"{card:.2f}", "count": 180},
                {"method": "swish", "amount": f"{swish:.2f}", "count": 30},
                {"method": "cash", "amount": f"{due - card - swish:.2f}", "count": 40}]
    total_sales = sum(Decimal(s["gross"]) for s in sales)
    total_returns = sum(Decimal(r["gross"]) for r in returned)
    return {
        "schema": "zreport/v1", "register": {"id": "K1", "name": "Kassa 1", "serial_number": "CR-00017"},
        "z_number": 1042, "business_date": "2026-11-20", "closed_at": "2026-11-21T00:12:40+01:00",
        "currency": "SEK", "sales": sales, "returns": returned, "payments": payments,
        "tips": [{"method": "card", "amount": f"{tips:.2f}"}], "gift_cards_sold": "0.00", "rounding": "0.00",
        "cash_difference": "0.00", "discounts": {"count": 12, "amount": "350.00"}, "opening_float": "2000.00",
        "counters": {"receipts": 220, "drawer_openings": 14, "goods_sold": 310, "services_sold": 0},
        "copies": {"count": 1, "amount": "245.00"}, "training": {"count": 0, "amount": "0.00"},
        "unfinished_sales": {"count": 0, "amount": "0.00"}, "other_reductions": {"count": 0, "amount": "0.00"},
        "grand_total": {"sales": f"{total_sales:.2f}", "returns": f"{total_returns:.2f}",
                        "net": f"{total_sales - total_returns:.2f}"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--lines", type=int, default=40)
    args = parser.parse_args(argv)

    from backoffice.zreport.pdf import render_pdf
    from backoffice.zreport.schemas import parse_document

    report = parse_document(json.dumps(document(args.lines)))
    counted = len(report.sales) + len(report.returns) + len(report.payments) + len(report.tips)
    for _ in range(20):
        content = render_pdf(report, company_name="Krogen AB", org_number="556677-8899")
    times, cpu = [], []
    for _ in range(args.rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        again = render_pdf(report, company_name="Krogen AB", org_number="556677-8899")
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    times.sort()
    cpu.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    load = os.getloadavg()[0]
    print(f"Z-report PDF, {counted} lines, {args.rounds} renders, {machine()}")
    line("size", f"{len(content)} bytes, same bytes every time: {content == again}")
    line("median", f"{statistics.median(times):.1f} ms")
    line("p95 (goal ≤ 50 ms)", f"{p95:.1f} ms")
    line("max", f"{times[-1]:.1f} ms")
    line("CPU time per render: median, p95", f"{statistics.median(cpu):.1f} ms, {cpu[int(0.95 * (len(cpu) - 1))]:.1f} ms")
    line("load average during the run (2 cores)", f"{load:.1f}")
    ok = p95 <= 50 and content == again
    print("GOAL MET" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
