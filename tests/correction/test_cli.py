"""``flask export correct``: the preview, the question, --json, --yes and the Swedish refusals."""

from __future__ import annotations

import json

from tests.correction.conftest import MOVED_SALES, change_mapping


def test_the_cli_previews_asks_and_corrects_only_with_yes(app, db, emulator, booked):
    shop = booked()
    change_mapping(db, shop.company, sales=MOVED_SALES)
    runner = app.test_cli_runner()
    args = ["export", "correct", "--company", shop.company.name, "--from", "2026-11-20", "--to", "2026-11-22"]

    declined = runner.invoke(args=args, input="n\n")
    as_json = runner.invoke(args=[*args, "--json"])
    done = runner.invoke(args=[*args, "--yes", "--why", "Fel konto för dryck"])
    again = runner.invoke(args=[*args, "--yes"])

    assert declined.exit_code == 1 and "Rätta 1 dag för" in declined.output
    assert "konto 3002: 0,00 → −16 473,21 (skillnad −16 473,21)" in declined.output
    assert "1 dag rättas, 2 bokförs redan rätt." in declined.output
    preview = json.loads(as_json.output)
    assert [d["business_date"] for d in preview["days"]] == ["2026-11-21"] and preview["unchanged"] == 2
    assert {c["account"]: c["change"] for c in preview["days"][0]["changes"]} == {3002: "-16473.21", 3052: "16473.21"}
    assert done.exit_code == 0, done.output
    assert "Rättade: 1, väntar på en person: 0, misslyckade: 0, pågår: 0" in done.output
    assert again.exit_code == 0 and "0 dagar rättas, 3 bokförs redan rätt." in again.output
    assert len(emulator.control.vouchers(shop.tenant_id)) == 5
    status = json.loads(runner.invoke(args=["export", "status", "--company", shop.company.name, "--json"]).output)
    new = emulator.control.vouchers(shop.tenant_id)[-1]
    current = {row["business_date"]: row["current_voucher"] for row in status}
    assert current["2026-11-21"] == f"F {new['number']}"
    assert current["2026-11-20"] == f"F {status[0]['voucher_number']}"
    text = runner.invoke(args=["export", "status", "--company", shop.company.name]).output
    assert f"F {new['number']} (rättad, först F {status[1]['voucher_number']})" in text


def test_the_cli_refuses_a_reversed_range_and_a_bad_date_in_swedish(app, restaurant):
    shop = restaurant()
    runner = app.test_cli_runner()
    base = ["export", "correct", "--company", shop.company.name]

    reversed_ = runner.invoke(args=[*base, "--from", "2026-11-22", "--to", "2026-11-20"])
    bad = runner.invoke(args=[*base, "--from", "2026-13-01", "--to", "2026-11-20"])

    assert reversed_.exit_code == 1 and "Från-datumet 2026-11-22 ligger efter till-datumet 2026-11-20." in reversed_.output
    assert bad.exit_code == 1 and "Ogiltigt datum: ”2026-13-01”. Skriv datumet som ÅÅÅÅ-MM-DD." in bad.output
