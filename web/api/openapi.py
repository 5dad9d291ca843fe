"""The OpenAPI 3 document, generated from the marshmallow schemas of `web.api.schemas`."""
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from web.api import schemas

ERRORS = {"400": "请求格式错误", "401": "未登录", "403": "没有权限", "404": "未找到",
          "409": "冲突", "413": "请求内容过大", "415": "不支持的内容类型（须为 application/json）",
          "422": "数据无效", "429": "请求过于频繁"}


def _refusals(body, multipart):
    """What web.security refuses before any view runs, whatever the operation: NUL or broken
    Unicode in the path or query and malformed JSON (400), bodies over the limits (413), a
    body that is not JSON where JSON is expected (415)."""
    codes = ["400"]
    if body is not None or multipart:
        codes.append("413")
    if body is not None:
        codes.append("415")
    return codes


def _op(summary, ok_schema=None, ok="200", body=None, params=(), errors=("401",), multipart=False):
    responses = {ok: {"description": "成功"}}
    if ok_schema is not None:
        responses[ok]["content"] = {"application/json": {"schema": ok_schema}}
    for code in dict.fromkeys([*errors, *_refusals(body, multipart)]):
        responses[code] = {"description": ERRORS[code],
                           "content": {"application/json": {"schema": "Error"}}}
    operation = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = list(params)
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": body}}}
    if multipart:
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["file"],
                       "properties": {"file": {"type": "string", "format": "binary"}}}}}}
    if "401" in errors:
        operation["security"] = [{"bearer": []}]
    return operation


def _path_param(name):
    return {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}


def _query(schema_cls):
    return {"in": "query", "schema": schema_cls}


@lru_cache(maxsize=1)
def openapi_document():
    spec = APISpec(title="Linkage API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "三方联动工作流引擎接口"})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name in ("Error", "TokenRequest", "TokenResponse", "Process", "ProcessDetail", "Deployment",
                 "Task", "TaskDetail", "Case", "Event", "StartCase", "CompleteTask", "Escalate",
                 "Message", "Delivered"):
        spec.components.schema(name, schema=getattr(schemas, name))
    for name in ("Process", "Case", "Task", "Event", "TokenInfo"):
        spec.components.schema(f"{name}Page", schema=schemas.page_of(getattr(schemas, name)))
    case_id, task_id = _path_param("case_id"), _path_param("task_id")
    paths = {
        "/auth/token": {"post": _op("获取令牌", "TokenResponse", body="TokenRequest", errors=("400", "401", "422", "429")),
                        "delete": _op("撤销当前令牌（退出）", ok="204")},
        "/auth/tokens": {"get": _op("令牌列表（管理员可看全部）", "TokenInfoPage", params=[_query(schemas.TokenArgs)], errors=("401", "404", "422"))},
        "/auth/tokens/{token_id}": {"delete": _op("撤销令牌（本人的，管理员可撤销任何人的）", ok="204", params=[
            {"in": "path", "name": "token_id", "required": True, "schema": {"type": "integer"}}], errors=("401", "404"))},
        "/processes": {"get": _op("已部署流程", "ProcessPage", params=[_query(schemas.PageArgs)], errors=("401", "422")),
                       "post": _op("部署 BPMN 文件", ok="201", multipart=True, errors=("401", "403", "422"))},
        "/processes/{process_id}": {"get": _op("流程详情", "ProcessDetail", params=[_path_param("process_id")], errors=("401", "404"))},
        "/cases": {"post": _op("发起案件", "Case", ok="201", body="StartCase", errors=("400", "401", "403", "404", "422")),
                   "get": _op("案件列表", "CasePage", params=[_query(schemas.CaseArgs)], errors=("401", "422"))},
        "/cases/{case_id}": {"get": _op("案件详情", "Case", params=[case_id], errors=("401", "404"))},
        "/cases/{case_id}/cancel": {"post": _op("取消案件", "Case", params=[case_id], errors=("401", "403", "404", "409"))},
        "/cases/{case_id}/events": {"get": _op("审计记录", "EventPage", params=[case_id, _query(schemas.PageArgs)], errors=("401", "404", "422"))},
        "/tasks": {"get": _op("任务列表", "TaskPage", params=[_query(schemas.TaskArgs)], errors=("401", "422"))},
        "/tasks/{task_id}": {"get": _op("任务详情", "TaskDetail", params=[task_id], errors=("401", "404"))},
        "/tasks/{task_id}/claim": {"post": _op("认领任务", "TaskDetail", params=[task_id], errors=("401", "403", "404", "409"))},
        "/tasks/{task_id}/unclaim": {"post": _op("退回认领", "TaskDetail", params=[task_id], errors=("401", "403", "404", "409"))},
        "/tasks/{task_id}/complete": {"post": _op("办理任务", "Case", body="CompleteTask", params=[task_id], errors=("400", "401", "403", "404", "409", "422"))},
        "/tasks/{task_id}/escalate": {"post": _op("上报任务", "Case", body="Escalate", params=[task_id], errors=("400", "401", "403", "404", "409", "422"))},
        "/messages": {"post": _op("投递消息", "Delivered", body="Message", errors=("400", "401", "404", "422"))},
    }
    from web.api.reports import openapi_paths
    paths.update(openapi_paths(_op, case_id))  # statistics tables, case documents
    from web.api.notifications import openapi_paths as notification_paths
    paths.update(notification_paths(_op))  # in-app notifications, failed deliveries
    from web.api.interventions import openapi_paths as intervention_paths
    paths.update(intervention_paths(_op, task_id, spec))  # reassign, extend a deadline
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["servers"] = [{"url": "/api/v1"}]
    return document
