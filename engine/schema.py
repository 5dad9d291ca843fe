"""Create or upgrade the schema with Alembic: `linkage init` calls `upgrade`, idempotently.

The engine's migrations live in `engine/migrations/versions`. A package built on the engine
(our `workflows`) keeps the migrations of its own tables in its own folder and passes it as an
extra version location, so the engine's history never names a domain table. Independent
features branch from the revision they need; `upgrade` goes to every head.
"""
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection=None, extra_versions=()):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(
        [str(MIGRATIONS / "versions"), *(str(p) for p in extra_versions)]))
    config.attributes["connection"] = connection
    return config


def upgrade(database, extra_versions=()):
    with database.engine.begin() as connection:
        command.upgrade(alembic_config(connection, extra_versions), "heads")


def autogenerate(database, message, extra_versions=(), version_path=None):
    """For developers adding a migration: compares the models with the database."""
    with database.engine.begin() as connection:
        command.revision(alembic_config(connection, extra_versions), message=message,
                         autogenerate=True, version_path=version_path)
