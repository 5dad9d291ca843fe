"""Forms and service handlers of the periodic report (报告, `bpmn/periodic_report.bpmn`).

A community reports to its street, a street to its district housing bureau (三方联动 公示通报和
报告制度). Reports fall due on fixed days of the month: "每月的3日、18日前" in the Shanxi plan,
the period `report_days_of_month`, which a case may override with the days its level above asks
for. Who reports, and to whom, follows from the organisation the case belongs to (a case
started for a compound is its community's report), so a clerk cannot file a street's report.

The report is compiled, then on submission the statistics of the reporting period are counted
from the engine's tables (`workflows.statistics`) and attached to the case as they stand at that
moment; the level above accepts it or returns it for correction, as often as needed. A report
not submitted by the end of its report day is marked overdue (a boundary timer) and escalated:
the level above gets a task to urge it (督办), while the report stays in the compiler's inbox,
overdue, until it is submitted. Whether a report was late is decided by its first submission
(at or after the deadline), so a correction after the report day does not make it late.
Acceptance ends the case, and with it an urging nobody needs any more.
"""
from datetime import date, datetime, time, timedelta

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from engine.calendar import CHINA_TZ
from engine.handlers import HandlerFailed
from engine.models import Organisation
from workflows import statistics
from workflows.json_schema import FormSchema, choice_field, date_field, text_field, textarea_field
from workflows.rules.periods import period
from workflows.rules.report_schedule import is_report_day, next_report_day, reporting_period

PROCESS_ID = "periodic_report"

LEVELS = {"community": "社区向街道报告", "street": "街道向县（市、区）住建部门报告"}
RECEIVERS = {"community": "街道办事处（乡镇）", "street": "县（市、区）住房和城乡建设部门"}
DECISIONS = {"accepted": "审核通过，予以采用", "returned": "退回修改"}
URGE_METHODS = {"phone": "电话督促", "written": "书面督办", "on_site": "上门督促"}
PHONE = validate.Regexp(r"^[0-9+\-\s()（）转]{5,30}$", error="不是有效的电话号码")


class ReportStart(FormSchema):
    """发起报告：报告日（默认为下一个报告日）。"""

    form_title = "发起工作进展报告"
    title = text_field("案件标题", required=False, max_length=100, help="不填则按报告日自动生成")
    due_on = date_field("报告日", required=False,
                        help=f"报送期限所在日；不填则为下一个报告日（每月"
                             f"{'、'.join(map(str, period('report_days_of_month')))}日）")
    report_days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=31, error="必须在 {min} 至 {max} 之间")),
        required=False, allow_none=True,
        validate=validate.Length(min=1, max=31, error="报告日为1至31项"),
        metadata={"label": "每月报告日",
                  "help": "上级另有要求时填写，如 [5, 20]；不填则为配置的报告日"})

    @validates_schema
    def due_on_is_report_day(self, data, **kwargs):
        days = _report_days(data.get("report_days"))
        due_on = data.get("due_on")
        if due_on is not None and not is_report_day(due_on, days):
            raise ValidationError(f"报告日必须是每月{'、'.join(map(str, days))}日之一"
                                  "（月末不足的为当月最后一日）", "due_on")

    @post_load
    def add_case_data(self, data, **kwargs):
        data["report_days_of_month"] = _report_days(data.pop("report_days", None))
        data.setdefault("due_on", None)
        if not data.get("title"):
            when = f"（{data['due_on'].isoformat()}）" if data["due_on"] else ""
            data["title"] = f"工作进展报告{when}"
        # The periods the diagram's expressions read, as configured now, kept with the case.
        data["review_working_days"] = period("report_review_working_days")
        data["correction_working_days"] = period("report_correction_working_days")
        data.update(report_status="compiling", submission_count=0, first_submitted_at=None,
                    report_overdue=False, statistics=None)
        return data


def _report_days(override):
    overrides = {"report_days_of_month": override} if override else None
    return period("report_days_of_month", overrides)


class _ReportContent(FormSchema):
    progress = textarea_field("工作进展", max_length=10000,
                              help="本报告期内三方联动机制运行、整改、联席会议、协调解决问题等情况")
    problems = textarea_field("存在问题", required=False, max_length=5000)
    next_steps = textarea_field("下一步工作", required=False, max_length=5000)
    compiled_by = text_field("填报人", max_length=50)
    contact_phone = text_field("联系电话", required=False, max_length=30, validate_=(PHONE,))


