"""Fortnox's OAuth2 HTTP flows with requests-oauthlib (``docs/fortnox/api-facts.md`` §4).

Plain functions, no state: the caller (the connection's token store) decides when to call them and
stores what they return. What Fortnox requires, and why the code looks as it does:

- Client authentication is HTTP Basic (``auth=HTTPBasicAuth(client_id, client_secret)``) on the token
  and revoke endpoints. requests-oauthlib's ``auto_refresh_kwargs`` would put the credentials in the
  body, so refreshing is an explicit :func:`refresh` call, never automatic.
- **Each refresh token works once**: a refresh returns a new refresh token and kills the old one; a
  second use answers 400 ``invalid_grant`` (with a ``text/html`` content type). The caller must
  store the new :class:`TokenSet` in the same transaction that took the row lock, and must treat a
  :class:`~backoffice.integrations.fortnox.errors.FortnoxConnectionError` with ``ambiguous=True``
  during a refresh as "the old token may be spent".
- Refusals go through :func:`~backoffice.integrations.fortnox.errors.error_for`, like the API's, so
  ``invalid_grant`` is ``FortnoxAuthError`` and ``invalid_client`` is ``InvalidClientError``.
- oauthlib refuses ``http://`` unless ``OAUTHLIB_INSECURE_TRANSPORT`` is set. The emulator runs on
  ``http://127.0.0.1``, so :func:`_transport_allowed` allows plain HTTP for loopback hosts only.
- Tokens and the client secret are never logged. requests-oauthlib logs token responses and request
  bodies at DEBUG level, so this module drops that logger's DEBUG records (see :class:`_NoSecrets`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from oauthlib.oauth2 import OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from backoffice.integrations.fortnox.errors import TRANSPORT_ERRORS, FortnoxError, connection_error_for, error_for

#: What the product asks for (README "Decisions where the sources are silent"): vouchers, accounts,
#: series and financial years (bookkeeping), cost centres, company information, and the locked period,
#: which may need ``settings``. Scopes only change with a new consent, so ask for all of them at once.
DEFAULT_SCOPES = ("bookkeeping", "costcenter", "companyinformation", "settings")
#: ``(connect, read)`` seconds for the token and revoke endpoints.
TIMEOUT = (5.0, 30.0)

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_INSECURE = "OAUTHLIB_INSECURE_TRANSPORT"
_insecure_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class TokenSet:
    """The answer of Fortnox's token endpoint; ``repr`` hides both tokens.

    access_token: the JWT sent as ``Authorization: Bearer …`` (valid ``expires_in`` seconds, 1 h today).
    refresh_token: single use, valid 45 days; every refresh returns a new one. Empty for a
        service account's client-credentials token, which has none.
    expires_at: when the access token expires (aware UTC), from ``expires_in`` and the time the
        request was sent, so it errs on the early side.
    scope: the scopes granted, space-separated, as Fortnox answered them.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str

    def expires_soon(self, now: datetime, *, margin: timedelta = timedelta(minutes=5)) -> bool:
        """Tell whether the access token expires within ``margin`` of ``now`` (refresh it first)."""
        return now + margin >= self.expires_at


def authorization_url(
    client_id: str,
    auth_url: str,
    redirect_uri: str,
    state: str,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    *,
    service_account: bool = False,
) -> str:
    """The URL of Fortnox's consent page; the user comes back to ``redirect_uri`` with ``code`` and ``state``.

    ``access_type=offline`` asks for a refresh token; the scopes are space-separated (api-facts §4.1).
    ``service_account`` adds ``account_type=service``: a system administrator consents once for the
    company, and from then on tokens come from :func:`client_credentials` (facts-2026-12.md).
    """
    extra = {"account_type": "service"} if service_account else {}
    with _transport_allowed(auth_url):
        session = OAuth2Session(client_id, redirect_uri=redirect_uri, scope=list(scopes))
        url, _state = session.authorization_url(auth_url, state=state, access_type="offline", **extra)
    return url


def exchange_code(
    client_id: str,
    client_secret: str,
    token_url: str,
    code: str,
    redirect_uri: str,
    *,
    timeout: tuple[float, float] = TIMEOUT,
) -> TokenSet:
    """Trade the authorization code from the callback for a :class:`TokenSet` (the code lives 10 minutes).

    ``redirect_uri`` must be the one sent to the consent page.
    """
    sent_at = datetime.now(UTC)
    session = _token_session(client_id, redirect_uri=redirect_uri)
    with _transport_allowed(token_url), _as_fortnox_errors(token_url):
        token = session.fetch_token(
            token_url,
            code=code,
            auth=HTTPBasicAuth(client_id, client_secret),
            include_client_id=False,
            timeout=timeout,
        )
    return _token_set(token, sent_at)


def refresh(
    client_id: str,
    client_secret: str,
    token_url: str,
    refresh_token: str,
    *,
    timeout: tuple[float, float] = TIMEOUT,
) -> TokenSet:
    """Spend ``refresh_token`` on a new :class:`TokenSet`; the old refresh token is dead afterwards.

    Raises ``FortnoxAuthError`` when the token was already used, expired or revoked: the user must
    connect again.
    """
    sent_at = datetime.now(UTC)
    session = _token_session(client_id)
    with _transport_allowed(token_url), _as_fortnox_errors(token_url):
        token = session.refresh_token(
            token_url,
            refresh_token=refresh_token,
            auth=HTTPBasicAuth(client_id, client_secret),
            timeout=timeout,
        )
    return _token_set(token, sent_at)


