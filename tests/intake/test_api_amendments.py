"""The POS API under the 2026-12 amendments of zreport/v1 (docs/contracts/zreport-v1.md), over real HTTP:
signed payments, tips paid out in cash, re-sends that differ only in form, a replaced register, VAT
that must fit its rate, and dates that cannot be."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from backoffice.companies.models import Register, RegisterUnit
from backoffice.zreport.models import ZReportPayment, ZReportRecord

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def stored(db, company) -> list[ZReportRecord]:
    db.rollback()
    return db.scalars(
        select(ZReportRecord).where(ZReportRecord.company_id == company.id).order_by(ZReportRecord.id)
    ).all()


# --- signed payments and tips paid out in cash --------------------------------------------------


def test_a_payment_method_that_nets_negative_is_accepted_and_stored_signed(db, pos, register, make_document):
    company, _, token = register
    document = make_document()
    # A cash refund on a card day: card took it all, cash paid 120.00 back.
    document["payments"] = [{"method": "card", "amount": "25289.79", "count": 180},
                            {"method": "cash", "amount": "-120.00", "count": 1}]

    response = pos.post(token, document)

    assert response.status_code == 201, response.text
    (record,) = stored(db, company)
    amounts = {p.method: str(p.amount) for p in db.scalars(select(ZReportPayment).where(ZReportPayment.zreport_id == record.id))}
    assert amounts == {"card": "25289.79", "cash": "-120.00"}


def test_tips_paid_out_in_cash_are_stored_and_stay_outside_the_balance_rule(db, pos, register, make_document):
    company, _, token = register
    document = make_document(tips_paid_out_cash="640.00")
    included = make_document(tips_paid_out_cash="640.00")
    included["payments"][1]["amount"] = "2139.79"  # cash minus what was paid out: breaks the balance rule

    accepted = pos.post(token, document)
    refused = pos.post(token, included)

    assert accepted.status_code == 201, accepted.text
    assert refused.status_code == 422 and "does not balance" in refused.json()["errors"]["_schema"][0]
    (record,) = stored(db, company)
    assert str(record.tips_paid_out_cash) == "640.00"


def test_a_negative_tips_paid_out_is_refused(db, pos, register, make_document):
    company, _, token = register
    response = pos.post(token, make_document(tips_paid_out_cash="-1.00"))
    assert response.status_code == 422
    assert "negative" in response.json()["errors"]["tips_paid_out_cash"][0]
    assert stored(db, company) == []


# --- a re-send that differs only in form is the same report --------------------------------------


def test_a_resend_differing_only_in_form_answers_200(db, pos, register, make_document):
    company, _, token = register
    document = make_document()
    assert pos.post(token, document).status_code == 201
    same = copy.deepcopy(document)
    same["sales"][0]["vat_rate"] = "12.00"
    same["sales"][1]["gross"] = "6200"
    same["opening_float"] = "2000"
    same["payments"].reverse()
    same["sales"].reverse()
    # 2026-11-21T00:12:40+01:00 is 2026-11-20T23:12:40Z is 2026-11-21T01:12:40+02:00
    same["closed_at"] = "2026-11-20T23:12:40Z"
    another_offset = copy.deepcopy(same)
    another_offset["closed_at"] = "2026-11-21T01:12:40+02:00"
    with_default = copy.deepcopy(same)
    with_default["tips_paid_out_cash"] = "0.00"

    answers = [pos.post(token, body) for body in (same, another_offset, with_default)]

    assert [answer.status_code for answer in answers] == [200, 200, 200], [a.text for a in answers]
    assert answers[0].json()["document"] == document  # the stored report, as first sent
    assert len(stored(db, company)) == 1


def test_a_resend_with_other_meaning_still_answers_409(db, pos, register, make_document):
    company, _, token = register
    document = make_document()
    assert pos.post(token, document).status_code == 201
    later = copy.deepcopy(document)
    later["closed_at"] = "2026-11-21T00:12:41+01:00"  # one second later
    moved = copy.deepcopy(document)
    moved["sales"][0]["count"] = 232

    assert pos.post(token, later).status_code == 409
    assert pos.post(token, moved).status_code == 409
    assert len(stored(db, company)) == 1


def test_a_report_stored_before_the_amendment_is_recognised_in_another_form(db, pos, register, make_document):
    """Reports stored before 2026-12 carry a hash of their bytes; a re-send in another form is still 200."""
    company, _, token = register
    document = make_document()
    assert pos.post(token, document).status_code == 201
    (record,) = stored(db, company)
    record.content_hash = "0" * 64  # what an old hash looks like to the new code: not a fingerprint
    db.commit()
    same = copy.deepcopy(document)
    same["payments"].reverse()

    assert pos.post(token, same).status_code == 200
    assert len(stored(db, company)) == 1


# --- a replaced register -------------------------------------------------------------------------


def test_a_replaced_register_is_a_new_unit_whose_reports_are_keyed_apart(db, pos, register, make_document):
    company, reg, token = register
    old = make_document(z_number=1042)  # serial number CR-00017, as in the contract's example
    assert pos.post(token, old).status_code == 201
    new_unit = make_document(z_number=1, business_date="2026-11-22", closed_at="2026-11-22T23:40:00+01:00")
    new_unit["register"]["serial_number"] = "CR-00099"
    second = make_document(z_number=2, business_date="2026-11-23", closed_at="2026-11-23T23:40:00+01:00")
    second["register"]["serial_number"] = "CR-00099"
    # the old unit's last report, sent late after the swap, still finds its own unit
    late = make_document(z_number=1043, business_date="2026-11-21", closed_at="2026-11-22T00:05:00+01:00")

    answers = [pos.post(token, body).status_code for body in (new_unit, second, late, new_unit)]

    assert answers == [201, 201, 201, 200]
    db.rollback()
    units = db.scalars(select(RegisterUnit).where(RegisterUnit.register_id == reg.id).order_by(RegisterUnit.number)).all()
    assert [(u.number, u.serial_number) for u in units] == [(1, "CR-00017"), (2, "CR-00099")]
    assert db.scalar(select(Register.serial_number).where(Register.id == reg.id)) == "CR-00099"
    keys = sorted((r.unit.number, r.z_number) for r in stored(db, company))
    assert keys == [(1, 1042), (1, 1043), (2, 1), (2, 2)]


def test_a_new_unit_may_reuse_a_z_number_of_the_old_one(db, pos, register, make_document):
    company, _, token = register
    first = make_document(z_number=1)
    assert pos.post(token, first).status_code == 201
    assert pos.post(token, make_document(z_number=2, business_date="2026-11-21",
                                         closed_at="2026-11-21T23:00:00+01:00")).status_code == 201
    replaced = make_document(z_number=1, business_date="2026-11-25", closed_at="2026-11-25T23:00:00+01:00")
    replaced["register"]["serial_number"] = "CR-00099"

    assert pos.post(token, replaced).status_code == 201
    assert len(stored(db, company)) == 3


def test_get_picks_the_unit_by_serial_number_and_defaults_to_the_current_one(db, pos, register, make_document, live_server):
    import requests

    company, _, token = register
    old = make_document(z_number=1)
    new = make_document(z_number=1, business_date="2026-11-25", closed_at="2026-11-25T23:00:00+01:00")
    new["register"]["serial_number"] = "CR-00099"
    assert pos.post(token, old).status_code == 201
    assert pos.post(token, new).status_code == 201

    def get(query: str = "") -> requests.Response:
        return requests.get(f"{live_server.url}/api/v1/z-reports/K1/1{query}",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)

    assert get().json()["document"] == new
    assert get("?serial_number=CR-00099").json()["document"] == new
    assert get("?serial_number=CR-00017").json()["document"] == old
    unknown = get("?serial_number=CR-99999")
    assert unknown.status_code == 404 and "CR-99999" in unknown.json()["errors"]["z_number"][0]
    assert get("?serial_number=%00").status_code == 404


def test_a_register_that_starts_sending_its_serial_number_stays_one_unit(db, pos, register, make_document):
    company, reg, token = register
    before = make_document(z_number=7)
    del before["register"]["serial_number"]
    after = make_document(z_number=8, business_date="2026-11-21", closed_at="2026-11-21T23:00:00+01:00")

    assert pos.post(token, before).status_code == 201
    assert pos.post(token, after).status_code == 201
    db.rollback()
    units = db.scalars(select(RegisterUnit).where(RegisterUnit.register_id == reg.id)).all()
    assert [(u.number, u.serial_number) for u in units] == [(1, "CR-00017")]


# --- VAT must fit its rate -------------------------------------------------------------------------


def _balanced(document: dict) -> dict:
    """Make payments meet the balance rule again after sales lines were changed (card takes the rest)."""
    from decimal import Decimal

    due = (sum(Decimal(s["gross"]) for s in document["sales"]) - sum(Decimal(r["gross"]) for r in document["returns"])
           + sum(Decimal(t["amount"]) for t in document["tips"]) + Decimal(document["gift_cards_sold"])
           + Decimal(document["rounding"]))
    cash = Decimal(document["payments"][1]["amount"])
    document["payments"][0]["amount"] = f"{due - cash:.2f}"
    return document


@pytest.mark.parametrize(
    ("part", "line", "words"),
    [
        pytest.param(
            "sales", {"product_group": "Presentkort", "vat_rate": "0", "gross": "500.00", "vat": "100.00", "count": 1},
            ["sales[2] (Presentkort, 0 %)", "VAT 100.00", "computed 0.00", "difference 100.00"],
            id="zero-percent-line-carrying-vat",
        ),
        pytest.param(
            "sales", {"product_group": "Glass", "vat_rate": "12", "gross": "1120.00", "vat": "60.00", "count": 20},
            ["sales[2] (Glass, 12 %)", "VAT 60.00", "= 120.00", "difference -60.00", "at most 1.00"],
            id="vat-half-its-rate",
        ),
        pytest.param(
            "returns", {"product_group": "Dryck", "vat_rate": "25", "gross": "120.00", "vat": "21.00", "count": 2},
            ["returns[1] (Dryck, 25 %)", "VAT 21.00", "= 24.00", "difference -3.00"],
            id="return-line-off-by-three-kronor",
        ),
    ],
)
def test_vat_that_does_not_fit_its_rate_answers_422_naming_line_vat_computed_and_difference(
    db, pos, register, make_document, part, line, words
):
    company, _, token = register
    document = make_document()
    document[part].append(line)

    response = pos.post(token, _balanced(document))

    assert response.status_code == 422, response.text
    index = str(len(document[part]) - 1)
    message = response.json()["errors"][part][index]["vat"][0]
    for word in words:
        assert word in message, message
    assert stored(db, company) == []


def test_vat_within_a_few_ore_per_receipt_is_accepted(db, pos, register, make_document):
    company, _, token = register
    document = make_document()
    # 300 items at 12 %: 33600.00 × 12 / 112 = 3600.00; receipt-by-receipt rounding explains ≤ 3.00
    document["sales"].append({"product_group": "Lunch", "vat_rate": "12", "gross": "33600.00", "vat": "3602.95", "count": 300})
    # one item: the tolerance is still 1.00
    document["sales"].append({"product_group": "Kaffe", "vat_rate": "12", "gross": "35.00", "vat": "4.75", "count": 1})

    response = pos.post(token, _balanced(document))

    assert response.status_code == 201, response.text


def test_vat_just_beyond_the_tolerance_is_refused(db, pos, register, make_document):
    company, _, token = register
    document = make_document()
    document["sales"].append({"product_group": "Lunch", "vat_rate": "12", "gross": "33600.00", "vat": "3603.01", "count": 300})

    response = pos.post(token, _balanced(document))

    assert response.status_code == 422
    assert "difference 3.01" in response.json()["errors"]["sales"]["2"]["vat"][0]


# --- dates that cannot be ----------------------------------------------------------------------------


def test_closed_at_before_the_business_day_begins_in_stockholm_answers_422(db, pos, register, make_document):
    company, _, token = register
    # 2026-11-19T22:59:59Z is 23:59:59 on the 19th in Stockholm: the day of the 20th has not begun
    early = make_document(closed_at="2026-11-19T22:59:59Z")
    # 2026-11-19T23:00:00Z is midnight of the 20th in Stockholm: just in time
    midnight = make_document(closed_at="2026-11-19T23:00:00Z")

    refused = pos.post(token, early)
    accepted = pos.post(token, midnight)

    assert refused.status_code == 422, refused.text
    message = refused.json()["errors"]["closed_at"][0]
    assert "before the business day 2026-11-20 begins" in message and "Europe/Stockholm" in message
    assert accepted.status_code == 201, accepted.text
    assert len(stored(db, company)) == 1


def test_closed_at_in_the_future_answers_422_and_a_minute_of_clock_skew_is_fine(db, pos, register, make_document):
    company, _, token = register
    now = datetime.now(UTC)
    today = now.astimezone(STOCKHOLM).date()
    future = make_document(business_date=today.isoformat(), closed_at=(now + timedelta(hours=1)).isoformat())
    skewed = make_document(business_date=today.isoformat(), closed_at=(now + timedelta(minutes=1)).isoformat())

    refused = pos.post(token, future)
    accepted = pos.post(token, skewed)

    assert refused.status_code == 422, refused.text
    assert "in the future" in refused.json()["errors"]["closed_at"][0]
    assert accepted.status_code == 201, accepted.text


def test_a_business_date_after_tomorrow_answers_422_and_days_late_are_fine(db, pos, register, make_document):
    company, _, token = register
    now = datetime.now(UTC)
    today = now.astimezone(STOCKHOLM).date()
    closed = (now - timedelta(minutes=1)).isoformat()
    after = make_document(business_date=(today + timedelta(days=2)).isoformat(), closed_at=closed)
    late = make_document(business_date=(today - timedelta(days=9)).isoformat(), closed_at=closed)

    refused, accepted = pos.post(token, after), pos.post(token, late)

    assert refused.status_code == 422
    assert "is after tomorrow" in refused.json()["errors"]["business_date"][0]
    assert accepted.status_code == 201, accepted.text


def test_nothing_of_a_refused_report_is_stored(db, pos, register, make_document):
    company, _, token = register
    document = make_document(closed_at="2026-11-19T12:00:00Z")
    document["sales"][0]["vat"] = "0.00"

    response = pos.post(token, document)

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"sales", "closed_at"}  # every finding at once
    assert stored(db, company) == []
    assert db.scalar(select(func.count()).select_from(RegisterUnit).join(Register).where(Register.company_id == company.id)) == 0
