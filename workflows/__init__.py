"""Linkage's processes: forms, rules and handlers for the bundled BPMN models."""
