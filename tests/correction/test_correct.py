"""Rätta dag against the emulator over real HTTP: preview, reversal and new voucher, exactly once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from backoffice.correction.models import Correction, CorrectionState
from backoffice.correction.operations import CorrectionError, preview, start_correction
from backoffice.correction.steps import RETRY_DELAYS
from backoffice.db import now_utc
from backoffice.export.models import AttachmentState, VoucherAttachment
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.metadata import refresh_snapshot
from backoffice.integrations.fortnox.models import FortnoxConnection
from backoffice.messages.correction import attention_message, input_message, kronor, locked_message
from tests.correction.conftest import MOVED_SALES, change_mapping, run_corrections
from tests.fixtures import ATTACH_SCOPE, jobs_of, later, run_attachments

D = Decimal
NOV_20, NOV_21, NOV_22 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)
TODAY = date(2026, 12, 1)


def net_per_account(vouchers) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = {}
    for voucher in vouchers:
        for row in voucher["rows"]:
            if not row.get("removed"):
                totals[row["account"]] = totals.get(row["account"], D(0)) + D(row["debit"]) - D(row["credit"])
    return {account: amount for account, amount in totals.items() if amount}


def vouchers_of(emulator, shop, day: date | None = None) -> list[dict]:
    return [v for v in emulator.control.vouchers(shop.tenant_id) if day is None or v["transaction_date"] == day.isoformat()]


def corrections_of(db, shop) -> list[Correction]:
    db.rollback()
    return db.scalars(select(Correction).where(Correction.company_id == shop.company.id).order_by(Correction.id)).all()


def voucher_posts(emulator, shop) -> int:
    return sum(1 for r in emulator.control.requests(shop.tenant_id) if r["method"] == "POST" and r["path"] == "/3/vouchers")


def test_a_mapping_change_corrects_the_days_it_changes_and_leaves_the_others(db, emulator, booked):
    shop = booked(scope=ATTACH_SCOPE)
    [_, job_21, _] = jobs_of(db, shop.company)
    before = {v["number"]: v for v in vouchers_of(emulator, shop)}
    change_mapping(db, shop.company, sales=MOVED_SALES)

    planned = preview(db, shop.company, NOV_20, NOV_22, today=TODAY)

    assert [d.record.business_date for d in planned.days] == [NOV_21] and planned.unchanged == 2
    [day] = planned.days
    assert day.current.name == f"F {job_21.voucher_number}" and day.booking_date == NOV_21 and day.locked_through is None
    assert [(c.account, c.before, c.after, c.change) for c in day.changes] == [
        (3002, D("0.00"), D("-16473.21"), D("-16473.21")), (3052, D("-16473.21"), D("0.00"), D("16473.21"))]
    assert voucher_posts(emulator, shop) == 3  # the preview posts nothing

    db.execute(update(VoucherAttachment).where(VoucherAttachment.company_id == shop.company.id)
               .values(state=AttachmentState.ATTACHED))  # the exports' own PDFs are not this test's
    start_correction(db, shop.company, NOV_20, NOV_22, actor="chef@krogen.se", why="Dryck 12 % på fel konto", today=TODAY)
    db.commit()
    assert run_corrections(db) == ["done"]
    assert run_attachments(db, shop.company) == ["attached"]  # the new voucher's Z-report PDF

    original = before[job_21.voucher_number]
    [_, reversal, new] = vouchers_of(emulator, shop, NOV_21)
    assert vouchers_of(emulator, shop, NOV_21)[0] == original  # untouched
    assert reversal["series"] == new["series"] == "F"
    assert reversal["description"] == f"Rättelse av F {job_21.voucher_number}: {original['description']}"
    assert "chef@krogen.se" in reversal["comments"] and "Dryck 12 % på fel konto" in reversal["comments"]
    assert "Export-id: " in reversal["comments"] and new["description"] == original["description"]
    assert [(r["account"], r["debit"], r["credit"]) for r in reversal["rows"]] == [
        (r["account"], r["credit"], r["debit"]) for r in original["rows"]]
    # Their sum per account is today's booking of the day.
    assert net_per_account([original, reversal, new]) == net_per_account([new])
    assert net_per_account([new])[3002] == D("-16473.21") and 3052 not in net_per_account([new])
    assert len(new["files"]) == 1 and not reversal["files"]
    [correction] = corrections_of(db, shop)
    assert (correction.state, correction.reversal_number, correction.new_number) == (
        CorrectionState.DONE, reversal["number"], new["number"])

    # A second run adds nothing: the day is booked as the settings say now.
    with pytest.raises(CorrectionError) as refused:
        start_correction(db, shop.company, NOV_20, NOV_22, actor="cli", today=TODAY)
    assert refused.value.code == "nothing_to_correct"
    assert preview(db, shop.company, NOV_20, NOV_22, today=TODAY).days == ()
    assert run_corrections(db) == [] and voucher_posts(emulator, shop) == 5


def test_a_second_correction_reverses_the_last_new_voucher_not_the_original(db, emulator, booked):
    shop = booked()
    change_mapping(db, shop.company, sales=MOVED_SALES)
    start_correction(db, shop.company, NOV_21, NOV_21, actor="test", today=TODAY)
    db.commit()
    assert run_corrections(db) == ["done"]
    [first] = corrections_of(db, shop)

    again = [dict(rule, account=3001) if rule.get("vat_rate") == "12" and rule["product_group"] == "Dryck" else rule
             for rule in MOVED_SALES]
    change_mapping(db, shop.company, sales=again)
    [day] = preview(db, shop.company, NOV_20, NOV_22, today=TODAY).days
    assert day.current.name == f"F {first.new_number}"
    start_correction(db, shop.company, NOV_20, NOV_22, actor="test", today=TODAY)
    db.commit()
    assert run_corrections(db) == ["done"]

    [_, second] = corrections_of(db, shop)
    assert (second.sequence, second.corrected_number) == (2, first.new_number)
    day_vouchers = vouchers_of(emulator, shop, NOV_21)
    assert len(day_vouchers) == 5
    assert day_vouchers[3]["description"].startswith(f"Rättelse av F {first.new_number}: ")
    assert net_per_account(day_vouchers) == net_per_account([day_vouchers[4]])
    assert net_per_account(day_vouchers)[3001] == D("-16473.21")


def test_a_day_in_a_locked_period_is_corrected_on_the_first_open_day_with_a_warning(db, emulator, booked):
    shop = booked()
    change_mapping(db, shop.company, sales=MOVED_SALES)
    emulator.control.set_locked_period(shop.tenant_id, "2026-11-21")
    connection = db.get(FortnoxConnection, shop.connection_id)
    client = client_for(connection)
    db.commit()
    refresh_snapshot(db, connection, client, now=now_utc())  # "Läs om": the preview judges with what we know of Fortnox

    [day] = preview(db, shop.company, NOV_20, NOV_22, today=TODAY).days
    assert (day.locked_through, day.booking_date) == (NOV_21, NOV_22)
    assert locked_message(day.locked_through, day.booking_date) == (
        "Perioden är låst t.o.m. 2026-11-21: rättelsen bokförs 2026-11-22. "
        "Moms som redan redovisats kan behöva rättas av din redovisningskonsult.")
    start_correction(db, shop.company, NOV_20, NOV_22, actor="test", today=TODAY)
    db.commit()
    assert run_corrections(db) == ["done"]
    [_, reversal, new] = vouchers_of(emulator, shop, NOV_22)  # the 22nd's own voucher, then the correction
    assert reversal["description"].startswith("Rättelse av F ") and new["transaction_date"] == "2026-11-22"
    assert net_per_account([reversal, new]) == {3002: D("-16473.21"), 3052: D("16473.21")}
    assert len(vouchers_of(emulator, shop, NOV_21)) == 1


def test_a_lock_set_after_the_snapshot_was_read_moves_the_correction_past_it(db, emulator, booked):
    shop = booked()
    change_mapping(db, shop.company, sales=MOVED_SALES)
    start_correction(db, shop.company, NOV_21, NOV_21, actor="test", today=TODAY)
    db.commit()
    emulator.control.set_locked_period(shop.tenant_id, "2026-11-30")  # our snapshot does not know yet

    assert run_corrections(db) == ["pending", "done"]  # Fortnox refused (2000401); read again, posted past it
    [correction] = corrections_of(db, shop)
    assert correction.booking_date == TODAY and len(vouchers_of(emulator, shop, TODAY)) == 2


def test_a_lost_answer_to_the_reversal_resumes_with_the_new_voucher_only(db, emulator, booked):
    shop = booked()
    change_mapping(db, shop.company, sales=MOVED_SALES)
    start_correction(db, shop.company, NOV_21, NOV_21, actor="test", today=TODAY)
    db.commit()
    # Fortnox stores the reversal and the answer never comes back (as if the worker died waiting).
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers",
                               tenant_id=shop.tenant_id, seconds=0, after="drop")

    assert run_corrections(db) == ["pending"]
    [correction] = corrections_of(db, shop)
    assert correction.reversal_in_doubt and correction.reversal_number is None and correction.reversal_token
    assert len(vouchers_of(emulator, shop, NOV_21)) == 2  # the original and the reversal

    assert run_corrections(db, company=shop.company, now=later(RETRY_DELAYS[0] + 1)) == ["done"]
    day_vouchers = vouchers_of(emulator, shop, NOV_21)
    assert len(day_vouchers) == 3 and voucher_posts(emulator, shop) == 3 + 2  # never a second reversal
    assert net_per_account(day_vouchers) == net_per_account([day_vouchers[2]])
    assert run_corrections(db, company=shop.company, now=later(600)) == []


def test_a_refused_new_voucher_after_the_reversal_is_resumed_without_a_second_reversal(db, emulator, booked):
    shop = booked()
    change_mapping(db, shop.company, sales=MOVED_SALES)
    start_correction(db, shop.company, NOV_21, NOV_21, actor="test", today=TODAY)
    db.commit()
    year = jobs_of(db, shop.company)[0].voucher_year
    emulator.control.set_account_active(shop.tenant_id, 3002, False, financial_year=year)  # only the new voucher uses it

    assert run_corrections(db) == ["blocked"]
    [correction] = corrections_of(db, shop)
    assert correction.reversal_number is not None and correction.new_number is None
    assert len(vouchers_of(emulator, shop, NOV_21)) == 2

    emulator.control.set_account_active(shop.tenant_id, 3002, True, financial_year=year)
    [item] = preview(db, shop.company, NOV_21, NOV_21, today=TODAY).attention
    assert item.code == "account_inactive"
    start_correction(db, shop.company, NOV_21, NOV_21, actor="test", today=TODAY)  # Bekräfta again
    db.commit()
    assert run_corrections(db, company=shop.company, now=later(3700)) == ["done"]  # the metadata is read again after an hour
    day_vouchers = vouchers_of(emulator, shop, NOV_21)
    assert len(day_vouchers) == 3 and net_per_account(day_vouchers) == net_per_account([day_vouchers[2]])


def test_a_voucher_typed_over_in_fortnox_is_listed_for_a_person_and_never_reversed(db, emulator, booked):
    shop = booked()
    [_, job_21, _] = jobs_of(db, shop.company)
    [original] = vouchers_of(emulator, shop, NOV_21)
    rows = [{"account": r["account"], "debit": r["debit"], "credit": r["credit"]} for r in original["rows"]]
    rows[0] = {**rows[0], "removed": True}
    rows.append({**rows[0], "removed": False, "account": 1930})
    emulator.control.type_over_voucher(shop.tenant_id, job_21.voucher_year, "F", job_21.voucher_number, rows)
    change_mapping(db, shop.company, sales=MOVED_SALES)
    start_correction(db, shop.company, NOV_20, NOV_22, actor="test", today=TODAY)
    db.commit()

    assert run_corrections(db) == ["blocked"]
    assert len(vouchers_of(emulator, shop, NOV_21)) == 1 and voucher_posts(emulator, shop) == 3
    [item] = preview(db, shop.company, NOV_20, NOV_22, today=TODAY).attention
    assert item.code == "voucher_typed_over"
    sentence = attention_message(item.code, item.detail)
    assert f"Verifikation F {job_21.voucher_number}" in sentence and "andra rader" in sentence
    moved = kronor(Decimal(str(original["rows"][0]["debit"])) - Decimal(str(original["rows"][0]["credit"])))
    assert original["rows"][0]["account"] == 1580  # card payments, moved by hand to 1930
    assert f"Skillnad per konto (skickat → i Fortnox): konto 1580: {moved} → 0,00; konto 1930: 0,00 → {moved}." in sentence
    with pytest.raises(CorrectionError):  # confirming again does not send it
        start_correction(db, shop.company, NOV_20, NOV_22, actor="test", today=TODAY)


@pytest.mark.parametrize(("first", "last", "code", "sentence"), [
    (NOV_22, NOV_20, "range_reversed", "Från-datumet 2026-11-22 ligger efter till-datumet 2026-11-20."),
    (NOV_20, date(2026, 12, 2), "range_in_future", "Till-datumet 2026-12-02 ligger i framtiden."),
    (date(2026, 10, 1), date(2026, 10, 31), "no_exported_voucher",
     "Det finns ingen exporterad verifikation mellan 2026-10-01 och 2026-10-31"),
], ids=["from-after-to", "future", "no-exported-day"])
def test_bad_ranges_get_a_swedish_sentence_and_post_nothing(db, emulator, restaurant, first, last, code, sentence):
    shop = restaurant()
    with pytest.raises(CorrectionError) as refused:
        start_correction(db, shop.company, first, last, actor="test", today=TODAY)
    assert refused.value.code == code
    assert input_message(refused.value.code, refused.value.detail).startswith(sentence)
    assert corrections_of(db, shop) == []


def test_a_company_without_an_active_integration_cannot_correct(db, restaurant):
    shop = restaurant(active=False)
    with pytest.raises(CorrectionError) as refused:
        preview(db, shop.company, NOV_20, NOV_22, today=TODAY)
    assert input_message(refused.value.code, refused.value.detail) == (
        f"{shop.company.name} har ingen aktiv Fortnox-integration. Aktivera integrationen innan du rättar dagar.")
