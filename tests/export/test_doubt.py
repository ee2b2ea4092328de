"""A job in doubt looks for the voucher it sent, under every reading of what Fortnox's API means.

Each test loses Fortnox's answer to a post (the emulator stores the voucher and answers too late, or
answers 500 without storing it), changes what a retry built from today's settings would look like,
and checks that Fortnox ends up with exactly one voucher of the report, as it was sent.
"""

from __future__ import annotations

import pytest

from backoffice.export.engine import RETRY_DELAYS
from backoffice.export.manual import start_manual_export
from backoffice.export.problems import unblock_jobs
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.models import FortnoxConnection
from backoffice.messages import reason_message
from tests.fixtures import contract_mapping, jobs_of, later, run_jobs


def voucher_posts(emulator, tenant_id) -> int:
    return sum(1 for e in emulator.control.requests(tenant_id) if e["method"] == "POST" and e["path"] == "/3/vouchers")


def lose_the_answer(emulator, shop, *, stored: bool = True) -> None:
    """The next voucher post of ``shop``: stored and answered too late, or refused with a 500 unstored."""
    if stored:
        emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers",
                                   tenant_id=shop.tenant_id, seconds=4)
    else:
        emulator.control.add_fault("500", method="POST", path_prefix="/3/vouchers", tenant_id=shop.tenant_id)


def in_doubt(db, pos, emulator, shop, make_document, *, stored: bool = True):
    pos.post(shop.tokens["K1"], make_document())
    lose_the_answer(emulator, shop, stored=stored)
    assert run_jobs(db) == ["pending"]
    [job] = jobs_of(db, shop.company)
    assert job.in_doubt and job.voucher_token and job.sent_series == "F" and job.sent_date and job.sent_year
    return job


def save(db, company, **changes) -> None:
    from backoffice.accounts.operations import save_mapping
    from backoffice.accounts.schemas import mapping_schema

    save_mapping(db, company, mapping_schema.load({**contract_mapping(), "cost_centres": {}, **changes}), actor="test")
    db.commit()


