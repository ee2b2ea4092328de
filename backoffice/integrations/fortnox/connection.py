"""The token store of a Fortnox connection: encrypted at rest, refreshed by one process at a time.

Fortnox refresh tokens are single-use and rotate (``docs/fortnox/api-facts.md`` §4.4): if two
processes refresh at once, the loser presents a used token, Fortnox answers ``invalid_grant`` and
the whole chain is dead. So a refresh happens under a lock on the connection row (PostgreSQL:
``SELECT … FOR UPDATE``; SQLite: a process-wide lock plus ``BEGIN IMMEDIATE``, which also
serialises processes), re-reads the tokens under the lock, and commits the new refresh token
before anyone uses it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.db import now_utc
from backoffice.integrations.fortnox import oauth
from backoffice.integrations.fortnox.budget import budget_for
from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.errors import FortnoxAuthError
from backoffice.integrations.fortnox.models import ConnectionKind, ConnectionStatus, FortnoxConnection

log = logging.getLogger(__name__)

#: Refresh this long before the access token expires, so no call meets an expired token.
REFRESH_MARGIN = timedelta(minutes=5)
_SQLITE_REFRESH_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class FortnoxSettings:
    """Where Fortnox is and who we are to it (from the app's configuration)."""

    client_id: str
    client_secret: str
    auth_url: str
    token_url: str
    revoke_url: str
    api_url: str

    def __repr__(self) -> str:  # the secret never reaches a log
        return f"FortnoxSettings(client_id={self.client_id!r}, api_url={self.api_url!r})"

    @classmethod
    def from_config(cls, config) -> FortnoxSettings:
        return cls(
            client_id=config["FORTNOX_CLIENT_ID"],
            client_secret=config["FORTNOX_CLIENT_SECRET"],
            auth_url=config["FORTNOX_AUTH_URL"],
            token_url=config["FORTNOX_TOKEN_URL"],
            revoke_url=config["FORTNOX_REVOKE_URL"],
            api_url=config["FORTNOX_API_URL"].rstrip("/"),
        )


def settings() -> FortnoxSettings:
    return FortnoxSettings.from_config(current_app.config)


def cipher() -> Fernet:
    return Fernet(current_app.config["TOKEN_ENCRYPTION_KEY"].encode("ascii"))


def decrypt(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise FortnoxAuthError("stored token cannot be decrypted (TOKEN_ENCRYPTION_KEY changed?)") from exc


def store_tokens(connection: FortnoxConnection, tokens: oauth.TokenSet, *, now: datetime | None = None) -> None:
    """Keep ``tokens`` on the connection, encrypted; Fortnox accepted our credentials ``now``.

    A service account's token has no refresh token, and none is kept.
    """
    fernet = cipher()
    connection.access_token_enc = fernet.encrypt(tokens.access_token.encode("utf-8")).decode("ascii")
    connection.refresh_token_enc = (
        fernet.encrypt(tokens.refresh_token.encode("utf-8")).decode("ascii") if tokens.refresh_token else None
    )
    connection.access_expires_at = tokens.expires_at
    connection.scope = tokens.scope
    connection.status = ConnectionStatus.ACTIVE
    connection.checked_at = now or now_utc()


def _new_session() -> Session:
    return current_app.extensions["db_sessionmaker"]()


def _locked(session: Session, connection_id: int) -> FortnoxConnection:
    return session.scalars(
        select(FortnoxConnection).where(FortnoxConnection.id == connection_id).with_for_update()
    ).one()


def fresh_access_token(connection_id: int, *, force: bool = False, now: datetime | None = None) -> tuple[str, datetime]:
    """A valid access token of the connection and its expiry, refreshing it if it expires soon.

    ``force`` refreshes even a token that looks valid (Fortnox answered 401 to it). Raises
    ``FortnoxAuthError`` when the connection needs a new login; a refresh refused by Fortnox marks
    the connection ``needs_reauth`` (committed) first.
    """
    is_sqlite = current_app.config["DATABASE_URL"].startswith("sqlite")
    lock = _SQLITE_REFRESH_LOCK if is_sqlite else contextlib.nullcontext()
    with lock, _new_session() as session:
        connection = _locked(session, connection_id)
        now = now or now_utc()
        service = connection.kind == ConnectionKind.SERVICE
        if connection.status != ConnectionStatus.ACTIVE or (connection.refresh_token_enc is None and not service):
            raise FortnoxAuthError(f"connection {connection_id} is {connection.status}")
        expires = connection.access_expires_at
        if not force and expires is not None and expires - REFRESH_MARGIN > now:
            return decrypt(connection.access_token_enc), expires
        fortnox = settings()
        try:
            if service:  # a service account: a new token for the tenant, no refresh token involved
                tokens = oauth.client_credentials(
                    fortnox.client_id, fortnox.client_secret, fortnox.token_url, connection.tenant_id
                )
            else:
                tokens = oauth.refresh(
                    fortnox.client_id, fortnox.client_secret, fortnox.token_url, decrypt(connection.refresh_token_enc)
                )
        except FortnoxAuthError:
            log.warning("Fortnox refused the %s credentials of connection %s: a new login is needed",
                        connection.kind, connection_id)
            connection.forget_tokens(ConnectionStatus.NEEDS_REAUTH)
            session.commit()
            raise
        store_tokens(connection, tokens, now=now)
        # Committed before the new tokens are used: the old refresh token is dead from now on.
        session.commit()
        log.info("Refreshed the Fortnox access token of connection %s", connection_id)
        return tokens.access_token, tokens.expires_at


class BearerAuth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer`` with the connection's current access token (refreshed as needed)."""

    def __init__(self, connection_id: int, app):
        self.connection_id = connection_id
        self.app = app
        self._token: str | None = None
        self._expires: datetime | None = None
        self._lock = threading.Lock()

    def token(self, *, force: bool = False) -> str:
        with self._lock:
            if force or self._token is None or self._expires - REFRESH_MARGIN <= now_utc():
                with self.app.app_context():
                    self._token, self._expires = fresh_access_token(self.connection_id, force=force)
            return self._token

    def adopt(self, token: str, expires: datetime) -> None:
        """Use a token just obtained elsewhere in this process (the keep-alive's refresh)."""
        with self._lock:
            self._token, self._expires = token, expires

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token()}"
        request.register_hook("response", self._retry_once_on_401)
        return request

    def _retry_once_on_401(self, response, **kwargs):
        """Fortnox answered 401: nothing was processed, so refresh the token and send once more.

        A second 401 is returned as it is: the connection has been invalidated at Fortnox.
        """
        if response.status_code != 401 or getattr(response.request, "_fortnox_retried", False):
            return response
        token = self.token(force=True)
        response.content  # noqa: B018 - read, so the connection can be reused
        response.close()
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {token}"
        retry._fortnox_retried = True
        again = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again


_clients: dict[tuple[int, str], FortnoxClient] = {}
_clients_lock = threading.Lock()


def client_for(connection: FortnoxConnection) -> FortnoxClient:
    """The process's Fortnox client of a connection: one session, one token cache, and the tenant's
    rate-limit budget, which every process shares on PostgreSQL."""
    app = current_app._get_current_object()
    fortnox = settings()
    key = (connection.id, fortnox.api_url)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            http = requests.Session()
            http.auth = BearerAuth(connection.id, app)
            timeout = (5.0, float(app.config.get("FORTNOX_READ_TIMEOUT", 30.0)))
            limiter = budget_for(app.extensions["db_engine"], fortnox.client_id, connection.tenant_id)
            client = FortnoxClient(http, base_url=fortnox.api_url, timeout=timeout, limiter=limiter)
            _clients[key] = client
        return client


def forget_client(connection_id: int) -> None:
    """Drop the cached client (after a reconnect or a deactivation)."""
    with _clients_lock:
        for key in [key for key in _clients if key[0] == connection_id]:
            _clients.pop(key).session.close()
