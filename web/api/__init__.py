"""The HTTP API (`/api/v1`): JSON in and out, bearer tokens, the contract's error shape."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from web.api import errors, routes  # noqa: E402,F401  (routes register on bp)
from web.api import interventions  # noqa: E402,F401  (reassign, extend deadline)
from web.api import tokens  # noqa: E402,F401  (list and revoke API tokens)
from web.api import notifications  # noqa: E402,F401  (in-app notifications, failed deliveries)
from web.api import reports  # noqa: E402,F401  (statistics tables, case documents)
