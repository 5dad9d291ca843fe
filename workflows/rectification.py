"""Forms of the rectification process (整改, `bpmn/rectification.bpmn`).

A problem found in inspection, evaluation or a complaint gets a rectification order with a
deadline in working days; the company reports, the community verifies (accepted, not accepted
and back to the company, or refused); an overdue, refused or manually escalated case goes to the
street, which may re-determine the compound's service grade and fee standard, transfer illegal
acts (to the housing bureau, which hands them to the competent department) and propose
dismissal (Jincheng housing bureau reply; Civil Code Arts. 278, 946).

Periods come from `workflows.rules.periods` and enter the case data through the start form; the
diagram only names the variables. A rectification started by another process (the message
`start_rectification`, thrown by the evaluation on 质价不符) skips the start form: the thrower puts
`case_defaults(...)` with the problem into the payload, and the case begins at "下达整改通知".
"""
from marshmallow import ValidationError, post_load, validates_schema

from workflows.json_schema import (FormSchema, boolean_field, choice_field, date_field,
                                   integer_field, number_field, text_field, textarea_field)
from workflows.rules.periods import period

PROCESS_ID = "rectification"

SOURCES = {"inspection": "日常巡查检查", "evaluation": "评议考评", "complaint": "业主投诉"}
RESULTS = {"accepted": "整改到位，予以验收", "not_accepted": "整改不到位，继续整改",
           "refused": "拒不整改，上报街道"}
SERVICE_GRADES = {"1": "一级", "2": "二级", "3": "三级", "4": "四级", "5": "五级"}
ESCALATION_CAUSES = {"overdue": "逾期未整改", "refused": "拒不整改", "manual": "监管人员上报"}
OUTCOMES = {"rectified": "整改完成", "handled": "街道处置完毕", "regraded": "已重新核定服务等级和收费标准",
            "dismissal_proposed": "建议业主依法解聘物业服务企业"}

MAX_WORKING_DAYS = 250  # about a year of working days: a bound on input, not a period


def case_defaults(source, deadline_working_days=None):
    """What a rectification case needs beside its problem: the source's label, the periods the
    diagram's expressions read (as configured now, kept with the case) and the initial state.

    The start form adds it; a process that starts a rectification by the message
    `start_rectification` (the evaluation, on 质价不符) puts it into the message's payload, since
    a case started by message skips the start form.
    """
    if source not in SOURCES:
        raise ValueError(f"整改来源必须是以下之一：{'、'.join(SOURCES)}，收到：{source!r}")
    if deadline_working_days is None:
        deadline_working_days = period("rectification_working_days")
    return {
        "source": source,
        "source_label": SOURCES[source],
        "deadline_working_days": deadline_working_days,
        "rectification_working_days": period("rectification_working_days"),
        "verify_working_days": period("problem_community_working_days"),
        "street_working_days": period("problem_street_working_days"),
        "bureau_working_days": period("problem_bureau_working_days"),
        "rectification_round": 0,
        "escalated": False,
        "escalation_cause": None,
        "outcome": None,
    }


def _working_days(label, help, **kwargs):
    return integer_field(label, help=help, minimum=1, maximum=MAX_WORKING_DAYS, strict=True,
                         **kwargs)


class RectificationStart(FormSchema):
    """发起整改：小区存在的问题、问题来源和整改期限。"""

    form_title = "发起整改"
    title = text_field("案件标题", required=False, max_length=100,
                       help="不填则按问题描述自动生成")
    problem_description = textarea_field(
        "问题描述", max_length=2000, help="小区存在的问题：位置、现象、涉及范围、发现经过")
    source = choice_field("问题来源", SOURCES)
    source_reference = text_field("来源编号", required=False, max_length=100,
                                  help="如投诉工单号、检查记录号、评议批次")
    found_on = date_field("发现日期", required=False)
    deadline_working_days = _working_days(
        "整改期限（工作日）",
        f"按国家法定工作日计算；默认为配置的整改期限 {period('rectification_working_days')} 个工作日",
        required=False, load_default=lambda: period("rectification_working_days"))

    @post_load
    def add_case_data(self, data, **kwargs):
        if not data.get("title"):
            first_line = data["problem_description"].splitlines()[0]
            summary = first_line if len(first_line) <= 30 else first_line[:30] + "…"
            data["title"] = f"整改：{summary}"
        data.update(case_defaults(data["source"], data["deadline_working_days"]))
        return data


class IssueOrder(FormSchema):
    """下达整改通知。"""

    form_title = "下达整改通知"
    order_no = text_field("整改通知书编号", required=False, max_length=60)
    requirements = textarea_field("整改要求", max_length=3000,
                                  help="逐条写明整改内容、标准和要求")
    deadline_working_days = _working_days(
        "整改期限（工作日）", "不填则沿用发起时确定的期限；期限自下达之日起按工作日计算",
        required=False)

    @post_load
    def keep_earlier_deadline(self, data, **kwargs):
        if data.get("deadline_working_days") is None:
            data.pop("deadline_working_days", None)
        return data


