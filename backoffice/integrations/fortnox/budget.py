"""One rate-limit budget per Fortnox tenant, shared by every process and machine of ours.

Fortnox counts 25 requests per sliding 5 seconds per (client id, tenant), whoever sends them
(``docs/fortnox/facts-2026-12.md``, "Rate limit"). A web process reading the chart of accounts
for the wizard and three ``flask worker`` processes exporting a backlog for the same company
spend one budget; each counting alone, they sent up to four times what Fortnox allows.

- On PostgreSQL the budget is a ring of ``MAX_CALLS`` rows per tenant (``fortnox_rate_slot``). A call
  takes a free row (``held_until`` past) with ``FOR UPDATE SKIP LOCKED`` and holds it for ``PERIOD``
  from the database server's clock; the answer's arrival extends it to ``PERIOD`` after that, as the
  in-process limiter does. Each statement is its own transaction (autocommit), so nothing is held
  between them: a process that dies holding slots frees them when their time runs out, and a
  transaction of the caller's is never joined or kept open.
- On SQLite (one process: the embedded worker) the in-process
  :class:`~backoffice.integrations.fortnox.ratelimit.SlidingWindowLimiter` is the whole budget.

Why at most ``MAX_CALLS`` calls start in any ``PERIOD``: a row taken at ``t`` is not free before
``t + PERIOD``, so calls that start within one period take distinct rows, and there are ``MAX_CALLS``.
The database's clock is the only clock, so machines whose clocks disagree still share one window.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine

from backoffice.integrations.fortnox.ratelimit import MAX_CALLS, PERIOD, RateBudget, limiter_for

log = logging.getLogger(__name__)

#: Longest single sleep while waiting for a slot: another process's release or pause may change the
#: answer, and a waiter should see it without sleeping a whole period.
MAX_POLL = 1.0
#: Shortest sleep, for when the free rows are only locked by other takers for a moment.
MIN_POLL = 0.01

_TAKE = text(
    """
    WITH free AS (
        SELECT slot FROM fortnox_rate_slot
        WHERE budget_key = :key AND held_until <= clock_timestamp()
        ORDER BY held_until, slot
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE fortnox_rate_slot AS taken
    SET held_until = clock_timestamp() + make_interval(secs => :period), holder = :holder
    FROM free
    WHERE taken.budget_key = :key AND taken.slot = free.slot
    RETURNING taken.slot
    """
)
_WAIT = text(
    """
    SELECT count(*), EXTRACT(EPOCH FROM min(held_until) - clock_timestamp())
    FROM fortnox_rate_slot WHERE budget_key = :key
    """
)
_CREATE = text(
    """
    INSERT INTO fortnox_rate_slot (budget_key, slot, held_until, holder)
    SELECT :key, slot, clock_timestamp() - make_interval(secs => :period), NULL
    FROM generate_series(0, :slots - 1) AS slot
    ON CONFLICT DO NOTHING
    """
)
_RELEASE = text(
    """
    UPDATE fortnox_rate_slot
    SET held_until = greatest(held_until, clock_timestamp() + make_interval(secs => :period))
    WHERE budget_key = :key AND slot = :slot AND holder = :holder
    """
)
_PAUSE = text(
    """
    UPDATE fortnox_rate_slot
    SET held_until = greatest(held_until, clock_timestamp() + make_interval(secs => :pause))
    WHERE budget_key = :key
    """
)
_IN_WINDOW = text(
    "SELECT count(*) FROM fortnox_rate_slot WHERE budget_key = :key AND held_until > clock_timestamp()"
)


@dataclass(slots=True)
class SlotPermit:
    """A row of the shared budget taken for one call: its number and who took it."""

    slot: int
    holder: str


class SharedBudget:
    """A tenant's budget in PostgreSQL: at most ``max_calls`` calls start in any ``period``, across processes.

    engine: the app's engine (its statements here run in autocommit). key: ``<client id>:<tenant id>``.
    The threads of one process take turns asking the database, so that a waiting process sends one
    query per poll, not one per thread.
    """

    def __init__(self, engine: Engine, key: str, *, max_calls: int = MAX_CALLS, period: float = PERIOD,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if max_calls < 1 or period <= 0:
            raise ValueError("max_calls must be at least 1 and period positive")
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.key = key
        self.max_calls = max_calls
        self.period = period
        self._sleep = sleep
        self._turn = threading.Lock()

    def acquire(self) -> SlotPermit:
        """Block until a slot is free, take it and return it (pass it to :meth:`release`)."""
        holder = str(uuid.uuid4())
        params = {"key": self.key, "period": self.period, "holder": holder, "slots": self.max_calls}
        asked = time.monotonic()
        with self._turn:
            while True:
                with self.engine.connect() as connection:
                    slot = connection.execute(_TAKE, params).scalar()
                    if slot is not None:
                        if log.isEnabledFor(logging.DEBUG):  # which calls wait, and for how long
                            log.debug("Rate budget %s: slot %s after %.3f s", self.key, slot, time.monotonic() - asked)
                        return SlotPermit(slot, holder)
                    count, wait = connection.execute(_WAIT, params).one()
                    if count < self.max_calls:  # first use of this tenant's budget (or fewer slots before)
                        connection.execute(_CREATE, params)
                        continue
                self._sleep(min(max(float(wait or 0.0), MIN_POLL), MAX_POLL))

    def release(self, permit: SlotPermit) -> None:
        """The call's answer has arrived: hold its slot until ``period`` after now (database clock)."""
        with self.engine.connect() as connection:
            connection.execute(_RELEASE, {"key": self.key, "period": self.period, "slot": permit.slot,
                                          "holder": permit.holder})

    @contextmanager
    def slot(self) -> Iterator[SlotPermit]:
        """``with budget.slot(): send()``: take a slot before the call, release it after the answer."""
        permit = self.acquire()
        try:
            yield permit
        finally:
            self.release(permit)

    def report_rate_limited(self, retry_after: float | None = None) -> None:
        """Fortnox answered 429: no process of ours starts a call for this tenant for a while.

        ``retry_after`` seconds when Fortnox sent it, else a whole period (its window drains).
        """
        pause = self.period if retry_after is None else max(float(retry_after), 0.0)
        with self.engine.connect() as connection:
            connection.execute(_PAUSE, {"key": self.key, "pause": pause})

    def in_window(self) -> int:
        """How many slots count against the window now, in every process (tests and diagnostics)."""
        with self.engine.connect() as connection:
            return int(connection.execute(_IN_WINDOW, {"key": self.key}).scalar_one())


_shared: dict[tuple[Engine, str], SharedBudget] = {}
_shared_lock = threading.Lock()


def budget_key(client_id: str, tenant_id: int) -> str:
    """What Fortnox counts by: our client id and the tenant."""
    return f"{client_id}:{int(tenant_id)}"


def budget_for(engine: Engine, client_id: str, tenant_id: int) -> RateBudget:
    """The rate-limit budget of a Fortnox tenant for this app: shared through PostgreSQL, else in-process."""
    key = budget_key(client_id, tenant_id)
    if engine.dialect.name != "postgresql":
        return limiter_for(key)
    with _shared_lock:
        budget = _shared.get((engine, key))
        if budget is None:
            budget = _shared[(engine, key)] = SharedBudget(engine, key)
        return budget
