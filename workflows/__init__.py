"""Linkage's processes: forms, rules, handlers and tables for the bundled BPMN models."""
from pathlib import Path

from workflows.forms import register_forms
from workflows.handlers import register_handlers

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


def register(engine):
    """Give an engine our forms and service handlers: every entry point calls this once."""
    register_forms(engine.forms)
    register_handlers(engine.handlers)
    from workflows.schedules import register_schedules
    register_schedules(engine.scheduler.hooks)  # recurring cases' start data, contract dates


def upgrade_schema(database):
    """The engine's schema plus the domain's own tables (contracts, credit files)."""
    from engine import schema
    import workflows.models  # noqa: F401 - the tables' metadata, for autogenerate
    schema.upgrade(database, extra_versions=[MIGRATIONS])


__all__ = ["register", "register_forms", "register_handlers", "upgrade_schema", "MIGRATIONS"]
