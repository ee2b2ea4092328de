"""The token store of a Fortnox connection: encrypted at rest, refreshed by one process at a time.

Fortnox refresh tokens are single-use and rotate (``docs/fortnox/api-facts.md`` §4.4): if two
processes refresh at once, the loser presents a used token, Fortnox answers ``invalid_grant`` and
the whole chain is dead. So a refresh happens under a lock of the connection that every process
sees (PostgreSQL: an advisory lock; SQLite: a process lock plus a file lock), re-reads the tokens
under the lock, and commits the new refresh token before anyone uses it. The lock is not a
database transaction: no transaction is open while Fortnox is called (:func:`no_transaction_open`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, g, has_app_context
from sqlalchemy import text
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


class TransactionOpenError(RuntimeError):
    """Fortnox was about to be called while a database transaction was open: a bug in the caller.

    On SQLite an open transaction holds the write lock (``BEGIN IMMEDIATE``), so every POS post and
    login of the process would wait for Fortnox, and a token refresh, which writes in a session of
    its own, would wait for its own thread (issue "Hardening", High).
    """


def no_transaction_open() -> None:
    """The rule: **no database transaction is open while Fortnox is called.**

    Enforced here, in one place: every client of :func:`client_for` (the exports, the health check,
    the wizard, the benchmarks) calls this before each request, and the token refresh and the
    connect flow keep it the same way. The session of the current app context (the request's, the
    job's, the worker thread's) must have committed or rolled back. Raises
    :class:`TransactionOpenError` otherwise.
    """
    if not has_app_context():
        return
    db = g.get("db_session")
    if db is not None and db.in_transaction():
        raise TransactionOpenError("a database transaction is open while Fortnox is called; commit first")


#: pg_advisory_lock's first key: "Fortnox token refresh" (its second is the connection id).
_REFRESH_LOCK_CLASS = 0x464E5452


@contextlib.contextmanager
def _refresh_lock(connection_id: int) -> Iterator[None]:
    """Only one refresh of a connection at a time, in every process, and without a database transaction.

    PostgreSQL: a session-level advisory lock on an autocommit connection of its own (a process that
    dies releases it with its connection). SQLite: a process lock plus an ``flock`` on a file beside the
    database, so other processes wait for it but writers to the database do not.
    """
    engine = current_app.extensions["db_engine"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            keys = {"kind": _REFRESH_LOCK_CLASS, "id": connection_id}
            connection.execute(text("SELECT pg_advisory_lock(:kind, :id)"), keys)
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:kind, :id)"), keys)
        return
    database = engine.url.database
    with _SQLITE_REFRESH_LOCK:
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.fortnox-refresh.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def fresh_access_token(connection_id: int, *, force: bool = False, now: datetime | None = None) -> tuple[str, datetime]:
    """A valid access token of the connection and its expiry, refreshing it if it expires soon.

    ``force`` refreshes even a token that looks valid (Fortnox answered 401 to it). Raises
    ``FortnoxAuthError`` when the connection needs a new login; a refresh refused by Fortnox marks
    the connection ``needs_reauth`` (committed) first.

    Under the refresh lock the tokens are read again (another thread or process may have refreshed
    meanwhile) in a short transaction of their own, which ends before Fortnox is called; the new
    tokens are committed before they are used, because the old refresh token is dead from then on.
    """
    with _refresh_lock(connection_id):
        with _new_session() as session:
            connection = session.get(FortnoxConnection, connection_id)
            now = now or now_utc()
            service = connection is not None and connection.kind == ConnectionKind.SERVICE
            if connection is None or connection.status != ConnectionStatus.ACTIVE or (
                    connection.refresh_token_enc is None and not service):
                raise FortnoxAuthError(f"connection {connection_id} is {connection.status if connection else 'gone'}")
            expires = connection.access_expires_at
            if not force and expires is not None and expires - REFRESH_MARGIN > now:
                return decrypt(connection.access_token_enc), expires
            refresh_token = None if service else decrypt(connection.refresh_token_enc)
            kind, tenant_id = connection.kind, connection.tenant_id
            session.rollback()  # nothing was written: end the transaction before Fortnox is called
        fortnox = settings()
        try:
            if service:  # a service account: a new token for the tenant, no refresh token involved
                tokens = oauth.client_credentials(fortnox.client_id, fortnox.client_secret, fortnox.token_url, tenant_id)
            else:
                tokens = oauth.refresh(fortnox.client_id, fortnox.client_secret, fortnox.token_url, refresh_token)
        except FortnoxAuthError:
            log.warning("Fortnox refused the %s credentials of connection %s: a new login is needed", kind, connection_id)
            with _new_session() as session:
                session.get(FortnoxConnection, connection_id).forget_tokens(ConnectionStatus.NEEDS_REAUTH)
                session.commit()
            raise
        with _new_session() as session:
            store_tokens(session.get(FortnoxConnection, connection_id), tokens, now=now)
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
            client = FortnoxClient(http, base_url=fortnox.api_url, timeout=timeout, limiter=limiter,
                                   before_send=no_transaction_open)
            _clients[key] = client
        return client


def forget_client(connection_id: int) -> None:
    """Drop the cached client (after a reconnect or a deactivation)."""
    with _clients_lock:
        for key in [key for key in _clients if key[0] == connection_id]:
            _clients.pop(key).session.close()
