"""The one lock around the emulator's state, and the optional state file behind it."""

from __future__ import annotations

import os
import threading
from itertools import islice
from pathlib import Path

from fortnox_emulator.persistence import dump_snapshot, load_state, voucher_line
from fortnox_emulator.state import EmulatorState, new_state


def journal_path(state_file: Path) -> Path:
    """Where the vouchers of `state_file` are journalled."""
    return state_file.with_name(state_file.name + ".vouchers.jsonl")


class Store:
    """Holds the state and the lock every request holds while it reads or changes it.

    Operations call `mark_dirty()` when they change something; the app calls `save_if_dirty()`
    after each request. Saving appends the vouchers stored since the last save to the journal,
    then rewrites the snapshot atomically (write a sibling, then os.replace), so a killed process
    keeps everything but the request in flight. Requests that change nothing cost nothing here.
    """

    def __init__(self, state: EmulatorState, state_file: Path | None = None) -> None:
        self.state = state
        self.state_file = state_file
        self.lock = threading.RLock()
        self._dirty = False
        #: tenant id → (identity of its vouchers dict, how many of them are in the journal)
        self._journalled = self._journal_marks()

    @classmethod
    def open(cls, state_file: Path | None, *, jwt_secret: str | None = None) -> tuple[Store, bool]:
        """A store backed by `state_file`, loaded when it exists; also says whether it was new."""
        if state_file is not None and state_file.exists():
            journal = journal_path(state_file)
            lines = journal.read_text(encoding="utf-8").splitlines() if journal.exists() else []
            return cls(load_state(state_file.read_text(encoding="utf-8"), lines), state_file), False
        return cls(new_state(jwt_secret), state_file), True

    def mark_dirty(self) -> None:
        """Remember that the state changed and must be written."""
        self._dirty = True

    def save_if_dirty(self) -> None:
        """Write what changed since the last save (when a state file is set)."""
        with self.lock:
            if not self._dirty:
                return
            self._dirty = False
            if self.state_file is None:
                return
            self._write_journal()
            tmp = self.state_file.with_name(self.state_file.name + ".tmp")
            tmp.write_text(dump_snapshot(self.state), encoding="utf-8")
            os.replace(tmp, self.state_file)

    def _journal_marks(self) -> dict[int, tuple[int, int]]:
        return {t.id: (id(t.vouchers), len(t.vouchers)) for t in self.state.tenants.values()}

    def _replaced(self, tenant_id: int, vouchers: dict) -> bool:
        """Whether a tenant's vouchers are no longer the ones journalled (a reset replaced them)."""
        identity, count = self._journalled.get(tenant_id, (id(vouchers), 0))
        return identity != id(vouchers) or len(vouchers) < count

    def _write_journal(self) -> None:
        """Append new vouchers; rewrite the whole journal when a reset replaced a tenant's vouchers."""
        assert self.state_file is not None
        journal = journal_path(self.state_file)
        tenants = self.state.tenants.values()
        rewrite = not journal.exists() or any(self._replaced(t.id, t.vouchers) for t in tenants)
        if rewrite:
            lines = [voucher_line(t.id, v) for t in tenants for v in t.vouchers.values()]
            tmp = journal.with_name(journal.name + ".tmp")
            tmp.write_text("".join(lines), encoding="utf-8")
            os.replace(tmp, journal)
        else:
            lines = [voucher_line(t.id, v) for t in tenants
                     for v in islice(t.vouchers.values(), self._journalled.get(t.id, (0, 0))[1], None)]
            if lines:
                with journal.open("a", encoding="utf-8") as file:
                    file.write("".join(lines))
        self._journalled = self._journal_marks()
