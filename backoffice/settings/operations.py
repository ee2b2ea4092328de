"""Connecting a restaurant to Fortnox, activating and deactivating its integration."""

from __future__ import annotations

import logging

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.companies.models import Company
from backoffice.db import now_utc
from backoffice.export.jobs import ensure_jobs
from backoffice.integrations.fortnox import oauth
from backoffice.integrations.fortnox.budget import budget_for
from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.connection import (
    FortnoxSettings,
    decrypt,
    forget_client,
    no_transaction_open,
    store_tokens,
)
from backoffice.integrations.fortnox.errors import FortnoxError
from backoffice.integrations.fortnox.models import (
    ConnectionKind,
    ConnectionStatus,
    FortnoxConnection,
    FortnoxIntegration,
)
from backoffice.integrations.fortnox.ratelimit import RateBudget

log = logging.getLogger(__name__)


def integration_for(session: Session, company: Company) -> FortnoxIntegration:
    """The company's integration row, created (inactive) on first use. Flushes."""
    integration = session.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == company.id))
    if integration is None:
        integration = FortnoxIntegration(company=company, active=False)
        session.add(integration)
        session.flush()
    return integration


def connect(
    session: Session,
    company: Company,
    fortnox: FortnoxSettings,
    code: str,
    redirect_uri: str,
    *,
    service_account: bool = False,
    link: bool = True,
) -> FortnoxConnection:
    """Exchange an authorisation code and link the company to the Fortnox company it was given for.

    The link is made only when nothing needs confirming (``connection_warnings``: another restaurant
    of ours books there, or the organisation number differs); else, or with ``link=False``, the
    tokens are kept on the connection and the caller asks first, then calls ``link_connection``.

    Connections are keyed by Fortnox's tenant id: a second restaurant connecting the same Fortnox
    company shares the existing connection, whose token chain the new tokens replace, so there is
    only ever one chain per Fortnox company. Flushes; the caller commits.

    ``service_account`` (the consent was given with ``account_type=service``): the code's tokens only
    tell us the company; from then on the connection gets client-credentials tokens with the
    ``TenantId`` header, and keeps no refresh token (a switch from a person's login forgets theirs).
    """
    session.commit()  # nothing is written yet; no transaction stays open while Fortnox is called
    tokens = oauth.exchange_code(fortnox.client_id, fortnox.client_secret, fortnox.token_url, code, redirect_uri)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {tokens.access_token}"
    with http:
        client = FortnoxClient(http, base_url=fortnox.api_url, limiter=_budget_of(session, fortnox, tokens),
                               before_send=no_transaction_open)
        info = client.company_information()
    tenant_id = int(info.get("DatabaseNumber") or oauth.tenant_id_from_access_token(tokens.access_token))
    connection = session.scalar(select(FortnoxConnection).where(FortnoxConnection.tenant_id == tenant_id))
    if connection is None:
        connection = FortnoxConnection(tenant_id=tenant_id, fortnox_company_name=info.get("CompanyName") or str(tenant_id))
        session.add(connection)
    connection.fortnox_company_name = info.get("CompanyName") or connection.fortnox_company_name
    connection.organization_number = info.get("OrganizationNumber")
    if service_account:
        tokens = oauth.client_credentials(fortnox.client_id, fortnox.client_secret, fortnox.token_url, tenant_id)
    connection.kind = ConnectionKind.SERVICE if service_account else ConnectionKind.USER
    store_tokens(connection, tokens)
    connection.metadata_json = None  # read Fortnox again: it may be another company than before
    if connection.id is not None:
        forget_client(connection.id)
    session.flush()
    if link and not connection_warnings(session, company, connection):
        link_connection(session, company, connection)
    return connection


def link_connection(session: Session, company: Company, connection: FortnoxConnection) -> None:
    """Let the company's integration book into ``connection``'s Fortnox company. Flushes."""
    integration = integration_for(session, company)
    integration.connection = connection
    session.flush()
    log.info("%s connected to Fortnox company %s (tenant %s, %s)", company.name, connection.fortnox_company_name,
             connection.tenant_id, connection.kind)


