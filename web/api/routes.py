"""API routes: parse with a schema, call one service-layer method, dump with a schema."""
from flask import g, jsonify, request
from marshmallow import ValidationError

from engine import queries
from engine.errors import BadRequest, Forbidden, ValidationFailed
from engine.service import ESCALATE_MESSAGE
from engine.users import authenticate, issue_token
from web.api import bp, schemas, tokens
from web.api.errors import UnsupportedMediaType
from web.api.auth import Unauthorized, require_token
from web.api.openapi import openapi_document
from web.security import safe_upload_name
from web.services import engine


def _body(schema_cls):
    if not request.is_json:
        if request.mimetype or request.content_length:  # a body of some other kind
            raise UnsupportedMediaType("请求体必须是 JSON（Content-Type: application/json）")
        raise BadRequest("请求体必须是 JSON（Content-Type: application/json）")
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise BadRequest("请求体必须是 JSON 对象")
    return _load(schema_cls, payload)


def _args(schema_cls):
    return _load(schema_cls, request.args.to_dict())


def _load(schema_cls, payload):
    try:
        return schema_cls().load(payload)
    except ValidationError as exc:
        fields = {k: v if isinstance(v, list) else [str(v)] for k, v in exc.messages.items()}
        raise ValidationFailed("请求数据有误", fields=fields) from exc


def _page(page, schema_cls):
    return jsonify({"items": schema_cls(many=True).dump(page.items), "total": page.total,
                    "page": page.page, "per_page": page.per_page})


_CASE = schemas.Case()  # built once: a schema instance only holds its fields, so is reusable


def case_view(session, case):
    # The runtime's copy of the definition: deployed versions never change, and the row with
    # its BPMN text is not worth reading for its version number on every answer.
    definition_version = engine().runtime.definition(session, case.definition_id).version
    body = {
        "id": case.id, "process_id": case.process_id, "version": definition_version,
        "revision": case.version, "status": case.status, "title": case.title,
        "compound": case.compound, "data": case.data, "error": case.error,
        "started_by": case.started_by, "started_at": case.started_at,
        "updated_at": case.updated_at, "completed_at": case.completed_at,
        "tasks": queries.case_tasks(session, case.id),
        "timers": queries.case_timers(session, case.id),
    }
    return _CASE.dump(body)


def _case_response(case_id, status=200):
    with engine().db.unit_of_work(write=False) as session:
        case = queries.get_case(session, g.principal, case_id)
        return jsonify(case_view(session, case)), status


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.post("/auth/token")
def token():
    body = _body(schemas.TokenRequest)
    attempt = tokens.LoginAttempt(body["username"])  # throttled like the login page
    with engine().db.unit_of_work() as session:
        user = authenticate(session, body["username"], body["password"])
        if user is None:
            attempt.failed()
            raise Unauthorized("用户名或密码错误")
        attempt.succeeded()
        return jsonify({"token": issue_token(session, user, engine().clock.now())})


@bp.get("/processes")
@require_token
def list_processes():
    args = _args(schemas.PageArgs)
    with engine().db.unit_of_work(write=False) as session:
        return _page(queries.list_processes(session, args["page"], args["per_page"]), schemas.Process)


@bp.get("/processes/<process_id>")
@require_token
def get_process(process_id):
    from engine.deployment import get_definition
    with engine().db.unit_of_work(write=False) as session:
        definition = get_definition(session, process_id)
        body = schemas.Process().dump(definition)
        body["start_form"] = engine().forms.schema(definition.start_form)
        body["versions"] = [d.version for d in queries.process_versions(session, process_id)]
        return jsonify(body)


@bp.post("/processes")
@require_token
def deploy_process():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("请上传 BPMN 文件", fields={"file": ["必填（multipart 字段 file）"]})
    name = safe_upload_name(upload.filename)  # a name, never a path (../, C:\\, NUL)
    if name is None:
        raise ValidationFailed("文件名无效", fields={"file": ["文件名不能为空或只由路径组成"]})
    results = engine().deploy([(name, upload.read())], g.principal)
    return jsonify({"items": schemas.Deployment(many=True).dump(results)}), 201


