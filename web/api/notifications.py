"""In-app notifications of the signed-in user, and the outbox's failed deliveries for admins.

`GET /notifications` answers the page with the unread count (`unread`) beside it, for the
badge; `POST /notifications/{id}/read` and `POST /notifications/read` mark read.
`GET /deliveries?status=failed` and `POST /deliveries/{id}/retry` are for administrators.
"""
from flask import g, jsonify
from marshmallow import Schema, fields, validate

from engine import notifications, scheduler_admin
from web.api import bp
from web.api.auth import require_token
from web.api.routes import _args
from web.api.schemas import PageArgs
from web.services import engine


class NotificationArgs(PageArgs):
    unread = fields.Boolean(load_default=False)


class DeliveryArgs(PageArgs):
    status = fields.String(load_default="failed", validate=validate.OneOf(
        scheduler_admin.DELIVERY_STATES, error="状态必须是 pending、sent 或 failed"))


class Notification(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    link = fields.String()
    case_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True)
    read = fields.Function(lambda row: row.read_at is not None)


class Delivery(Schema):
    id = fields.Integer(required=True)
    channel = fields.String(required=True)
    recipient = fields.String(required=True)
    username = fields.String(allow_none=True)
    case_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    subject = fields.String()
    status = fields.String(required=True)
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


def _page_body(page, schema_cls, **extra):
    return {"items": schema_cls(many=True).dump(page.items), "total": page.total,
            "page": page.page, "per_page": page.per_page, **extra}


@bp.get("/notifications")
@require_token
def list_notifications():
    args = _args(NotificationArgs)
    with engine().db.unit_of_work(write=False) as session:
        page = notifications.list_notifications(session, g.principal.username, args["unread"],
                                                args["page"], args["per_page"])
        unread = notifications.unread_count(session, g.principal.username)
        return jsonify(_page_body(page, Notification, unread=unread))


@bp.post("/notifications/<int:notification_id>/read")
@require_token
def read_notification(notification_id):
    with engine().db.unit_of_work() as session:
        notifications.mark_read(session, g.principal.username, notification_id, engine().clock.now())
    with engine().db.unit_of_work(write=False) as session:
        return jsonify({"unread": notifications.unread_count(session, g.principal.username)})


@bp.post("/notifications/read")
@require_token
def read_all_notifications():
    with engine().db.unit_of_work() as session:
        marked = notifications.mark_all_read(session, g.principal.username, engine().clock.now())
    return jsonify({"marked": marked, "unread": 0})


@bp.get("/deliveries")
@require_token
def list_deliveries():
    args = _args(DeliveryArgs)
    with engine().db.unit_of_work(write=False) as session:
        page = scheduler_admin.list_deliveries(session, g.principal, args["status"], args["page"],
                                               args["per_page"])
        return jsonify(_page_body(page, Delivery))


@bp.post("/deliveries/<int:delivery_id>/retry")
@require_token
def retry_delivery(delivery_id):
    with engine().db.unit_of_work() as session:
        row = scheduler_admin.retry_delivery(session, g.principal, delivery_id, engine().clock.now())
        return jsonify(Delivery().dump(row))


def openapi_paths(op):
    """This module's operations for the OpenAPI document (`web.api.openapi`)."""
    def number(name):
        return {"in": "path", "name": name, "required": True, "schema": {"type": "integer"}}
    page = [{"in": "query", "name": n, "schema": {"type": "integer"}} for n in ("page", "per_page")]
    return {
        "/notifications": {"get": op("我的站内通知（含未读数 unread）", params=[
            *page, {"in": "query", "name": "unread", "schema": {"type": "boolean"}}], errors=("401", "422"))},
        "/notifications/{notification_id}/read": {"post": op(
            "标为已读", params=[number("notification_id")], errors=("401", "404"))},
        "/notifications/read": {"post": op("全部标为已读", errors=("401",))},
        "/deliveries": {"get": op("邮件、Webhook 发送记录（管理员；默认失败的）", params=[
            *page, {"in": "query", "name": "status", "schema": {
                "type": "string", "enum": list(scheduler_admin.DELIVERY_STATES)}}],
            errors=("401", "403", "422"))},
        "/deliveries/{delivery_id}/retry": {"post": op(
            "重新发送失败的记录（管理员）", params=[number("delivery_id")], errors=("401", "403", "404", "409"))},
    }
