"""Forms of the coordinated problem solving process (协调联动解决实际问题, `bpmn/problem_coordination.bpmn`).

"Small disputes do not leave the community, ordinary disputes do not leave the street"
(小矛盾不出社区、一般矛盾不出街道): a problem reported by the owners' committee, the property
company or a resident (through the community) is coordinated by the community within its
deadline, then by the street, then by the housing bureau. A level moves the problem up

- automatically, when its deadline passes (a boundary timer on its task);
- by hand, when a supervisor escalates the task (the engine's `escalate` message, as in
  rectification), or when the level itself reports that it cannot resolve the problem;
- when the reporting party is not satisfied with the level's resolution: the level that resolved
  it believed it was done, so a disagreement about the result is what the level above is for.
  A problem resolved by the housing bureau, the top level, goes back to the bureau with the
  reporter's feedback; the bureau may then resolve it again or refer it (to the competent
  department, or to litigation or arbitration), which ends the case.

Whoever reported the problem confirms the resolution: the owners' committee, the company, or the
community on behalf of the resident it recorded the problem for. A reporter who does not answer
within the confirmation period is taken to accept the result (a configurable local default).

All periods come from `workflows.rules.periods` through the start form; the diagram only names
the variables.
"""
from marshmallow import ValidationError, post_load, validates_schema

from workflows.json_schema import (FormSchema, checklist_field, choice_field, date_field,
                                   integer_field, text_field, textarea_field)
from workflows.rules.periods import period

PROCESS_ID = "problem_coordination"

CATEGORIES = {
    "facilities": "共用部位、共用设施设备", "environment": "环境卫生与绿化",
    "security": "秩序维护与安全", "fees": "物业收费", "parking": "停车管理",
    "renovation": "装饰装修管理", "service": "物业服务质量", "neighbourhood": "邻里纠纷",
    "other": "其他",
}
REPORTERS = {"owners": "业主委员会（物业管理委员会）", "company": "物业服务企业",
             "clerk": "居民（由社区登记并回访）"}
LEVELS = {"community": "社区", "street": "街道", "bureau": "住建部门"}
PARTICIPANTS = {"owners_committee": "业主委员会（物业管理委员会）", "company": "物业服务企业",
                "residents_committee": "社区居（村）民委员会", "street": "街道办事处（乡镇）",
                "bureau": "住房和城乡建设部门", "other_department": "其他部门"}
ESCALATION_CAUSES = {"overdue": "处理期限届满未解决", "manual": "监管人员上报",
                     "unresolved": "本级无法解决，主动上报", "not_satisfied": "反映方对处理结果不满意"}
CONFIRMATIONS = {"confirmed": "认可处理结果", "not_satisfied": "不满意，要求继续处理",
                 "deemed": "逾期未确认，视为认可"}
OUTCOMES = {"resolved": "问题已解决", "referred": "已转办或告知依法解决途径"}

MAX_WORKING_DAYS = 250  # about a year of working days: a bound on input, not a period


def _summary(text, limit=30):
    first_line = text.splitlines()[0]
    return first_line if len(first_line) <= limit else first_line[:limit] + "…"


class ReportProblem(FormSchema):
    """反映问题：小区存在的实际问题、反映方和社区处理期限。"""

    form_title = "反映问题"
    title = text_field("问题标题", required=False, max_length=100, help="不填则按问题描述自动生成")
    problem_description = textarea_field("问题描述", max_length=3000,
                                         help="问题的现象、涉及范围、持续时间和诉求")
    category = choice_field("问题类别", CATEGORIES)
    location = text_field("问题位置", required=False, max_length=200,
                          help="如楼栋、单元、地下车库东区")
    reporter_party = choice_field(
        "反映方", REPORTERS,
        help="处理结果由反映方确认；居民反映的问题由社区登记，并由社区回访确认")
    reporter_name = text_field("反映人", max_length=60)
    reporter_contact = text_field("联系电话", required=False, max_length=40)
    occurred_on = date_field("问题发生日期", required=False)
    reported_on = date_field("反映日期")
    community_working_days = integer_field(
        "社区处理期限（工作日）", required=False, minimum=1, maximum=MAX_WORKING_DAYS, strict=True,
        load_default=lambda: period("problem_community_working_days"),
        help=f"按国家法定工作日计算；默认为配置的 {period('problem_community_working_days')} 个工作日，"
             "紧急问题可缩短")

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        occurred, reported = data.get("occurred_on"), data.get("reported_on")
        if occurred and reported and occurred > reported:
            raise ValidationError("问题发生日期不能晚于反映日期", "occurred_on")

    @post_load
    def add_case_data(self, data, **kwargs):
        if not data.get("title"):
            data["title"] = f"问题：{_summary(data['problem_description'])}"
        data["category_label"] = CATEGORIES[data["category"]]
        data["reporter_party_label"] = REPORTERS[data["reporter_party"]]
        # The periods the diagram's expressions read, as configured now, kept with the case.
        data["street_working_days"] = period("problem_street_working_days")
        data["bureau_working_days"] = period("problem_bureau_working_days")
        data["confirm_working_days"] = period("problem_confirm_working_days")
        data.update(level=None, escalations=[], escalation_cause=None, escalation_reason=None,
                    resolution=None, resolved_level=None, resolution_round=0, confirmation=None,
                    confirmation_feedback=None, outcome=None)
        return data


