"""Reconciliation runs: one reading of a month from Fortnox, its progress and its result."""

from __future__ import annotations

import enum
import json
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import Base, now_utc


class RunState(enum.StrEnum):
    #: waits for the worker; set by "Läs från Fortnox" and by the CLI
    PENDING = "pending"
    #: the worker reads Fortnox (a run whose lease ran out is taken up again)
    RUNNING = "running"
    #: the result is stored
    DONE = "done"
    #: Fortnox could not be read; ``error_code`` and ``error_detail`` say why
    FAILED = "failed"


class ReconcileRun(Base):
    __tablename__ = "reconcile_run"
    __table_args__ = (Index("ix_reconcile_run_company_id_month", "company_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    #: the month reconciled, ``YYYY-MM``
    month: Mapped[str] = mapped_column(String(7))
    state: Mapped[RunState] = mapped_column(String(20), default=RunState.PENDING)
    started_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: Fortnox calls the run will make (known once the vouchers are listed) and made so far
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    #: the worker that reads, and until when (a crashed worker's lease runs out)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    #: why it failed, as a code (``messages.reconcile_error_message``) and its data as JSON
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_detail: Mapped[str | None] = mapped_column(Text)
    #: JSON: {"month", "days", "findings", "vouchers"} (``operations.result_to_json``)
    result: Mapped[str | None] = mapped_column(Text)

    @property
    def result_data(self) -> dict | None:
        return json.loads(self.result) if self.result else None

    @property
    def error_data(self) -> dict:
        return json.loads(self.error_detail) if self.error_detail else {}

    @property
    def percent(self) -> int:
        if self.state == RunState.DONE:
            return 100
        return 0 if not self.total else min(99, round(100 * self.done / self.total))