def client_credentials(
    client_id: str,
    client_secret: str,
    token_url: str,
    tenant_id: int,
    *,
    timeout: tuple[float, float] = TIMEOUT,
) -> TokenSet:
    """A service account's access token: ``grant_type=client_credentials`` with the ``TenantId`` header.

    No refresh token comes with it (facts-2026-12.md): ask again when the hour is over. Raises
    ``FortnoxAuthError`` when Fortnox has no (or no longer a) service consent for the tenant.
    """
    sent_at = datetime.now(UTC)
    with _transport_allowed(token_url), _as_fortnox_errors(token_url):
        response = requests.post(
            token_url,
            data={"grant_type": "client_credentials"},
            auth=HTTPBasicAuth(client_id, client_secret),
            headers={"Accept": "application/json", "TenantId": str(int(tenant_id))},
            timeout=timeout,
        )
    if response.status_code >= 400:
        raise error_for(response)
    try:
        token = response.json()
    except ValueError as exc:
        raise FortnoxError("Fortnox's token endpoint gave an unusable answer (not JSON)") from exc
    if not isinstance(token, dict) or not token.get("access_token"):
        raise FortnoxError("Fortnox's token endpoint gave an unusable answer (no access_token)")
    # Whatever refresh token might come along is not ours to keep: a service account has none.
    return _token_set({**token, "refresh_token": None}, sent_at)


def revoke(
    client_id: str,
    client_secret: str,
    revoke_url: str,
    refresh_token: str,
    *,
    timeout: tuple[float, float] = TIMEOUT,
) -> None:
    """Revoke the token chain of ``refresh_token`` (disconnecting a company).

    requests-oauthlib has no revocation call, so this is a plain form POST with Basic auth, as
    Fortnox documents it: ``token_type_hint=refresh_token&token=…``.
    """
    with _transport_allowed(revoke_url), _as_fortnox_errors(revoke_url):
        response = requests.post(
            revoke_url,
            data={"token_type_hint": "refresh_token", "token": refresh_token},
            auth=HTTPBasicAuth(client_id, client_secret),
            headers={"Accept": "application/json"},
            timeout=timeout,
        )
    if response.status_code >= 400:
        raise error_for(response)


def tenant_id_from_access_token(access_token: str) -> int:
    """The Fortnox tenant id (the company's ``DatabaseNumber``) from the JWT's ``tenantId`` claim.

    The signature is not verified: Fortnox signs with a key we do not have, and the token came to us
    straight from Fortnox's token endpoint over TLS.
    """
    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
        return int(claims["tenantId"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise FortnoxError("the access token carries no readable tenantId claim") from exc


# --- helpers ----------------------------------------------------------------------------------------


def _token_session(client_id: str, *, redirect_uri: str | None = None) -> OAuth2Session:
    """A fresh OAuth2Session whose token answers are checked by ``error_for`` before oauthlib parses them.

    No scope is given, so oauthlib accepts whatever scope Fortnox grants instead of raising a
    "Scope has changed" warning.
    """
    session = OAuth2Session(client_id, redirect_uri=redirect_uri)
    session.register_compliance_hook("access_token_response", _raise_refusal)
    session.register_compliance_hook("refresh_token_response", _raise_refusal)
    return session


def _raise_refusal(response: requests.Response) -> requests.Response:
    if response.status_code >= 400:
        raise error_for(response)
    return response


def _token_set(token: Mapping[str, Any], sent_at: datetime) -> TokenSet:
    """Build a TokenSet from oauthlib's token dict.

    A missing ``expires_in`` makes the access token count as expired at once, so the next use
    refreshes it; raising instead would lose a refresh token Fortnox has just rotated.
    """
    try:
        lifetime = timedelta(seconds=float(token.get("expires_in") or 0))
    except (TypeError, ValueError):
        lifetime = timedelta(0)
    return TokenSet(
        access_token=str(token["access_token"]),
        refresh_token=str(token.get("refresh_token") or ""),
        expires_at=sent_at + lifetime,
        scope=_scope_text(token.get("scope")),
    )


def _scope_text(scope: object) -> str:
    if isinstance(scope, list | tuple):
        return " ".join(str(item) for item in scope)
    return str(scope or "")


@contextmanager
def _as_fortnox_errors(url: str) -> Iterator[None]:
    """Turn transport failures and oauthlib's own refusals into FortnoxErrors."""
    try:
        yield
    except TRANSPORT_ERRORS as exc:
        raise connection_error_for(exc, method="POST", url=url) from exc
    except OAuth2Error as exc:  # a 2xx answer oauthlib cannot read as a token (no access_token…)
        raise FortnoxError(f"Fortnox's token endpoint gave an unusable answer ({exc.error})") from exc


@contextmanager
def _transport_allowed(url: str) -> Iterator[None]:
    """Let oauthlib use ``url``: HTTPS always, plain HTTP only on a loopback host (the emulator).

    oauthlib only reads the process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` variable, so it is set just
    around the loopback call, under a lock that also keeps two such calls from unsetting it for each
    other. It is never set for a non-loopback host: such an ``http://`` URL is refused here.
    """
    parts = urlsplit(url)
    if parts.scheme == "https":
        yield
        return
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError(f"refusing to send OAuth credentials to {parts.scheme}://{parts.hostname}: use https")
    with _insecure_lock:
        previous = os.environ.get(_INSECURE)
        os.environ[_INSECURE] = "1"
        try:
            yield
        finally:
            if previous is None:
                del os.environ[_INSECURE]
            else:
                os.environ[_INSECURE] = previous


class _NoSecrets(logging.Filter):
    """Drop requests-oauthlib's DEBUG records: they print token answers and request bodies."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


logging.getLogger("requests_oauthlib.oauth2_session").addFilter(_NoSecrets())
