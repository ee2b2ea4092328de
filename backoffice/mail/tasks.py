"""The worker's mail job: queue what needs saying, then send what is due (every minute).

Its own scheduler job, so a slow or absent mail server delays only the mails: the exports run in
their own job and threads, and each SMTP call has a timeout (``smtp.SMTP_TIMEOUT``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask

from backoffice.db import now_utc, session
from backoffice.mail.operations import public_link, queue_problem_mails, queue_weekly_summaries, send_due
from backoffice.mail.smtp import SmtpSettings

log = logging.getLogger(__name__)


def send_mail(app: Flask, now: datetime | None = None) -> int:
    """Queue the problem mails and the weekly summaries that are due, and send the outbox.

    Without ``SMTP_HOST`` nothing is queued (a mail server configured later does not receive a
    backlog of stale mails). Returns how many mails the server accepted.
    """
    settings = SmtpSettings.from_config(app.config)
    if settings is None:
        return 0
    now = now or now_utc()
    # The fix links are made by url_for, as on the pages: a request context on PUBLIC_URL.
    with app.test_request_context("/", base_url=public_link(app.config, "/")):
        queue_problem_mails(session, app.config, now=now)
        queue_weekly_summaries(session, app.config, now=now)
        return send_due(session, settings, now=now)
