"""Small helpers shared by the API and the pages to reach the app's engine."""
from flask import current_app


def engine():
    return current_app.extensions["linkage"]
