"""A client-side sliding-window rate limiter, one per Fortnox connection.

Fortnox allows 25 requests per 5 seconds in a sliding window, per client id and tenant, and answers
429 beyond it; integrators report that exactly 25 still trips it, while 24 works consistently
(``docs/fortnox/api-facts.md`` §5). So the limiter lets at most 24 calls start in any 5 seconds.

Fortnox counts a request when it arrives, which is some time after we let it go; a request that
waited longer on the way (a new TLS connection, a busy thread) can make two of ours look closer to
Fortnox than they were to us. A call can therefore be *released* when its response has arrived: its
slot is then held until ``period`` after the release, by which time Fortnox surely counted it. A call
never released holds its slot for ``period`` after it started, so a plain ``acquire()`` cannot leak.

Thread-safe: the lock is held only to book a slot, never while sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

#: Fortnox's documented limit is 25 per 5 s; 25 is reported to trip it, 24 is not.
MAX_CALLS = 24
#: Length of Fortnox's sliding window, in seconds.
PERIOD = 5.0


class RateBudget(Protocol):
    """What the client needs of a rate-limit budget: this module's in-process limiter, or the one
    shared by every process through PostgreSQL (``integrations.fortnox.budget``)."""

    def slot(self) -> AbstractContextManager[Any]:
        """Wait for a slot, hold it during the call, release it when the answer has arrived."""
        ...

    def report_rate_limited(self, retry_after: float | None = None) -> None:
        """Fortnox answered 429: start no call for a while."""
        ...


class Permit:
    """A booked slot in the window; it counts until ``stamp + period`` (stamp: start, then release)."""

    __slots__ = ("stamp",)

    def __init__(self, stamp: float) -> None:
        self.stamp = stamp


class SlidingWindowLimiter:
    """At most ``max_calls`` calls start in any ``period`` seconds; :meth:`acquire` blocks until one may.

    clock: a monotonic clock in seconds; sleep: how to wait. Both are injectable so that tests can
    drive the window without real time.
    """

    def __init__(
        self,
        max_calls: int = MAX_CALLS,
        period: float = PERIOD,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_calls < 1 or period <= 0:
            raise ValueError("max_calls must be at least 1 and period positive")
        self.max_calls = max_calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._permits: list[Permit] = []
        self._paused_until = float("-inf")

    def acquire(self) -> Permit:
        """Block until a call is allowed, book its slot and return it (pass it to :meth:`release`)."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    permit = Permit(now)
                    self._permits.append(permit)
                    return permit
            self._sleep(wait)

    def release(self, permit: Permit) -> None:
        """The call's response has arrived: hold its slot until ``period`` after now, not after its start."""
        with self._lock:
            permit.stamp = max(permit.stamp, self._clock())

    @contextmanager
    def slot(self) -> Iterator[Permit]:
        """``with limiter.slot(): send()``: acquire before the call, release after its response."""
        permit = self.acquire()
        try:
            yield permit
        finally:
            self.release(permit)

    def report_rate_limited(self, retry_after: float | None = None) -> None:
        """Fortnox answered 429: its window, which we cannot see, is full; let no call start for a while.

        Honour ``retry_after`` (seconds) when Fortnox sent one; otherwise wait a whole period, so that
        Fortnox's window drains of everything sent before the 429.
        """
        pause = self.period if retry_after is None else retry_after
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + pause)

    def in_window(self) -> int:
        """How many calls count against the window now (for tests and diagnostics)."""
        with self._lock:
            now = self._clock()
            self._forget_before(now)
            return len(self._permits)

    def _wait_needed(self, now: float) -> float:
        """Seconds until a call may start (≤ 0: now). Called with the lock held."""
        if now < self._paused_until:
            return self._paused_until - now
        self._forget_before(now)
        if len(self._permits) < self.max_calls:
            return 0.0
        # Enough permits must expire to leave one slot free; stamps are not ordered once released.
        stamps = sorted(permit.stamp for permit in self._permits)
        return stamps[len(stamps) - self.max_calls] + self.period - now

    def _forget_before(self, now: float) -> None:
        self._permits = [permit for permit in self._permits if permit.stamp + self.period > now]


_registry: dict[str, SlidingWindowLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(key: str) -> SlidingWindowLimiter:
    """The process-wide limiter for one Fortnox connection (e.g. the tenant id), created on first use.

    Fortnox counts per client id and tenant, so every client of the same connection in this process
    must share one limiter; one process-wide registry gives them the same object.
    """
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = SlidingWindowLimiter()
        return limiter
