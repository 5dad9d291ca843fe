"""Linkage's generic workflow engine."""
