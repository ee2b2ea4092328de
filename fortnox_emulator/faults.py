"""Faults injected by the control API, and the log of requests received.

A fault applies to the next N requests that match its method, path prefix and (optionally)
tenant. Kinds:

- `500`: answer 500 with an ErrorInformation body, without processing.
- `429`: answer 429 `{"message": "Too Many Requests"}`, without processing; with `seconds`, a
  `Retry-After` header of that many seconds (else the `retry_after` setting, by default none).
- `drop`: close the connection before processing, without any HTTP answer.
- `timeout_after_store`: process the request fully (a voucher IS stored), then wait `seconds`
  before answering, or close the connection without answering (`after="drop"`). This is the
  ambiguous POST a client must reconcile before posting again.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

FAULT_KINDS = ("500", "429", "drop", "timeout_after_store")
AFTER_CHOICES = ("answer", "drop")


@dataclass(slots=True)
class Fault:
    """One armed fault; `remaining` counts down with each matching request."""

    id: int
    kind: str
    remaining: int
    method: str | None = None
    path_prefix: str = "/"
    tenant_id: int | None = None
    seconds: float | None = None
    after: str = "answer"

    def matches(self, method: str, path: str, tenant_id: int | None) -> bool:
        """Whether a request with this method, path and tenant triggers the fault."""
        return ((self.method is None or self.method == method)
                and path.startswith(self.path_prefix)
                and (self.tenant_id is None or self.tenant_id == tenant_id))

    def as_json(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        return asdict(self)


class FaultInjector:
    """The armed faults, first armed first matched."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, *, kind: str, count: int = 1, method: str | None = None, path_prefix: str = "/",
            tenant_id: int | None = None, seconds: float | None = None, after: str = "answer") -> Fault:
        """Arm a fault for the next `count` matching requests."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if after not in AFTER_CHOICES:
            raise ValueError("after must be 'answer' or 'drop'")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            fault = Fault(id=self._next_id, kind=kind, remaining=count, method=method.upper() if method else None,
                          path_prefix=path_prefix, tenant_id=tenant_id, seconds=seconds, after=after)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str, tenant_id: int | None) -> Fault | None:
        """The first fault matching this request, counted down (and disarmed at zero)."""
        if not self._faults:  # the common case costs no lock
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, tenant_id):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def list(self) -> list[Fault]:
        """The faults still armed."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()


@dataclass(slots=True)
class LoggedRequest:
    """One request as the control API reports it; status None means no answer was sent."""

    method: str
    path: str
    query: str
    tenant_id: int | None
    status: int | None
    time: datetime
    fault: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The entry as JSON-ready data (time in ISO 8601 UTC)."""
        data = asdict(self)
        data["time"] = self.time.isoformat()
        return data


class RequestLog:
    """The last `size` requests received on /3/ and /oauth-v1/ (the control API is not logged)."""

    def __init__(self, size: int) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=size)

    def record(self, entry: LoggedRequest) -> None:
        """Remember one request (deque.append is atomic, so no lock)."""
        self._entries.append(entry)

    def entries(self, tenant_id: int | None = None) -> list[LoggedRequest]:
        """Every remembered request, oldest first, optionally of one tenant."""
        entries = list(self._entries)
        return entries if tenant_id is None else [e for e in entries if e.tenant_id == tenant_id]

    def clear(self) -> None:
        """Forget every request."""
        self._entries.clear()
