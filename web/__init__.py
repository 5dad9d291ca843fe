"""Linkage's web entry point: the Flask application, its API, pages and command line."""
from web.app import create_app

__all__ = ["create_app"]
