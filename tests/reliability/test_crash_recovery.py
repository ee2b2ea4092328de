"""A worker SIGKILLed while Fortnox stores its voucher: whatever happens next, the voucher is adopted,
never posted twice."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from backoffice.export.models import ExportAttempt, ExportJob
from tests.fixtures import jobs_of, later, run_jobs
from tests.reliability.chaos import ChaosSettings, Shop, Worker, reconnect

pytestmark = pytest.mark.timeout(120)


def kill_mid_post(db, app_config, emulator, shop, tmp_path) -> ExportJob:
    """Start a real worker, let Fortnox store the voucher and hang, and SIGKILL the worker waiting for the answer."""
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers",
                               tenant_id=shop.tenant_id, seconds=20)
    config = {**app_config, "FORTNOX_READ_TIMEOUT": 15.0, "EXPORT_LEASE_SECONDS": 60}
    worker = Worker(config, ChaosSettings(), tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.rollback()
            sending = db.scalar(
                select(ExportAttempt.id).join(ExportJob)
                .where(ExportJob.company_id == shop.company.id, ExportAttempt.outcome == "sending")
            )
            if sending and emulator.control.vouchers(shop.tenant_id):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the worker never got to post")
    finally:
        worker.kill()
    [job] = jobs_of(db, shop.company)
    assert job.in_doubt and job.state == "pending"
    assert len(emulator.control.vouchers(shop.tenant_id)) == 1  # Fortnox has it; we never heard back
    return job


@pytest.mark.parametrize("lookup_fails_with", ["revoked", "429"])
def test_a_voucher_posted_by_a_killed_worker_is_adopted_even_if_the_first_lookup_fails(
    db, app, app_config, emulator, restaurant, pos, make_document, tmp_path, lookup_fails_with
):
    made = restaurant()
    shop = Shop(made.company.id, made.tenant_id, made.connection_id, made.tokens)
    assert pos.post(shop.tokens["K1"], make_document()).status_code == 201
    kill_mid_post(db, app_config, emulator, made, tmp_path)

    # The lease of the dead worker has run out; the next worker's lookup in Fortnox fails first.
    if lookup_fails_with == "revoked":
        emulator.control.revoke_tokens(shop.tenant_id)
        assert run_jobs(db, company=made.company, now=later(61)) == ["blocked"]

    else:
        emulator.control.add_fault("429", count=4, method="GET", path_prefix="/3/vouchers", tenant_id=shop.tenant_id)
        assert run_jobs(db, company=made.company, now=later(61)) == ["pending"]
    [job] = jobs_of(db, made.company)
    assert job.in_doubt, "the voucher may exist in Fortnox: the job must stay in doubt until it is looked up"

    if lookup_fails_with == "revoked":
        with app.app_context():
            reconnect(db, emulator.control, shop)
    [job] = jobs_of(db, made.company)
    state = (job.state, job.reason_code, job.retry_at, job.lease_until)
    assert run_jobs(db, company=made.company, now=later(90)) == ["exported"], state

    [job] = jobs_of(db, made.company)
    assert len(emulator.control.vouchers(shop.tenant_id)) == 1
    assert job.attempts[-1].outcome == "found"
    assert "sending" not in [attempt.outcome for attempt in job.attempts]  # the crashed post is on record as such
