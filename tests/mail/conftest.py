"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the mail tests, and an app that mails to it.

The app is the one the worker runs: ``send_mail(app, now=…)`` is the scheduler's job, called with
a clock passed in.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from backoffice import create_app

PUBLIC_URL = "https://backoffice.example.se"


class Inbox:
    """What the SMTP server received: each message with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [message for rcpts, message in self.messages if address in rcpts]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """aiosmtpd in its own thread; ``stop()`` and ``start()`` again on the same port (a server that is down)."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def smtp(smtp_server) -> Iterator[SmtpServer]:
    """The running SMTP server (started again if a test stopped it)."""
    if smtp_server.controller is None:
        smtp_server.start()
    yield smtp_server
    if smtp_server.controller is None:
        smtp_server.start()


@pytest.fixture(scope="session")
def mail_app(app_config, smtp_server):
    """The app as the worker runs it, with SMTP settings pointing at the test's server."""
    app = create_app(
        {
            **app_config,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp_server.port,
            "SMTP_STARTTLS": False,
            "MAIL_FROM": "BackOffice <noreply@backoffice.example.se>",
            "PUBLIC_URL": PUBLIC_URL,
        }
    )
    yield app
    app.extensions["db_engine"].dispose()
