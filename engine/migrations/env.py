"""Alembic environment: the engine's metadata, the URL handed over by `engine.schema`."""
from alembic import context

from engine.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online():
    connectable = config.attributes.get("connection")
    context.configure(connection=connectable, target_metadata=target_metadata,
                      render_as_batch=connectable.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
