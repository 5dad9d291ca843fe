"""marshmallow schemas of the API: what goes in is validated here, what goes out is shaped here,
and the OpenAPI document is generated from the same classes."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema


class Strict(Schema):
    class Meta:
        unknown = EXCLUDE


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


class TokenRequest(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80),
                             error_messages={"required": "请填写用户名"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=200),
                             error_messages={"required": "请填写密码"})


class TokenResponse(Schema):
    token = fields.String(required=True)


class TokenInfo(Schema):
    """A token as listed: never the token itself (only its hash is stored)."""
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(allow_none=True)
    current = fields.Boolean(required=True)


class TokenArgs(Strict):
    username = fields.String(validate=validate.Length(min=1, max=80))


class Process(Schema):
    id = fields.String(attribute="process_id", required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    deployed_at = fields.DateTime()


class ProcessDetail(Process):
    start_form = fields.Dict(allow_none=True)
    versions = fields.List(fields.Integer())


class Deployment(Schema):
    process_id = fields.String()
    name = fields.String()
    version = fields.Integer()
    created = fields.Boolean()


class Task(Schema):
    id = fields.String(required=True)
    case_id = fields.String(required=True)
    process_id = fields.String()
    name = fields.String(required=True)
    title = fields.String(required=True)
    lane = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String())
    assignee = fields.String(allow_none=True)
    compound = fields.String(allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    state = fields.String(required=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)


class TaskDetail(Task):
    form = fields.Dict(required=True)


class Timer(Schema):
    name = fields.String(required=True)
    element = fields.String()
    due_at = fields.DateTime(required=True)


class Case(Schema):
    id = fields.String(required=True)
    process_id = fields.String(required=True)
    version = fields.Integer(required=True)
    revision = fields.Integer(required=True)
    status = fields.String(required=True)
    title = fields.String()
    compound = fields.String(allow_none=True)
    data = fields.Dict(required=True)
    error = fields.String(allow_none=True)
    started_by = fields.String(allow_none=True)
    started_at = fields.DateTime()
    updated_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    tasks = fields.List(fields.Nested(Task))
    timers = fields.List(fields.Nested(Timer))


class Event(Schema):
    id = fields.Integer()
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    kind = fields.String(required=True)
    element = fields.String(allow_none=True)
    detail = fields.Dict(required=True)


def page_of(item_schema):
    return type(f"{item_schema.__name__}Page", (Schema,), {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "total": fields.Integer(required=True),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
    })


class PageArgs(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000,
                                                                  error="页码必须在 1 到 100000 之间"))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200,
                                                                       error="每页条数必须在 1 到 200 之间"))


class CaseArgs(PageArgs):
    process_id = fields.String(validate=validate.Length(max=128))
    status = fields.String(validate=validate.OneOf(["running", "completed", "cancelled", "error"],
                                                   error="状态必须是 running、completed、cancelled 或 error"))
    overdue = fields.Boolean()
    compound = fields.String(validate=validate.Length(max=64))


class TaskArgs(PageArgs):
    case_id = fields.String(validate=validate.Length(max=36))
    state = fields.String(validate=validate.OneOf(["ready", "completed", "cancelled"],
                                                  error="状态必须是 ready、completed 或 cancelled"))
    overdue = fields.Boolean()
    mine = fields.Boolean()
    process_id = fields.String(validate=validate.Length(max=128))


class StartCase(Strict):
    process_id = fields.String(required=True, validate=validate.Length(min=1, max=128),
                               error_messages={"required": "请指定流程 process_id"})
    data = fields.Dict(load_default=dict, error_messages={"invalid": "data 必须是 JSON 对象"})
    compound = fields.String(allow_none=True, validate=validate.Length(max=64))
    version = fields.Integer(allow_none=True, validate=validate.Range(min=1))


class CompleteTask(Strict):
    data = fields.Dict(load_default=dict, error_messages={"invalid": "data 必须是 JSON 对象"})


class Escalate(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000,
                                                                   error="请填写 2 到 1000 字的原因"),
                           error_messages={"required": "请填写上报原因"})


class Message(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         error_messages={"required": "请填写消息名称"})
    case_id = fields.String(allow_none=True, validate=validate.Length(max=36))
    correlation = fields.Dict(keys=fields.String(), allow_none=True)
    data = fields.Dict(load_default=dict)

    @validates_schema
    def _one_target(self, value, **_):
        if not value.get("case_id") and not value.get("correlation"):
            raise ValidationError("请指定 case_id 或 correlation", "case_id")


class Delivered(Schema):
    delivered_to = fields.List(fields.String(), required=True)
