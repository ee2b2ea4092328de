"""Avstämning against the Fortnox emulator over real HTTP: what someone did in Fortnox is found."""

from __future__ import annotations

import json
from datetime import date, timedelta

from backoffice.export.models import ExportState
from backoffice.export.states import transition
from backoffice.reconcile.compare import month_days
from backoffice.reconcile.operations import month_end
from tests.reconcile.conftest import FortnoxUser, export_all, job_of, previous_month, sent_body, z_number_of


def reconcile(app, company, month: date, *extra: str):
    return app.test_cli_runner().invoke(
        args=["reconcile", "--company", company.name, "--month", f"{month:%Y-%m}", "--json", *extra]
    )


def answer_of(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def cell(answer: dict, day: date, register_id: str) -> dict:
    [found] = [d for d in answer["days"] if d["business_date"] == day.isoformat() and d["register_id"] == register_id]
    return found


def test_a_month_booked_untouched_is_ok_every_day_and_closed_days_are_no_report(app, db, exported_month):
    shop = exported_month(days=3)
    answer = answer_of(reconcile(app, shop.site.company, shop.month))

    assert answer["month"] == f"{shop.month:%Y-%m}"
    assert answer["findings"] == []
    days = month_days(shop.month, month_end(shop.month))
    assert len(answer["days"]) == 2 * len(days)
    for offset, day in enumerate(days):
        for pos_id in ("K1", "K2"):
            entry = cell(answer, day, pos_id)
            if offset < 3:
                job = job_of(db, next(r for r in shop.records if r.business_date == day and r.register.pos_id == pos_id))
                assert entry == {"business_date": day.isoformat(), "register_id": pos_id, "z_number": z_number_of(day),
                                 "state": "ok", "vouchers": [f"F {job.voucher_number}"]}
            else:
                assert entry == {"business_date": day.isoformat(), "register_id": pos_id, "z_number": None,
                                 "state": "no_report", "vouchers": []}


def test_typed_over_foreign_duplicate_missing_gap_and_unexported_are_each_found(app, db, emulator, exported_month,
                                                                               deliver_day):
    shop = exported_month(days=4, skip=(("K1", 3),))
    month, company, tenant = shop.month, shop.site.company, shop.site.tenant_id
    first_k1 = next(r for r in shop.records if r.business_date == month and r.register.pos_id == "K1")
    second_k2 = next(r for r in shop.records if r.business_date == month + timedelta(days=1) and r.register.pos_id == "K2")
    job = job_of(db, first_k1)
    year = job.voucher_year

    # Someone corrects F n in Fortnox's UI: 100 kr moved from food (3002) to drinks (3001).
    stored = next(v for v in emulator.control.vouchers(tenant) if v["number"] == job.voucher_number)
    rows = []
    for row in stored["rows"]:
        rows.append({**row, "removed": row["account"] == 3002})
        if row["account"] == 3002:
            credit = f"{float(row['credit']) - 100:.2f}"
            rows.append({"account": 3002, "debit": "0.00", "credit": credit, "cost_center": row["cost_center"]})
            rows.append({"account": 3001, "debit": "0.00", "credit": "100.00"})
    emulator.control.type_over_voucher(tenant, year, "F", job.voucher_number, rows)
    # Someone books a purchase of their own in the back office's series.
    user = FortnoxUser(emulator, tenant)
    foreign = user.post_voucher({"Voucher": {
        "Description": "Inköp kaffe", "TransactionDate": (month + timedelta(days=2)).isoformat(), "VoucherSeries": "F",
        "VoucherRows": [{"Account": 4010, "Debit": 250, "Credit": 0}, {"Account": 1930, "Debit": 0, "Credit": 250}],
    }}, financial_year=year)
    # Someone sends day 2 of K2 a second time (another integration, a SIE import…).
    duplicate = user.post_voucher(sent_body(db, second_k2), financial_year=year)
    # A report we think exported, that Fortnox never got.
    lost = deliver_day(shop.site, "K2", month + timedelta(days=4))
    lost_job = job_of(db, lost)
    transition(lost_job, ExportState.EXPORTED)
    lost_job.voucher_series, lost_job.voucher_number, lost_job.voucher_year = "F", 900, year
    db.commit()
    # And one that has not been exported yet.
    waiting = deliver_day(shop.site, "K2", month + timedelta(days=5))

    answer = answer_of(reconcile(app, company, month))

    k1_first = cell(answer, month, "K1")
    assert k1_first["state"] == "differs" and k1_first["vouchers"] == [f"F {job.voucher_number}"]
    k2_second = cell(answer, month + timedelta(days=1), "K2")
    assert k2_second["state"] == "duplicate"
    assert k2_second["vouchers"] == [f"F {job_of(db, second_k2).voucher_number}", f"F {duplicate['VoucherNumber']}"]
    assert cell(answer, month + timedelta(days=2), "K1") == {
        "business_date": (month + timedelta(days=2)).isoformat(), "register_id": "K1", "z_number": None,
        "state": "no_report", "vouchers": []}
    assert cell(answer, month + timedelta(days=4), "K2")["state"] == "missing"
    assert cell(answer, month + timedelta(days=5), "K2")["state"] == "not_exported"
    assert cell(answer, month + timedelta(days=5), "K1")["state"] == "no_report"
    assert cell(answer, month + timedelta(days=3), "K1")["state"] == "ok"

    kinds = {(f["kind"], f["register_id"], f["z_number"], f["voucher"]) for f in answer["findings"]}
    assert kinds == {
        ("voucher_differs", "K1", first_k1.z_number, f"F {job.voucher_number}"),
        ("foreign_voucher", None, None, f"F {foreign['VoucherNumber']}"),
        ("duplicate_voucher", "K2", second_k2.z_number, f"F {duplicate['VoucherNumber']}"),
        ("voucher_missing", "K2", lost.z_number, "F 900"),
        ("z_number_gap", "K1", z_number_of(month + timedelta(days=2)), None),
    }
    differs = next(f for f in answer["findings"] if f["kind"] == "voucher_differs")
    assert differs["detail"].startswith(f"Verifikation F {job.voucher_number} för Z-rapport {first_k1.z_number} från "
                                        "kassa K1 har rättats i Fortnox och stämmer inte längre med Z-rapporten: konto 3001")
    assert differs["detail"].count("skillnad") == 2
    assert "skillnad -100,00 kr; konto 3002" in differs["detail"]
    assert differs["detail"].endswith("skillnad 100,00 kr. Kontrollera ändringen och rätta verifikationen i "
                                      "Fortnox om den är fel.")
    foreign_finding = next(f for f in answer["findings"] if f["kind"] == "foreign_voucher")
    assert "Inköp kaffe" in foreign_finding["detail"] and "inte skapad av BackOffice" in foreign_finding["detail"]
    del waiting


def test_a_month_of_two_registers_reads_a_few_pages_and_one_voucher_each_without_a_429(app, db, emulator,
                                                                                        exported_month):
    shop = exported_month(days=month_end(previous_month()).day)
    emulator.control.clear_requests()

    answer = answer_of(reconcile(app, shop.site.company, shop.month))

    calls = emulator.control.requests(tenant_id=shop.site.tenant_id)
    assert [c for c in calls if c["status"] == 429] == []
    lists = [c for c in calls if c["path"].startswith("/3/vouchers/sublist/")]
    files = [c for c in calls if c["path"] == "/3/voucherfileconnections"]
    reads = [c for c in calls if c["path"].startswith("/3/vouchers/F/")]
    assert len(lists) <= 3
    assert len(files) == 1  # 62 connections: one page
    assert len(reads) == len(shop.records)
    assert len(calls) <= len(shop.records) + 11  # the metadata snapshot, if it was old
    assert {d["state"] for d in answer["days"]} == {"ok"}


def test_bad_input_gets_a_swedish_message_and_nothing_is_read_from_fortnox(app, db, emulator, exported_month, site):
    shop = exported_month(days=1)
    company = shop.site.company
    emulator.control.clear_requests()
    today = date.today()
    next_month = (today.replace(day=28) + timedelta(days=4)).replace(day=1)

    future = reconcile(app, company, next_month)
    assert future.exit_code != 0
    assert f"Månaden {next_month:%Y-%m} har inte börjat än" in future.output

    unknown = app.test_cli_runner().invoke(args=["reconcile", "--company", "Finns Inte AB", "--month", "2026-01"])
    assert unknown.exit_code != 0 and "Finns Inte AB" in unknown.output

    bad = app.test_cli_runner().invoke(args=["reconcile", "--company", company.name, "--month", "2026-13"])
    assert bad.exit_code != 0 and "ÅÅÅÅ-MM" in bad.output

    lonely = site(("K1",))
    without = reconcile(app, lonely.company, previous_month())
    assert without.exit_code != 0
    assert f"{lonely.company.name} har ingen integration med Fortnox" in without.output

    assert emulator.control.requests(tenant_id=shop.site.tenant_id) == []
    export_all(app, db)


def test_vouchers_of_another_restaurant_booking_into_the_same_fortnox_company_are_not_foreign(
        app, db, exported_month, site, deliver_day):
    from backoffice.accounts.operations import save_mapping
    from backoffice.accounts.schemas import mapping_schema
    from backoffice.integrations.fortnox.models import FortnoxIntegration
    from tests.fixtures import DEMO_MAPPING

    shop = exported_month(days=2, registers=("K1",))
    neighbour = site(("K1",))
    db.add(FortnoxIntegration(company=neighbour.company, connection_id=shop.site.connection_id, active=True))
    db.flush()
    db.refresh(neighbour.company)
    save_mapping(db, neighbour.company, mapping_schema.load(DEMO_MAPPING), actor="test")
    db.commit()
    deliver_day(neighbour, "K1", shop.month)
    export_all(app, db)
    assert job_of(db, deliver_day(neighbour, "K1", shop.month + timedelta(days=1))).state == ExportState.PENDING
    export_all(app, db)

    mine = answer_of(reconcile(app, shop.site.company, shop.month))
    theirs = answer_of(reconcile(app, neighbour.company, shop.month))

    assert mine["findings"] == [] and theirs["findings"] == []
    assert [d["state"] for d in mine["days"][:2]] == ["ok", "ok"]
    assert [d["state"] for d in theirs["days"][:2]] == ["ok", "ok"]


def test_a_second_voucher_carrying_a_job_s_token_is_a_duplicate_even_under_another_text(app, db, emulator,
                                                                                       exported_month):
    shop = exported_month(days=1, registers=("K1",))
    record = shop.records[0]
    job = job_of(db, record)
    body = sent_body(db, record)
    assert job.voucher_token and job.voucher_token in body["Voucher"]["Comments"]
    body["Voucher"]["Description"] = "Kopierad dagskassa"
    copy = FortnoxUser(emulator, shop.site.tenant_id).post_voucher(body, financial_year=job.voucher_year)

    answer = answer_of(reconcile(app, shop.site.company, shop.month))

    assert cell(answer, shop.month, "K1")["state"] == "duplicate"
    assert [(f["kind"], f["voucher"]) for f in answer["findings"]] == [("duplicate_voucher", f"F {copy['VoucherNumber']}")]


def _without(*dropped: str) -> str:
    from backoffice.settings.connect import SCOPES

    return " ".join(scope for scope in SCOPES if scope not in dropped)


def test_a_voucher_whose_z_report_was_never_attached_is_found_and_the_others_are_not(app, db, emulator,
                                                                                    exported_month):
    # A consent without the inbox: the vouchers are exported, their PDFs wait for a new login.
    shop = exported_month(days=2, registers=("K1",), scope=_without("inbox"))
    emulator.control.clear_requests()

    answer = answer_of(reconcile(app, shop.site.company, shop.month))

    labels = [f"F {job_of(db, record).voucher_number}" for record in shop.records]
    assert [(f["kind"], f["voucher"]) for f in answer["findings"]] == [("attachment_missing", label) for label in labels]
    assert "Bifoga underlag för tidigare dagar" in answer["findings"][0]["detail"]
    assert [cell(answer, r.business_date, "K1")["state"] for r in shop.records] == ["ok", "ok"]
    calls = emulator.control.requests(tenant_id=shop.site.tenant_id)
    assert [c["query"] for c in calls if c["path"] == "/3/voucherfileconnections"] == [
        "voucherseries=F&limit=500&page=1"]


def test_without_the_connectfile_scope_the_files_are_unknown_and_not_asked_for(app, db, emulator, exported_month):
    shop = exported_month(days=1, registers=("K1",), scope=_without("connectfile"))
    emulator.control.clear_requests()

    answer = answer_of(reconcile(app, shop.site.company, shop.month))

    assert [(f["kind"], f["voucher"]) for f in answer["findings"]] == [("attachment_unknown", None)]
    assert "Logga in på Fortnox igen" in answer["findings"][0]["detail"]
    assert cell(answer, shop.month, "K1")["state"] == "ok"
    calls = emulator.control.requests(tenant_id=shop.site.tenant_id)
    assert [c for c in calls if c["path"].startswith("/3/voucherfileconnections")] == []


def test_files_fortnox_refuses_to_list_are_unknown_not_missing(app, db, emulator, exported_month):
    from backoffice.integrations.fortnox.models import FortnoxConnection
    from backoffice.settings.connect import SCOPES

    shop = exported_month(days=1, registers=("K1",), scope=_without("connectfile"))
    connection = db.get(FortnoxConnection, shop.site.connection_id)
    connection.scope = " ".join(SCOPES)  # we believe we may; Fortnox's token says otherwise
    db.commit()

    answer = answer_of(reconcile(app, shop.site.company, shop.month))

    [finding] = answer["findings"]
    assert finding["kind"] == "attachment_unknown" and "nekade" in finding["detail"]
    assert cell(answer, shop.month, "K1")["state"] == "ok"