def _handle_form(level, label, up_label, outcomes, help_text):
    """The handling form of one level; fields are prefixed with the level so that each level's
    record stays in the case beside the others'."""
    result_key, measures_key = f"{level}_result", f"{level}_measures"
    resolution_key, reason_key = f"{level}_resolution", f"{level}_escalation_reason"

    def check(self, data, **kwargs):
        errors = {}
        if data.get(result_key) == "resolved" and not data.get(resolution_key):
            errors[resolution_key] = ["已解决的须写明解决结果"]
        if data.get(result_key) == "escalate" and not data.get(reason_key):
            errors[reason_key] = [f"{up_label}须写明理由"]
        if errors:
            raise ValidationError(errors)

    def record(self, data, **kwargs):
        data[f"{level}_result_label"] = outcomes[data[result_key]]
        if data[result_key] == "resolved":
            data[reason_key] = None
            data["resolution"] = data[resolution_key]
        elif data[result_key] == "escalate":
            data[resolution_key] = None
            data["escalation_cause"] = "unresolved"
            data["escalation_reason"] = data[reason_key]
        return data

    attrs = {
        "__doc__": f"{label}：协调处理结果。",
        "form_title": label,
        "form_description": help_text,
        result_key: choice_field("处理结果", outcomes),
        measures_key: textarea_field("协调处理经过", max_length=5000,
                                     help="组织哪些方面、采取了哪些措施、各方意见"),
        f"{level}_participants": checklist_field("参与协调的单位", PARTICIPANTS, required=False,
                                                 load_default=list),
        resolution_key: textarea_field("解决结果", required=False, max_length=3000,
                                       help="处理结果为“已解决”时必填；将告知反映方确认"),
        reason_key: textarea_field(f"{up_label}理由", required=False, max_length=2000),
        "check": validates_schema(check),
        "record": post_load(record),
    }
    return type(f"{level.title()}Handle", (FormSchema,), attrs)


CommunityHandle = _handle_form(
    "community", "社区协调处理", "上报街道",
    {"resolved": "已协调解决", "escalate": "社区无法解决，上报街道"},
    "社区组织业主委员会、物业服务企业协调处理；期限届满未解决的自动上报街道")
StreetHandle = _handle_form(
    "street", "街道协调处理", "上报住建部门",
    {"resolved": "已协调解决", "escalate": "街道无法解决，上报住建部门"},
    "一般矛盾不出街道；期限届满未解决的自动上报住建部门")


class BureauHandle(FormSchema):
    """住建部门处理：解决，或转交有关部门、告知依法解决的途径。"""

    form_title = "住建部门处理"
    form_description = "住建部门是最高处理层级：或者解决，或者转交有关主管部门、告知通过诉讼仲裁等途径解决"
    bureau_result = choice_field("处理结果", {"resolved": "已解决",
                                          "referred": "转交有关部门或告知依法解决途径"})
    bureau_measures = textarea_field("处理经过", max_length=5000)
    bureau_resolution = textarea_field("解决结果", required=False, max_length=3000,
                                       help="处理结果为“已解决”时必填；将告知反映方确认")
    referred_to = text_field("转交部门或告知途径", required=False, max_length=200,
                             help="如市场监督管理部门、人民调解委员会、人民法院")
    referral_reason = textarea_field("转办理由", required=False, max_length=2000)

    @validates_schema
    def details(self, data, **kwargs):
        errors = {}
        if data.get("bureau_result") == "resolved" and not data.get("bureau_resolution"):
            errors["bureau_resolution"] = ["已解决的须写明解决结果"]
        if data.get("bureau_result") == "referred":
            if not data.get("referred_to"):
                errors["referred_to"] = ["转办时须写明转交部门或告知的途径"]
            if not data.get("referral_reason"):
                errors["referral_reason"] = ["转办时须写明理由"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def record(self, data, **kwargs):
        if data["bureau_result"] == "resolved":
            data["resolution"] = data["bureau_resolution"]
            data["referred_to"] = data["referral_reason"] = None
        else:
            data["bureau_resolution"] = None
        return data


class ConfirmResolution(FormSchema):
    """反映方确认处理结果。"""

    form_title = "确认处理结果"
    form_description = ("认可的，问题办结；不满意的，由上一级继续处理（住建部门处理的，由住建部门重新处理）；"
                        "逾期未确认的视为认可")
    confirmation = choice_field("确认意见", {k: CONFIRMATIONS[k] for k in ("confirmed", "not_satisfied")})
    satisfaction = choice_field("满意程度", {"satisfied": "满意", "basic": "基本满意",
                                         "unsatisfied": "不满意"}, required=False)
    confirmation_feedback = textarea_field("意见和理由", required=False, max_length=2000,
                                           help="不满意时必填，写明仍未解决的问题和诉求")

    @validates_schema
    def reasons_when_not_satisfied(self, data, **kwargs):
        errors = {}
        if data.get("confirmation") == "not_satisfied":
            if not data.get("confirmation_feedback"):
                errors["confirmation_feedback"] = ["不满意时须写明意见和理由"]
            if data.get("satisfaction") in ("satisfied", "basic"):
                errors["satisfaction"] = ["不满意处理结果时，满意程度不能为“满意”或“基本满意”"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def record(self, data, **kwargs):
        data["confirmation_label"] = CONFIRMATIONS[data["confirmation"]]
        if data["confirmation"] == "not_satisfied":
            data["escalation_cause"] = "not_satisfied"
            data["escalation_reason"] = data["confirmation_feedback"]
        return data


FORMS = {
    "problem_coordination.start": ReportProblem,
    "problem_coordination.community_handle": CommunityHandle,
    "problem_coordination.street_handle": StreetHandle,
    "problem_coordination.bureau_handle": BureauHandle,
    "problem_coordination.confirm_owners": ConfirmResolution,
    "problem_coordination.confirm_company": ConfirmResolution,
    "problem_coordination.confirm_clerk": ConfirmResolution,
}
