"""The export engine against the Fortnox emulator over real HTTP: each state, each blocking cause."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice.accounts.operations import save_mapping
from backoffice.accounts.schemas import mapping_schema
from backoffice.export.engine import RETRY_DELAYS
from backoffice.export.manual import start_manual_export
from backoffice.export.models import ExportAttempt, Problem
from backoffice.export.problems import heal_connection, unblock_jobs
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.models import FortnoxConnection
from backoffice.messages import reason_message
from backoffice.zreport.booking import build_voucher
from tests.fixtures import contract_mapping, jobs_of, later, run_jobs


def open_problems(db, company) -> dict[str, str]:
    db.expire_all()
    rows = db.scalars(select(Problem).where(Problem.company_id == company.id, Problem.closed_at.is_(None)))
    return {problem.kind: problem.key for problem in rows}


def voucher_posts(emulator, tenant_id) -> int:
    return sum(1 for r in emulator.control.requests(tenant_id) if r["method"] == "POST" and r["path"] == "/3/vouchers")


def test_a_report_is_exported_once_as_the_booking_core_voucher(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    document = make_document()
    assert pos.post(shop.tokens["K1"], document).status_code == 201
    [job] = jobs_of(db, shop.company)
    assert job.state == "pending"

    assert run_jobs(db, company=shop.company) == ["exported"]
    assert run_jobs(db, company=shop.company) == []

    [job] = jobs_of(db, shop.company)
    [stored] = emulator.control.vouchers(shop.tenant_id)
    expected = build_voucher(job.zreport.to_report(), mapping_schema.load({**contract_mapping(), "cost_centres": {}}), company_name=shop.company.name)
    assert (job.state, job.voucher_series, job.voucher_number) == ("exported", "F", stored["number"])
    assert stored["description"] == expected.description
    assert stored["transaction_date"] == document["business_date"]
    rows = sorted((r["account"], Decimal(r["debit"]), Decimal(r["credit"])) for r in stored["rows"])
    assert rows == sorted((r.account, r.debit, r.credit) for r in expected.rows)
    assert [a.outcome for a in job.attempts] == ["posted"]
    assert open_problems(db, shop.company) == {}


def test_reports_before_the_start_date_are_skipped_and_activation_catches_up(db, pos, restaurant, make_document):
    from backoffice.settings.operations import activate

    shop = restaurant(mapping={**contract_mapping(), "start_date": "2026-11-15"}, active=False)
    old = make_document(business_date="2026-11-10")
    new = make_document(business_date="2026-11-20")
    for document in (old, new):
        assert pos.post(shop.tokens["K1"], document).status_code == 201
    assert jobs_of(db, shop.company) == []  # not active: no jobs yet

    activate(db, shop.company)
    db.commit()

    states = {job.zreport.business_date.isoformat(): job.state for job in jobs_of(db, shop.company)}
    assert states == {"2026-11-10": "skipped", "2026-11-20": "pending"}
    assert run_jobs(db, company=shop.company) == ["exported"]


def test_the_intake_creates_each_job_with_the_report_skipped_before_the_start_date(db, pos, restaurant, make_document):
    """The job is written by the POS API's own statement (one statement on PostgreSQL): pending from
    the start date on, skipped before it, and nothing more for a repeat."""
    shop = restaurant(mapping={**contract_mapping(), "start_date": "2026-11-15"})
    old = make_document(business_date="2026-11-10")
    new = make_document(business_date="2026-11-20")
    for document in (old, new):
        assert pos.post(shop.tokens["K1"], document).status_code == 201
    assert pos.post(shop.tokens["K1"], new).status_code == 200

    states = {job.zreport.business_date.isoformat(): job.state for job in jobs_of(db, shop.company)}
    assert states == {"2026-11-10": "skipped", "2026-11-20": "pending"}
    assert all(job.retries == 0 and not job.in_doubt and job.created_at.tzinfo for job in jobs_of(db, shop.company))
    assert run_jobs(db, company=shop.company) == ["exported"]


def test_a_missing_account_blocks_with_the_contract_message_until_the_mapping_is_saved(db, pos, emulator, restaurant, make_document):
    incomplete = contract_mapping()
    del incomplete["payment_methods"]["card"]
    shop = restaurant(mapping=incomplete)
    pos.post(shop.tokens["K1"], make_document())

    assert run_jobs(db, company=shop.company) == ["blocked"]
    [job] = jobs_of(db, shop.company)
    assert job.reason_code == "mapping_incomplete"
    assert job.detail["missing"] == [{"kind": "payment_method", "key": "card", "vat_rate": None}]
    assert open_problems(db, shop.company) == {"mapping_incomplete": ""}
    assert voucher_posts(emulator, shop.tenant_id) == 0

    save_mapping(db, shop.company, mapping_schema.load({**contract_mapping(), "cost_centres": {}}), actor="test")
    db.commit()
    assert unblock_jobs(db, shop.company) == 1
    assert run_jobs(db, company=shop.company) == ["exported"]
    assert open_problems(db, shop.company) == {}


def test_an_inactive_account_blocks_before_posting_and_heals_when_reactivated(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    emulator.control.set_account_active(shop.tenant_id, 2890, False)
    pos.post(shop.tokens["K1"], make_document())

    assert run_jobs(db, company=shop.company) == ["blocked"]
    [job] = jobs_of(db, shop.company)
    assert (job.reason_code, job.reason_key) == ("account_inactive", "2890")
    assert voucher_posts(emulator, shop.tenant_id) == 0
    assert open_problems(db, shop.company) == {"account_inactive": "2890"}
    assert reason_message("account_inactive", job.detail).startswith("Bokföringen kunde inte exporteras eftersom konto 2890 är inaktivt i Fortnox.")

    emulator.control.set_account_active(shop.tenant_id, 2890, True)
    connection = db.get(FortnoxConnection, shop.connection_id)
    assert heal_connection(db, connection, client_for(connection)) == 1
    assert run_jobs(db, company=shop.company) == ["exported"]
    assert open_problems(db, shop.company) == {}


def test_fortnox_refusals_the_cache_missed_block_with_the_precise_reason(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document())
    run_jobs(db)  # fills the metadata cache
    pos.post(shop.tokens["K1"], make_document())
    emulator.control.set_series_manual(shop.tenant_id, "F", False)  # behind the cache's back

    assert run_jobs(db, company=shop.company) == ["blocked"]
    job = jobs_of(db, shop.company)[-1]
    assert (job.reason_code, job.reason_key) == ("series_not_manual", "F")
    assert reason_message(job.reason_code, job.detail).startswith("Fortnox error 2001940: Verifikationsserien är inte manuell (F). "
                                                                  "Tillåt manuella verifikationer i serie F i Fortnox")
    assert open_problems(db, shop.company) == {"series_not_manual": "F"}

    emulator.control.set_series_manual(shop.tenant_id, "F", True)
    heal_connection(db, connection := db.get(FortnoxConnection, shop.connection_id), client_for(connection))
    assert run_jobs(db, company=shop.company) == ["exported"]


def test_a_cost_centre_missing_in_fortnox_blocks_until_it_is_added(db, pos, emulator, restaurant, make_document, app):

    shop = restaurant(cost_centres={"K1": "REST1"})
    pos.post(shop.tokens["K1"], make_document())

    assert run_jobs(db, company=shop.company) == ["blocked"]
    [job] = jobs_of(db, shop.company)
    assert (job.reason_code, job.reason_key) == ("cost_center_missing", "REST1")
    assert 'lägga till kostnadsstället' in reason_message(job.reason_code, job.detail)

    connection = db.get(FortnoxConnection, shop.connection_id)
    db.commit()  # no transaction stays open while Fortnox is called (connection.no_transaction_open)
    client_for(connection).create_cost_center("REST1", "Restaurangen")
    heal_connection(db, connection, client_for(connection))
    assert run_jobs(db, company=shop.company) == ["exported"]
    [stored] = emulator.control.vouchers(shop.tenant_id)
    assert {r["cost_center"] for r in stored["rows"] if r["account"] >= 3000} == {"REST1"}
    assert {r["cost_center"] for r in stored["rows"] if r["account"] < 3000} == {None}


def test_a_locked_period_and_a_missing_financial_year_block(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    emulator.control.set_locked_period(shop.tenant_id, "2026-11-20")
    pos.post(shop.tokens["K1"], make_document(business_date="2026-11-20"))
    pos.post(shop.tokens["K1"], make_document(business_date="2019-01-02"))

    assert sorted(run_jobs(db)) == ["blocked", "blocked"]
    reasons = {job.zreport.business_date.isoformat(): job.reason_code for job in jobs_of(db, shop.company)}
    assert reasons == {"2026-11-20": "period_locked", "2019-01-02": "no_financial_year"}
    assert voucher_posts(emulator, shop.tenant_id) == 0


def test_a_timeout_after_fortnox_stored_the_voucher_adopts_it_instead_of_posting_twice(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document())
    run_jobs(db, limit=0)
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers", tenant_id=shop.tenant_id, seconds=4)

    assert run_jobs(db, company=shop.company) == ["pending"]
    [job] = jobs_of(db, shop.company)
    assert job.in_doubt and job.retries == 1
    assert len(emulator.control.vouchers(shop.tenant_id)) == 1

    assert run_jobs(db, company=shop.company, now=later(RETRY_DELAYS[0] + 1)) == ["exported"]
    [job] = jobs_of(db, shop.company)
    assert [a.outcome for a in job.attempts] == ["in_doubt", "found"]
    assert len(emulator.control.vouchers(shop.tenant_id)) == 1
    assert voucher_posts(emulator, shop.tenant_id) == 1


def test_transient_errors_retry_after_5_25_125_seconds_then_fail_and_manual_export_recovers(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document())
    emulator.control.add_fault("500", count=4, method="POST", path_prefix="/3/vouchers", tenant_id=shop.tenant_id)

    elapsed = 0
    assert run_jobs(db, company=shop.company) == ["pending"]
    for delay in RETRY_DELAYS:
        [job] = jobs_of(db, shop.company)
        assert job.in_doubt  # a 5xx after a POST: the voucher may exist
        assert run_jobs(db, company=shop.company, now=later(elapsed + delay - 1)) == []  # not before its time
        elapsed += delay
        assert run_jobs(db, company=shop.company, now=later(elapsed + 1)) == (["failed"] if delay == RETRY_DELAYS[-1] else ["pending"])
    [job] = jobs_of(db, shop.company)
    assert (job.state, job.reason_code) == ("failed", "export_failed")
    assert open_problems(db, shop.company) == {"export_failed": ""}

    run = start_manual_export(db, shop.company, actor="test")
    assert run.total == 1
    assert run_jobs(db, company=shop.company, now=later(elapsed + 2)) == ["exported"]
    assert len(emulator.control.vouchers(shop.tenant_id)) == 1
    assert open_problems(db, shop.company) == {}


def test_a_429_is_waited_out_not_counted_as_a_failure(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document())
    run_jobs(db, limit=0)
    emulator.control.add_fault("429", count=2, method="POST", path_prefix="/3/vouchers", tenant_id=shop.tenant_id)

    states = run_jobs(db)
    states += run_jobs(db, company=shop.company, now=later(30))
    [job] = jobs_of(db, shop.company)
    assert job.state == "exported" and job.retries == 0
    assert len(emulator.control.vouchers(shop.tenant_id)) == 1


def test_an_expired_access_token_is_refreshed_and_a_revoked_chain_blocks_until_reconnected(db, pos, emulator, restaurant, make_document):
    from backoffice.integrations.fortnox.connection import forget_client

    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document())
    emulator.control.expire_access_tokens(shop.tenant_id)
    forget_client(shop.connection_id)
    assert run_jobs(db, company=shop.company) == ["exported"]  # 401 → refresh → post

    emulator.control.revoke_tokens(shop.tenant_id)
    forget_client(shop.connection_id)
    pos.post(shop.tokens["K1"], make_document())
    assert run_jobs(db, company=shop.company) == ["blocked"]
    job = jobs_of(db, shop.company)[-1]
    assert job.reason_code == "auth_expired"
    connection = db.get(FortnoxConnection, shop.connection_id)
    db.refresh(connection)
    assert connection.status == "needs_reauth" and connection.refresh_token_enc is None
    assert "auth_expired" in open_problems(db, shop.company)
    assert reason_message("auth_expired").startswith("Din Fortnox-autentisering har upphört att gälla")


def test_every_attempt_records_what_was_sent_and_what_fortnox_answered(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document())
    emulator.control.add_fault("500", method="POST", path_prefix="/3/vouchers", tenant_id=shop.tenant_id)

    run_jobs(db)
    run_jobs(db, company=shop.company, now=later(10))

    attempts = db.scalars(select(ExportAttempt).join(ExportAttempt.job).where(ExportAttempt.job.has(company_id=shop.company.id)).order_by(ExportAttempt.id)).all()
    assert [(a.outcome, a.http_status) for a in attempts][-1] == ("posted", 201)
    assert attempts[0].http_status == 500 and '"VoucherSeries": "F"' in attempts[0].request_body


def test_a_report_that_nets_to_zero_is_skipped_without_a_voucher(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    empty_day = make_document(
        sales=[{"product_group": "Mat", "vat_rate": "12", "gross": "0.00", "vat": "0.00", "count": 0}],
        returns=[], tips=[], rounding="0.00", payments=[{"method": "card", "amount": "0.00", "count": 0}],
    )
    assert pos.post(shop.tokens["K1"], empty_day).status_code == 201

    assert run_jobs(db, company=shop.company) == ["skipped"]
    [job] = jobs_of(db, shop.company)
    assert job.reason_code == "nothing_to_book"
    assert voucher_posts(emulator, shop.tenant_id) == 0


def test_moving_the_start_date_back_creates_the_missing_exports(db, pos, restaurant, make_document):
    shop = restaurant(mapping={**contract_mapping(), "start_date": "2026-11-15"})
    pos.post(shop.tokens["K1"], make_document(business_date="2026-11-10"))
    assert [job.state for job in jobs_of(db, shop.company)] == ["skipped"]

    save_mapping(db, shop.company, mapping_schema.load({**contract_mapping(), "cost_centres": {}, "start_date": "2026-11-01"}), actor="test")
    db.commit()
    unblock_jobs(db, shop.company)

    assert [job.state for job in jobs_of(db, shop.company)] == ["pending"]
    assert run_jobs(db, company=shop.company) == ["exported"]


def test_export_status_lists_every_report_with_state_voucher_and_swedish_reason(app, db, pos, emulator, restaurant, make_document):
    import json as jsonlib

    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document(business_date="2026-11-19"))
    run_jobs(db)
    emulator.control.set_account_active(shop.tenant_id, 1580, False)
    from backoffice.export.problems import heal_connection as heal

    heal(db, connection := db.get(FortnoxConnection, shop.connection_id), client_for(connection))
    pos.post(shop.tokens["K1"], make_document(business_date="2026-11-20"))
    run_jobs(db)

    result = app.test_cli_runner().invoke(args=["export", "status", "--company", shop.company.name, "--json"])
    rows = jsonlib.loads(result.output)

    assert result.exit_code == 0, result.output
    assert [(r["business_date"], r["state"], r["voucher_series"], r["reason_code"]) for r in rows] == [
        ("2026-11-19", "exported", "F", None),
        ("2026-11-20", "blocked", None, "account_inactive"),
    ]
    assert rows[0]["voucher_number"] >= 1 and rows[0]["register_id"] == "K1"
    assert rows[1]["reason"].startswith("Bokföringen kunde inte exporteras eftersom konto")


def test_inaktivera_revokes_at_fortnox_forgets_the_tokens_and_keeps_the_history(app, db, pos, emulator, restaurant, make_document):
    from backoffice.integrations.fortnox.connection import settings
    from backoffice.settings.operations import deactivate

    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document())
    run_jobs(db)

    with app.app_context():
        fortnox = settings()
    deactivate(db, shop.company, fortnox)
    db.commit()

    connection = db.get(FortnoxConnection, shop.connection_id)
    db.refresh(connection)
    assert connection.status == "revoked" and connection.refresh_token_enc is None and connection.access_token_enc is None
    revokes = [r for r in emulator.control.requests() if r["path"] == "/oauth-v1/revoke" and r["status"] == 200]
    assert revokes, "the refresh token was not revoked at Fortnox"
    assert [job.state for job in jobs_of(db, shop.company)] == ["exported"]  # history kept
    pos.post(shop.tokens["K1"], make_document())
    assert len(jobs_of(db, shop.company)) == 1  # inactive: no new export jobs


@pytest.mark.slow
def test_a_worker_killed_while_posting_leaves_the_job_in_doubt_and_the_next_one_adopts_the_voucher(db, pos, emulator, restaurant, make_document):
    from backoffice.export.claims import DEFAULT_LEASE, claim_next_job
    from backoffice.export.engine import export_one

    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document())
    run_jobs(db, limit=0)
    # The first worker got as far as the write-ahead and the post, then died before the answer.
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers", tenant_id=shop.tenant_id, seconds=4)
    claim = claim_next_job(db, "doomed-worker", now=later(0))
    export_one(db, claim.job_id, clients=client_for, lease=DEFAULT_LEASE)
    [job] = jobs_of(db, shop.company)
    attempt = job.attempts[-1]
    attempt.outcome = "sending"  # as a SIGKILL would have left it: no answer recorded
    job.retry_at = None
    db.commit()
    # The next lookup is refused with 429s (nothing processed): that says nothing about the lost post,
    # so the job must stay in doubt.
    emulator.control.add_fault("429", count=4, method="GET", path_prefix="/3/vouchers", tenant_id=shop.tenant_id)

    assert run_jobs(db, company=shop.company, now=later(400)) == ["pending"]
    [job] = jobs_of(db, shop.company)
    assert job.in_doubt
    assert run_jobs(db, company=shop.company, now=later(800)) == ["exported"]
    assert len(emulator.control.vouchers(shop.tenant_id)) == 1
    assert [a.outcome for a in jobs_of(db, shop.company)[0].attempts][-1] == "found"


def test_a_job_whose_export_crashes_waits_before_it_is_tried_again_and_goes_through_once_repaired(
    app, db, pos, restaurant, make_document
):
    """A bug (here: a stored document that no longer parses) must not keep a worker thread in a loop."""
    import threading

    from sqlalchemy import text

    from backoffice.db import now_utc
    from backoffice.export.claims import CRASH_RETRY_DELAY
    from backoffice.export.tasks import drain

    shop = restaurant()
    assert pos.post(shop.tokens["K1"], make_document()).status_code == 201
    [job] = jobs_of(db, shop.company)
    stored = job.zreport.document
    db.execute(text("UPDATE zreport SET document = '{}' WHERE id = :id"), {"id": job.zreport_id})
    db.commit()

    started = now_utc()
    handled = []
    worker = threading.Thread(target=lambda: handled.append(drain(app)), daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "the worker keeps taking up the crashing job"
    assert handled == [1]
    db.expire_all()
    [job] = jobs_of(db, shop.company)
    assert job.state == "pending" and job.retry_at is not None
    assert started + CRASH_RETRY_DELAY <= job.retry_at <= now_utc() + CRASH_RETRY_DELAY

    db.execute(text("UPDATE zreport SET document = :document WHERE id = :id"), {"document": stored, "id": job.zreport_id})
    db.commit()
    assert run_jobs(db, company=shop.company, now=later(CRASH_RETRY_DELAY.total_seconds() + 1)) == ["exported"]


def test_a_31_december_report_exported_on_2_january_is_judged_against_last_years_chart(
    db, pos, emulator, restaurant, make_document
):
    shop = restaurant()
    last_year = date.today().year - 1
    # 2890 is inactive in last year's chart only (the emulator's year 1), as after closing the books.
    emulator.control.set_account_active(shop.tenant_id, 2890, False, financial_year=1)
    pos.post(shop.tokens["K1"], make_document(business_date=f"{last_year}-12-31",
                                              closed_at=f"{last_year + 1}-01-01T00:12:40+01:00"))
    pos.post(shop.tokens["K1"], make_document(business_date=f"{last_year + 1}-01-01",
                                              closed_at=f"{last_year + 1}-01-02T00:12:40+01:00"))

    states = run_jobs(db)

    jobs = jobs_of(db, shop.company)
    assert sorted(states) == ["blocked", "exported"]
    assert (jobs[0].reason_code, jobs[0].reason_key) == ("account_inactive", f"2890 {last_year}")
    assert jobs[0].detail["financial_year"] == str(last_year)
    assert reason_message(jobs[0].reason_code, jobs[0].detail).endswith(f"Det gäller räkenskapsåret {last_year}.")
    assert jobs[1].state == "exported" and jobs[1].voucher_year == 2
    assert voucher_posts(emulator, shop.tenant_id) == 1  # last year's voucher was never sent


def test_a_new_year_whose_f_series_is_missing_blocks_only_that_years_days(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    this_year = date.today().year
    emulator.control.delete_series(shop.tenant_id, "F", financial_year=2)
    pos.post(shop.tokens["K1"], make_document(business_date=f"{this_year - 1}-12-30",
                                              closed_at=f"{this_year - 1}-12-31T00:12:40+01:00"))
    pos.post(shop.tokens["K1"], make_document(business_date=f"{this_year}-01-02",
                                              closed_at=f"{this_year}-01-03T00:12:40+01:00"))

    run_jobs(db)

    last, new = jobs_of(db, shop.company)
    assert last.state == "exported" and last.voucher_year == 1
    assert (new.state, new.reason_code, new.reason_key) == ("blocked", "series_missing", "F")


def test_without_the_cost_centre_scope_reports_without_a_cost_centre_still_export(
    db, pos, emulator, restaurant, make_document
):
    shop = restaurant(registers=("K1", "K2"), cost_centres={"K2": "REST1"},
                      scope="bookkeeping companyinformation settings")
    pos.post(shop.tokens["K1"], make_document(register_id="K1"))
    pos.post(shop.tokens["K2"], make_document(register_id="K2"))

    run_jobs(db)

    plain, with_cost_centre = jobs_of(db, shop.company)
    assert plain.state == "exported"
    assert (with_cost_centre.state, with_cost_centre.reason_code) == ("blocked", "cost_centers_unreadable")
    assert with_cost_centre.detail["cost_centers"] == ["REST1"]
    assert "behörigheten för kostnadsställen" in reason_message(with_cost_centre.reason_code, with_cost_centre.detail)
    assert voucher_posts(emulator, shop.tenant_id) == 1
    assert open_problems(db, shop.company) == {"cost_centers_unreadable": ""}


def test_each_kind_of_fortnox_refusal_blocks_a_job_with_its_own_reason():
    """The engine blocks a job with the refusal's ``reason`` as a ``Reason`` (``_refusal_blocker``):
    every class of refusal must name one, and a refusal no class names blocks as voucher_invalid."""
    from backoffice.export.reasons import Reason
    from backoffice.integrations.fortnox.errors import FortnoxRejected

    def kinds(cls):
        return [cls, *(kind for sub in cls.__subclasses__() for kind in kinds(sub))]

    refusals = kinds(FortnoxRejected)[1:]
    assert len(refusals) >= 10
    assert {kind.reason for kind in refusals} <= {reason.value for reason in Reason}
    assert FortnoxRejected.reason not in {reason.value for reason in Reason}
