"""Who wants which e-mail, and the outbox the worker sends from.

The outbox is the queue (as the export's jobs are): a mail is a row before it is a message, so a
mail server that is down delays only the mails, which are retried, and the unique ``dedupe_key``
keeps a problem to one mail per recipient per day however many workers look.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import Base, now_utc


class MailKind(enum.StrEnum):
    #: a problem that needs a person (or an export that failed after its retries)
    PROBLEM = "problem"
    #: "Veckosammanfattning", Monday morning, for those who opted in
    WEEKLY = "weekly"


class MailPreference(Base):
    """A user's choice on "E-postnotiser" for one of their companies: who gets which mail for which
    restaurant. No row means the default for their role there (problem mails for an admin, nothing
    for a manager, no weekly summary). The choice belongs to the membership and goes with it.
    """

    __tablename__ = "mail_preference"
    __table_args__ = (
        ForeignKeyConstraint(
            ["user_id", "company_id"], ["membership.user_id", "membership.company_id"], ondelete="CASCADE"
        ),
    )

    user_id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(primary_key=True)
    #: mails about this company's problems that need a person
    problems: Mapped[bool]
    #: this company's weekly summary
    weekly: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)


class OutgoingMail(Base):
    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_due", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: what the mail is, for whom and for which day: ``problem:<company>:<kind>:<key>:<day>:<user>``,
    #: ``weekly:<company>:<monday>:<user>``; unique, so a mail is queued once
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[MailKind] = mapped_column(String(20))
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problem.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: not before this time (the first try at once, then the retry plan's delays)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now_utc)
    attempts: Mapped[int] = mapped_column(default=0)
    #: the mail server's last refusal or the connection error, for the log and the settings page
    last_error: Mapped[str | None] = mapped_column(Text)
    #: a worker sending it right now, until then (a crashed worker's claim runs out)
    claimed_until: Mapped[datetime | None]
    #: accepted by the mail server; final
    sent_at: Mapped[datetime | None]
    #: given up after the last retry; final
    failed_at: Mapped[datetime | None]
