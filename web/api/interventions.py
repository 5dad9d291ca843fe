"""Supervisors' interventions on a task through the API: reassign it, extend its deadline.

Escalation lives with the other task routes; these two are the board's other actions, each a
call of one service-layer method, answering the case like the other task commands.
"""
from flask import g
from marshmallow import fields, validate

from web.api import bp
from web.api.auth import require_token
from web.api.routes import _body, _case_response
from web.api.schemas import Strict
from web.services import engine


class Reassign(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80),
                             error_messages={"required": "请填写改派给哪位用户"})
    reason = fields.String(load_default="", validate=validate.Length(max=1000,
                                                                     error="原因不能超过 1000 字"))


class ExtendDeadline(Strict):
    due_at = fields.AwareDateTime(required=True, default_timezone=None,
                                  error_messages={"required": "请填写新的期限",
                                                  "invalid": "不是有效的日期时间（ISO 8601，带时区）",
                                                  "invalid_awareness": "新的期限必须带时区，如 +08:00"})
    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000,
                                                                   error="请填写 2 到 1000 字的原因"),
                           error_messages={"required": "请填写延期原因"})


@bp.post("/tasks/<task_id>/reassign")
@require_token
def reassign_task(task_id):
    body = _body(Reassign)
    row = engine().reassign_task(g.principal, task_id, body["username"], body["reason"])
    return _case_response(row.case_id)


@bp.post("/tasks/<task_id>/extend")
@require_token
def extend_deadline(task_id):
    body = _body(ExtendDeadline)
    row = engine().extend_deadline(g.principal, task_id, body["due_at"], body["reason"])
    return _case_response(row.case_id)


def openapi_paths(_op, task_id, spec):
    """The two endpoints in the OpenAPI document (their bodies registered as components)."""
    spec.components.schema("Reassign", schema=Reassign)
    spec.components.schema("ExtendDeadline", schema=ExtendDeadline)
    errors = ("400", "401", "403", "404", "409", "422")
    return {"/tasks/{task_id}/reassign": {"post": _op("改派任务（监管人员）", "Case", body="Reassign",
                                                      params=[task_id], errors=errors)},
            "/tasks/{task_id}/extend": {"post": _op("延长任务期限（监管人员，须写明原因）", "Case",
                                                    body="ExtendDeadline", params=[task_id], errors=errors)}}
