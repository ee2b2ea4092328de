"""The migrations produce exactly the models' schema (autogenerate finds no difference)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from backoffice.db import Base, import_models
from backoffice.db import compare_type_for_migrations as compare_type


def test_migrations_produce_exactly_the_models_schema(database_url):
    import_models()
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": compare_type})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
