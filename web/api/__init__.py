"""The HTTP API (`/api/v1`): JSON in and out, bearer tokens, the contract's error shape."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from web.api import errors, routes  # noqa: E402,F401  (routes register on bp)
