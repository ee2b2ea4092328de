"""The migrations produce exactly the models' schema (autogenerate finds no difference), in one chain
whose file names sort in its order."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from backoffice.cli import alembic_config
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


def test_the_migrations_are_one_chain_whose_file_names_sort_in_its_order(database_url):
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    chain = [Path(script.path).name for script in reversed(list(scripts.walk_revisions()))]

    assert len(scripts.get_heads()) == 1
    assert sorted(chain) == chain
