"""A restaurant whose days are exported to its own emulator tenant, ready to be corrected."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from backoffice.accounts.operations import save_mapping
from backoffice.accounts.schemas import mapping_schema
from backoffice.correction.models import Correction
from backoffice.correction.steps import claim_next_correction, correct_one, release_correction
from backoffice.db import now_utc
from backoffice.integrations.fortnox.connection import client_for
from tests.fixtures import contract_mapping, jobs_of, run_jobs

#: The contract's mapping with drinks at 12 % booked on 3002 instead of 3052: only days with such sales change.
MOVED_SALES = [
    {"product_group": "Mat", "account": 3052},
    {"product_group": "Dryck", "account": 3051},
    {"product_group": "Dryck", "vat_rate": "12", "account": 3002},
    {"vat_rate": "6", "account": 3053},
]


def day_document(make_document, day: date, *, drinks_at_12: bool = False) -> dict:
    """The contract's report dated ``day``; with ``drinks_at_12`` its food line is drinks at 12 % instead."""
    document = make_document(business_date=day.isoformat(), closed_at=f"{day + timedelta(days=1)}T00:12:40+01:00")
    if drinks_at_12:
        document["sales"][0]["product_group"] = "Dryck"
    return document


def change_mapping(db, company, **changes) -> None:
    save_mapping(db, company, mapping_schema.load({**contract_mapping(), "cost_centres": {}, **changes}), actor="test")
    db.commit()


def run_corrections(db, *, now=None, limit: int = 100, company=None) -> list[str]:
    """Claim and correct due corrections one by one at ``now``, as the worker does: every due one of
    the database. ``company``: return only the states of that company's corrections."""
    now = now or now_utc()
    states = []
    db.rollback()  # on SQLite an open read transaction would not see what the live server wrote
    for _ in range(limit):
        claim = claim_next_correction(db, "test-worker", now=now)
        if claim is None:
            break
        db.expire_all()
        try:
            state = str(correct_one(db, claim.correction_id, clients=client_for, now=now))
            if company is None or db.get(Correction, claim.correction_id).company_id == company.id:
                states.append(state)
        finally:
            release_correction(db, claim, "test-worker")
    return states


@pytest.fixture()
def booked(db, pos, restaurant, make_document):  # noqa: F811
    """A restaurant with three exported days: 20 and 22 November plain, 21 November with drinks at 12 %."""

    def make(**kwargs):
        shop = restaurant(**kwargs)
        days = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
        for day in days:
            document = day_document(make_document, day, drinks_at_12=day.day == 21)
            assert pos.post(shop.tokens["K1"], document).status_code == 201
        run_jobs(db)  # every due job of the database: an earlier test's may be among them
        assert [job.state for job in jobs_of(db, shop.company)] == ["exported"] * 3
        return shop

    return make
