"""What the emulated Fortnox remembers: companies (tenants), their books, and OAuth grants.

Fortnox facts this model follows (docs/fortnox/api-facts.md §2): accounts and voucher series
exist per financial year, cost centres do not; a voucher is identified by (financial year id,
series, number) and numbers run per series and year without gaps; `Year` in the API is the
financial-year *Id*, not a calendar year. Money is Decimal, rounded to the öre; time is aware UTC.

Everything here is plain data: `store.Store` owns the lock and the state file, and the operations
live in `bookkeeping` and `tokens`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

ZERO = Decimal("0.00")


def now_utc() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Account:
    """One BAS account in one financial year (Fortnox keeps the chart per year).

    cost_center_settings: ALLOWED, MANDATORY or NOTALLOWED, checked on voucher rows.
    """

    number: int
    description: str
    active: bool = True
    cost_center_settings: str = "ALLOWED"
    project_settings: str = "ALLOWED"
    transaction_information_settings: str = "ALLOWED"
    balance_brought_forward: Decimal = ZERO
    sru: int | None = None
    vat_code: str | None = None
    cost_center: str | None = None
    project: str | None = None


@dataclass(slots=True)
class VoucherSeries:
    """A voucher series in one financial year; only manual series accept vouchers over the API."""

    code: str
    description: str
    manual: bool
    next_number: int = 1


@dataclass(slots=True)
class FinancialYear:
    """A financial year (räkenskapsår) with its own chart of accounts and voucher series."""

    id: int
    from_date: date
    to_date: date
    accounting_method: str = "ACCRUAL"
    account_chart_type: str = "BAS 2024"
    accounts: dict[int, Account] = field(default_factory=dict)
    series: dict[str, VoucherSeries] = field(default_factory=dict)

    def contains(self, day: date) -> bool:
        """Whether `day` lies in this financial year (both ends included)."""
        return self.from_date <= day <= self.to_date


@dataclass(slots=True)
class CostCenter:
    """A cost centre (kostnadsställe); not per financial year."""

    code: str
    description: str
    active: bool = True
    note: str | None = None


@dataclass(slots=True)
class VoucherRow:
    """One stored voucher row; debit and credit are Decimal rounded to the öre."""

    account: int
    debit: Decimal
    credit: Decimal
    description: str | None = None
    cost_center: str | None = None
    project: str | None = None
    quantity: Decimal | None = None
    transaction_information: str | None = None
    #: struck out by a correction typed over the voucher in Fortnox's UI (control API only)
    removed: bool = False


@dataclass(slots=True)
class Voucher:
    """A stored voucher. The API never changes it once stored (Fortnox has no voucher update); only
    the control API can, standing in for a correction typed over it in Fortnox's UI."""

    year_id: int
    series: str
    number: int
    transaction_date: date
    description: str
    rows: list[VoucherRow]
    created_at: datetime
    comments: str | None = None
    cost_center: str | None = None
    project: str | None = None


@dataclass(slots=True)
class StoredFile:
    """A file uploaded to the inbox (`POST /3/inbox`) or the archive (`POST /3/archive`).

    folder: where it lies now: an inbox folder (`inbox_v` for vouchers, `inbox` for the root) or
        `archive`; a file connected to a voucher leaves the inbox for the archive.
    size / sha256: what was uploaded (the bytes themselves are not kept).
    """

    id: str
    archive_file_id: str
    name: str
    folder: str
    size: int
    sha256: str
    created_at: datetime


@dataclass(slots=True)
class FileConnection:
    """A file connected to a voucher (`POST /3/voucherfileconnections`); one voucher per file."""

    file_id: str
    year_id: int
    series: str
    number: int
    created_at: datetime


#: The user rights the control API can refuse, with their Swedish name (in "Saknar rättighet för …").
PERMISSION_NAMES = {"vouchers": "att skapa verifikationer"}


@dataclass(slots=True)
class Tenant:
    """One Fortnox company (database); `id` is the TenantId / DatabaseNumber."""

    id: int
    name: str
    org_number: str
    address: str = "Storgatan 1"
    zip_code: str = "111 22"
    city: str = "Stockholm"
    user_name: str = "Demo Användare"
    user_email: str = "demo@example.se"
    financial_years: dict[int, FinancialYear] = field(default_factory=dict)
    cost_centers: dict[str, CostCenter] = field(default_factory=dict)
    #: key (financial year id, series, number), insertion order = order stored. Vouchers never
    #: change, so the state file keeps them in an append-only journal beside the snapshot.
    vouchers: dict[tuple[int, str, int], Voucher] = field(default_factory=dict, metadata={"journal": True})
    #: Fortnox `LockedPeriod.EndDate`: bookkeeping up to and including this day is locked
    locked_until: date | None = None
    #: uploaded files by `Id` (inbox and archive)
    files: dict[str, StoredFile] = field(default_factory=dict)
    #: voucher file connections by `FileId`
    file_connections: dict[str, FileConnection] = field(default_factory=dict)
    #: permissions the connected user lacks (control API): a route needing one is refused with
    #: "Saknar rättighet …" whatever the token's scopes; today only ``vouchers`` (creating them)
    refused_permissions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AuthorizationCode:
    """A code handed out by the consent page; valid once, for 10 minutes."""

    code: str
    client_id: str
    tenant_id: int
    scopes: tuple[str, ...]
    redirect_uri: str | None
    expires_at: datetime
    service_account: bool = False
    #: the token chain the code was exchanged for (a replayed code kills it)
    chain_id: str | None = None


@dataclass(slots=True)
class TokenChain:
    """Tokens that descend from one consent: one authorization code and its refreshes.

    Fortnox invalidates the whole chain when a used refresh token is presented again; revoking
    any of its refresh tokens does the same.
    """

    id: str
    client_id: str
    tenant_id: int
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass(slots=True)
class RefreshToken:
    """A single-use refresh token (45 days)."""

    token: str
    chain_id: str
    expires_at: datetime
    used: bool = False


@dataclass(slots=True)
class AccessTokenRecord:
    """Server-side record of an issued access token (the JWT's `jti`)."""

    jti: str
    chain_id: str
    expires_at: datetime
    #: set by the control API to make an unexpired token fail as an expired one
    expired: bool = False


@dataclass(slots=True)
class ServiceConsent:
    """A consent given with account_type=service: allows client_credentials for this tenant."""

    client_id: str
    tenant_id: int
    scopes: tuple[str, ...]


@dataclass(slots=True)
class EmulatorState:
    """Everything that survives a restart when a state file is used."""

    jwt_secret: str
    next_tenant_id: int = 1_000_001
    tenants: dict[int, Tenant] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    chains: dict[str, TokenChain] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    access_tokens: dict[str, AccessTokenRecord] = field(default_factory=dict)
    #: key "client_id:tenant_id"
    service_consents: dict[str, ServiceConsent] = field(default_factory=dict)


def new_state(jwt_secret: str | None = None) -> EmulatorState:
    """An empty state with a signing key (random unless given)."""
    return EmulatorState(jwt_secret=jwt_secret or secrets.token_urlsafe(32))