class SubmitReport(FormSchema):
    """物业服务企业提交整改报告。"""

    form_title = "提交整改报告"
    report = textarea_field("整改情况", max_length=5000, help="已采取的整改措施和达到的效果")
    completed_on = date_field("整改完成日期")
    attachments = text_field("附件", required=False, max_length=1000,
                             help="照片、票据等材料的文件名或链接，多个用逗号分隔")


class VerifyRectification(FormSchema):
    """社区核查整改结果。"""

    form_title = "核查整改结果"
    verification_result = choice_field("核查结论", RESULTS)
    verification_opinion = textarea_field("核查意见", max_length=3000)
    verified_on = date_field("核查日期")
    deadline_working_days = _working_days(
        "再次整改期限（工作日）", "核查结论为“继续整改”时可填写；不填则沿用原期限天数",
        required=False)

    @validates_schema
    def deadline_only_when_continuing(self, data, **kwargs):
        if data.get("deadline_working_days") is not None \
                and data.get("verification_result") != "not_accepted":
            raise ValidationError("只有核查结论为“继续整改”时才填写再次整改期限",
                                  "deadline_working_days")

    @post_load
    def keep_earlier_deadline(self, data, **kwargs):
        if data.get("deadline_working_days") is None:
            data.pop("deadline_working_days", None)
        data["verification_result_label"] = RESULTS[data["verification_result"]]
        return data


class StreetHandle(FormSchema):
    """街道处置逾期或拒不整改的物业服务企业。"""

    form_title = "街道处置"
    regrade_service = boolean_field(
        "重新核定服务等级和收费标准",
        help="物业服务企业拒不整改或逾期未整改的，重新核定小区物业服务等级，并会同发展改革部门确定相应收费标准")
    new_service_grade = choice_field("核定后的服务等级", SERVICE_GRADES, required=False)
    new_fee_standard = number_field("核定后的收费标准（元/平方米·月）", required=False,
                                    minimum=0, exclusive_minimum=True, maximum=100)
    fee_basis = text_field("收费标准依据", required=False, max_length=300,
                           help="如会同发展改革部门核定的文件名称、文号")
    transfer_illegal_acts = boolean_field("移送违法行为", required=False, load_default=False,
                                          help="涉及违法行为的，移交住建部门移送有关主管部门查处")
    illegal_acts = textarea_field("违法行为", required=False, max_length=3000)
    transfer_department = text_field("拟移送部门", required=False, max_length=100)
    propose_dismissal = boolean_field(
        "建议解聘",
        help="仍拒不整改、不履行合同、业主投诉强烈的，引导业主依法解聘（《民法典》第二百七十八条、第九百四十六条）")
    dismissal_grounds = textarea_field("解聘理由", required=False, max_length=3000)
    street_opinion = textarea_field("街道处理意见", max_length=3000)

    @validates_schema
    def details_for_each_decision(self, data, **kwargs):
        errors = {}
        if data.get("regrade_service"):
            if not data.get("new_service_grade"):
                errors["new_service_grade"] = ["重新核定时必须填写核定后的服务等级"]
            if data.get("new_fee_standard") is None:
                errors["new_fee_standard"] = ["重新核定时必须填写核定后的收费标准"]
        if data.get("transfer_illegal_acts"):
            if not data.get("illegal_acts"):
                errors["illegal_acts"] = ["移送违法行为时必须写明违法行为"]
            if not data.get("transfer_department"):
                errors["transfer_department"] = ["移送违法行为时必须写明拟移送部门"]
        if data.get("propose_dismissal") and not data.get("dismissal_grounds"):
            errors["dismissal_grounds"] = ["建议解聘时必须写明理由"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def clear_unused(self, data, **kwargs):
        if not data.get("regrade_service"):
            for key in ("new_service_grade", "new_fee_standard", "fee_basis"):
                data[key] = None
        if not data.get("transfer_illegal_acts"):
            data["illegal_acts"] = data["transfer_department"] = None
        if not data.get("propose_dismissal"):
            data["dismissal_grounds"] = None
        return data


class BureauTransfer(FormSchema):
    """住建部门将违法行为移送有关主管部门。"""

    form_title = "移送违法行为"
    transferred_to = text_field("移送部门", max_length=100)
    transferred_on = date_field("移送日期")
    transfer_file_no = text_field("移送文书编号", required=False, max_length=60)
    transfer_note = textarea_field("说明", required=False, max_length=2000)


FORMS = {
    "rectification.start": RectificationStart,
    "rectification.issue_order": IssueOrder,
    "rectification.submit_report": SubmitReport,
    "rectification.verify": VerifyRectification,
    "rectification.street_handle": StreetHandle,
    "rectification.bureau_transfer": BureauTransfer,
}
