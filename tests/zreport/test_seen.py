"""What the wizard finds in a company's Z-reports: every payment method, VAT rate, product group and
other event of every report from the start date on, and whether any of its amounts is not zero,
however few of them the newest reports hold."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice.demo import deliver, zreport_document
from backoffice.zreport import seen
from backoffice.zreport.models import ZReportRecord

DAY = date.today() - timedelta(days=10)


def report(
    register,
    z_number: int,
    day: date,
    *,
    sales,
    payments,
    tips="0.00",
    gift="0.00",
    rounding="0.00",
    cash_difference="0.00",
):
    """A balanced report: ``sales`` as (group, rate, gross, vat), ``payments`` as method → amount; card
    takes what is left to pay."""
    document = zreport_document(register.pos_id, register.name, z_number, day)
    document["sales"] = [
        {"product_group": group, "vat_rate": rate, "gross": gross, "vat": vat, "count": 1}
        for group, rate, gross, vat in sales
    ]
    document["returns"] = []
    document["tips"] = [{"method": "card", "amount": tips}]
    document["gift_cards_sold"], document["rounding"], document["cash_difference"] = gift, rounding, cash_difference
    due = sum(Decimal(gross) for _, _, gross, _ in sales) + Decimal(tips) + Decimal(gift) + Decimal(rounding)
    card = due - sum((Decimal(amount) for amount in payments.values()), Decimal(0))
    document["payments"] = [{"method": m, "amount": a} for m, a in payments.items()] + [
        {"method": "card", "amount": f"{card:.2f}"}
    ]
    return document


@pytest.fixture()
def history(db, make_company, make_register):
    """A company whose oldest reports hold what its newest lack."""
    company = make_company()
    register, _ = make_register(company)
    documents = [
        # Only here: a lunch card, an invoice of nothing, a group with quotes, tips, rounding, a cash difference.
        report(
            register,
            1,
            DAY,
            sales=[("Mat", "12", "100.00", "10.71"), ("Öl 'stark' 50%", "25", "50.00", "10.00")],
            payments={"lunch_card": "30.00", "invoice": "0.00", "cash": "20.00"},
            tips="15.00",
            rounding="0.40",
            cash_difference="-5.00",
        ),
        # Cash paid, wine whose VAT only this report has, and gift cards sold.
        report(
            register,
            2,
            DAY + timedelta(days=1),
            sales=[("Vin", "25", "80.00", "16.00")],
            payments={"cash": "50.00"},
            gift="100.00",
        ),
        # The newest: no cash, nothing to pay by Swish, wine without VAT, a line that is all VAT.
        *(
            report(
                register,
                z_number,
                DAY + timedelta(days=z_number),
                sales=[
                    ("Mat", "12.00", "200.00", "21.43"),
                    ("Vin", "25", "40.00", "0.00"),
                    ("Pant", "0", "1.00", "1.00"),
                ],
                payments={"cash": "0.00", "swish": "0.00"},
            )
            for z_number in range(3, 6)
        ),
    ]
    for document in documents:
        deliver(db, register, document)
    db.commit()
    return company


EVERYTHING = seen.SeenParts(
    payment_methods={"card": True, "cash": True, "lunch_card": True, "invoice": False, "swish": False},
    vat_rates={Decimal("12"): True, Decimal("25"): True, Decimal("0"): True},
    sales={
        ("Mat", Decimal("12")): True,
        ("Öl 'stark' 50%", Decimal("25")): True,
        ("Vin", Decimal("25")): True,
        ("Pant", Decimal("0")): False,
    },
    other={"tips": True, "rounding": True, "cash_difference": True, "gift_cards_sold": True},
)


@pytest.mark.parametrize("sample", [1, 2, 100], ids=["newest-report-only", "two-newest", "all-in-the-sample"])
def test_every_part_of_every_report_is_seen_however_few_the_newest_reports_hold(history, monkeypatch, sample):
    monkeypatch.setattr(seen, "SAMPLE_REPORTS", sample)

    assert seen.seen_parts(history) == EVERYTHING


def test_parts_only_reports_before_the_start_date_hold_are_not_seen(history):
    parts = seen.seen_parts(history, DAY + timedelta(days=2))

    assert parts == seen.SeenParts(
        payment_methods={"card": True, "cash": False, "swish": False},
        vat_rates={Decimal("12"): True, Decimal("25"): False, Decimal("0"): True},
        sales={("Mat", Decimal("12")): True, ("Vin", Decimal("25")): True, ("Pant", Decimal("0")): False},
        other={"tips": False, "rounding": False, "cash_difference": False, "gift_cards_sold": False},
    )


def test_a_later_report_adds_to_what_was_seen_and_a_late_commit_counts_everything_again(db, history, monkeypatch):
    monkeypatch.setattr(seen, "SAMPLE_REPORTS", 1)
    register = history.registers[0]
    seen.seen_parts(history, DAY + timedelta(days=2))
    deliver(
        db,
        register,
        report(register, 6, DAY + timedelta(days=6), sales=[("Mat", "12", "9.00", "0.96")], payments={"swish": "9.00"}),
    )
    db.commit()

    added = seen.seen_parts(history, DAY + timedelta(days=2))

    assert added.payment_methods == {"card": True, "cash": False, "swish": True}
    # As if the two newest reports had been seen before the third newest committed (a lower id
    # committing late on PostgreSQL): the count gives it away, and everything is counted again.
    ids = db.scalars(
        select(ZReportRecord.id).where(ZReportRecord.company_id == history.id).order_by(ZReportRecord.id)
    ).all()
    seen._seen_cache[(history.id, None)] = (2, ids[-1], seen._aggregate(history.id, None, ids[-3], ids[-1]))
    deliver(
        db, register, report(register, 7, DAY + timedelta(days=7), sales=[("Mat", "12", "9.00", "0.96")], payments={})
    )
    db.commit()

    assert seen.seen_parts(history) == seen.SeenParts(
        payment_methods={**EVERYTHING.payment_methods, "swish": True},
        vat_rates=EVERYTHING.vat_rates,
        sales=EVERYTHING.sales,
        other=EVERYTHING.other,
    )
