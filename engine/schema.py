"""Create or upgrade the schema with Alembic: `linkage init` calls `upgrade`, idempotently."""
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection=None):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(database):
    """Upgrade to every head: independent features add their migrations as parallel branches
    from the revision they need, so no feature's migration has to know another's."""
    with database.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "heads")


def autogenerate(database, message):
    """For developers adding a migration: compares the models with the database."""
    with database.engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
