"""A restaurant connected to its own tenant of the Fortnox emulator, with an active integration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backoffice.accounts.operations import save_mapping
from backoffice.accounts.schemas import mapping_schema
from backoffice.companies.models import Company
from backoffice.db import now_utc
from backoffice.export.claims import DEFAULT_LEASE, claim_next_job, release
from backoffice.export.engine import export_one
from backoffice.export.models import ExportJob
from backoffice.integrations.fortnox.connection import client_for, store_tokens
from backoffice.integrations.fortnox.models import FortnoxConnection, FortnoxIntegration
from backoffice.integrations.fortnox.oauth import TokenSet
from tests.conftest import CONTRACTS


def contract_mapping() -> dict:
    text = (CONTRACTS / "mapping-v1.md").read_text(encoding="utf-8")
    document = json.loads(text.split("```json", 1)[1].split("```", 1)[0])
    document.pop("start_date")
    return document


@dataclass
class Restaurant:
    company: Company
    tenant_id: int
    connection_id: int
    tokens: dict  # register pos_id → API token


@pytest.fixture()
def restaurant(db, emulator, make_company, make_register):
    """Make a company with registers, its own emulator tenant, tokens, a mapping and an active integration."""

    def make(registers=("K1",), mapping: dict | None = None, active: bool = True, cost_centres: dict | None = None,
             scope: str | None = None) -> Restaurant:
        company = make_company()
        tokens = {pos_id: make_register(company, pos_id=pos_id, name=f"Kassa {pos_id[1:]}")[1] for pos_id in registers}
        tenant_id = emulator.control.create_tenant(company.name, "556677-8899")
        answer = emulator.control.issue_tokens(tenant_id, *([scope] if scope else []))
        connection = FortnoxConnection(tenant_id=tenant_id, fortnox_company_name=company.name)
        store_tokens(
            connection,
            TokenSet(
                access_token=answer["access_token"],
                refresh_token=answer["refresh_token"],
                expires_at=now_utc() + timedelta(seconds=answer["expires_in"]),
                scope=answer.get("scope", ""),
            ),
        )
        db.add(connection)
        db.add(FortnoxIntegration(company=company, connection=connection, active=active))
        document = mapping if mapping is not None else contract_mapping()
        document = {**document, "cost_centres": cost_centres or {}}
        db.flush()
        db.refresh(company)
        save_mapping(db, company, mapping_schema.load(document), actor="test")
        db.commit()
        return Restaurant(company, tenant_id, connection.id, tokens)

    return make


def run_jobs(db, *, now: datetime | None = None, limit: int = 1000) -> list[str]:
    """Claim and export due jobs one by one at ``now`` (an explicit clock instead of sleeping)."""
    now = now or now_utc()
    states = []
    for _ in range(limit):
        claim = claim_next_job(db, "test-worker", now=now)
        if claim is None:
            break
        try:
            states.append(str(export_one(db, claim.job_id, clients=client_for, lease=DEFAULT_LEASE, now=now)))
        finally:
            release(db, claim, "test-worker")
    return states


def jobs_of(db, company) -> list[ExportJob]:
    db.rollback()  # end the test's read transaction: on SQLite it would keep seeing an old snapshot
    return db.scalars(select(ExportJob).where(ExportJob.company_id == company.id).order_by(ExportJob.id)).all()


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


#: The scopes the product asks for since Z-reports are attached (a new consent).
ATTACH_SCOPE = "bookkeeping costcenter companyinformation settings inbox connectfile"


#: The scopes of a consent given before Z-reports were attached.
OLD_SCOPE = "bookkeeping costcenter companyinformation settings"


def run_attachments(db, company, *, now: datetime | None = None, limit: int = 1000) -> list[str]:
    """Claim and attach the company's due Z-report PDFs one by one at ``now``, as the worker does when no
    voucher is due."""
    from backoffice.export.attachments import attach_one, claim_next_attachment, release_attachment
    from backoffice.integrations.fortnox.connection import client_for

    now = now or now_utc()
    states = []
    for _ in range(limit):
        claim = claim_next_attachment(db, "test-worker", now=now, lease=timedelta(seconds=300), company_id=company.id)
        if claim is None:
            break
        db.expire_all()  # the worker gives each attachment a fresh session
        try:
            states.append(str(attach_one(db, claim.attachment_id, clients=client_for, now=now)))
        finally:
            release_attachment(db, claim, "test-worker")
    return states
