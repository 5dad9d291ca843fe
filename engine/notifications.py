"""A user's in-app notifications: the unread count behind the page badge, listing, marking read.

Each user sees only their own notifications; marking one that is not theirs is "not found".
"""
from sqlalchemy import func, select, update

from engine.errors import NotFound
from engine.queries import Page, _page
from engine.scheduler_models import Notification


def unread_count(session, username):
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.username == username, Notification.read_at.is_(None))) or 0


def list_notifications(session, username, unread_only=False, page=1, per_page=20):
    query = select(Notification).where(Notification.username == username)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return _page(session, query, page, per_page, [Notification.created_at.desc(), Notification.id.desc()])


def mark_read(session, username, notification_id, now):
    row = session.get(Notification, notification_id)
    if row is None or row.username != username:
        raise NotFound("未找到该通知")
    if row.read_at is None:
        row.read_at = now
    return row


def mark_all_read(session, username, now):
    result = session.execute(update(Notification).where(
        Notification.username == username, Notification.read_at.is_(None)).values(read_at=now))
    return result.rowcount or 0


__all__ = ["Page", "list_notifications", "mark_all_read", "mark_read", "unread_count"]
