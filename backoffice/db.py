"""Database plumbing: the declarative ``Base``, aware UTC timestamps and the request/job session.

Operations ``flush()``; the caller (a view, a command or a job) commits once.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal

from flask import Flask, current_app, g
from sqlalchemy import Date, DateTime, MetaData, Numeric, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.local import LocalProxy

from backoffice.business_day import business_date_at

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def business_today(now: datetime | None = None) -> date:
    """Today's business day, where the restaurants are: the date in Europe/Stockholm at ``now``
    (default: this instant). Never ``date.today()``, which is the server's local date."""
    return business_date_at(now or now_utc())


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC that refuses naive datetimes, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite keeps no zone: what we stored there is UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        Decimal: Numeric(14, 2),
        datetime: UTCDateTime(),
        date: Date(),
        str: String(),
        enum.StrEnum: String(20),
    }


def compare_type_for_migrations(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """Alembic's type comparison, knowing that ``UTCDateTime`` is stored as an aware ``DateTime``."""
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, DateTime)
    return None


def import_models() -> None:
    """Import every feature's models so that ``Base.metadata`` knows all tables (Alembic, tests)."""
    import backoffice.accounts.models  # noqa: F401
    import backoffice.companies.models  # noqa: F401
    import backoffice.correction.models  # noqa: F401
    import backoffice.export.models  # noqa: F401
    import backoffice.integrations.fortnox.models  # noqa: F401
    import backoffice.mail.models  # noqa: F401
    import backoffice.reconcile.models  # noqa: F401
    import backoffice.zreport.models  # noqa: F401


def make_engine(url: str, *, sqlite_write_lock_at_begin: bool = True) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout for concurrent writers.

    ``sqlite_write_lock_at_begin=False`` gives plain deferred transactions, for a reader (a test
    looking at the database) that must never hold the write lock while the app works. When such a
    reader writes after reading, its transaction starts again with the write lock just before the
    first write: a deferred transaction can't take the lock once another connection has committed
    since its snapshot (SQLite answers "database is locked" at once, without waiting), so it waits
    its turn instead. What it read may then be older than what it writes over: fit for a test, not
    for the app, which takes the lock at BEGIN.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # pysqlite opens transactions lazily; take the write lock at BEGIN instead, so two
            # writers queue on the busy timeout rather than failing on a lock upgrade.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_write_lock_at_begin else "BEGIN")
            conn.info["sqlite_has_write_lock"] = sqlite_write_lock_at_begin

        if not sqlite_write_lock_at_begin:

            @event.listens_for(engine, "before_cursor_execute")
            def _sqlite_lock_before_first_write(conn, _cursor, statement, _parameters, _context, _many):
                if conn.info.get("sqlite_has_write_lock", True):
                    return
                verb = statement.lstrip()[:9].upper()
                if verb.startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
                    dbapi_connection = conn.connection.dbapi_connection
                    if dbapi_connection.in_transaction:
                        dbapi_connection.execute("ROLLBACK")  # nothing written yet: only reads end
                    dbapi_connection.execute("BEGIN IMMEDIATE")
                    conn.info["sqlite_has_write_lock"] = True
                elif verb.startswith("SAVEPOINT"):
                    conn.info["sqlite_has_write_lock"] = True  # never restart under a savepoint

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def init_app(app: Flask) -> None:
    """Create the engine and session factory of ``app`` and close the session after each context."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    """The engine of the current app."""
    return current_app.extensions["db_engine"]


def get_session() -> Session:
    """The session of the current app context (one per request, command or job)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


#: The session of the current app context, e.g. ``session.scalars(select(Company))``.
session: Session = LocalProxy(get_session)  # type: ignore[assignment]
