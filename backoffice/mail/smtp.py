"""The SMTP client (the standard library's ``smtplib``), configured by ``SMTP_*`` and ``MAIL_FROM``."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

#: Seconds to connect and for each answer: a mail server that hangs must not hold the worker.
SMTP_TIMEOUT = 10.0


class MailError(Exception):
    """The base of this package's errors."""


class MailServerUnavailable(MailError):
    """The mail server could not be reached or dropped the connection: every queued mail waits."""


class MailRefused(MailError):
    """The mail server refused this one mail (its recipient or content); other mails may still go."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where mail goes. Secrets stay here: ``repr`` never shows the password."""

    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    sender: str

    def __repr__(self) -> str:
        return f"SmtpSettings(host={self.host!r}, port={self.port}, starttls={self.starttls}, sender={self.sender!r})"

    @classmethod
    def from_config(cls, config: Mapping) -> SmtpSettings | None:
        """The app's SMTP settings, or None when ``SMTP_HOST`` is not set (then no mail is sent)."""
        if not config.get("SMTP_HOST"):
            return None
        return cls(
            host=config["SMTP_HOST"],
            port=int(config.get("SMTP_PORT") or 587),
            username=config.get("SMTP_USERNAME"),
            password=config.get("SMTP_PASSWORD"),
            starttls=bool(config.get("SMTP_STARTTLS", True)),
            sender=config.get("MAIL_FROM") or "BackOffice <noreply@localhost>",
        )


def make_message(settings: SmtpSettings, recipient: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2].strip(">") or "localhost")
    message.set_content(body)  # UTF-8 text: Swedish letters survive
    return message


class SmtpConnection:
    """One connection to the mail server for a batch of mails (``with SmtpConnection(s) as smtp``)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpConnection:
        try:
            smtp = smtplib.SMTP(self.settings.host, self.settings.port, timeout=SMTP_TIMEOUT)
            try:
                if self.settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.settings.username:
                    smtp.login(self.settings.username, self.settings.password or "")
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise MailServerUnavailable(f"login refused: {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailServerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        self._smtp = smtp
        return self

    def send(self, message: EmailMessage) -> None:
        assert self._smtp is not None, "send() outside the with block"
        try:
            self._smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise MailRefused(f"{type(exc).__name__}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailServerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def __exit__(self, *exc_info) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None
