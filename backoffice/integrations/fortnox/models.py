"""A Fortnox connection (one per Fortnox company) and each restaurant's integration with it.

Fortnox's refresh tokens are single-use: two token chains for one Fortnox company, or two
refreshes at once, invalidate each other. So a connection is keyed by Fortnox's tenant id
(``DatabaseNumber``) and shared by every restaurant of ours that books into that company.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.companies.models import Company
from backoffice.db import Base, now_utc


class ConnectionStatus(enum.StrEnum):
    #: tokens work (as far as we know); set by the OAuth callback
    ACTIVE = "active"
    #: Fortnox refused our refresh token (used elsewhere, expired or revoked): a user must log in again
    NEEDS_REAUTH = "needs_reauth"
    #: we revoked it ourselves ("Inaktivera"); the tokens are forgotten
    REVOKED = "revoked"


class ConnectionKind(enum.StrEnum):
    #: a person's login (authorization code + refresh tokens, 45 days each): lapses if unused, or
    #: when that person loses access in Fortnox
    USER = "user"
    #: a Fortnox service account ("Koppla med tjänstekonto"): consented once with
    #: ``account_type=service``, then client-credentials tokens with the ``TenantId`` header, no
    #: refresh token; valid until revoked
    SERVICE = "service"


class FortnoxConnection(Base):
    __tablename__ = "fortnox_connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Fortnox's DatabaseNumber (the JWT's tenantId): one connection, one token chain, per Fortnox company
    tenant_id: Mapped[int] = mapped_column(unique=True)
    fortnox_company_name: Mapped[str] = mapped_column(String(200))
    organization_number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[ConnectionStatus] = mapped_column(String(20), default=ConnectionStatus.ACTIVE)
    kind: Mapped[ConnectionKind] = mapped_column(String(20), default=ConnectionKind.USER)
    #: when Fortnox last accepted the connection's credentials (a refresh or a client-credentials
    #: grant): "Senast kontrollerad"; the keep-alive refreshes a user connection this old
    checked_at: Mapped[datetime | None]
    #: Fernet-encrypted access token; never stored or logged in clear
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    #: Fernet-encrypted refresh token (single-use: the new one is committed before it is used)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    scope: Mapped[str | None] = mapped_column(String(200))
    #: JSON of the cached metadata snapshot (accounts, series, cost centres, years, locked period)
    metadata_json: Mapped[str | None] = mapped_column(Text)
    metadata_fetched_at: Mapped[datetime | None]
    #: a worker's exclusive right to call Fortnox for this connection until ``lease_until``
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    integrations: Mapped[list[FortnoxIntegration]] = relationship(back_populates="connection")

    def forget_tokens(self, status: ConnectionStatus) -> None:
        """Drop the tokens (revoked, or a new login is needed) and say why in ``status``."""
        self.access_token_enc = None
        self.refresh_token_enc = None
        self.access_expires_at = None
        self.status = status


class FortnoxIntegration(Base):
    """A restaurant's use of Fortnox ("BOKFÖRING"): which connection, and whether it is active."""

    __tablename__ = "fortnox_integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), unique=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("fortnox_connection.id"), index=True)
    #: exports run only while active (the wizard's last step activates; "Inaktivera" deactivates)
    active: Mapped[bool] = mapped_column(default=False)
    activated_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
    last_export_at: Mapped[datetime | None]
    #: the step the setup wizard reached, so "Åtgärda detta" and a reload resume there
    wizard_step: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    company: Mapped[Company] = relationship()
    connection: Mapped[FortnoxConnection | None] = relationship(back_populates="integrations")



class FortnoxRateSlot(Base):
    """One of the ``MAX_CALLS`` slots of a Fortnox tenant's shared rate-limit budget (PostgreSQL).

    Fortnox counts requests per (client id, tenant), whoever sends them, so every process and machine
    of ours takes a slot here before it calls Fortnox (``integrations.fortnox.budget``). A slot is free
    once ``held_until`` has passed: a process that dies while it holds one frees it by the clock.
    """

    __tablename__ = "fortnox_rate_slot"

    #: ``<client id>:<tenant id>``: the key Fortnox counts by
    budget_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    #: the database server's clock: the slot counts against the window until then
    held_until: Mapped[datetime]
    #: who took it last (random per call), so that only its taker extends it when the answer arrives
    holder: Mapped[str | None] = mapped_column(String(36))
