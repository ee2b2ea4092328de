"""Companies (restaurant businesses), their users and their cash registers."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from backoffice.db import Base, now_utc

#: Register API tokens carry this prefix so that a leaked one is recognisable in a scan.
TOKEN_PREFIX = "reg_"


class Role(enum.StrEnum):
    #: may connect, change and deactivate the Fortnox integration
    ADMIN = "admin"
    #: sees everything of their own company and may run "Manuell export"
    MANAGER = "manager"


class Company(Base):
    __tablename__ = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: unique: commands address a company by its name, and the voucher text names it
    name: Mapped[str] = mapped_column(String(120), unique=True)
    org_number: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    memberships: Mapped[list[Membership]] = relationship(back_populates="company", cascade="all, delete-orphan")
    registers: Mapped[list[Register]] = relationship(back_populates="company", order_by="Register.pos_id")


class User(UserMixin, Base):
    """A person who logs in. What they may see is their memberships: a role in each of one or more
    companies (an owner's group of restaurants, or a byrå's clients).

    ``company``, ``company_id``, ``role`` and ``is_admin`` are those of the *current* membership:
    the company chosen in the header's switch (``use_company``, set per request by the session
    loader), else the first one by name. Nothing of a company the user has no membership in is
    reachable through them.
    """

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def __init__(self, *, company: Company | None = None, role: Role | str = Role.ADMIN, **kwargs):
        """``User(email=…, company=…, role=…)`` makes the user with one membership."""
        super().__init__(**kwargs)
        if company is not None:
            self.memberships.append(Membership(company=company, role=Role(role)))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def membership_in(self, company_id: int | None) -> Membership | None:
        """The user's membership in that company, or None: the one test of "may see this company"."""
        return next((m for m in self.memberships if m.company_id == company_id), None)

    def sorted_memberships(self) -> list[Membership]:
        """The user's memberships by company name (the order of the switch and the list)."""
        return sorted(self.memberships, key=lambda m: (m.company.name.casefold(), m.company_id))

    def use_company(self, company_id: int | None) -> Membership | None:
        """Make ``company_id`` the current company when the user is a member of it; returns the
        current membership (the first by name when ``company_id`` is not one of theirs)."""
        chosen = self.membership_in(company_id)
        if chosen is None:
            ordered = self.sorted_memberships()
            chosen = ordered[0] if ordered else None
        self._current = chosen
        return chosen

    @property
    def membership(self) -> Membership:
        current = getattr(self, "_current", None)
        if current is None or current not in self.memberships:
            current = self.use_company(None)
        if current is None:
            raise LookupError(f"user {self.email} has no company")
        return current

    @property
    def company(self) -> Company:
        return self.membership.company

    @property
    def company_id(self) -> int:
        return self.membership.company_id

    @property
    def role(self) -> Role:
        return Role(self.membership.role)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class Membership(Base):
    """A user's role in one company."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "company_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    role: Mapped[Role] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    user: Mapped[User] = relationship(back_populates="memberships")
    company: Mapped[Company] = relationship(back_populates="memberships", lazy="joined")

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class UserSession(Base):
    """One logged-in browser of a user. The session cookie carries the token; only its hash is kept.

    Deleting the row ends the session, whoever holds a copy of the cookie: logout deletes its own,
    a password or role change and "Logga ut överallt" delete all of the user's (the
    ``backoffice.companies.auth`` functions)."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the session token (``hash_token``)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class LoginThrottle(Base):
    """Failed logins counted per key: an e-mail address (known or not, so that locked and unknown
    accounts answer alike) and a client address. ``backoffice.companies.auth`` reads and writes it."""

    __tablename__ = "login_throttle"

    #: SHA-256 of ``"account:<e-mail>"`` or ``"client:<address>"``
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: failures since ``window_started_at``
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    #: no login through this key is accepted before this time
    locked_until: Mapped[datetime | None]


class Register(Base):
    """A cash register of a company, which authenticates to the POS API with its own token."""

    __tablename__ = "register"
    __table_args__ = (UniqueConstraint("company_id", "pos_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    #: the register's id as the POS uses it (``register.id`` in a Z-report), e.g. "K1"
    pos_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    serial_number: Mapped[str | None] = mapped_column(String(80))
    #: Fortnox cost centre code booked on this register's result rows ("Kostnadsställen")
    cost_center: Mapped[str | None] = mapped_column(String(6))
    #: SHA-256 of the API token; the token itself is shown once and never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    company: Mapped[Company] = relationship(back_populates="registers")
    units: Mapped[list[RegisterUnit]] = relationship(back_populates="register", order_by="RegisterUnit.number")

    def issue_token(self) -> str:
        """Give the register a new API token and return it; only its hash is kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        return token


class RegisterUnit(Base):
    """One physical unit behind a register: a replaced register keeps its id, and its new unit (a
    new serial number, Z-numbers starting again) gets the next number (zreport-v1.md, "Idempotency").

    A register's reports are identified by (register, unit, z_number); the unit with the highest
    number is the current one.
    """

    __tablename__ = "register_unit"
    __table_args__ = (UniqueConstraint("register_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"))
    #: 1 for the register's first unit, then 2, 3, … for each replacement
    number: Mapped[int]
    #: the unit's manufacturing number (tillverkningsnummer) from its reports; None while it sent none
    serial_number: Mapped[str | None] = mapped_column(String(80))
    #: when its first report arrived
    started_at: Mapped[datetime] = mapped_column(default=now_utc)

    register: Mapped[Register] = relationship(back_populates="units")


def hash_token(token: str) -> str:
    """The stored form of a register token (tokens are 256-bit random, so a plain SHA-256 suffices)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
