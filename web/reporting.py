"""What the API and the pages share about statistics tables and case documents: reading the
query string, computing a table for the signed-in user's area, and answering a file.

A table is scoped to the caller's organisation (`?org=` may narrow it to a node inside that
area; outside it is "not found"); owners' committees and companies have no tables.
"""
from datetime import date
from urllib.parse import quote

from flask import current_app, request

from engine import queries
from engine.calendar import CHINA_TZ
from engine.errors import ValidationFailed
from web.services import engine

REPORT_KINDS = ("coverage", "credit", "cases")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Chrome's PDF viewer is a plugin: the app's `object-src 'none'` would keep it from showing.
PDF_POLICY = "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'"


def today():
    return engine().clock.now().astimezone(CHINA_TZ).date()


def _date_arg(name, default, label):
    value = (request.args.get(name) or "").strip()
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("查询参数有误", fields={name: [f"{label}应为 2026-03-01 这样的日期"]}) from None


def report_args():
    """(org, year, by, start, end) from the query string, checked."""
    year_text = (request.args.get("year") or "").strip()
    year = None
    if year_text:
        if not year_text.isdigit() or not 1990 <= int(year_text) <= 2100:
            raise ValidationFailed("查询参数有误", fields={"year": ["年度应为 1990 到 2100 之间的整数"]})
        year = int(year_text)
    now = today()
    start = _date_arg("from", now.replace(day=1), "开始日期")
    end = _date_arg("to", now, "结束日期")
    org = (request.args.get("org") or "").strip()[:64] or None
    by = (request.args.get("by") or "").strip() or None
    return org, year, by, start, end


def build_report(kind, principal, with_rows=True):
    """The table `kind` for the principal's area, from the request's query string."""
    from workflows import reports
    org, year, by, start, end = report_args()
    with engine().db.unit_of_work(write=False) as session:
        scope = reports.resolve_scope(session, org, principal)
        if kind == "coverage":
            return reports.coverage(session, scope, by, with_rows)
        if kind == "credit":
            return reports.credit(session, scope, year, by, with_rows, today=today())
        return reports.cases(session, scope, start, end, by, with_rows)


def xlsx_response(kind, report):
    from workflows.report_xlsx import XLSX_BUILDERS
    content = XLSX_BUILDERS[kind](report, today())
    scope = (report.get("org") or {}).get("code") or "all"
    return file_response(content, XLSX_TYPE, f"{kind}-{scope}-{today().isoformat()}.xlsx",
                         attachment=True)


def file_response(content, mimetype, file_name, attachment=False):
    response = current_app.response_class(content, mimetype=mimetype)
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(file_name)}"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def case_document(principal, case_id, kind):
    """(row, file name) of the case's document `kind`, made or taken from the store.

    Only someone who can see the case gets it (anyone else: not found).
    """
    from workflows import documents
    with engine().db.unit_of_work() as session:
        case = queries.get_case(session, principal, case_id)
        row = documents.document(session, case, kind, principal.username, engine().clock.now())
        return row.content, f"{documents.KINDS[kind].title}-{case.id[:8]}.pdf"


def pdf_response(content, file_name):
    response = file_response(content, "application/pdf", file_name)
    response.headers["Content-Security-Policy"] = PDF_POLICY
    return response


def case_documents(principal, case_id):
    """The kinds of document the case has now: [(kind, title)]."""
    from workflows import documents
    with engine().db.unit_of_work(write=False) as session:
        case = queries.get_case(session, principal, case_id)
        return documents.available(case)
