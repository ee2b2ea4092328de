"""A real worker process SIGKILLed between the reversal and the new voucher: the next worker posts the
new voucher once and never a second reversal (issue 18, "Exactly once, even when interrupted")."""

from __future__ import annotations

import time

import pytest

from backoffice.correction.models import Correction, CorrectionState
from backoffice.correction.operations import start_correction
from tests.correction.conftest import MOVED_SALES, change_mapping, run_corrections
from tests.correction.test_correct import NOV_21, TODAY, corrections_of, net_per_account, vouchers_of
from tests.fixtures import later
from tests.reliability.chaos import ChaosSettings, Worker

pytestmark = pytest.mark.timeout(120)

#: every Fortnox call of the killed worker waits this long, so the kill lands between its two posts
SLOW_FORTNOX = 1.5


def test_a_worker_killed_after_the_reversal_is_resumed_with_the_new_voucher_only(
    db, app_config, emulator, booked, tmp_path
):
    shop = booked()
    change_mapping(db, shop.company, sales=MOVED_SALES)
    start_correction(db, shop.company, NOV_21, NOV_21, actor="test", today=TODAY)
    db.commit()
    [original] = vouchers_of(emulator, shop, NOV_21)

    emulator.control.set_delay(SLOW_FORTNOX)
    config = {**app_config, "FORTNOX_READ_TIMEOUT": 15.0, "EXPORT_LEASE_SECONDS": 60}
    worker = Worker(config, ChaosSettings(), tmp_path / "worker.log", corrections=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.rollback()
            correction = db.get(Correction, corrections_of(db, shop)[0].id)
            if correction.reversal_number is not None:
                break  # the reversal's answer is on record; the new voucher is on its way or about to be
            time.sleep(0.02)
        else:
            pytest.fail("the worker never got the reversal through")
    finally:
        worker.kill()
        emulator.control.set_delay(0)
    [correction] = corrections_of(db, shop)
    assert correction.state != CorrectionState.DONE and correction.new_number is None
    time.sleep(SLOW_FORTNOX + 0.5)  # a new voucher the dead worker had sent is stored by now, if it was sent

    # The dead worker's lease runs out; the next worker finishes the correction.
    assert run_corrections(db, company=shop.company, now=later(61)) == ["done"]
    assert run_corrections(db, company=shop.company, now=later(600)) == []
    day_vouchers = vouchers_of(emulator, shop, NOV_21)
    descriptions = [voucher["description"] for voucher in day_vouchers]
    assert len(day_vouchers) == 3, descriptions  # the original, one reversal, one new voucher
    assert sum(description.startswith("Rättelse av ") for description in descriptions) == 1
    assert day_vouchers[0] == original  # the original is never touched
    assert net_per_account(day_vouchers) == net_per_account([day_vouchers[2]])
