"""Linkage's processes: forms, rules and handlers for the bundled BPMN models."""
from workflows.forms import register_forms

__all__ = ["register_forms"]
