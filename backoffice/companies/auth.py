"""Logging in: Flask-Login for the session, Flask-WTF for CSRF, revocable sessions and login throttling.

Sessions: the signed session cookie carries a random session token, and the user is loaded only
while a ``UserSession`` row holds that token's hash. So logout (``end_session``) ends the session
on the server, and a copied cookie stops working; ``end_sessions`` ends all of a user's sessions
(a password change, a role change, "Logga ut överallt").

Throttling, beside each other, counted in ``LoginThrottle`` rows:

- per e-mail address: ``MAX_FAILED_LOGINS`` failures within ``WINDOW`` lock the address for
  ``LOCKOUT``. Unknown addresses are counted and locked exactly like known ones, so the answers
  (401, then 429) say nothing about whether an account exists;
- per client address (``request.remote_addr``; set ``TRUSTED_PROXIES`` behind a proxy):
  ``LOGIN_CLIENT_LIMIT`` failures within ``WINDOW``, whatever the addresses tried, lock that client
  out for ``LOCKOUT``.

An unknown address costs the same password hash as a known one (``_DUMMY_HASH``), so the time of
the answer says nothing either.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import Flask, abort, current_app, has_request_context
from flask import session as web_session
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.security import check_password_hash, generate_password_hash

from backoffice.companies.models import Company, LoginThrottle, Membership, Role, User, UserSession, hash_token
from backoffice.db import now_utc, session
from backoffice.messages import companies as msg

#: Failed logins of one e-mail address within ``WINDOW`` before it is locked for ``LOCKOUT``.
MAX_FAILED_LOGINS = 5
#: Failed logins from one client address within ``WINDOW`` before it is locked (``LOGIN_CLIENT_LIMIT``).
CLIENT_LIMIT = 20
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
#: The Flask session key of the session token.
SESSION_TOKEN = "sid"
#: The Flask session key of the company chosen in the header's switch (checked against the
#: user's memberships on every request, so a forged value shows nothing of another company).
SESSION_COMPANY = "company"
#: A hash of a password nobody has, checked when the e-mail is unknown (same method and cost).
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))

login_manager = LoginManager()
login_manager.login_view = "companies.login"
login_manager.login_message = msg.LOG_IN_TO_SEE
login_manager.login_message_category = "info"
csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    csrf.init_app(app)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    token = web_session.get(SESSION_TOKEN)
    if not token or not user_id.isdigit():
        return None
    user = session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(User.id == int(user_id), UserSession.token_hash == hash_token(token))
    )
    if user is None or user.use_company(web_session.get(SESSION_COMPANY)) is None:
        return None  # a user with no company left sees nothing
    return user


def switch_company(user: User, company_id: int) -> Membership | None:
    """Make ``company_id`` this browser's current company; None (and nothing changed) unless the
    user is a member of it."""
    membership = user.membership_in(company_id)
    if membership is not None:
        web_session[SESSION_COMPANY] = company_id
        user.use_company(company_id)
    return membership


class LoginThrottledError(Exception):
    """Too many failed logins: no login is accepted until ``until``."""

    def __init__(self, until):
        super().__init__(f"login locked until {until.isoformat()}")
        self.until = until


def authenticate(email: str, password: str, client: str | None) -> User | None:
    """The user with these credentials, or None; raises ``LoginThrottledError`` while the e-mail
    address or the client is locked out. Flushes the throttle's counts; the caller commits."""
    now = now_utc()
    address = email.strip().lower()
    keys = {_key("account", address): MAX_FAILED_LOGINS}
    if client:
        keys[_key("client", client)] = int(current_app.config.get("LOGIN_CLIENT_LIMIT") or CLIENT_LIMIT)
    locked = [
        row.locked_until
        for row in session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))
        if row.locked_until is not None and row.locked_until > now
    ]
    if locked:
        raise LoginThrottledError(max(locked))
    user = session.scalar(select(User).where(func.lower(User.email) == address))
    if user is not None and user.check_password(password) and user.memberships:
        session.execute(delete(LoginThrottle).where(LoginThrottle.key == _key("account", address)))
        return user
    if user is None:
        check_password_hash(_DUMMY_HASH, password)  # the same work as for a known address
    _forget_stale_counts(now)
    for key, limit in keys.items():
        _count_failure(key, limit, now)
    session.flush()
    return None


def _forget_stale_counts(now: datetime) -> None:
    """Drop counts whose window and lock are over, so guessed addresses do not pile up for ever."""
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_started_at <= now - WINDOW,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
    )


def _key(kind: str, value: str) -> str:
    return hash_token(f"{kind}:{value}")


def _count_failure(key: str, limit: int, now: datetime) -> None:
    """One more failure on ``key``, under the row's lock (two failures at once both count)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginThrottle).values(key=key, failures=0, window_started_at=now).on_conflict_do_nothing()
    )
    row = session.scalar(
        select(LoginThrottle).where(LoginThrottle.key == key).with_for_update().execution_options(populate_existing=True)
    )
    if row.window_started_at + WINDOW <= now:
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + LOCKOUT
        row.failures, row.window_started_at = 0, now


def start_session(user: User) -> None:
    """Record a new session of ``user`` and put its token into this browser's session cookie."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, token_hash=hash_token(token)))
    web_session[SESSION_TOKEN] = token


def end_session() -> None:
    """End this browser's session on the server (logout); a copy of its cookie no longer logs in."""
    token = web_session.pop(SESSION_TOKEN, None)
    if token:
        session.execute(delete(UserSession).where(UserSession.token_hash == hash_token(token)))


def end_sessions(user: User, *, keep_current: bool = False) -> int:
    """End every session of ``user`` (all but this browser's with ``keep_current``); returns how many."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    token = web_session.get(SESSION_TOKEN) if keep_current and has_request_context() else None
    if token:
        query = query.where(UserSession.token_hash != hash_token(token))
    return session.execute(query).rowcount


def change_password(user: User, password: str) -> None:
    """Give ``user`` a new password and end their sessions (but the one making the change)."""
    user.set_password(password)
    end_sessions(user, keep_current=True)
    session.flush()


def change_role(user: User, company: Company, role: Role) -> None:
    """Give ``user`` another role in ``company`` and end all their sessions: the next login has the
    new rights. Raises ``LookupError`` when the user is no member of it."""
    membership = user.membership_in(company.id)
    if membership is None:
        raise LookupError(f"{user.email} is no member of {company.name}")
    if membership.role != role:
        membership.role = role
        end_sessions(user)
    session.flush()


def admin_required() -> None:
    """Abort with 403 unless the logged-in user is an admin of their company."""
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)
