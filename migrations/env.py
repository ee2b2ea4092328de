"""Alembic environment: migrates the database named in the configuration to the models' schema."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from backoffice.db import Base, UTCDateTime, compare_type_for_migrations, import_models

import_models()
config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Write our UTCDateTime as a plain aware DateTime: migrations must not import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=compare_type_for_migrations,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
