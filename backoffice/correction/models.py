"""Corrections of booked days ("Rätta dag"): a run per confirmed request, a correction per report.

A correction posts two vouchers, each exactly once, with the export's machinery: a token of its own
in the voucher's ``Comments`` (``Export-id: …``), a write-ahead mark committed with what is sent
before the post, and a look-up of what was sent (``export.doubt.look_up``) before anything is
posted again.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.companies.models import Company
from backoffice.db import Base, now_utc
from backoffice.export.models import ExportJob
from backoffice.zreport.models import ZReportRecord


class CorrectionState(enum.StrEnum):
    #: waits for a worker; set when the run is confirmed and by a retry's schedule
    PENDING = "pending"
    #: the reversal and the new voucher are in Fortnox; final
    DONE = "done"
    #: waits for a person: the voucher in Fortnox is not what we sent (typed over), or Fortnox refused
    BLOCKED = "blocked"
    #: transient errors outlasted the retries (5, 25, 125 s)
    FAILED = "failed"


class CorrectionRun(Base):
    """One confirmed "Rätta dagarna": who asked, for which days, and why; its progress bar counts its corrections."""

    __tablename__ = "correction_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    started_by: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[datetime] = mapped_column(default=now_utc)
    date_from: Mapped[date]
    date_to: Mapped[date]
    #: why the days are corrected, in the user's words or ours ("Ändrad kontoplan"); goes into Comments
    why: Mapped[str] = mapped_column(String(200))
    total: Mapped[int] = mapped_column(default=0)

    corrections: Mapped[list[Correction]] = relationship(back_populates="run", order_by="Correction.id")


class Correction(Base):
    """One report's correction: the reversal of its current voucher, then its new voucher.

    ``sequence`` numbers a report's corrections (1, 2, …): the n-th reverses the voucher the
    (n−1)-th posted, or the export's voucher for the first, and a unique constraint keeps two runs
    from planning the same one.
    """

    __tablename__ = "correction"
    __table_args__ = (
        UniqueConstraint("zreport_id", "sequence"),
        Index("ix_correction_due", "state", "retry_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("correction_run.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    zreport_id: Mapped[int] = mapped_column(ForeignKey("zreport.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("export_job.id"), index=True)
    sequence: Mapped[int]
    state: Mapped[CorrectionState] = mapped_column(String(20), default=CorrectionState.PENDING)
    #: why it is blocked or failed (``messages.correction``): voucher_typed_over, voucher_differs, a Fortnox refusal…
    reason_code: Mapped[str | None] = mapped_column(String(40))
    #: JSON object with what the reason's sentence needs
    reason_detail: Mapped[str | None] = mapped_column(Text)
    #: the voucher this correction reverses (the report's current one when it was planned)
    corrected_series: Mapped[str] = mapped_column(String(10))
    corrected_number: Mapped[int]
    #: Fortnox's financial year id of the corrected voucher
    corrected_year: Mapped[int]
    corrected_date: Mapped[date]
    corrected_description: Mapped[str] = mapped_column(String(200))
    #: the corrected voucher's ``VoucherRows`` as we sent them (JSON): Fortnox must still hold exactly these
    corrected_rows: Mapped[str] = mapped_column(Text)
    #: the date of the reversal and the new voucher: the corrected voucher's, or the first open day
    booking_date: Mapped[date | None]
    #: the reversal: our token (in Comments), the write-ahead mark, the body sent, the voucher Fortnox holds
    reversal_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    reversal_in_doubt: Mapped[bool] = mapped_column(default=False)
    reversal_body: Mapped[str | None] = mapped_column(Text)
    reversal_series: Mapped[str | None] = mapped_column(String(10))
    reversal_number: Mapped[int | None]
    reversal_year: Mapped[int | None]
    #: the new voucher, likewise; its Z-report PDF follows as a ``VoucherAttachment`` of the correction
    new_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    new_in_doubt: Mapped[bool] = mapped_column(default=False)
    new_body: Mapped[str | None] = mapped_column(Text)
    new_series: Mapped[str | None] = mapped_column(String(10))
    new_number: Mapped[int | None]
    new_year: Mapped[int | None]
    #: transient failures in a row, and not before when the next try may run
    retries: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[datetime | None]
    #: the worker that holds the correction, and until when
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    run: Mapped[CorrectionRun] = relationship(back_populates="corrections")
    company: Mapped[Company] = relationship()
    zreport: Mapped[ZReportRecord] = relationship()
    job: Mapped[ExportJob] = relationship()

    @property
    def detail(self) -> dict:
        return json.loads(self.reason_detail) if self.reason_detail else {}
