"""The ``flask db`` commands (schema migrations with Alembic), and what every feature's commands share."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from backoffice.companies.models import Company
from backoffice.db import session

#: migrations/ beside the package (the repository's layout).
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url`` with the project's migrations."""
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def company_by_name(name: str) -> Company:
    """The company called ``name``, or a usage error naming it."""
    company = session.scalar(select(Company).where(Company.name == name))
    if company is None:
        raise click.BadParameter(f"no company named {name!r}", param_hint="--company")
    return company


db_cli = AppGroup("db", help="Database schema migrations.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Upgrade the database schema to the latest migration (or REVISION)."""
    command.upgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help='An imperative phrase, e.g. "Add export attempts".')
def revision(message: str) -> None:
    """Generate a migration from the difference between the models and the database."""
    command.revision(alembic_config(current_app.config["DATABASE_URL"]), message=message, autogenerate=True)
