"""The migrations produce exactly the models' schema (autogenerate finds no difference), in one chain
whose file names sort in its order; a migration that moves data keeps it, tried from the revision
before it with rows written the old way."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from backoffice.cli import alembic_config
from backoffice.db import Base, import_models
from backoffice.db import compare_type_for_migrations as compare_type

#: A timestamp as the rows of before would have it (the text both databases read as aware UTC).
CREATED = "2026-11-01 09:00:00.000000+00:00"


def test_migrations_produce_exactly_the_models_schema(database_url):
    import_models()
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": compare_type})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_the_migrations_are_one_chain_whose_file_names_sort_in_its_order(database_url):
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    chain = [Path(script.path).name for script in reversed(list(scripts.walk_revisions()))]

    assert len(scripts.get_heads()) == 1
    assert sorted(chain) == chain


# --- the migrations that move data: each from the revision before it, with rows made the old way ------


@pytest.fixture()
def empty_database(database_url) -> Iterator[Engine]:
    """An empty database of the suite's kind (SQLite, or PostgreSQL when DATABASE_URL says so), dropped after."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        name = f"{url.database}_m{uuid.uuid4().hex[:6]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine = create_engine(url.set(database=name))
        yield engine
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        engine = create_engine(f"sqlite:///{Path(url.database).parent / f'm{uuid.uuid4().hex[:6]}.db'}")
        yield engine
        engine.dispose()


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    (command.downgrade if down else command.upgrade)(config, revision)


def migrate_to_before(engine: Engine, revision: str) -> str:
    """Migrate ``engine`` to the revision before ``revision``; returns that revision."""
    before = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision).down_revision
    migrate(engine, before)
    return before


#: Two companies, written the same way before every migration tried here.
TWO_COMPANIES = text(
    "INSERT INTO company (id, name, org_number, created_at) VALUES"
    " (1, 'Krogen AB', '556677-8899', :at), (2, 'Bistron AB', '556000-0001', :at)")


MEMBERSHIPS = "ff6c0a1e3b72"  # "Give users a role in each of several companies (memberships)"


def test_the_memberships_migration_gives_every_user_their_company_and_role_and_back(empty_database):
    before = migrate_to_before(empty_database, MEMBERSHIPS)
    with empty_database.begin() as connection:
        connection.execute(TWO_COMPANIES, {"at": CREATED})
        connection.execute(text(
            "INSERT INTO user_account (id, company_id, email, password_hash, role, created_at) VALUES"
            " (10, 1, 'anna@krogen.se', 'x', 'admin', :at), (11, 1, 'bo@krogen.se', 'x', 'manager', :at),"
            " (12, 2, 'cilla@bistron.se', 'x', 'admin', :at)"), {"at": CREATED})

    migrate(empty_database, MEMBERSHIPS)

    with empty_database.connect() as connection:
        memberships = connection.execute(text(
            "SELECT user_id, company_id, role FROM membership ORDER BY user_id")).all()
        columns = {c["name"] for c in inspect(connection).get_columns("user_account")}
    assert [tuple(m) for m in memberships] == [(10, 1, "admin"), (11, 1, "manager"), (12, 2, "admin")]
    assert "company_id" not in columns and "role" not in columns
    with empty_database.begin() as connection:  # Anna is an admin of Bistron too now; Dan has no company
        connection.execute(text("INSERT INTO membership (user_id, company_id, role, created_at)"
                                " VALUES (10, 2, 'manager', :at)"), {"at": CREATED})
        connection.execute(text("INSERT INTO user_account (id, email, password_hash, created_at)"
                                " VALUES (13, 'dan@byran.se', 'x', :at)"), {"at": CREATED})

    migrate(empty_database, before, down=True)

    with empty_database.connect() as connection:
        users = connection.execute(text("SELECT id, company_id, role FROM user_account ORDER BY id")).all()
        tables = inspect(connection).get_table_names()
    # Each user keeps their first membership; one with none cannot exist without a company, and goes.
    assert [tuple(u) for u in users] == [(10, 1, "admin"), (11, 1, "manager"), (12, 2, "admin")]
    assert "membership" not in tables


PER_COMPANY_MAIL = "ff8e4c2a1b96"  # "Keep mail preferences per user and company"


