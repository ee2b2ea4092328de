"""The test's own session on SQLite: a reader that writes after reading waits its turn for the lock.

A deferred SQLite transaction can't take the write lock once another connection has committed since
its snapshot; SQLite then answers "database is locked" at once, whatever the busy timeout. A test
that reads a row, lets the live server work, and then commits a change to that row must not fail so.
"""

import sqlite3

import pytest
from sqlalchemy import text

from backoffice.db import make_engine


@pytest.fixture
def engines(tmp_path):
    """The app's engine and the test's (reader) engine on one new SQLite file with a counter at 0."""
    url = f"sqlite:///{tmp_path / 'reader.db'}"
    app_engine = make_engine(url)
    test_engine = make_engine(url, sqlite_write_lock_at_begin=False)
    with app_engine.begin() as app:
        app.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)")
        app.exec_driver_sql("INSERT INTO counter VALUES (1, 0)")
    yield app_engine, test_engine
    app_engine.dispose()
    test_engine.dispose()


def test_a_reader_that_writes_after_another_commit_waits_instead_of_failing(engines):
    app_engine, test_engine = engines
    with test_engine.connect() as test:
        assert test.execute(text("SELECT value FROM counter")).scalar() == 0  # the test's snapshot
        with app_engine.begin() as app:
            app.exec_driver_sql("UPDATE counter SET value = 5")  # the server commits meanwhile
        test.execute(text("UPDATE counter SET value = value + 1"))
        test.commit()

    with test_engine.connect() as test:
        assert test.execute(text("SELECT value FROM counter")).scalar() == 6


def test_a_reader_that_only_reads_never_holds_the_write_lock(engines, tmp_path):
    _, test_engine = engines
    with test_engine.connect() as test:
        test.execute(text("SELECT value FROM counter")).scalar()  # an open read transaction
        app = sqlite3.connect(tmp_path / "reader.db", timeout=0.1)  # fails fast if the lock is held
        app.execute("UPDATE counter SET value = 7")
        app.commit()
        app.close()
