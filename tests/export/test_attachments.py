"""Each voucher's Z-report PDF, attached in Fortnox exactly once, against the emulator over real HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from backoffice.db import now_utc
from backoffice.export.attachments import (
    attach_one,
    claim_next_attachment,
    release_attachment,
    start_backfill,
    wake_after_consent,
)
from backoffice.export.claims import has_due_job_on
from backoffice.export.models import AttachmentState, VoucherAttachment
from backoffice.integrations.fortnox.connection import client_for, forget_client, store_tokens
from backoffice.integrations.fortnox.models import FortnoxConnection
from backoffice.integrations.fortnox.oauth import TokenSet
from backoffice.zreport.pdf import file_name
from tests.fixtures import ATTACH_SCOPE, jobs_of, later, run_attachments, run_jobs


def calls(emulator, tenant_id, method: str, path: str) -> list[dict]:
    return [r for r in emulator.control.requests(tenant_id) if r["method"] == method and r["path"] == path]


def attachments_of(db, company) -> list[VoucherAttachment]:
    db.rollback()
    return db.scalars(select(VoucherAttachment).where(VoucherAttachment.company_id == company.id)
                      .order_by(VoucherAttachment.id)).all()


def files_per_voucher(emulator, tenant_id) -> dict[tuple[int, str, int], list[str]]:
    return {(v["financial_year"], v["series"], v["number"]): v["files"] for v in emulator.control.vouchers(tenant_id)}


def stray_files(emulator, tenant_id) -> list[dict]:
    return [f for f in emulator.control.files(tenant_id) if f["voucher"] is None]


@pytest.fixture
def reading(request, readings):
    """Play one reading of the connection list through the control API: its filters honoured or ignored,
    `VoucherYear` as the financial-year Id or the calendar year, the list whole or paged; then restore."""
    filters, year, pages = request.param
    readings(file_connection_filters=filters, voucher_year_reading=year, file_connection_pages=pages)
    return request.param


def test_an_exported_voucher_gets_its_z_report_once_with_its_own_financial_year(
        db, pos, emulator, restaurant, make_document):
    shop = restaurant(scope=ATTACH_SCOPE)
    document = make_document()
    assert pos.post(shop.tokens["K1"], document).status_code == 201

    assert run_jobs(db, company=shop.company) == ["exported"]
    assert run_attachments(db, shop.company) == ["attached"]
    assert run_attachments(db, shop.company) == []

    [job] = jobs_of(db, shop.company)
    [attachment] = attachments_of(db, shop.company)
    assert attachment.file_name == file_name(job.zreport.to_report())
    assert files_per_voucher(emulator, shop.tenant_id) == {(job.voucher_year, "F", job.voucher_number): [attachment.file_id]}
    [stored] = emulator.control.files(shop.tenant_id)
    assert stored["name"] == f"Z-K1-{document['z_number']}-{document['business_date']}.pdf"
    assert stored["folder"] == "archive"  # connected, so no longer in the inbox
    [upload] = calls(emulator, shop.tenant_id, "POST", "/3/inbox")
    [connect] = calls(emulator, shop.tenant_id, "POST", "/3/voucherfileconnections")
    assert upload["query"] == "path=inbox_v"
    assert connect["query"] == f"financialyear={job.voucher_year}"
    assert calls(emulator, shop.tenant_id, "GET", "/3/voucherfileconnections") == []  # nothing to look up


def test_a_voucher_due_on_the_connection_goes_between_the_upload_and_the_connection_nothing_sent_twice(
        db, pos, emulator, restaurant, make_document):
    shop = restaurant(scope=ATTACH_SCOPE)
    first, second = make_document(z_number=101), make_document(z_number=102)
    assert pos.post(shop.tokens["K1"], first).status_code == 201
    assert run_jobs(db, company=shop.company) == ["exported"]
    assert pos.post(shop.tokens["K1"], second).status_code == 201  # due while the first PDF is on its way

    claim = claim_next_attachment(db, "test-worker", now=now_utc(), lease=timedelta(seconds=300),
                                  company_id=shop.company.id)
    try:
        state = attach_one(db, claim.attachment_id, clients=client_for,
                           pause=lambda: has_due_job_on(db, claim.connection_id, now=now_utc()))
    finally:
        release_attachment(db, claim, "test-worker")
    assert state == AttachmentState.PENDING
    [paused] = attachments_of(db, shop.company)
    assert paused.file_id is not None and not paused.connect_in_doubt and not paused.upload_in_doubt
    assert calls(emulator, shop.tenant_id, "POST", "/3/voucherfileconnections") == []

    assert run_jobs(db, company=shop.company) == ["exported"]  # the second voucher goes first
    assert run_attachments(db, shop.company) == ["attached", "attached"]
    first_job, second_job = jobs_of(db, shop.company)
    files = files_per_voucher(emulator, shop.tenant_id)
    assert files[(first_job.voucher_year, "F", first_job.voucher_number)] == [paused.file_id]
    assert len(files[(second_job.voucher_year, "F", second_job.voucher_number)]) == 1
    assert len(calls(emulator, shop.tenant_id, "POST", "/3/inbox")) == 2  # one upload each, never again
    assert len(calls(emulator, shop.tenant_id, "POST", "/3/voucherfileconnections")) == 2
    assert calls(emulator, shop.tenant_id, "GET", "/3/voucherfileconnections") == []  # no doubt, no look
    assert stray_files(emulator, shop.tenant_id) == []


def test_the_voucher_of_31_december_gets_its_file_not_the_voucher_of_the_same_number_this_year(
        db, pos, emulator, restaurant, make_document):
    shop = restaurant(scope=ATTACH_SCOPE)
    today = emulator.app.today()
    new_year = make_document(business_date=date(today.year - 1, 12, 31).isoformat(),
                             closed_at=f"{today.year - 1}-12-31T23:50:00+01:00")
    assert pos.post(shop.tokens["K1"], make_document(business_date=(today - timedelta(days=1)).isoformat(),
                                                     closed_at=now_utc().isoformat())).status_code == 201
    run_jobs(db)
    assert pos.post(shop.tokens["K1"], new_year).status_code == 201
    assert run_jobs(db, company=shop.company) == ["exported"]

    assert run_attachments(db, shop.company) == ["attached", "attached"]

    this_year_job, last_year_job = jobs_of(db, shop.company)
    assert this_year_job.voucher_number == last_year_job.voucher_number == 1
    assert last_year_job.voucher_year != this_year_job.voucher_year
    files = files_per_voucher(emulator, shop.tenant_id)
    assert [len(files[(job.voucher_year, "F", 1)]) for job in (this_year_job, last_year_job)] == [1, 1]


def test_a_connection_made_before_exports_without_attaching_and_a_new_login_attaches(
        db, pos, emulator, restaurant, make_document):
    shop = restaurant()  # the scopes of before: no inbox, no connectfile
    assert pos.post(shop.tokens["K1"], make_document()).status_code == 201

    assert run_jobs(db, company=shop.company) == ["exported"]
    # The voucher's attachment waits for a consent from the start: no worker claims it to find that out.
    assert [a.state for a in attachments_of(db, shop.company)] == [AttachmentState.NEEDS_CONSENT]
    assert run_attachments(db, shop.company) == []
    assert calls(emulator, shop.tenant_id, "POST", "/3/inbox") == []

    answer = emulator.control.issue_tokens(shop.tenant_id, ATTACH_SCOPE)  # the new consent
    connection = db.get(FortnoxConnection, shop.connection_id)
    store_tokens(connection, TokenSet(answer["access_token"], answer["refresh_token"],
                                      now_utc() + timedelta(seconds=answer["expires_in"]), answer["scope"]))
    db.commit()
    forget_client(connection.id)  # as a reconnect does (settings.operations.connect)
    assert wake_after_consent(db, shop.company) == 1

    assert run_attachments(db, shop.company) == ["attached"]
    assert [len(files) for files in files_per_voucher(emulator, shop.tenant_id).values()] == [1]


def test_a_lost_upload_answer_reuses_the_file_already_in_the_inbox(db, pos, emulator, restaurant, make_document):
    shop = restaurant(scope=ATTACH_SCOPE)
    assert pos.post(shop.tokens["K1"], make_document()).status_code == 201
    run_jobs(db)
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/inbox", seconds=0,
                               after="drop", tenant_id=shop.tenant_id)

    assert run_attachments(db, shop.company) == ["pending"]
    [attachment] = attachments_of(db, shop.company)
    assert attachment.upload_in_doubt and attachment.file_id is None
    assert run_attachments(db, shop.company, now=later(6)) == ["attached"]

    assert len(calls(emulator, shop.tenant_id, "POST", "/3/inbox")) == 1  # found in the inbox, not sent again
    assert [len(files) for files in files_per_voucher(emulator, shop.tenant_id).values()] == [1]
    assert stray_files(emulator, shop.tenant_id) == []


@pytest.mark.parametrize("reading", [("honoured", "id", "whole"), ("ignored", "id", "paged"),
                                     ("honoured", "calendar", "paged"), ("ignored", "calendar", "whole")],
                         indirect=True, ids="-".join)
def test_a_lost_connection_answer_is_resolved_by_asking_which_files_the_voucher_has(
        db, pos, emulator, restaurant, make_document, reading):
    shop = restaurant(scope=ATTACH_SCOPE)
    other = restaurant(scope=ATTACH_SCOPE)  # another company's voucher F 1 with its own file
    for place in (other, shop):
        assert pos.post(place.tokens["K1"], make_document()).status_code == 201
    run_jobs(db)
    run_attachments(db, other.company)
    run_attachments(db, shop.company)
    assert pos.post(shop.tokens["K1"], make_document()).status_code == 201  # F 2 of the shop
    run_jobs(db)
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/voucherfileconnections",
                               seconds=0, after="drop", tenant_id=shop.tenant_id)

    assert run_attachments(db, shop.company) == ["pending"]
    assert run_attachments(db, shop.company, now=later(6)) == ["attached"]

    assert len(calls(emulator, shop.tenant_id, "POST", "/3/voucherfileconnections")) == 2  # F 1, then F 2 once
    assert len(calls(emulator, shop.tenant_id, "GET", "/3/voucherfileconnections")) == 1
    assert sorted(len(files) for files in files_per_voucher(emulator, shop.tenant_id).values()) == [1, 1]
    assert stray_files(emulator, shop.tenant_id) == []


def test_a_failing_upload_is_retried_on_the_usual_schedule_then_fails_and_never_touches_the_voucher(
        db, pos, emulator, restaurant, make_document):
    shop = restaurant(scope=ATTACH_SCOPE)
    assert pos.post(shop.tokens["K1"], make_document()).status_code == 201
    run_jobs(db)
    emulator.control.add_fault("500", count=4, method="POST", path_prefix="/3/inbox", tenant_id=shop.tenant_id)

    states = [run_attachments(db, shop.company, now=later(at)) for at in (0, 6, 31, 160)]

    assert states == [["pending"], ["pending"], ["pending"], ["failed"]]
    [attachment] = attachments_of(db, shop.company)
    assert attachment.state == AttachmentState.FAILED and attachment.error_code == "1000003"
    [job] = jobs_of(db, shop.company)
    assert job.state == "exported" and [a.outcome for a in job.attempts] == ["posted"]

    run = start_backfill(db, shop.company, actor="test")
    assert (run.total, run.already_attached) == (1, 0)
    assert run_attachments(db, shop.company) == ["attached"]
    assert [len(files) for files in files_per_voucher(emulator, shop.tenant_id).values()] == [1]
    assert stray_files(emulator, shop.tenant_id) == []


def test_backfill_attaches_what_lacks_counts_what_had_one_and_adds_nothing_the_second_time(
        db, pos, emulator, restaurant, make_document):
    from backoffice.export.attachments import backfill_progress

    shop = restaurant(scope=ATTACH_SCOPE)
    for _ in range(3):
        assert pos.post(shop.tokens["K1"], make_document()).status_code == 201
    run_jobs(db)
    # Exported before attaching existed: no attachments at all; one voucher got a file by hand in Fortnox.
    for attachment in attachments_of(db, shop.company):
        db.delete(attachment)
    db.commit()
    token = emulator.control.issue_tokens(shop.tenant_id, ATTACH_SCOPE)["access_token"]
    import requests

    headers = {"Authorization": f"Bearer {token}"}
    uploaded = requests.post(f"{emulator.url}/3/inbox", params={"path": "inbox_v"}, headers=headers, timeout=5,
                             files={"file": ("kvitto.pdf", b"%PDF-1.4 by hand", "application/pdf")}).json()["File"]
    first_job = jobs_of(db, shop.company)[0]
    body = {"VoucherFileConnection": {"FileId": uploaded["Id"], "VoucherSeries": "F",
                                      "VoucherNumber": str(first_job.voucher_number)}}
    assert requests.post(f"{emulator.url}/3/voucherfileconnections", json=body, headers=headers, timeout=5,
                         params={"financialyear": first_job.voucher_year}).status_code == 201

    run = start_backfill(db, shop.company, actor="test")
    assert run_attachments(db, shop.company) == ["attached"] * 3
    progress = backfill_progress(db, run)

    assert (progress.attached, progress.already_there, progress.failed, progress.pending) == (2, 1, 0, 0)
    assert sorted(len(files) for files in files_per_voucher(emulator, shop.tenant_id).values()) == [1, 1, 1]
    posts_before = len(calls(emulator, shop.tenant_id, "POST", "/3/inbox"))

    again = start_backfill(db, shop.company, actor="test")
    assert run_attachments(db, shop.company) == []
    progress = backfill_progress(db, again)
    assert (progress.attached, progress.already_there, progress.failed, progress.total) == (0, 3, 0, 3)
    assert len(calls(emulator, shop.tenant_id, "POST", "/3/inbox")) == posts_before


def test_the_cli_attaches_the_earlier_days_and_reports_the_counts(app, db, pos, emulator, restaurant, make_document):
    shop = restaurant(scope=ATTACH_SCOPE)
    for _ in range(2):
        assert pos.post(shop.tokens["K1"], make_document()).status_code == 201
    run_jobs(db)
    for attachment in attachments_of(db, shop.company):
        db.delete(attachment)
    db.commit()
    runner = app.test_cli_runner()

    first = runner.invoke(args=["export", "attach", "--company", shop.company.name])
    second = runner.invoke(args=["export", "attach", "--company", shop.company.name])

    assert first.exit_code == 0, first.output
    assert "Bifogade: 2, hade redan underlag: 0, misslyckades: 0" in first.output
    assert "Bifogade: 0, hade redan underlag: 2, misslyckades: 0" in second.output
    assert sorted(len(files) for files in files_per_voucher(emulator, shop.tenant_id).values()) == [1, 1]


def test_the_cli_refuses_before_the_new_consent(app, restaurant):
    shop = restaurant()

    result = app.test_cli_runner().invoke(args=["export", "attach", "--company", shop.company.name])

    assert result.exit_code != 0
    assert "Logga in på Fortnox igen för att bifoga Z-rapporterna som underlag" in result.output


def test_the_worker_posts_every_due_voucher_before_it_attaches(app, db, pos, emulator, restaurant, make_document):
    from backoffice.export.tasks import drain

    shop = restaurant(scope=ATTACH_SCOPE)
    for _ in range(3):
        assert pos.post(shop.tokens["K1"], make_document()).status_code == 201

    drain(app)

    posts = [r["path"] for r in emulator.control.requests(shop.tenant_id) if r["method"] == "POST"]
    assert posts == ["/3/vouchers"] * 3 + ["/3/inbox", "/3/voucherfileconnections"] * 3
    assert sorted(len(files) for files in files_per_voucher(emulator, shop.tenant_id).values()) == [1, 1, 1]


def broken_financial_year(emulator, tenant_id) -> tuple[date, tuple[date, date]]:
    """Give the tenant a financial year of 1 May – 30 April (brutet räkenskapsår) and return a past day
    of it in the calendar year after the one it starts in, with the year's dates."""
    today = emulator.app.today()
    day = date(today.year, 1, 15) if today > date(today.year, 1, 16) else date(today.year - 1, 1, 15)
    start, end = date(day.year - 1, 5, 1), date(day.year, 4, 30)
    years = {1: (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
             2: (date(today.year, 1, 1), date(today.year, 12, 31))}  # the seed's two calendar years
    [covering] = [year_id for year_id, (first, last) in years.items() if first <= day <= last]
    for year_id, (first, last) in years.items():
        if year_id != covering and first <= end and start <= last:
            emulator.control.delete_financial_year(tenant_id, year_id)
    emulator.control.move_financial_year(tenant_id, covering, start, end)
    return day, (start, end)


@pytest.mark.parametrize("reading", [("honoured", "id", "whole"), ("honoured", "calendar", "whole"),
                                     ("ignored", "calendar", "paged")], indirect=True, ids="-".join)
def test_a_lost_connection_answer_in_a_broken_financial_year_finds_the_file_under_each_reading(
        db, pos, emulator, restaurant, make_document, reading):
    shop = restaurant(scope=ATTACH_SCOPE)
    day, _ = broken_financial_year(emulator, shop.tenant_id)
    assert pos.post(shop.tokens["K1"], make_document(business_date=day.isoformat(),
                                                     closed_at=f"{day.isoformat()}T23:00:00+01:00")).status_code == 201
    assert run_jobs(db, company=shop.company) == ["exported"]
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/voucherfileconnections",
                               seconds=0, after="drop", tenant_id=shop.tenant_id)

    assert run_attachments(db, shop.company) == ["pending"]  # connected in Fortnox, the answer lost
    assert run_attachments(db, shop.company, now=later(6)) == ["attached"]

    [job] = jobs_of(db, shop.company)
    [voucher] = emulator.control.vouchers(shop.tenant_id)
    assert (voucher["transaction_date"], voucher["financial_year"]) == (day.isoformat(), job.voucher_year)
    [listed] = emulator.control.files(shop.tenant_id)
    # Found by asking which files the voucher has, under either meaning of VoucherYear (for this voucher
    # of January the calendar reading is the year the financial year starts in, not January's year),
    # so the file was connected once and not a second time.
    assert len(calls(emulator, shop.tenant_id, "POST", "/3/voucherfileconnections")) == 1
    assert len(calls(emulator, shop.tenant_id, "GET", "/3/voucherfileconnections")) == 1
    assert files_per_voucher(emulator, shop.tenant_id) == {(job.voucher_year, "F", job.voucher_number): [listed["id"]]}
    assert stray_files(emulator, shop.tenant_id) == []
