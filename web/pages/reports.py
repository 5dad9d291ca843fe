"""The statistics page (`/reports`): coverage by way of management, credit grades and the
rectification and joint meeting figures of a period, for the signed-in user's area, with
charts (ECharts) over the same numbers as the tables, a link down into each area and the XLSX
forms to download. Also the case documents as PDF (`/cases/<id>/documents/<kind>.pdf`),
shown to whoever can see the case."""
from urllib.parse import quote

from flask import g, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import select

from engine.access import in_scope
from engine.errors import Forbidden
from engine.models import Organisation
from web import reporting
from web.pages import bp
from web.pages.auth import login_required
from web.services import engine

LEVEL_NAMES = {"city": "市", "district": "县（市、区）", "street": "街道（乡镇）", "community": "社区（村）"}


def _may_see_reports(principal):
    from workflows.reports import REPORT_ROLES
    if principal.role not in REPORT_ROLES:
        raise Forbidden("只有住建部门、街道（乡镇）、社区和管理员可以查看统计报表")


def _trail(org_code, principal):
    """The scope's ancestors the user may open, for the breadcrumb (top first)."""
    if not org_code:
        return []
    with engine().db.unit_of_work(write=False) as session:
        org = session.get(Organisation, org_code)
        if org is None:
            return []
        codes = [c for c in org.path.strip("/").split("/") if c]
        names = dict(session.execute(select(Organisation.code, Organisation.name)
                                     .where(Organisation.code.in_(codes))).all())
        paths = dict(session.execute(select(Organisation.code, Organisation.path)
                                     .where(Organisation.code.in_(codes))).all())
    return [(code, names.get(code, code)) for code in codes if in_scope(principal, paths.get(code, ""))]


@bp.get("/reports")
@login_required
def reports():
    principal = g.principal
    _may_see_reports(principal)
    coverage = reporting.build_report("coverage", principal)
    credit = reporting.build_report("credit", principal)
    cases = reporting.build_report("cases", principal)
    from workflows.organisations import CREDIT_GRADE_NAMES, MANAGEMENT_TYPES
    from workflows.reports import UNSPECIFIED, rating_years
    with engine().db.unit_of_work(write=False) as session:
        years = rating_years(session)
    args = {k: v for k, v in request.args.items() if k in ("org", "by", "year", "from", "to") and v}
    drill = _drill_url(args)
    chart_data = {
        "types": {**MANAGEMENT_TYPES, UNSPECIFIED: "未登记管理方式"},
        "grades": CREDIT_GRADE_NAMES,
        "coverage": coverage, "credit": credit, "cases": cases,
    }
    return render_template("pages/reports.html", coverage=coverage, credit=credit, cases=cases,
                           args=args, years=years, level_names=LEVEL_NAMES,
                           management_types=MANAGEMENT_TYPES, grade_names=CREDIT_GRADE_NAMES,
                           trail=_trail(coverage["org"]["code"], principal),
                           chart_data=chart_data, drill=drill, area_cell=_area_cell(drill))


def _area_cell(drill):
    """An area's name in a table row, linked one level down when it is an area. A plain
    function rather than a template macro: the three tables of a city by community have
    hundreds of rows each, and a macro call costs many times more."""
    def cell(row):
        if row["code"]:
            return Markup(f'<a href="{escape(drill(row["code"]))}">{escape(row["name"])}</a>')
        return escape(row["name"])
    return cell


def _drill_url(args):
    """The link one level down for each area row. A city grouped by community has hundreds of
    rows, so the URL is built once and only the area's code is put in per row."""
    base = url_for("pages.reports", **{k: v for k, v in args.items() if k not in ("by", "org")})

    def url(code):
        return f"{base}{'&' if '?' in base else '?'}org={quote(str(code), safe='')}"
    return url


@bp.get("/reports/<kind>.xlsx")
@login_required
def report_xlsx(kind):
    if kind not in reporting.REPORT_KINDS:
        from werkzeug.exceptions import NotFound
        raise NotFound()
    _may_see_reports(g.principal)
    return reporting.xlsx_response(kind, reporting.build_report(kind, g.principal))


@bp.app_template_global("printable_documents")
def printable_documents(case):
    """[(kind, title)] of the PDFs the case page offers for printing."""
    from workflows import documents
    return documents.available(case)


@bp.get("/cases/<case_id>/documents/<kind>.pdf")
@login_required
def case_pdf(case_id, kind):
    content, file_name = reporting.case_document(g.principal, case_id, kind)
    return reporting.pdf_response(content, file_name)
