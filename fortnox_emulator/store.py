"""The one lock around the emulator's state, and the optional state file behind it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from fortnox_emulator.persistence import dump_state, load_state
from fortnox_emulator.state import EmulatorState, new_state


class Store:
    """Holds the state and the lock every request holds while it reads or changes it.

    Operations call `mark_dirty()` when they change something; the app calls `save_if_dirty()`
    after each request, which rewrites the state file atomically (write a sibling, then
    os.replace), so a killed process keeps everything but the request in flight. Requests that
    change nothing cost nothing here.
    """

    def __init__(self, state: EmulatorState, state_file: Path | None = None) -> None:
        self.state = state
        self.state_file = state_file
        self.lock = threading.RLock()
        self._dirty = False

    @classmethod
    def open(cls, state_file: Path | None, *, jwt_secret: str | None = None) -> tuple[Store, bool]:
        """A store backed by `state_file`, loaded when it exists; also says whether it was new."""
        if state_file is not None and state_file.exists():
            return cls(load_state(state_file.read_text(encoding="utf-8")), state_file), False
        return cls(new_state(jwt_secret), state_file), True

    def mark_dirty(self) -> None:
        """Remember that the state changed and must be written."""
        self._dirty = True

    def save_if_dirty(self) -> None:
        """Write the state file if anything changed since the last write (and a file is set)."""
        with self.lock:
            if not self._dirty:
                return
            self._dirty = False
            if self.state_file is None:
                return
            tmp = self.state_file.with_name(self.state_file.name + ".tmp")
            tmp.write_text(dump_state(self.state), encoding="utf-8")
            os.replace(tmp, self.state_file)
