"""Avstämning of corrected days ("Rätta dag") against the emulator over real HTTP: original, reversal
and new voucher are one day's chain, and a reversal without its new voucher is found."""

from __future__ import annotations

import json
from datetime import date

from backoffice.correction.operations import start_correction
from tests.correction.conftest import (  # noqa: F401 (fixtures)
    MOVED_SALES,
    booked,
    change_mapping,
    run_corrections,
)
from tests.fixtures import jobs_of

NOV_20, NOV_21, NOV_22 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)
TODAY = date(2026, 12, 1)


def reconcile(app, company) -> dict:
    result = app.test_cli_runner().invoke(args=["reconcile", "--company", company.name, "--month", "2026-11", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def cell(answer: dict, day: date) -> dict:
    [found] = [d for d in answer["days"] if d["business_date"] == day.isoformat()]
    return found


def test_a_corrected_day_is_one_chain_and_a_reversal_without_its_new_voucher_is_found(app, db, emulator,
                                                                                       booked):  # noqa: F811
    shop = booked()  # without the connectfile scope: files are not attached nor read (attachment_unknown)
    [job_20, job_21, _] = jobs_of(db, shop.company)
    year = job_21.voucher_year
    change_mapping(db, shop.company, sales=MOVED_SALES)
    start_correction(db, shop.company, NOV_21, NOV_21, actor="chef@krogen.se", why="Dryck 12 % på fel konto", today=TODAY)
    db.commit()
    assert run_corrections(db) == ["done"]

    answer = reconcile(app, shop.company)

    assert [f["kind"] for f in answer["findings"]] == ["attachment_unknown"]
    first = job_21.voucher_number
    assert cell(answer, NOV_21)["state"] == "ok"
    assert cell(answer, NOV_21)["vouchers"] == [f"F {first}", f"F {first + 2}", f"F {first + 3}"]
    assert cell(answer, NOV_20) == {"business_date": "2026-11-20", "register_id": "K1", "z_number": job_20.zreport.z_number,
                                    "state": "ok", "vouchers": [f"F {job_20.voucher_number}"]}

    # Back to the old mapping: correcting 21 November again reverses the new voucher, whose own new one
    # Fortnox refuses (3052 made inactive): the reversal stands alone and the day is not in the books.
    change_mapping(db, shop.company)
    start_correction(db, shop.company, NOV_21, NOV_21, actor="chef@krogen.se", why="Tillbaka", today=TODAY)
    db.commit()
    emulator.control.set_account_active(shop.tenant_id, 3052, False, financial_year=year)
    assert run_corrections(db) == ["blocked"]

    answer = reconcile(app, shop.company)

    day = cell(answer, NOV_21)
    assert day["state"] == "missing" and day["vouchers"][:3] == [f"F {first}", f"F {first + 2}", f"F {first + 3}"]
    [found, _] = answer["findings"]
    assert found["kind"] == "correction_incomplete" and found["voucher"] == day["vouchers"][3]
    assert found["detail"] == (
        f"Verifikation {day['vouchers'][3]} vänder F {first + 3} för Z-rapport {job_21.zreport.z_number} från kassa K1, "
        "men den nya verifikationen saknas i Fortnox, så dagen är inte bokförd. Tryck på Bekräfta igen under "
        "Z-rapporter → Rätta dagarna, eller bokför dagen i Fortnox, och läs sedan månaden från Fortnox igen.")
