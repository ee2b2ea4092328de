"""A restaurant with two registers, its own emulator tenant, and a past month of exported Z-reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import select

from backoffice.companies.models import Register
from backoffice.demo import deliver, zreport_document
from backoffice.export.models import ExportAttempt, ExportJob
from backoffice.export.tasks import drain
from tests.fixtures import DEMO_MAPPING, Site, fresh


def previous_month(today: date | None = None) -> date:
    """The first day of the month before ``today``'s."""
    first = (today or date.today()).replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def z_number_of(day: date) -> int:
    return (day - date(2024, 1, 1)).days + 1


@dataclass
class Month:
    site: Site
    month: date
    records: list


@pytest.fixture()
def deliver_day(db):
    """Deliver one demo Z-report of ``pos_id`` for ``day`` (z-number from the date unless given)."""

    def make(made: Site, pos_id: str, day: date, z_number: int | None = None):
        register = db.get(Register, made.registers[pos_id].id)
        record = deliver(db, register, zreport_document(pos_id, register.name, z_number or z_number_of(day), day))
        db.commit()
        return record

    return make


@pytest.fixture()
def exported_month(app, db, site, connect, deliver_day):  # noqa: F811
    """A connected restaurant (K1, K2) whose reports of ``days`` days of last month are in Fortnox."""

    def make(days: int = 3, registers=("K1", "K2"), skip: tuple[tuple[str, int], ...] = (),
             scope: str | None = None) -> Month:
        made = connect(site(registers), active=True, mapping=DEMO_MAPPING, scope=scope)
        month = previous_month()
        records = []
        for offset in range(days):
            day = month + timedelta(days=offset)
            for pos_id in registers:
                if (pos_id, offset + 1) not in skip:
                    records.append(deliver_day(made, pos_id, day))
        export_all(app, db)
        return Month(made, month, records)

    return make


def export_all(app, db) -> None:
    fresh(db)
    drain(app)
    fresh(db)


def job_of(db, record) -> ExportJob:
    fresh(db)
    return db.scalar(select(ExportJob).where(ExportJob.zreport_id == record.id))


def sent_body(db, record) -> dict:
    job = job_of(db, record)
    body = db.scalar(select(ExportAttempt.request_body).where(ExportAttempt.job_id == job.id,
                                                             ExportAttempt.request_body.is_not(None)))
    return json.loads(body)


class FortnoxUser:
    """Someone working in the restaurant's Fortnox company beside the back office (real API calls)."""

    def __init__(self, emulator, tenant_id: int):
        self.emulator = emulator
        self.tenant_id = tenant_id
        self.token = emulator.control.issue_tokens(tenant_id)["access_token"]

    def post_voucher(self, body: dict, financial_year: int = 2) -> dict:
        answer = requests.post(f"{self.emulator.url}/3/vouchers", params={"financialyear": financial_year},
                               json=body, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()["Voucher"]
