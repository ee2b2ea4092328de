"""Settings of one emulator instance.

Every number that makes a test slow in real Fortnox (token lifetime, rate-limit window, fault
delays) is a setting here, so tests can shrink it instead of sleeping.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields
from pathlib import Path

#: The readings of the facts no source settles (docs/fortnox/facts-2026-12.md), each a setting: the
#: first is the default. The back office must be right under every one (docs/EMULATOR.md "Readings").
READINGS: dict[str, tuple[str, ...]] = {
    "date_filter": ("inclusive", "todate_exclusive", "ignored", "refused"),
    "descriptions": ("verbatim", "normalised"),
    "rate_window": ("sliding", "weighted"),
    "file_connection_filters": ("honoured", "ignored"),
    "voucher_year_reading": ("id", "calendar"),
    "file_connection_pages": ("whole", "paged"),
}


def check_readings(**chosen: str) -> None:
    """Refuse a reading the emulator cannot play (ValueError names the choices)."""
    for name, value in chosen.items():
        if value not in READINGS[name]:
            raise ValueError(f"{name} must be one of {', '.join(READINGS[name])}")


@dataclass(slots=True)
class EmulatorSettings:
    """How an emulator behaves; the defaults are Fortnox's own values where they are known.

    client_id / client_secret: the one OAuth client the emulator knows (Fortnox checks them with
        HTTP Basic authentication on the token and revoke endpoints).
    redirect_uris: the redirect URIs registered for the client; None accepts any URI, because a
        newcomer's back office may run on any port.
    auto_approve: skip the consent page and answer at once (tests); see auto_approve_tenant_id and
        auto_approve_decision.
    auto_approve_tenant_id: the company an auto-approved consent is for; None means the first tenant.
    auto_approve_decision: "approve" or "deny" (deny redirects with error=access_denied).
    control: serve the test control API under /_emulator/ (off unless asked for).
    control_token: the token every control call must carry in its `X-Emulator-Token` header (and a
        call that changes something must be `application/json`), so that a web page in the same
        browser cannot reset tenants or revoke tokens. With control on and no token, a random one
        is made; `RunningEmulator.control` carries it.
    access_token_lifetime: seconds an access token is valid (Fortnox: 3600).
    refresh_token_lifetime: seconds a refresh token is valid (Fortnox: 45 days).
    authorization_code_lifetime: seconds an authorization code is valid (Fortnox: 10 minutes).
    rate_limit_requests / rate_limit_window: at most this many API calls per sliding window of
        this many seconds per (client id, tenant) (Fortnox: 25 per 5 s).
    scope_error_status: HTTP status for a missing scope (code 2000663); Fortnox has been seen
        answering both 400 and 403, we default to the 400 seen live.
    permission_error_status: HTTP status of a refused user right ("Saknar rättighet …", set through
        the control API); no source gives it, so 403 by default and 400 as the other reading.
    retry_after: a `Retry-After` header (seconds) on 429 answers; None sends none, as no source
        has ever seen Fortnox send one.
    date_filter: how `fromdate`/`todate` act on the voucher lists, a fact no source settles
        (facts-2026-12 §1): "inclusive" (both ends kept), "todate_exclusive" (`todate` itself left
        out), "ignored" (every voucher of the year comes back) or "refused" (400, 2000588).
    descriptions: whether a voucher's `Description` (and `Comments`) is stored "verbatim" or
        "normalised" (trimmed, runs of spaces collapsed, punctuation outside plain Latin letters and
        ASCII replaced), facts-2026-12 §2.
    rate_window: "sliding" (any 5 s holds at most `rate_limit_requests`, Fortnox's docs) or
        "weighted" (fixed windows, the previous one counted in proportion to the part still inside
        the last 5 s: the older docs' algorithm, facts-2026-12 §3), which refuses some bursts below 25.
    response_delay: seconds every /3/ call waits before it is processed.
    timeout_after_store_seconds: default wait of a `timeout_after_store` fault.
    request_log_size: how many requests the control API remembers (oldest forgotten first).
    state_file: JSON file that keeps tenants, tokens and vouchers across restarts; None keeps
        everything in memory.
    jwt_secret: HS256 key for access tokens; None makes (and persists) a random one.
    seed_demo_tenant: create the demo restaurant company at start when there is no state yet.
    max_upload_bytes: the largest file `POST /3/inbox` and `/3/archive` take; no source gives the
        API's limit (facts-2026-12 #10: the UI refuses images over 2.5 MB, the mail inbox takes 5 MB),
        so 5 MB by default.
    file_connection_filters: whether `GET /3/voucherfileconnections` honours `voucherseries`,
        `vouchernumber` and `voucheryear` ("honoured") or lists every connection ("ignored"); only a
        third-party page names those filters (facts-2026-12), so both readings are played.
    voucher_year_reading: what `VoucherYear` of a voucher file connection holds: the financial-year
        Id ("id", like `Year` on a voucher) or the calendar year the financial year starts in
        ("calendar"); no source says, so both are played (also for the `voucheryear` filter).
    file_connection_pages: whether `GET /3/voucherfileconnections` answers the whole list at once,
        without `MetaInformation` and whatever `limit`/`page` say ("whole", the spec's shape of the
        list), or one page of `limit` (100 by default) with `MetaInformation` like Fortnox's other
        lists ("paged"); no source says which.
    """

    client_id: str = "demo"
    client_secret: str = "demo-secret"
    redirect_uris: tuple[str, ...] | None = None
    auto_approve: bool = False
    auto_approve_tenant_id: int | None = None
    auto_approve_decision: str = "approve"
    control: bool = False
    control_token: str | None = None
    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 45 * 24 * 3600
    authorization_code_lifetime: int = 600
    rate_limit_requests: int = 25
    rate_limit_window: float = 5.0
    scope_error_status: int = 400
    permission_error_status: int = 403
    retry_after: float | None = None
    date_filter: str = "inclusive"
    descriptions: str = "verbatim"
    rate_window: str = "sliding"
    response_delay: float = 0.0
    timeout_after_store_seconds: float = 30.0
    request_log_size: int = 10_000
    state_file: Path | None = None
    jwt_secret: str | None = None
    seed_demo_tenant: bool = True
    max_upload_bytes: int = 5 * 1024 * 1024
    file_connection_filters: str = "honoured"
    voucher_year_reading: str = "id"
    file_connection_pages: str = "whole"

    def __post_init__(self) -> None:
        if self.auto_approve_decision not in ("approve", "deny"):
            raise ValueError("auto_approve_decision must be 'approve' or 'deny'")
        if self.scope_error_status not in (400, 403):
            raise ValueError("scope_error_status must be 400 or 403")
        if self.permission_error_status not in (400, 403):
            raise ValueError("permission_error_status must be 400 or 403")
        check_readings(**{name: getattr(self, name) for name in READINGS})
        if self.state_file is not None:
            self.state_file = Path(self.state_file)
        if self.control and not self.control_token:
            self.control_token = secrets.token_urlsafe(24)

    @classmethod
    def from_kwargs(cls, **kwargs: object) -> EmulatorSettings:
        """Build settings from keyword arguments, refusing unknown names (a typo would be silent)."""
        known = {f.name for f in fields(cls)}
        unknown = set(kwargs) - known
        if unknown:
            raise TypeError(f"unknown emulator settings: {', '.join(sorted(unknown))}")
        return cls(**kwargs)  # type: ignore[arg-type]
