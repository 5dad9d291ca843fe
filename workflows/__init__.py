"""Linkage's processes: forms, rules, handlers and tables for the bundled BPMN models."""
from pathlib import Path

from workflows.forms import register_forms

MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


def upgrade_schema(database):
    """The engine's schema plus the domain's own tables (contracts, credit files)."""
    from engine import schema
    import workflows.models  # noqa: F401 - the tables' metadata, for autogenerate
    schema.upgrade(database, extra_versions=[MIGRATIONS])


__all__ = ["register_forms", "upgrade_schema", "MIGRATIONS"]
