"""Export jobs (one per Z-report), their attempts, the problems that block them, manual runs."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.companies.models import Company
from backoffice.db import Base, now_utc
from backoffice.zreport.models import ZReportRecord


class ExportState(enum.StrEnum):
    #: waits for a worker; set at intake, by a retry's schedule, by unblocking and by "Manuell export"
    PENDING = "pending"
    #: the voucher is in Fortnox (posted, or found there after an ambiguous post); final
    EXPORTED = "exported"
    #: waits for a fix by the user (mapping, account, series, cost centre, year, lock, authorisation)
    BLOCKED = "blocked"
    #: transient errors outlasted the retries; "Exportera igen" or "Manuell export" make it pending
    FAILED = "failed"
    #: the report's business date is before the integration's start date; never exported
    SKIPPED = "skipped"


class ExportJob(Base):
    __tablename__ = "export_job"
    __table_args__ = (Index("ix_export_job_due", "state", "retry_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zreport_id: Mapped[int] = mapped_column(ForeignKey("zreport.id"), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    state: Mapped[ExportState] = mapped_column(String(20), default=ExportState.PENDING)
    #: why the job is blocked or failed, as a machine-readable code (``export.reasons``)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    #: what distinguishes the cause within its kind (the account, series or cost centre), for its problem
    reason_key: Mapped[str | None] = mapped_column(String(80))
    #: JSON object with what the fix needs (account, series, cost centre, Fortnox's message…)
    reason_detail: Mapped[str | None] = mapped_column(Text)
    #: transient failures in a row; the retry plan is (5, 25, 125) seconds
    retries: Mapped[int] = mapped_column(default=0)
    #: not before this time (a scheduled retry, or a wait that Fortnox's rate limit asked for)
    retry_at: Mapped[datetime | None]
    #: a post whose outcome is unknown (timeout, reset, 5xx, crash): look the voucher up before posting again
    in_doubt: Mapped[bool] = mapped_column(default=False)
    #: the worker that holds the job, and until when (a crashed worker's lease runs out)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    #: our mark on the voucher (ASCII, unique, made before the first post and kept across retries),
    #: sent in its ``Comments``: how a job in doubt recognises its voucher in Fortnox
    voucher_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    #: what the last post sent (written with the in-doubt mark): the series, the financial year id
    #: (``financialyear``), the date and the description. A job in doubt looks for this voucher,
    #: never for one built from today's mapping.
    sent_series: Mapped[str | None] = mapped_column(String(10))
    sent_year: Mapped[int | None]
    sent_date: Mapped[date | None]
    voucher_description: Mapped[str | None] = mapped_column(String(200))
    #: the voucher Fortnox holds for the job, once exported
    voucher_series: Mapped[str | None] = mapped_column(String(10))
    voucher_number: Mapped[int | None]
    #: Fortnox's financial year id (``Year``), not a calendar year
    voucher_year: Mapped[int | None]
    exported_at: Mapped[datetime | None]
    #: the report's voucher in Fortnox now, when a correction ("Rätta dag") replaced the exported one:
    #: the last correction's new voucher (series, number, financial year id); None while the export's is current
    current_series: Mapped[str | None] = mapped_column(String(10))
    current_number: Mapped[int | None]
    current_year: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    zreport: Mapped[ZReportRecord] = relationship()
    company: Mapped[Company] = relationship()
    attempts: Mapped[list[ExportAttempt]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="ExportAttempt.id"
    )

    @property
    def detail(self) -> dict:
        return json.loads(self.reason_detail) if self.reason_detail else {}


class ExportAttempt(Base):
    """One try to export a job: when, what was sent, what Fortnox answered."""

    __tablename__ = "export_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("export_job.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=now_utc)
    finished_at: Mapped[datetime | None]
    #: what the attempt did: posted, found (adopted after doubt), accepted (a voucher that differs, taken by a
    #: person), look_again (a person asked to read it again), blocked, failed, rate_limited, in_doubt
    outcome: Mapped[str] = mapped_column(String(20))
    request_body: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None]
    fortnox_code: Mapped[str | None] = mapped_column(String(20))
    fortnox_message: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    #: the person who settled the job by hand (``accepted``: Fortnox's voucher taken as the booking), by e-mail
    actor: Mapped[str | None] = mapped_column(String(254))

    job: Mapped[ExportJob] = relationship(back_populates="attempts")


class Problem(Base):
    """One cause that blocks exports of a company (or made them fail), however many reports wait on it.

    Opened by the engine or the health check; closed by itself when the cause is gone.
    """

    __tablename__ = "problem"
    __table_args__ = (UniqueConstraint("company_id", "kind", "key", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    #: the reason code (``export.reasons``): account_missing, series_not_manual, auth_expired…
    kind: Mapped[str] = mapped_column(String(40))
    #: what distinguishes two problems of one kind: the account, series or cost centre ("" when none)
    key: Mapped[str] = mapped_column(String(80), default="")
    #: JSON object with what the fix needs
    detail: Mapped[str] = mapped_column(Text, default="{}")
    opened_at: Mapped[datetime] = mapped_column(default=now_utc)
    closed_at: Mapped[datetime | None]

    company: Mapped[Company] = relationship()

    @property
    def details(self) -> dict:
        return json.loads(self.detail) if self.detail else {}

    @property
    def closed_as(self) -> str | None:
        """How a closed problem ended: ``fixed`` (its cause is gone and no report waits on it) or
        ``deactivated`` (the integration was deactivated; nothing was fixed). None while open."""
        if self.closed_at is None:
            return None
        return self.details.get("closed_as", "fixed")


class ManualExportRun(Base):
    """A "Manuell export": the counts its progress bar polls."""

    __tablename__ = "manual_export_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    started_by: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[datetime] = mapped_column(default=now_utc)
    finished_at: Mapped[datetime | None]
    #: ids of the jobs this run waits for, as a JSON list
    job_ids: Mapped[str] = mapped_column(Text, default="[]")
    total: Mapped[int] = mapped_column(default=0)


class AttachmentState(enum.StrEnum):
    #: waits for a worker; set when the voucher is recorded, by a retry's schedule, by a new login
    #: and by "Bifoga underlag för tidigare dagar"
    PENDING = "pending"
    #: the voucher has its Z-report in Fortnox (connected by us, or found there already); final
    ATTACHED = "attached"
    #: the Fortnox connection lacks the scopes inbox and connectfile (or its login ended): a new login wakes it
    NEEDS_CONSENT = "needs_consent"
    #: errors outlasted the retries (5, 25, 125 s); "Bifoga underlag för tidigare dagar" tries again
    FAILED = "failed"


class VoucherAttachment(Base):
    """The Z-report PDF of an exported voucher on its way to Fortnox: its own step, after the voucher.

    Uploaded to the inbox for vouchers, then connected to the voucher with the voucher's own financial
    year; each POST is written ahead (``*_in_doubt``), so a lost answer is resolved by looking first
    (the file in the inbox, the files of the voucher) and never by sending blindly again.
    """

    __tablename__ = "voucher_attachment"
    __table_args__ = (Index("ix_voucher_attachment_due", "state", "retry_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the report's export job; one attachment per job for its voucher, plus one per correction ("Rätta dag")
    job_id: Mapped[int] = mapped_column(ForeignKey("export_job.id", ondelete="CASCADE"), index=True)
    #: the correction whose new voucher this file goes to; None for the export's voucher
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("correction.id"), unique=True)
    #: the voucher the file goes to when it is not the job's (a correction's new voucher): series,
    #: number, financial year id and date (the correction's booking day); None for the export's voucher
    voucher_series: Mapped[str | None] = mapped_column(String(10))
    voucher_number: Mapped[int | None]
    voucher_year: Mapped[int | None]
    voucher_date: Mapped[date | None]
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    state: Mapped[AttachmentState] = mapped_column(String(20), default=AttachmentState.PENDING)
    #: ``Z-<register id>-<Z-number>-<business date>.pdf``
    file_name: Mapped[str | None] = mapped_column(String(120))
    #: Fortnox's ``File.Id`` in the inbox, once the upload is known to have arrived
    file_id: Mapped[str | None] = mapped_column(String(80))
    #: an upload whose answer was lost: look for the file in the inbox before uploading again
    upload_in_doubt: Mapped[bool] = mapped_column(default=False)
    #: a connection whose answer was lost: ask Fortnox which files the voucher has before connecting again
    connect_in_doubt: Mapped[bool] = mapped_column(default=False)
    #: ask Fortnox first whether the voucher has a file already ("Bifoga underlag för tidigare dagar")
    look_first: Mapped[bool] = mapped_column(default=False)
    #: the voucher had a file in Fortnox when we looked, so nothing was uploaded
    already_there: Mapped[bool] = mapped_column(default=False)
    #: transient failures in a row; the retry plan is the export's (5, 25, 125) seconds
    retries: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[datetime | None]
    #: the worker that holds the attachment, and until when
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    #: the last failure, for the Z-report's history: Fortnox's code (or ours) and message
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    attached_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    job: Mapped[ExportJob] = relationship()


class AttachmentRun(Base):
    """A "Bifoga underlag för tidigare dagar": the attachments its progress bar follows."""

    __tablename__ = "attachment_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    started_by: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: ids of the attachments this run waits for, as a JSON list
    attachment_ids: Mapped[str] = mapped_column(Text, default="[]")
    #: how many of them already had their file before the run (counted, not sent again)
    already_attached: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
