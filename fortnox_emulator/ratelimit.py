"""Fortnox's rate limit: 25 requests per sliding 5 seconds per (client id, tenant).

Source: api-facts.md §5 (docs page and spec `info.description`). A refused request is not
counted, so a client that backs off gets through as soon as the oldest counted request leaves
the window ("until enough time has passed to make the average 25 requests per period again").
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
