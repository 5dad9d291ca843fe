"""Who is signed in: the session cookie holds the user id; each request loads the user afresh,
so a deactivated user is out at their next click."""
from functools import wraps
from urllib.parse import urlsplit

from flask import g, redirect, request, session, url_for

from engine.errors import Forbidden
from engine.models import User
from engine.users import principal_for
from web.pages import csrf
from web.pages.i18n import _
from web.services import engine


def load_signed_in_user():
    g.user = g.principal = None
    user_id = session.get("uid")
    if user_id is None:
        return
    with engine().db.unit_of_work(write=False) as db:
        user = db.get(User, user_id)
        if user is None or not user.active or user.username != session.get("username"):
            session.pop("uid", None)
            session.pop("username", None)
            return
        g.user = user
        g.principal = principal_for(db, user)


def sign_in(user):
    session.clear()
    session["uid"] = user.id
    session["username"] = user.username
    csrf.rotate()


def sign_out():
    session.clear()


def display_name():
    user = g.get("user")
    return (user.display_name or user.username) if user else ""


def role_name():
    from web.pages.display import role_name as label
    principal = g.get("principal")
    return label(principal.role) if principal else ""


def current_path():
    query = request.query_string.decode("utf-8", "replace")
    return request.path + (f"?{query}" if query else "")


def safe_next(target, default=None):
    """Only same-site paths are followed after login or an action: no open redirects."""
    default = default or url_for("pages.inbox")
    if not target or not isinstance(target, str):
        return default
    if any(c in target for c in "\\\r\n\t") or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def back(default=None):
    """Where to go after an action: the form's `next`, else the page it was sent from."""
    target = request.form.get("next")
    if not target and request.referrer:
        ref = urlsplit(request.referrer)
        if ref.netloc == request.host:
            target = ref.path + (f"?{ref.query}" if ref.query else "")
    return safe_next(target, default)


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("principal") is None:
            # After signing in, a page comes back as it was; a form post goes back to its page.
            target = current_path() if request.method == "GET" else back()
            return redirect(url_for("pages.login", next=target))
        return view(*args, **kwargs)
    return wrapper


def supervisor_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not g.principal.is_supervisor:
            raise Forbidden(_("只有街道、住建部门或管理员可以查看监管看板"))
        return view(*args, **kwargs)
    return wrapper
