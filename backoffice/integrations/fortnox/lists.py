"""Fortnox's voucher series and chart of accounts as the settings wizard lists them, read live and
reused for a minute per connection."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app

from backoffice.db import session
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.errors import FortnoxAuthError, FortnoxError
from backoffice.integrations.fortnox.models import FortnoxConnection

#: How long a connection's chart of accounts and voucher series are reused between wizard pages
#: (Fortnox allows 25 calls per 5 s per company, shared with the exports).
FORTNOX_LIST_TTL = 60.0

#: (what, connection id) → (when read, the list as the wizard uses it)
_fortnox_lists: dict[tuple[str, int], tuple[float, object]] = {}
_fortnox_lists_lock = threading.Lock()

class FortnoxUnavailable(Exception):
    """Fortnox could not be asked; ``message`` says why, in Swedish."""

    def __init__(self, message: str, *, reauth: bool = False):
        super().__init__(message)
        self.message = message
        self.reauth = reauth


def call_fortnox(call):
    # End the request's transaction first: on SQLite it holds the write lock, which a token refresh
    # (in its own session) would wait for while this request waits for the refresh.
    session.commit()
    try:
        return call()
    except FortnoxAuthError as exc:
        raise FortnoxUnavailable(
            "Din Fortnox-autentisering har upphört att gälla. Logga in på fortnox för att uppdatera autentiseringen.",
            reauth=True,
        ) from exc
    except FortnoxError as exc:
        current_app.logger.warning("Fortnox could not be read for the wizard: %s", exc)
        raise FortnoxUnavailable("Fortnox svarar inte just nu. Försök igen om en stund.") from exc


@dataclass(frozen=True, slots=True)
class SeriesChoice:
    code: str
    description: str
    manual: bool

    @classmethod
    def from_fortnox(cls, item: dict) -> SeriesChoice:
        return cls(str(item["Code"]), item.get("Description") or "", item.get("Manual") is not False)


def _fortnox_list(what: str, connection: FortnoxConnection, read, *, fresh: bool):
    now = time.monotonic()
    with _fortnox_lists_lock:
        cached = _fortnox_lists.get((what, connection.id))
    if cached is not None and not fresh and now - cached[0] < FORTNOX_LIST_TTL:
        return cached[1]
    value = read(call_fortnox(lambda: getattr(client_for(connection), f"list_{what}")()))
    with _fortnox_lists_lock:
        _fortnox_lists[(what, connection.id)] = (now, value)
    return value


def fortnox_accounts(connection: FortnoxConnection, *, fresh: bool = False) -> dict[int, tuple[str, bool]]:
    """The connection's chart of accounts: number → (description, active), cached for a minute."""
    return _fortnox_list(
        "accounts",
        connection,
        lambda items: {int(a["Number"]): (a.get("Description") or "", a.get("Active") is not False) for a in items},
        fresh=fresh,
    )


def fortnox_series(connection: FortnoxConnection, *, fresh: bool = False) -> list[SeriesChoice]:
    """The connection's voucher series, cached for a minute."""
    return _fortnox_list(
        "voucher_series",
        connection,
        lambda items: [SeriesChoice.from_fortnox(item) for item in items],
        fresh=fresh,
    )


def forget_fortnox_lists(connection_id: int) -> None:
    """Read Fortnox again next time (after we changed its accounts or series)."""
    with _fortnox_lists_lock:
        for key in [key for key in _fortnox_lists if key[1] == connection_id]:
            del _fortnox_lists[key]
