"""The pure comparison: worked examples of what a month's reports and Fortnox's vouchers give."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backoffice.messages import finding_message
from backoffice.reconcile.compare import (
    CorrectionLink,
    DayState,
    ExpectedReport,
    FindingKind,
    FortnoxVoucher,
    Posting,
    VoucherRef,
    description_key,
    net_postings,
    reconcile_month,
    voucher_labels,
)

NOVEMBER = date(2026, 11, 1)
ROWS = (Posting(1580, None, Decimal("125.00")), Posting(2611, None, Decimal("-25.00")),
        Posting(3001, "10", Decimal("-100.00")))


def report(day: int = 1, z: int = 1, number: int | None = 1, register: str = "K1", **overrides) -> ExpectedReport:
    values = dict(zreport_id=z, business_date=date(2026, 11, day), register_id=register, z_number=z,
                  description=f"Z-rapport {z} Kassa 1 ({register}) 2026-11-{day:02d} · Krogen AB",
                  exported=number is not None, voucher=VoucherRef(2, "F", number) if number else None, postings=ROWS)
    return ExpectedReport(**{**values, **overrides})


def voucher(number: int, day: int = 1, z: int = 1, postings=ROWS, description: str | None = None, **overrides):
    text = description or f"Z-rapport {z} Kassa 1 (K1) 2026-11-{day:02d} · Krogen AB"
    return FortnoxVoucher(VoucherRef(2, "F", number), date(2026, 11, day), text, postings, **overrides)


def run(reports, vouchers, previous=None):
    return reconcile_month(NOVEMBER, reports, vouchers, registers=["K1"], last_day=date(2026, 11, 3),
                           previous_z=previous)


@pytest.mark.parametrize(
    ("reports", "vouchers", "state", "kinds"),
    [
        ([report()], [voucher(1)], DayState.OK, []),
        ([report()], [], DayState.MISSING, [FindingKind.VOUCHER_MISSING]),
        ([report()], [voucher(1), voucher(2)], DayState.DUPLICATE, [FindingKind.DUPLICATE_VOUCHER]),
        ([report(number=None)], [voucher(7)], DayState.OK, []),
        ([report(number=None)], [], DayState.NOT_EXPORTED, []),
        ([report(number=None, postings=(), nothing_to_book=True)], [], DayState.OK, []),
        ([report()], [voucher(1, postings=ROWS[:2] + (Posting(3001, None, Decimal("-100.00")),))],
         DayState.DIFFERS, [FindingKind.VOUCHER_DIFFERS]),
        ([report()], [voucher(1, has_attachment=False)], DayState.OK, [FindingKind.ATTACHMENT_MISSING]),
        ([report(number=None)], [voucher(9, description="Z-rapport  1 Kassa 1 (K1) 2026-11-01 ? Krogen AB ")],
         DayState.OK, []),
    ],
    ids=["booked-once", "exported-but-gone", "two-vouchers", "found-by-text-while-in-doubt", "not-exported",
         "nothing-to-book", "cost-centre-dropped", "no-pdf", "text-normalised-by-fortnox"],
)
def test_one_report_and_its_vouchers(reports, vouchers, state, kinds):
    result = run(reports, vouchers)
    [entry] = [d for d in result.days if d.business_date == date(2026, 11, 1)]
    assert entry.state == state
    assert [f.kind for f in result.findings] == kinds


def test_a_voucher_of_the_series_that_no_report_explains_is_foreign():
    other = voucher(5, day=2, description="Inköp kaffe")
    result = run([report()], [voucher(1), other])
    [finding] = result.findings
    assert (finding.kind, finding.voucher, finding.register_id) == (FindingKind.FOREIGN_VOUCHER, "F 5", None)
    assert finding.data == {"date": "2026-11-02", "description": "Inköp kaffe"}


def test_a_same_text_on_another_day_is_not_the_report_s():
    result = run([report()], [voucher(1), voucher(2, day=2)])
    assert [f.kind for f in result.findings] == [FindingKind.FOREIGN_VOUCHER]


def test_gaps_in_z_numbers_are_found_from_the_last_report_before_the_month():
    reports = [report(day=1, z=12, number=1), report(day=3, z=15, number=2)]
    result = run(reports, [voucher(1, z=12), voucher(2, day=3, z=15)], previous={"K1": 10})
    gaps = [(f.data["first"], f.data["last"]) for f in result.findings if f.kind == FindingKind.Z_NUMBER_GAP]
    assert gaps == [(11, 11), (13, 14)]
    assert [(d.business_date.day, d.state) for d in result.days] == [
        (1, DayState.OK), (2, DayState.NO_REPORT), (3, DayState.OK)]


def test_the_difference_per_account_is_to_the_ore_and_struck_rows_do_not_count():
    fortnox = net_postings([(1580, None, Decimal("125.00"), Decimal("0.00")), (2611, None, Decimal("0"), Decimal("25.00")),
                            (3001, "10", Decimal("0"), Decimal("99.99")), (3740, None, Decimal("0"), Decimal("0.01"))])
    result = run([report()], [voucher(1, postings=fortnox, corrected=True)])
    [entry] = [d for d in result.days if d.business_date.day == 1]
    assert entry.corrected
    assert [(d.account, d.sent, d.fortnox, d.difference) for d in entry.differences] == [
        (3001, Decimal("-100.00"), Decimal("-99.99"), Decimal("0.01")),
        (3740, Decimal("0.00"), Decimal("-0.01"), Decimal("-0.01")),
    ]


def test_description_key_survives_trimming_collapsed_spaces_and_replaced_characters():
    ours = "Z-rapport 1042 Kassa 1 (K1) 2026-11-20 · Krogen AB"
    assert description_key(ours) == description_key(" Z-rapport 1042  Kassa 1 (K1) 2026-11-20 ? Krogen AB ")
    assert description_key(ours) != description_key("Z-rapport 1043 Kassa 1 (K1) 2026-11-20 · Krogen AB")
    assert description_key("Z-rapport 1 Kassa… · Åkes") == "Zrapport 1 Kassa Åkes"


def test_a_voucher_carrying_the_job_s_token_is_the_report_s_whatever_its_text():
    marked = report(number=None, token="3f2a9c0d1e")
    result = run([marked], [voucher(4, description="Ändrad text", comments="BackOffice 3f2a9c0d1e")])
    [entry] = [d for d in result.days if d.business_date.day == 1]
    assert (entry.state, entry.vouchers, result.findings) == (DayState.OK, ("F 4",), ())


def test_the_same_number_in_two_financial_years_of_one_month_gives_two_names():
    # A financial year ends on 15 November: F 1 of the old year and F 1 of the new one are both in the month.
    old, new = (report(day=14, z=1, voucher=VoucherRef(2, "F", 1)),
                report(day=16, z=2, voucher=VoucherRef(3, "F", 1)))
    vouchers = [FortnoxVoucher(VoucherRef(2, "F", 1), date(2026, 11, 14), old.description, ROWS),
                FortnoxVoucher(VoucherRef(3, "F", 1), date(2026, 11, 16), new.description, ROWS),
                FortnoxVoucher(VoucherRef(3, "F", 2), date(2026, 11, 16), new.description, ROWS)]
    names = {2: "2025-11-16–2026-11-15", 3: "2026-11-16–2027-11-15"}

    result = reconcile_month(NOVEMBER, [old, new], vouchers, registers=["K1"], last_day=date(2026, 11, 30),
                             year_names=names)

    cells = {d.z_number: d for d in result.days if d.z_number}
    assert cells[1].state == DayState.OK and cells[1].vouchers == ("F 1 (2025-11-16–2026-11-15)",)
    assert cells[2].state == DayState.DUPLICATE
    assert cells[2].vouchers == ("F 1 (2026-11-16–2027-11-15)", "F 2")
    [duplicate] = result.findings
    assert (duplicate.voucher, duplicate.data["kept"]) == ("F 2", "F 1 (2026-11-16–2027-11-15)")
    assert voucher_labels([VoucherRef(2, "F", 1), VoucherRef(3, "F", 1)]) == {
        VoucherRef(2, "F", 1): "F 1 (år 2)", VoucherRef(3, "F", 1): "F 1 (år 3)"}


def test_a_month_with_two_financial_years_keeps_each_voucher_in_the_stored_result():
    from datetime import UTC, datetime

    from backoffice.reconcile.operations import result_to_json

    old, new = report(day=14, z=1, voucher=VoucherRef(2, "F", 1)), report(day=16, z=2, voucher=VoucherRef(3, "F", 1))
    vouchers = [FortnoxVoucher(VoucherRef(2, "F", 1), date(2026, 11, 14), old.description, ROWS),
                FortnoxVoucher(VoucherRef(3, "F", 1), date(2026, 11, 16), new.description, ROWS[:2])]
    result = reconcile_month(NOVEMBER, [old, new], vouchers, registers=["K1"], last_day=date(2026, 11, 30))

    stored = result_to_json(result, [old, new], vouchers, made_at=datetime(2026, 12, 1, tzinfo=UTC))

    assert sorted(stored["vouchers"]) == ["F 1 (år 2)", "F 1 (år 3)"]
    assert stored["vouchers"]["F 1 (år 3)"]["year"] == 3 and len(stored["vouchers"]["F 1 (år 3)"]["postings"]) == 2
    assert [(f["kind"], f["voucher"]) for f in stored["findings"]] == [("voucher_differs", "F 1 (år 3)")]


def test_files_that_cannot_be_read_give_one_unknown_finding_and_a_duplicate_needs_no_file():
    unread = reconcile_month(NOVEMBER, [report()], [voucher(1)], registers=["K1"], last_day=date(2026, 11, 3),
                             attachments_unreadable="scope")
    [entry] = [d for d in unread.days if d.z_number]
    assert (entry.state, entry.attachment_missing, entry.attachment_unknown) == (DayState.OK, False, True)
    assert [(f.kind, f.data) for f in unread.findings] == [
        (FindingKind.ATTACHMENT_UNKNOWN, {"reason": "scope", "vouchers": 1})]

    copied = run([report()], [voucher(1, has_attachment=True), voucher(2, has_attachment=False)])
    assert [f.kind for f in copied.findings] == [FindingKind.DUPLICATE_VOUCHER]


NEW_ROWS = (Posting(1580, None, Decimal("125.00")), Posting(2611, None, Decimal("-25.00")),
            Posting(3002, "10", Decimal("-100.00")))
REVERSED = tuple(Posting(p.account, p.cost_center, -p.amount) for p in ROWS)


def corrected_report(reversal: int | None = 2, new: int | None = 3, under_way: bool = False) -> ExpectedReport:
    link = CorrectionLink(corrected=VoucherRef(2, "F", 1), reversal=VoucherRef(2, "F", reversal) if reversal else None,
                          new=VoucherRef(2, "F", new) if new else None, reversal_token="rev-1", new_token="new-1",
                          under_way=under_way)
    return report(postings=NEW_ROWS, corrections=(link,))


def test_a_corrected_day_is_ok_with_its_original_reversal_and_new_voucher():
    reversal = voucher(2, description="Rättelse av F 1: Z-rapport 1 Kassa 1 (K1) 2026-11-01 · Krogen AB", postings=REVERSED)
    result = run([corrected_report()], [voucher(1), reversal, voucher(3, postings=NEW_ROWS)])

    assert result.findings == ()
    [entry] = [d for d in result.days if d.z_number == 1]
    assert entry.state == DayState.OK and entry.vouchers == ("F 1", "F 2", "F 3") and entry.rectified


def test_a_reversal_without_its_new_voucher_is_an_incomplete_correction_found_by_its_text():
    reversal = voucher(2, day=3, description="Rättelse av F 1: Z-rapport 1 Kassa 1 (K1) 2026-11-01 · Krogen AB",
                       postings=REVERSED)
    result = run([corrected_report(reversal=None, new=None, under_way=True)], [voucher(1), reversal])

    [entry] = [d for d in result.days if d.z_number == 1]
    assert entry.state == DayState.MISSING and entry.vouchers == ("F 1", "F 2")
    [found] = result.findings
    assert found.kind == FindingKind.CORRECTION_INCOMPLETE and found.voucher == "F 2"
    assert found.data == {"corrected": "F 1", "reversal": "F 2", "new": None, "missing": "new", "in_progress": True}
    assert "pågår" in finding_message(str(found.kind), {"register_id": "K1", "z_number": 1, "data": found.data})


def test_a_new_voucher_beyond_the_chain_is_a_duplicate_and_a_chain_typed_over_differs():
    reversal = voucher(2, postings=REVERSED)
    extra = voucher(4, postings=NEW_ROWS)
    [duplicate] = run([corrected_report()], [voucher(1), reversal, voucher(3, postings=NEW_ROWS), extra]).findings
    assert duplicate.kind == FindingKind.DUPLICATE_VOUCHER and duplicate.data["extra"] == ["F 4"]

    typed = voucher(3, postings=ROWS, comments="Export-id: new-1")
    [differs] = run([corrected_report(new=None)], [voucher(1), reversal, typed]).findings
    assert differs.kind == FindingKind.VOUCHER_DIFFERS and differs.voucher == "F 3"