def test_the_per_company_mail_migration_keeps_every_users_choice_for_each_of_their_companies(empty_database):
    before = migrate_to_before(empty_database, PER_COMPANY_MAIL)
    with empty_database.begin() as connection:
        connection.execute(TWO_COMPANIES, {"at": CREATED})
        connection.execute(text(
            "INSERT INTO user_account (id, email, password_hash, created_at) VALUES"
            " (10, 'anna@byran.se', 'x', :at), (11, 'bo@krogen.se', 'x', :at), (12, 'cilla@bistron.se', 'x', :at)"),
            {"at": CREATED})
        connection.execute(text(
            "INSERT INTO membership (user_id, company_id, role, created_at) VALUES"
            " (10, 1, 'admin', :at), (10, 2, 'manager', :at), (11, 1, 'manager', :at), (12, 2, 'admin', :at)"),
            {"at": CREATED})
        # Anna wants no problem mails but the weekly summary; Bo the problem mails; Cilla never chose.
        connection.execute(text(
            "INSERT INTO mail_preference (user_id, problems, weekly, updated_at) VALUES"
            " (10, :no, :yes, :at), (11, :yes, :no, :at)"), {"at": CREATED, "yes": True, "no": False})

    migrate(empty_database, PER_COMPANY_MAIL)

    with empty_database.connect() as connection:
        choices = connection.execute(text(
            "SELECT user_id, company_id, problems, weekly FROM mail_preference ORDER BY user_id, company_id")).all()
    assert [(u, c, bool(p), bool(w)) for u, c, p, w in choices] == [
        (10, 1, False, True), (10, 2, False, True), (11, 1, True, False)]  # Cilla keeps her role's default
    with empty_database.begin() as connection:  # Anna takes Bistron's problem mails after all
        connection.execute(text("UPDATE mail_preference SET problems = :yes WHERE user_id = 10 AND company_id = 2"),
                           {"yes": True})

    migrate(empty_database, before, down=True)

    with empty_database.connect() as connection:
        choices = connection.execute(text(
            "SELECT user_id, problems, weekly FROM mail_preference ORDER BY user_id")).all()
    # One choice per user again: a mail chosen for any of their companies.
    assert [(u, bool(p), bool(w)) for u, p, w in choices] == [(10, True, True), (11, True, False)]


CORRECTION_FILE_DATE = "ff9b3d5e7a10"  # "Date the voucher a correction's file goes to"


def insert_row(connection, table: str, **given) -> None:
    """One row of ``table`` as the schema of the moment has it: ``given`` and, for every other
    required column without a default, a plain value of its type."""
    plain = {"INTEGER": 1, "SMALLINT": 0, "BIGINT": 0, "NUMERIC": 0, "BOOLEAN": False, "DATE": "2026-11-02",
             "DATETIME": CREATED, "TIMESTAMP": CREATED, "TEXT": "{}"}
    values = dict(given)
    for column in inspect(connection).get_columns(table):
        name, kind = column["name"], str(column["type"]).split("(")[0].upper()
        if name in values or column["nullable"] or column.get("default") is not None:
            continue
        values[name] = plain.get(kind, "x")  # VARCHAR
    names = ", ".join(values)
    connection.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in values)})"), values)


def test_a_corrections_pending_file_takes_the_corrections_booking_day_as_its_vouchers_date(empty_database):
    before = migrate_to_before(empty_database, CORRECTION_FILE_DATE)
    with empty_database.begin() as connection:
        connection.execute(TWO_COMPANIES, {"at": CREATED})
        insert_row(connection, "register", id=1, company_id=1, pos_id="K1", token_hash="h" * 64)
        insert_row(connection, "register_unit", id=1, register_id=1, number=1)
        insert_row(connection, "zreport", id=1, company_id=1, register_id=1, unit_id=1, z_number=1042,
                   business_date="2026-04-30", content_hash="c" * 64)
        insert_row(connection, "export_job", id=1, zreport_id=1, company_id=1, state="exported")
        insert_row(connection, "correction_run", id=1, company_id=1)
        # The day of 2026-04-30 corrected on 2026-05-04, a day of the next financial year.
        insert_row(connection, "correction", id=1, run_id=1, company_id=1, zreport_id=1, job_id=1,
                   state="done", booking_date="2026-05-04")
        insert_row(connection, "voucher_attachment", id=1, job_id=1, company_id=1, state="pending")  # the export's
        insert_row(connection, "voucher_attachment", id=2, job_id=1, company_id=1, state="pending", correction_id=1)

    migrate(empty_database, CORRECTION_FILE_DATE)

    with empty_database.connect() as connection:
        dates = connection.execute(text("SELECT id, voucher_date FROM voucher_attachment ORDER BY id")).all()
    assert [(i, None if d is None else str(d)) for i, d in dates] == [(1, None), (2, "2026-05-04")]

    migrate(empty_database, before, down=True)

    with empty_database.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("voucher_attachment")}
    assert "voucher_date" not in columns
