"""Koppla med tjänstekonto, over HTTP against the emulator: the consent with account_type=service,
then client-credentials tokens with the TenantId header and no refresh token; a person's existing
connection keeps working and can switch; the card says which kind each restaurant has."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from backoffice.export.claims import DEFAULT_LEASE
from backoffice.export.engine import export_one
from backoffice.export.models import ExportState
from backoffice.integrations.fortnox import oauth
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.errors import FortnoxAuthError
from backoffice.integrations.fortnox.models import ConnectionKind, ConnectionStatus, FortnoxConnection
from tests.fixtures import DEMO_MAPPING, fresh, jobs_of

WIZARD = "/foretag/integrationer/fortnox/installningar"


def connect_with_service_account(web, next_path: str):
    """Press "Koppla med tjänstekonto": to Fortnox's consent page (auto-approved) and back."""
    start = web.get("/integrations/fortnox/connect", params={"account_type": "service", "next": next_path},
                    allow_redirects=False)
    assert start.status_code == 302
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["account_type"] == ["service"]
    return web.http.get(start.headers["Location"], timeout=30)


def test_the_wizard_offers_and_recommends_koppla_med_tjanstekonto(site):
    made = site(registers=("K1",))

    page = made.admin.get(f"{WIZARD}/behorighet").text

    assert "Koppla med tjänstekonto</button>" in page and "Rekommenderas:" in page
    assert '<input type="hidden" name="account_type" value="service">' in page
    assert ">OK</button>" in page  # a person's login is still offered


def test_a_service_account_connects_and_exports_with_client_credentials_and_no_refresh_token(
    db, site, reports, emulator
):
    made = site(registers=("K1",))
    tenant = emulator.control.create_tenant(made.company.name, "556677-8899")
    emulator.control.set_auto_approve(True, tenant_id=tenant)

    back = connect_with_service_account(made.admin, f"{WIZARD}/behorighet")

    assert back.url == f"{made.admin.url}{WIZARD}/behorighet"
    assert "BackOffice är nu kopplat till Fortnox med tjänstekonto." in back.text
    assert 'data-connection-kind="service"' in back.text
    fresh(db)
    connection = db.query(FortnoxConnection).filter_by(tenant_id=tenant).one()
    assert connection.kind == ConnectionKind.SERVICE and connection.status == ConnectionStatus.ACTIVE
    assert connection.refresh_token_enc is None and connection.checked_at is not None
    # Finish the setup the short way and export: the hour of the token is over, so a new one must come
    # from client credentials (there is no refresh token to spend).
    from backoffice.accounts.operations import save_mapping
    from backoffice.accounts.schemas import mapping_schema
    from backoffice.settings.operations import activate

    start = (date.today() - timedelta(days=7)).isoformat()  # activating needs a start date
    save_mapping(db, made.company, mapping_schema.load({**DEMO_MAPPING, "start_date": start}), actor="test")
    activate(db, made.company)
    db.commit()
    reports(made, days=1)
    emulator.control.expire_access_tokens(tenant)
    [job] = jobs_of(db, made.company)
    assert export_one(db, job.id, clients=client_for, lease=DEFAULT_LEASE) == ExportState.EXPORTED
    assert len(emulator.control.vouchers(tenant)) == 1
    fresh(db)
    assert db.get(FortnoxConnection, connection.id).refresh_token_enc is None
    card = made.manager.get("/foretag/integrationer/").text
    assert 'data-connection-kind="service">Tjänstekonto' in card and "Senast kontrollerad" in card


def test_a_persons_connection_keeps_working_and_the_card_offers_the_switch(db, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    emulator.control.set_auto_approve(True, tenant_id=made.tenant_id)

    card = made.admin.get("/foretag/integrationer/").text
    assert 'data-connection-kind="user">Personlig inloggning' in card
    assert "Byt till tjänstekonto (rekommenderas)" in card
    assert "/integrations/fortnox/connect?account_type=service" in card
    assert "Byt till tjänstekonto" not in made.manager.get("/foretag/integrationer/").text  # admins only
    reports(made, days=1)
    [job] = jobs_of(db, made.company)
    assert export_one(db, job.id, clients=client_for, lease=DEFAULT_LEASE) == ExportState.EXPORTED  # the existing (person's) connection

    back = connect_with_service_account(made.admin, "/foretag/integrationer/")

    assert 'data-connection-kind="service">Tjänstekonto' in back.text
    fresh(db)
    connection = db.get(FortnoxConnection, made.connection_id)  # the same connection, switched
    assert connection.kind == ConnectionKind.SERVICE and connection.refresh_token_enc is None


def test_a_persons_consent_gives_no_client_credentials_tokens(site, connect, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)

    with pytest.raises(FortnoxAuthError):  # 400 unauthorized_client: no service consent for the tenant
        oauth.client_credentials("demo", "demo-secret", f"{emulator.url}/oauth-v1/token", made.tenant_id)