def _digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def connection_warnings(session: Session, company: Company, connection: FortnoxConnection) -> list[dict[str, str]]:
    """What a person must confirm before the company books into ``connection``'s Fortnox company:
    another restaurant of ours books there already (``shared``), or its organisation number is not
    the restaurant's (``org_number``). Empty when the company is linked to it already. Data, not text:
    ``messages.connection_warning`` words each."""
    integration = session.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == company.id))
    if integration is not None and integration.connection_id == connection.id:
        return []
    warnings = []
    others = sorted(i.company.name for i in connection.integrations if i.company_id != company.id)
    if others:
        warnings.append({"kind": "shared", "fortnox_company": connection.fortnox_company_name,
                         "others": ", ".join(others)})
    ours, theirs = _digits(company.org_number), _digits(connection.organization_number)
    if ours and theirs and ours != theirs:
        warnings.append({"kind": "org_number", "fortnox_company": connection.fortnox_company_name,
                         "fortnox_org_number": connection.organization_number or "", "company": company.name,
                         "org_number": company.org_number})
    return warnings


def forget_unlinked(session: Session, connection: FortnoxConnection, fortnox: FortnoxSettings) -> None:
    """A connection made for a consent the person then declined to use: when no restaurant books
    into it, its tokens are forgotten and revoked at Fortnox (commits first)."""
    if connection.integrations:
        return
    _forget_and_revoke(session, connection, fortnox)


def _forget_and_revoke(session: Session, connection: FortnoxConnection, fortnox: FortnoxSettings) -> None:
    """Forget the connection's tokens, commit, then revoke them at Fortnox (the tokens are forgotten
    whatever Fortnox answers, and no transaction stays open while it is called)."""
    refresh_token = decrypt(connection.refresh_token_enc)
    connection.forget_tokens(ConnectionStatus.REVOKED)
    forget_client(connection.id)
    session.commit()
    if refresh_token:
        try:
            oauth.revoke(fortnox.client_id, fortnox.client_secret, fortnox.revoke_url, refresh_token)
        except FortnoxError:
            log.warning("Fortnox did not confirm revoking connection %s; the tokens are forgotten anyway", connection.id)


def _budget_of(session: Session, fortnox: FortnoxSettings, tokens: oauth.TokenSet) -> RateBudget | None:
    """The tenant's shared rate-limit budget when the new token names the tenant (None: a private one)."""
    try:
        tenant_id = oauth.tenant_id_from_access_token(tokens.access_token)
    except FortnoxError:
        return None
    return budget_for(session.get_bind().engine, fortnox.client_id, tenant_id)


class StartDateMissingError(ValueError):
    """An integration is activated only with a start date (mapping-v1.md ``start_date``): without
    one, every stored report would be exported, however old."""


def activate(session: Session, company: Company) -> FortnoxIntegration:
    """Start exporting (the wizard's last step): jobs for the stored reports from the start date on.

    Raises ``StartDateMissingError`` when the company's mapping has no start date.
    """
    from backoffice.accounts.operations import load_mapping

    mapping = load_mapping(session, company)
    if mapping is None or mapping.start_date is None:
        raise StartDateMissingError(f"{company.name} has no start date: activating would export every report")
    integration = integration_for(session, company)
    integration.active = True
    integration.activated_at = now_utc()
    integration.deactivated_at = None
    session.flush()
    ensure_jobs(session, company)
    return integration


def deactivate(session: Session, company: Company, fortnox: FortnoxSettings) -> None:
    """"Inaktivera": stop exporting, revoke the authorisation at Fortnox and forget the tokens.

    The history (reports, jobs, attempts) stays. When another restaurant of ours still uses the
    same Fortnox connection, its tokens are kept for it: revoking them would stop its exports too.
    Flushes; when it revokes, it commits first (the tokens are forgotten whatever Fortnox answers).
    """
    integration = integration_for(session, company)
    integration.active = False
    integration.deactivated_at = now_utc()
    connection = integration.connection
    integration.connection = None
    session.flush()
    if connection is None:
        return
    others = [i for i in connection.integrations if i.company_id != company.id]
    if others:
        return
    _forget_and_revoke(session, connection, fortnox)
