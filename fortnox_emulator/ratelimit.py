"""Fortnox's rate limit: 25 requests per 5 seconds per (client id, tenant), in two readings.

Source: api-facts.md §5 (docs page and spec `info.description`): a sliding window. A refused
request is not counted, so a client that backs off gets through as soon as the oldest counted
request leaves the window ("until enough time has passed to make the average 25 requests per period
again"). The algorithm is unpublished; Fortnox's older page described a weighted two-window
approximation (facts-2026-12 §3), played by :class:`WeightedWindowRateLimiter`, which refuses some
bursts that the sliding window allows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class SlidingWindowRateLimiter:
    """Allows at most `limit` calls per key in any window of `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._calls: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: Hashable) -> bool:
        """Count a call for `key` and say whether it is within the limit."""
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            cutoff = now - self.window
            while calls and calls[0] <= cutoff:
                calls.popleft()
            if len(calls) >= self.limit:
                return False
            calls.append(now)
            return True

    def reset(self) -> None:
        """Forget every counted call."""
        with self._lock:
            self._calls.clear()


class WeightedWindowRateLimiter:
    """Fixed windows of `window` seconds; a call is refused when the previous window's count, weighted
    by the share of it still inside the last `window` seconds, plus this window's count reaches `limit`.

    Unsourced in its details (where the windows start, rounding): the older Fortnox page named the
    idea only.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._counts: dict[Hashable, tuple[int, int, int]] = {}  # key → (window index, its count, previous count)
        self._lock = threading.Lock()

    def allow(self, key: Hashable) -> bool:
        """Count a call for `key` and say whether it is within the limit."""
        now = self._clock()
        index = int(now // self.window)
        elapsed = (now - index * self.window) / self.window
        with self._lock:
            current_index, current, previous = self._counts.get(key, (index, 0, 0))
            if index != current_index:
                previous = current if index == current_index + 1 else 0
                current = 0
            if previous * (1 - elapsed) + current + 1 > self.limit:
                self._counts[key] = (index, current, previous)
                return False
            self._counts[key] = (index, current + 1, previous)
            return True

    def reset(self) -> None:
        """Forget every counted call."""
        with self._lock:
            self._counts.clear()


def make_limiter(kind: str, limit: int, window: float) -> SlidingWindowRateLimiter | WeightedWindowRateLimiter:
    """The limiter of a `rate_window` reading ("sliding" or "weighted")."""
    return WeightedWindowRateLimiter(limit, window) if kind == "weighted" else SlidingWindowRateLimiter(limit, window)
