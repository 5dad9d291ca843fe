"""The signed-in user's in-app notifications (`/notifications`) and the unread badge.

Reminders from the scheduler land here; the page header shows how many are unread (the template
global `unread_notifications()`), opening one marks it read and goes to its task.
"""
from flask import g, redirect, render_template, request, url_for

from engine import notifications
from web.pages import bp
from web.pages.auth import login_required
from web.services import engine

PER_PAGE = 20


@bp.record_once
def _badge(state):
    state.app.add_template_global(unread_notifications, "unread_notifications")


def unread_notifications():
    """How many notifications the signed-in user has not read (0 when signed out)."""
    principal = g.get("principal")
    if principal is None:
        return 0
    with engine().db.unit_of_work(write=False) as session:
        return notifications.unread_count(session, principal.username)


@bp.get("/notifications")
@login_required
def notifications_page():
    page_number = max(1, request.args.get("page", 1, type=int) or 1)
    unread_only = request.args.get("unread") == "1"
    with engine().db.unit_of_work(write=False) as session:
        page = notifications.list_notifications(session, g.principal.username, unread_only,
                                                page_number, PER_PAGE)
        unread = notifications.unread_count(session, g.principal.username)
    return render_template("pages/notifications.html", page=page, unread=unread,
                           unread_only=unread_only)


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_notification(notification_id):
    with engine().db.unit_of_work() as session:
        row = notifications.mark_read(session, g.principal.username, notification_id,
                                      engine().clock.now())
        task_id = row.task_id
    if task_id:
        return redirect(url_for("pages.task", task_id=task_id))
    return redirect(url_for("pages.notifications_page"))


@bp.post("/notifications/read")
@login_required
def read_all_notifications():
    with engine().db.unit_of_work() as session:
        notifications.mark_all_read(session, g.principal.username, engine().clock.now())
    return redirect(url_for("pages.notifications_page"))