def test_every_voucher_carries_the_jobs_token_and_the_job_keeps_what_it_sent(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    pos.post(shop.tokens["K1"], make_document())

    assert run_jobs(db, company=shop.company) == ["exported"]

    [job] = jobs_of(db, shop.company)
    [stored] = emulator.control.vouchers(shop.tenant_id)
    assert job.voucher_token.isascii() and len(job.voucher_token) == 20
    assert stored["comments"] == f"Export-id: {job.voucher_token}"
    assert (job.sent_series, job.sent_year, job.sent_date.isoformat(), job.voucher_description) == (
        stored["series"], stored["financial_year"], stored["transaction_date"], stored["description"])


def test_a_series_change_while_in_doubt_adopts_the_voucher_in_the_series_it_was_sent_to(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    job = in_doubt(db, pos, emulator, shop, make_document)
    save(db, shop.company, voucher_series="A")  # the admin picks series A before the retry

    assert run_jobs(db, company=shop.company, now=later(RETRY_DELAYS[0] + 1)) == ["exported"]

    [job] = jobs_of(db, shop.company)
    [stored] = emulator.control.vouchers(shop.tenant_id)
    assert stored["series"] == "F" and (job.voucher_series, job.voucher_number) == ("F", stored["number"])
    assert voucher_posts(emulator, shop.tenant_id) == 1
    assert [a.outcome for a in job.attempts][-1] == "found"


def test_a_company_rename_while_in_doubt_still_finds_the_voucher(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    in_doubt(db, pos, emulator, shop, make_document)
    shop.company.name = shop.company.name + " AB (nytt namn)"  # the description we built has changed
    db.commit()

    assert run_jobs(db, company=shop.company, now=later(RETRY_DELAYS[0] + 1)) == ["exported"]

    assert len(emulator.control.vouchers(shop.tenant_id)) == 1
    assert voucher_posts(emulator, shop.tenant_id) == 1


def test_a_series_change_while_in_doubt_posts_in_the_new_series_only_when_fortnox_has_none(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    job = in_doubt(db, pos, emulator, shop, make_document, stored=False)  # 500: nothing was stored
    token = job.voucher_token
    save(db, shop.company, voucher_series="A")

    assert run_jobs(db, company=shop.company, now=later(RETRY_DELAYS[0] + 1)) == ["exported"]

    [job] = jobs_of(db, shop.company)
    [stored] = emulator.control.vouchers(shop.tenant_id)
    assert stored["series"] == "A" and job.sent_series == "A" and job.voucher_token == token
    assert [a.outcome for a in job.attempts][-3:] == ["in_doubt", "not_found", "posted"]


def test_a_found_voucher_that_differs_blocks_naming_both_and_is_never_posted_again(db, pos, emulator, restaurant, make_document):
    shop = restaurant()
    job = in_doubt(db, pos, emulator, shop, make_document, stored=False)
    # Fortnox holds a voucher with our token, but not ours as sent: other rows, another date.
    client = client_for(db.get(FortnoxConnection, shop.connection_id))
    db.commit()  # no transaction stays open while Fortnox is called (connection.no_transaction_open)
    other = client.create_voucher({"Voucher": {
        "Description": "Något annat", "TransactionDate": job.sent_date.replace(day=1).isoformat(), "VoucherSeries": "A",
        "Comments": f"Export-id: {job.voucher_token}",
        "VoucherRows": [{"Account": 1910, "Debit": "10.00", "Credit": "0"}, {"Account": 3001, "Debit": "0", "Credit": "10.00"}],
    }}, financial_year=job.sent_year)
    db.commit()

    assert run_jobs(db, company=shop.company, now=later(RETRY_DELAYS[0] + 1)) == ["blocked"]

    [job] = jobs_of(db, shop.company)
    assert (job.reason_code, job.reason_key, job.in_doubt) == ("voucher_differs", f"A {other['VoucherNumber']}", True)
    sentence = reason_message(job.reason_code, job.detail)
    assert f"verifikation A {other['VoucherNumber']}" in sentence and "serie F" in sentence
    assert job.voucher_description in sentence and "andra rader" in sentence and "ett annat datum" in sentence
    # Nothing a person or the worker does next posts it again.
    unblock_jobs(db, shop.company)
    start_manual_export(db, shop.company, actor="test")
    run_jobs(db, company=shop.company, now=later(600))
    assert [j.state for j in jobs_of(db, shop.company)] == ["blocked"]
    assert voucher_posts(emulator, shop.tenant_id) == 2  # our lost one (never stored) and the test's
    assert len(emulator.control.vouchers(shop.tenant_id)) == 1


@pytest.mark.parametrize("reading", ["inclusive", "todate_exclusive", "ignored", "refused"])
@pytest.mark.parametrize("stored", [True, False], ids=["stored", "not-stored"])
def test_a_lost_answer_ends_in_exactly_one_voucher_under_every_reading_of_the_date_filters(
        db, pos, emulator, restaurant, make_document, readings, reading, stored):
    readings(date_filter=reading)
    shop = restaurant()
    in_doubt(db, pos, emulator, shop, make_document, stored=stored)

    assert run_jobs(db, company=shop.company, now=later(RETRY_DELAYS[0] + 1)) == ["exported"]

    assert len(emulator.control.vouchers(shop.tenant_id)) == 1
    assert voucher_posts(emulator, shop.tenant_id) == (1 if stored else 2)


def test_a_refused_date_filter_still_finds_the_voucher(db, pos, emulator, restaurant, make_document, readings):
    readings(date_filter="refused")
    shop = restaurant()
    in_doubt(db, pos, emulator, shop, make_document)

    assert run_jobs(db, company=shop.company, now=later(RETRY_DELAYS[0] + 1)) == ["exported"]

    lists = [e for e in emulator.control.requests(shop.tenant_id) if e["path"].startswith("/3/vouchers") and e["method"] == "GET"]
    assert any(e["status"] == 400 and "fromdate" in e["query"] for e in lists)  # refused, and survived
    assert voucher_posts(emulator, shop.tenant_id) == 1


def test_normalised_descriptions_do_not_hide_the_voucher(db, pos, emulator, restaurant, make_document, readings):
    readings(descriptions="normalised")
    shop = restaurant()
    in_doubt(db, pos, emulator, shop, make_document)

    assert run_jobs(db, company=shop.company, now=later(RETRY_DELAYS[0] + 1)) == ["exported"]

    [stored] = emulator.control.vouchers(shop.tenant_id)
    [job] = jobs_of(db, shop.company)
    assert "·" not in stored["description"] and stored["description"] != job.voucher_description
    assert voucher_posts(emulator, shop.tenant_id) == 1
