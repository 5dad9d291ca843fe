"""Page views (filled in by the web UI work)."""
from flask import redirect, url_for

from web.pages import bp


@bp.get("/login")
def login():
    return "login"


@bp.get("/")
def inbox():
    return redirect(url_for("pages.login"))
