"""Keep-alive: a connection that exports nothing (a restaurant closed for the summer) never lapses.

The hourly job is ``export.tasks.keep_alive``; this module decides which connections it refreshes
and refreshes one.

A person's refresh token dies after 45 days unused (docs/fortnox/facts-2026-12.md). The hourly
health check reads Fortnox, and so refreshes the token, while the worker runs; this job is the
guarantee that does not depend on it: a user connection whose credentials Fortnox last accepted
``KEEP_ALIVE_AFTER`` ago is refreshed now (under the connection's row lock, like every refresh)
and then makes one call through the tenant's rate limiter, which shows the new token works. A
service account has no refresh token and needs none of this.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.integrations.fortnox.connection import client_for, fresh_access_token
from backoffice.integrations.fortnox.models import ConnectionKind, ConnectionStatus, FortnoxConnection

#: Refresh a connection whose credentials Fortnox last accepted this long ago: well inside the
#: 45 days of a refresh token, with two weeks to spare for a worker that was down.
KEEP_ALIVE_AFTER = timedelta(days=30)


def connections_to_keep_alive(db: Session, now: datetime) -> list[FortnoxConnection]:
    """Active user connections whose refresh token is ``KEEP_ALIVE_AFTER`` old (or of unknown age)."""
    last = func.coalesce(FortnoxConnection.checked_at, FortnoxConnection.created_at)
    return db.scalars(
        select(FortnoxConnection)
        .where(
            FortnoxConnection.status == ConnectionStatus.ACTIVE,
            FortnoxConnection.kind == ConnectionKind.USER,
            FortnoxConnection.refresh_token_enc.is_not(None),
            last <= now - KEEP_ALIVE_AFTER,
        )
        .order_by(FortnoxConnection.id)
    ).all()


def keep_connection_alive(db: Session, connection: FortnoxConnection, *, now: datetime) -> None:
    """Spend the refresh token on a new one (45 days again) and check the new token with one call.

    Raises ``FortnoxAuthError`` when Fortnox refuses (the connection is marked as needing a login).
    """
    db.commit()  # no transaction (on SQLite: the write lock) open while Fortnox is called
    token, expires = fresh_access_token(connection.id, force=True, now=now)
    client = client_for(connection)
    client.session.auth.adopt(token, expires)  # the call below checks exactly the new token
    client.company_information()
