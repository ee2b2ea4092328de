"""Two production workers (``flask --app wsgi worker``) against one PostgreSQL database: 200 reports,
no duplicate voucher, no job run twice, and both workers did part of the work."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice.export.models import ExportAttempt, ExportJob
from tests.reliability.test_chaos import chaos_mapping

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                       reason="needs PostgreSQL (DATABASE_URL=postgresql+psycopg://...)"),
]

REPO = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).parent / "flask"


def worker_environment(config: dict) -> dict:
    """``flask --app wsgi worker`` reads its settings from the environment, as in production."""
    keys = ("DATABASE_URL", "SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "FORTNOX_CLIENT_ID", "FORTNOX_CLIENT_SECRET",
            "FORTNOX_AUTH_URL", "FORTNOX_TOKEN_URL", "FORTNOX_REVOKE_URL", "FORTNOX_API_URL")
    return {**os.environ, **{key: str(config[key]) for key in keys}, "EXPORT_CONCURRENCY": "4", "EMBEDDED_WORKER": "0"}


def test_two_worker_processes_export_200_reports_once_each(
    db, app_config, emulator, restaurant, pos, make_document, tmp_path
):
    shops = [restaurant(registers=("K1", "K2"), mapping=chaos_mapping()) for _ in range(10)]
    for shop in shops:
        for pos_id in ("K1", "K2"):
            for _ in range(10):
                assert pos.post(shop.tokens[pos_id], make_document(register_id=pos_id)).status_code == 201
    ids = [shop.company.id for shop in shops]

    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = []
    try:
        for log in logs:
            with open(log, "wb") as handle:
                workers.append(subprocess.Popen([str(FLASK), "--app", "wsgi", "worker"], cwd=REPO,
                                                env=worker_environment(app_config), stdout=handle,
                                                stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            db.rollback()
            done = db.scalar(select(func.count()).where(ExportJob.company_id.in_(ids), ExportJob.state == "exported"))
            if done == 200:
                break
            assert all(worker.poll() is None for worker in workers), "a worker died"
            time.sleep(0.5)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)

    db.rollback()
    states = Counter(dict(db.execute(
        select(ExportJob.state, func.count()).where(ExportJob.company_id.in_(ids)).group_by(ExportJob.state)).all()))
    assert states == {"exported": 200}

    # No duplicate: each tenant holds one voucher per report, each description once.
    for shop in shops:
        vouchers = emulator.control.vouchers(shop.tenant_id)
        assert len(vouchers) == 20 and len({v["description"] for v in vouchers}) == 20

    # No job run twice: one successful attempt per job, and each job exported by exactly one worker.
    successes = Counter(db.scalars(
        select(ExportAttempt.job_id).join(ExportJob)
        .where(ExportJob.company_id.in_(ids), ExportAttempt.outcome.in_(["posted", "found"]))
    ).all())
    assert len(successes) == 200 and set(successes.values()) == {1}
    zreport_ids = set(db.scalars(select(ExportJob.zreport_id).where(ExportJob.company_id.in_(ids))).all())
    exported_by = []
    for log in logs:
        found = [int(z) for z in re.findall(r"Exported Z-report (\d+) as voucher", log.read_text(encoding="utf-8"))]
        exported_by.append(Counter(z for z in found if z in zreport_ids))
    both = set(exported_by[0]) & set(exported_by[1])
    assert not both, f"exported by both workers: {sorted(both)}"
    assert sum(exported_by[0].values()) + sum(exported_by[1].values()) == 200
    assert all(exported_by), f"one worker did all the work: {[sum(c.values()) for c in exported_by]}"
    too_many = sum(1 for shop in shops for r in emulator.control.requests(shop.tenant_id) if r["status"] == 429)
    print(f"two workers: {[sum(c.values()) for c in exported_by]} exports each, {too_many} 429s from the emulator")
    for counter in exported_by:
        assert set(counter.values()) <= {1}
