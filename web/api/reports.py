"""Statistics tables and case documents through the API.

`GET /reports/coverage|credit|cases` answer the table for the caller's area (`org`, `by`,
`year`, `from`, `to` in the query string; `format=xlsx` for the spreadsheet): the contract's
keys (`total`, `by_management_type` / `year`, `total`, `by_grade`) plus the scope (`org`), the
breakdown `level` and its `rows`. `GET /cases/{id}/documents` lists the printable documents a
case has; `GET /cases/{id}/documents/{kind}.pdf` is the PDF.
"""
from flask import g, jsonify, request

from engine.errors import ValidationFailed
from web import reporting
from web.api import bp
from web.api.auth import require_token


def _report(kind):
    output = (request.args.get("format") or "json").strip()
    if output not in ("json", "xlsx"):
        raise ValidationFailed("查询参数有误", fields={"format": ["格式应为 json 或 xlsx"]})
    report = reporting.build_report(kind, g.principal)
    if output == "xlsx":
        return reporting.xlsx_response(kind, report)
    return jsonify(report)


@bp.get("/reports/coverage")
@require_token
def report_coverage():
    return _report("coverage")


@bp.get("/reports/credit")
@require_token
def report_credit():
    return _report("credit")


@bp.get("/reports/cases")
@require_token
def report_cases():
    return _report("cases")


@bp.get("/cases/<case_id>/documents")
@require_token
def list_case_documents(case_id):
    items = [{"kind": kind, "title": title,
              "url": f"{request.script_root}/api/v1/cases/{case_id}/documents/{kind}.pdf"}
             for kind, title in reporting.case_documents(g.principal, case_id)]
    return jsonify({"items": items, "total": len(items)})


@bp.get("/cases/<case_id>/documents/<kind>.pdf")
@require_token
def get_case_document(case_id, kind):
    content, file_name = reporting.case_document(g.principal, case_id, kind)
    return reporting.pdf_response(content, file_name)


def openapi_paths(op, case_id):
    """These routes for the OpenAPI document (`op` builds an operation as `web.api.openapi` does)."""
    def query(name, description, kind="string", enum=None):
        schema = {"type": kind, **({"enum": enum} if enum else {})}
        return {"in": "query", "name": name, "required": False, "schema": schema, "description": description}

    common = [query("org", "统计范围：行政区划代码（默认为本人所属组织）"),
              query("by", "按哪一级分行", enum=["city", "district", "street", "community"]),
              query("format", "json（默认）或 xlsx", enum=["json", "xlsx"])]
    kinds = ["rectification_notice", "publicity_notice", "meeting_minutes"]
    kind = {"in": "path", "name": "kind", "required": True, "schema": {"type": "string", "enum": kinds}}
    errors = ("401", "403", "404", "422")
    return {
        "/reports/coverage": {"get": op("住宅小区物业管理方式统计", params=common, errors=errors)},
        "/reports/credit": {"get": op("物业服务企业信用等级统计", params=[*common, query("year", "评级年度", "integer")],
                                      errors=errors)},
        "/reports/cases": {"get": op("整改和联席会议情况统计", params=[
            *common, query("from", "统计开始日期（YYYY-MM-DD）"), query("to", "统计结束日期")], errors=errors)},
        "/cases/{case_id}/documents": {"get": op("案件可打印的文书", params=[case_id], errors=("401", "404"))},
        "/cases/{case_id}/documents/{kind}.pdf": {"get": op("案件文书（PDF）", params=[case_id, kind],
                                                            errors=("401", "404", "409"))},
    }
