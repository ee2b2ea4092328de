"""Logging in: Flask-Login for the session, Flask-WTF for CSRF, and throttling of failed logins."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, abort
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import func, select

from backoffice.companies.models import User
from backoffice.db import now_utc, session

#: Failed logins in a row before the account is locked for ``LOCKOUT``.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)

login_manager = LoginManager()
login_manager.login_view = "companies.login"
login_manager.login_message = "Logga in för att se sidan."
login_manager.login_message_category = "info"
csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    csrf.init_app(app)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return session.get(User, int(user_id))


class LoginThrottledError(Exception):
    """Too many failed logins: no login is accepted until ``until``."""

    def __init__(self, until):
        super().__init__(f"login locked until {until.isoformat()}")
        self.until = until


def authenticate(email: str, password: str) -> User | None:
    """The user with these credentials, or None; raises ``LoginThrottledError`` while locked out.

    Flushes the failure count; the caller commits.
    """
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        return None
    now = now_utc()
    if user.locked_until is not None and user.locked_until > now:
        raise LoginThrottledError(user.locked_until)
    if not user.check_password(password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        session.flush()
        return None
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    return user


def admin_required() -> None:
    """Abort with 403 unless the logged-in user is an admin of their company."""
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)
