"""Time what intake does with hostile bodies of at most 1 MiB (issue 14): each must be answered
within a second, so every check on the way is linear.

Run: ``.venv/bin/python bench/intake_limits.py``. Prints, per body, its size and the median of
five runs of what the POS API does before it answers (``load_json``, then ``zreport_schema.load``),
in milliseconds on one core. Goal: below 1,000 ms each; prints ``GOAL MET`` or ``GOAL MISSED`` and exits
0 or 1.
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from pathlib import Path

from marshmallow import ValidationError

from backoffice.zreport.schemas import DocumentError, load_json, zreport_schema

MIB = 1024 * 1024
GOAL_MS = 1000
CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "contracts" / "zreport-v1.md"


def example() -> dict:
    text = CONTRACT.read_text(encoding="utf-8")
    return json.loads(text.split("```json", 1)[1].split("```", 1)[0])


def bodies() -> dict[str, bytes]:
    keys = ",".join(f'"k{n % 30000}":0' for n in range(95_000))
    many_payments = copy.deepcopy(example())
    many_payments["payments"] = [{"method": f"m{n}", "amount": "0.00"} for n in range(25_000)]
    many_groups = copy.deepcopy(example())
    many_groups["sales"] = [
        {"product_group": f"Grupp {n}", "vat_rate": "25", "gross": "125.00", "vat": "25.00", "count": 1}
        for n in range(9_000)
    ]
    return {
        "1 MiB of short duplicate keys": ('{"sales":{' + keys + "}}").encode(),
        "25,000 payment methods": json.dumps(many_payments).encode(),
        "9,000 product groups": json.dumps(many_groups).encode(),
        "the contract's example": json.dumps(example()).encode(),
    }


def judge(body: bytes) -> str:
    try:
        zreport_schema.load(load_json(body))
    except DocumentError:
        return "400"
    except ValidationError:
        return "422"
    return "valid"


def main() -> int:
    met = True
    for name, body in bodies().items():
        assert len(body) <= MIB, name
        times = []
        for _ in range(5):
            started = time.perf_counter()
            answer = judge(body)
            times.append((time.perf_counter() - started) * 1000)
        median = statistics.median(times)
        met = met and median < GOAL_MS
        print(f"{name:<32} {len(body) / 1024:8.0f} KiB  {answer:>5}  {median:8.1f} ms")
    print("GOAL MET" if met else "GOAL MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
