"""CSRF protection for the pages: one random token per session, echoed by every POST form.

The token lives in the signed session cookie; forms carry it in the hidden field `csrf_token`
(scripts may send it as the `X-CSRF-Token` header instead). Every POST to the pages blueprint
is checked before its view runs.
"""
import hmac
import secrets

from flask import request, session
from markupsafe import Markup, escape

SESSION_KEY = "_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def token():
    """The session's token, created on first use."""
    value = session.get(SESSION_KEY)
    if not value:
        value = secrets.token_urlsafe(32)
        session[SESSION_KEY] = value
    return value


def rotate():
    """A fresh token, e.g. after signing in, so a token seen before login is worthless after."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


def field():
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(token())}">')


def request_is_valid():
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    if not expected or not sent:
        return False
    return hmac.compare_digest(str(expected).encode("utf-8"), sent.encode("utf-8"))