@bp.post("/cases")
@require_token
def start_case():
    body = _body(schemas.StartCase)
    case = engine().start_case(g.principal, body["process_id"], body["data"],
                               body.get("compound"), body.get("version"))
    return _case_response(case.id, 201)


@bp.get("/cases")
@require_token
def list_cases():
    args = _args(schemas.CaseArgs)
    with engine().db.unit_of_work(write=False) as session:
        page = queries.list_cases(session, g.principal, args.get("process_id"), args.get("status"),
                                  args.get("overdue", False), args.get("compound"),
                                  engine().clock.now(), args["page"], args["per_page"])
        return jsonify({"items": [case_view(session, c) for c in page.items], "total": page.total,
                        "page": page.page, "per_page": page.per_page})


@bp.get("/cases/<case_id>")
@require_token
def get_case(case_id):
    return _case_response(case_id)


@bp.post("/cases/<case_id>/cancel")
@require_token
def cancel_case(case_id):
    payload = request.get_json(silent=True) or {}
    engine().cancel_case(g.principal, case_id, str(payload.get("reason", ""))[:1000])
    return _case_response(case_id)


@bp.get("/cases/<case_id>/events")
@require_token
def case_events(case_id):
    args = _args(schemas.PageArgs)
    with engine().db.unit_of_work(write=False) as session:
        page = queries.list_events(session, g.principal, case_id, args["page"], args["per_page"])
        return _page(page, schemas.Event)


@bp.get("/tasks")
@require_token
def list_tasks():
    args = _args(schemas.TaskArgs)
    with engine().db.unit_of_work(write=False) as session:
        page = queries.list_tasks(session, g.principal, args.get("case_id"), args.get("state"),
                                  args.get("overdue", False), engine().clock.now(),
                                  g.principal.username if args.get("mine") else None,
                                  args.get("process_id"), args["page"], args["per_page"])
        return _page(page, schemas.Task)


def task_view(session, row):
    body = schemas.Task().dump(row)
    body["form"] = engine().forms.schema(row.form_key) or {"type": "object"}
    return body


@bp.get("/tasks/<task_id>")
@require_token
def get_task(task_id):
    with engine().db.unit_of_work(write=False) as session:
        return jsonify(task_view(session, queries.get_task(session, g.principal, task_id)))


@bp.post("/tasks/<task_id>/claim")
@require_token
def claim_task(task_id):
    engine().claim_task(g.principal, task_id)
    return get_task(task_id)


@bp.post("/tasks/<task_id>/unclaim")
@require_token
def unclaim_task(task_id):
    engine().claim_task(g.principal, task_id, release=True)
    return get_task(task_id)


@bp.post("/tasks/<task_id>/complete")
@require_token
def complete_task(task_id):
    body = _body(schemas.CompleteTask)
    # The answer is read inside the completion's transaction (the actor may act on the task,
    # so sees its case): the case as it committed, without a second transaction to read it.
    return jsonify(engine().complete_task(g.principal, task_id, body["data"], view=case_view))


@bp.post("/tasks/<task_id>/escalate")
@require_token
def escalate_task(task_id):
    body = _body(schemas.Escalate)
    case_id = engine().escalate_task(g.principal, task_id, body["reason"])
    return _case_response(case_id)


@bp.post("/messages")
@require_token
def messages():
    body = _body(schemas.Message)
    if body["name"] == ESCALATE_MESSAGE and not g.principal.is_supervisor:
        # the escalation message is what /tasks/{id}/escalate sends: only supervisors may
        raise Forbidden("只有街道、住建部门或管理员可以上报（消息 escalate）")
    delivered = engine().correlate(g.principal, body["name"], body.get("case_id"),
                                   body.get("correlation"), body.get("data"))
    return jsonify({"delivered_to": delivered})