class CompileReport(_ReportContent):
    """编制并报送报告。"""

    form_title = "编制并报送报告"


class CorrectReport(_ReportContent):
    """按上级意见修改后重新报送。"""

    form_title = "修改并重新报送报告"
    correction_note = textarea_field("修改说明", max_length=3000, help="逐条说明按审核意见修改的内容")


class ReviewReport(FormSchema):
    """上级审核报告。"""

    form_title = "审核报告"
    review_decision = choice_field("审核结论", DECISIONS)
    review_opinion = textarea_field("审核意见", required=False, max_length=3000)
    reviewed_on = date_field("审核日期")

    @validates_schema
    def opinion_when_returned(self, data, **kwargs):
        if data.get("review_decision") == "returned" and not data.get("review_opinion"):
            raise ValidationError("退回修改时必须写明审核意见", "review_opinion")

    @post_load
    def status(self, data, **kwargs):
        data.setdefault("review_opinion", None)  # an earlier round's opinion is not this one's
        if data["review_decision"] == "returned":
            data["report_status"] = "returned"
        return data


class UrgeReport(FormSchema):
    """上级督促逾期未报的报告。"""

    form_title = "督促报送逾期报告"
    urged_on = date_field("督促日期")
    urge_method = choice_field("督促方式", URGE_METHODS)
    urge_note = textarea_field("督办意见", max_length=2000, help="写明要求补报的时限和说明事项")


FORMS = {
    "periodic_report.start": ReportStart,
    "periodic_report.compile_community": CompileReport,
    "periodic_report.compile_street": CompileReport,
    "periodic_report.review_by_street": ReviewReport,
    "periodic_report.review_by_bureau": ReviewReport,
    "periodic_report.correct_community": CorrectReport,
    "periodic_report.correct_street": CorrectReport,
    "periodic_report.urge_community": UrgeReport,
    "periodic_report.urge_street": UrgeReport,
}


# -- service handlers -------------------------------------------------------------------------

def reporting_organisation(session, org_path):
    """The community or street whose report a case at `org_path` is: the nearest of them at or
    above it (a compound's case is its community's report)."""
    for code in reversed([c for c in (org_path or "").split("/") if c]):
        org = session.get(Organisation, code)
        if org is not None and org.kind in LEVELS:
            return org
    raise HandlerFailed("报告由社区或街道向上级报送：本案件不属于任何社区或街道，请以社区或街道的身份发起")


def report_scope(ctx):
    """Who reports (community or street) and to whom (its parent: the street, the district)."""
    org = reporting_organisation(ctx.session, ctx.case.org_path)
    parent = ctx.session.get(Organisation, org.parent_code) if org.parent_code else None
    return {"level": org.kind, "level_label": LEVELS[org.kind], "org_code": org.code,
            "org_name": org.name, "org_path": org.path,
            "receiver_code": parent.code if parent else None,
            "receiver_name": parent.name if parent else RECEIVERS[org.kind]}


def report_schedule(ctx, report_days, due_on=None):
    """The report day (the one asked for, else the next on or after today), the moment the
    report becomes overdue (the end of that day, Beijing time) and the days it covers."""
    if due_on:
        due = date.fromisoformat(str(due_on)[:10])
        if not is_report_day(due, report_days):
            raise HandlerFailed(f"{due.isoformat()} 不是报告日")
    else:
        due = next_report_day(ctx.now.astimezone(CHINA_TZ).date(), report_days)
    first, last = reporting_period(due, report_days)
    deadline = datetime.combine(due + timedelta(days=1), time(0), CHINA_TZ)
    return {"due_on": due.isoformat(), "deadline_at": deadline.isoformat(),
            "period_start": first.isoformat(), "period_end": last.isoformat()}


def report_statistics(ctx, period_start, period_end):
    """The statistics snapshot of the reporting organisation for the period, as of now."""
    org = reporting_organisation(ctx.session, ctx.case.org_path)
    figures = statistics.report_statistics(ctx.session, org.path, period_start, period_end)
    figures.update(org_code=org.code, org_name=org.name, as_of=ctx.now.isoformat())
    return figures


HANDLERS = {
    "report_scope": report_scope,
    "report_schedule": report_schedule,
    "report_statistics": report_statistics,
}
