"""Forms and service handlers of the evaluation process (评议监督考评, `bpmn/evaluation.bpmn`).

The community scores a compound's property service project in three parts (basic management,
common facilities, owner satisfaction: Shanxi task force plan 2022, II.8); the weighted total
gives the star level the project actually delivers and the enterprise's credit grade A-D
(`workflows.rules.evaluation`). The housing bureau confirms the result or returns it for
rescoring; the grade then goes into the enterprise's credit file (`CreditRecord`) and has its
consequence (Jincheng housing bureau reply, 2024):

- A: a bonus in tenders, noted in the case and the credit file;
- B: normal supervision;
- C: stronger supervision: an inspection of the enterprise by the street, with a deadline;
- D: announced to the owners, the owners' committee and the residents' committee as a credit
  risk: the case throws `start_publicity` with a circular (违规行为通报) naming the enterprise,
  built and checked by the publicity's own rules (`publicity_message_data`).

A project delivering fewer stars than its contracted service grade (质价不符) must be rectified:
the case throws `start_rectification` with the problem and everything a rectification case
needs (`workflows.rectification.case_defaults`: its periods as configured at the throw, its
initial state), since a case started by message skips its start form.

The enterprise and the contracted grade default to the compound's service contract in force (or
the compound's managing enterprise); the first step looks them up and refuses an evaluation it
cannot attribute, so a credit record never names an unknown enterprise.
"""
from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate, validates_schema
from sqlalchemy import select

from engine.calendar import CHINA_TZ
from engine.handlers import HandlerFailed
from engine.models import Organisation
from workflows.json_schema import (FormSchema, boolean_field, choice_field, date_field,
                                   integer_field, text_field, textarea_field)
from workflows.models import CREDIT_GRADES, CreditRecord, ServiceContract
from workflows.publicity import publicity_message_data
from workflows.rectification import case_defaults as rectification_defaults
from workflows.rules.evaluation import evaluate_project
from workflows.rules.publicity import CIRCULAR_KIND
from workflows.rules.periods import period

PROCESS_ID = "evaluation"

SERVICE_GRADES = {"1": "一级", "2": "二级", "3": "三级", "4": "四级", "5": "五级"}
DECISIONS = {"confirmed": "确认评定结果", "returned": "退回重新评分"}
CREDIT_KIND = "evaluation"

STAR_LABELS = {1: "一星级", 2: "二星级", 3: "三星级", 4: "四星级", 5: "五星级"}

_SCORE_PLACES = Decimal("0.01")
_CHINESE_GRADES = {label: int(key) for key, label in SERVICE_GRADES.items()}


def _two_places(value):
    if value is not None and value != value.quantize(_SCORE_PLACES):
        raise ValidationError("最多保留两位小数")


def score_field(label, help=None):
    """A score from 0 to 100 with at most two decimals, exact (Decimal), never a float."""
    return fields.Decimal(
        required=True, allow_nan=False,
        validate=[validate.Range(min=0, max=100, error="必须在 {min} 至 {max} 之间"), _two_places],
        metadata={"label": label, **({"help": help} if help else {})})


class EvaluationStart(FormSchema):
    """发起评议考评：考评年度、被考评的物业服务企业和合同约定的服务等级。"""

    form_title = "发起物业服务评议考评"
    title = text_field("案件标题", required=False, max_length=100, help="不填则按考评年度自动生成")
    evaluation_year = integer_field("考评年度", minimum=2000, maximum=2100, strict=True)
    enterprise_code = text_field("物业服务企业编码", required=False, max_length=64,
                                 help="不填则取小区在管的物业服务合同（或小区登记的物业服务企业）")
    service_grade_contracted = choice_field("合同约定的服务等级", SERVICE_GRADES, required=False,
                                            help="不填则取物业服务合同约定的服务等级")
    reference = text_field("考评批次编号", required=False, max_length=60,
                           help="如“城区住建〔2026〕评议1号”；整改转办时作为来源编号")

    @post_load
    def add_case_data(self, data, **kwargs):
        year = data["evaluation_year"]
        if not data.get("title"):
            data["title"] = f"{year}年度物业服务评议考评"
        data.setdefault("enterprise_code", None)  # None: taken from the contract in force
        grade = data.get("service_grade_contracted")
        data["service_grade_contracted"] = int(grade) if grade else None
        data["evaluation_reference"] = data.get("reference") or f"{year}年度物业服务评议考评"
        # The periods the diagram's expressions read, as configured now, kept with the case.
        data["scoring_working_days"] = period("evaluation_scoring_working_days")
        data["review_working_days"] = period("evaluation_review_working_days")
        data["inspection_working_days"] = period("credit_inspection_working_days")
        data.update(scoring_round=0, total_score=None, star_level=None, credit_grade=None,
                    quality_below_price=None, tender_bonus=False, inspection_deadline=None,
                    rectification_request=None, announcement=None, credit_record=None,
                    outcome=None)
        return data


class ScoreProject(FormSchema):
    """社区对物业服务项目量化打分。"""

    form_title = "物业服务项目量化打分"
    basic_score = score_field("基础管理得分", "0至100分，最多两位小数")
    facilities_score = score_field("共有设施设备管理得分", "0至100分，最多两位小数")
    satisfaction_score = score_field("群众满意度得分", "按满意度调查折算的0至100分")
    survey_respondents = integer_field("满意度调查有效问卷数", required=False, minimum=1,
                                       maximum=100000, strict=True)
    findings = textarea_field("主要问题和扣分说明", max_length=1000,
                              help="逐项写明扣分事项；质价不符时作为整改问题转办")
    scored_on = date_field("打分日期")
    scorers = text_field("评分人员", required=False, max_length=200)

    @post_load
    def this_rounds_scoring(self, data, **kwargs):
        for key in ("survey_respondents", "scorers"):  # a rescoring replaces the whole scoring
            data.setdefault(key, None)
        return data


class ConfirmGrade(FormSchema):
    """住建部门审定星级和信用等级。"""

    form_title = "审定评议考评结果"
    review_decision = choice_field("审定结论", DECISIONS)
    review_opinion = textarea_field("审定意见", required=False, max_length=2000)
    reviewed_on = date_field("审定日期")

    @validates_schema
    def opinion_when_returned(self, data, **kwargs):
        if data.get("review_decision") == "returned" and not data.get("review_opinion"):
            raise ValidationError("退回重新评分时必须写明审定意见", "review_opinion")

    @post_load
    def this_rounds_opinion(self, data, **kwargs):
        data.setdefault("review_opinion", None)  # an earlier round's opinion is not this one's
        return data


class InspectEnterprise(FormSchema):
    """街道对C级物业服务企业强化监督检查。"""

    form_title = "强化监督检查"
    inspected_on = date_field("检查日期")
    inspection_findings = textarea_field("检查情况", max_length=3000)
    problems_found = boolean_field("发现问题")
    follow_up_measures = textarea_field("处理措施", required=False, max_length=2000,
                                        help="发现问题的，写明责令整改、约谈等措施")

    @validates_schema
    def measures_when_problems(self, data, **kwargs):
        if data.get("problems_found") and not data.get("follow_up_measures"):
            raise ValidationError("发现问题的，必须写明处理措施", "follow_up_measures")


FORMS = {
    "evaluation.start": EvaluationStart,
    "evaluation.score_project": ScoreProject,
    "evaluation.confirm_grade": ConfirmGrade,
    "evaluation.inspect_enterprise": InspectEnterprise,
}


# -- service handlers -------------------------------------------------------------------------

def _grade_number(value):
    """A contracted service grade as 1-5, from 3, "3" or "三级"; None when it is none of them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 5 else None
    text = str(value or "").strip()
    if text.isdigit():
        return _grade_number(int(text))
    return _CHINESE_GRADES.get(text)


def _contract_in_force(session, compound_code, today):
    contracts = session.scalars(
        select(ServiceContract).where(ServiceContract.compound_code == compound_code,
                                      ServiceContract.status == "active",
                                      ServiceContract.starts_on <= today)
        .order_by(ServiceContract.starts_on.desc(), ServiceContract.code)).all()
    return next((c for c in contracts if c.ends_on is None or c.ends_on >= today), None)


def evaluation_subject(ctx, enterprise_code=None, service_grade_contracted=None):
    """Who and what is evaluated: the compound, its enterprise and the contracted grade."""
    if not ctx.case.compound:
        raise HandlerFailed("评议考评必须针对一个小区（物业服务项目）发起，发起时请选择小区")
    compound = ctx.session.get(Organisation, ctx.case.compound)
    contract = _contract_in_force(ctx.session, compound.code, ctx.now.astimezone(CHINA_TZ).date())
    code = (enterprise_code or (contract.enterprise_code if contract else None)
            or (compound.attributes or {}).get("enterprise_code"))
    if not code:
        raise HandlerFailed(f"小区 {compound.name} 没有在管的物业服务合同，请在发起时填写物业服务企业编码")
    enterprise = ctx.session.get(Organisation, code)
    if enterprise is None or enterprise.kind != "enterprise":
        raise HandlerFailed(f"未找到物业服务企业 {code}")
    if contract is not None and contract.enterprise_code != code:
        contract = None  # the contract in force is another enterprise's: its grade does not apply
    grade = service_grade_contracted or (contract.service_grade if contract else None)
    number = _grade_number(grade)
    if number is None:
        raise HandlerFailed("物业服务合同没有约定有效的服务等级（一至五级），请在发起时填写合同约定的服务等级")
    return {"compound_code": compound.code, "compound_name": compound.name,
            "enterprise_code": enterprise.code, "enterprise_name": enterprise.name,
            "service_grade_contracted": number,
            "service_grade_label": SERVICE_GRADES[str(number)],
            "contract_code": contract.code if contract else None}


def _exact(value, label):
    """Scores arrive as JSON numbers (or strings): back to the exact Decimal a clerk typed."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise HandlerFailed(f"{label}必须是数字")
    return Decimal(str(value))


def evaluation_grade(ctx, basic_score, facilities_score, satisfaction_score,
                     service_grade_contracted):
    """Total, star level, credit grade, consequence and 质价不符 of one scoring."""
    result = evaluate_project(_exact(basic_score, "基础管理得分"),
                              _exact(facilities_score, "共有设施设备管理得分"),
                              _exact(satisfaction_score, "群众满意度得分"),
                              service_grade_contracted)
    total = result.total
    return {"total_score": int(total) if total == total.to_integral_value() else float(total),
            "star_level": result.star, "star_label": STAR_LABELS[result.star],
            "credit_grade": result.grade,
            "consequence_code": result.consequence.code,
            "consequence": result.consequence.description,
            "notify_parties": result.consequence.notify_parties,
            "quality_below_price": result.below_price}


def evaluation_credit_record(ctx, enterprise_code, year, grade, note):
    """Enter the confirmed grade in the enterprise's credit file, once per evaluation case."""
    if grade not in CREDIT_GRADES:
        raise HandlerFailed(f"信用等级必须是A、B、C、D之一，收到：{grade!r}")
    enterprise = ctx.session.get(Organisation, enterprise_code)
    if enterprise is None or enterprise.kind != "enterprise":
        raise HandlerFailed(f"未找到物业服务企业 {enterprise_code}")
    record = ctx.session.scalars(select(CreditRecord).where(
        CreditRecord.case_id == ctx.case.id, CreditRecord.kind == CREDIT_KIND)).first()
    if record is None:
        record = CreditRecord(case_id=ctx.case.id, kind=CREDIT_KIND)
        ctx.session.add(record)
    record.enterprise_code, record.year, record.grade = enterprise_code, int(year), grade
    record.note, record.recorded_at = str(note), ctx.now
    ctx.session.flush()
    return {"id": record.id, "enterprise_code": enterprise_code, "year": record.year,
            "grade": grade, "kind": CREDIT_KIND, "recorded_at": ctx.now.isoformat()}


def _points(value):
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def evaluation_rectification_request(ctx, evaluation_year, compound_name, total_score,
                                     basic_score, facilities_score, satisfaction_score,
                                     star_label, service_grade_label, findings, reference,
                                     scored_on=None):
    """The `start_rectification` payload on 质价不符: the problem as the evaluation found it,
    with everything the rectification's start form would have added (its periods as configured
    now, its initial state), since a case started by message skips that form."""
    description = (
        f"{evaluation_year}年度物业服务评议考评：{compound_name}物业服务项目总分{_points(total_score)}分"
        f"（基础管理{_points(basic_score)}分，共有设施设备管理{_points(facilities_score)}分，"
        f"群众满意度{_points(satisfaction_score)}分），评定为{star_label}，"
        f"低于合同约定的{service_grade_label}服务等级，质价不符。\n主要问题：{findings}")
    return {**rectification_defaults("evaluation"),
            "title": f"整改：{compound_name}质价不符（{evaluation_year}年度评议考评）",
            "problem_description": description, "source_reference": reference,
            "found_on": scored_on}


def evaluation_announcement(ctx, evaluation_year, enterprise_name, compound_name, total_score,
                            consequence, findings, notify_parties, scored_on=None):
    """The `start_publicity` payload of a D grade: a circular naming the enterprise, addressed to
    the parties the rule names, checked here by the publicity's own rules so that a request it
    would refuse fails this step instead of going astray."""
    return publicity_message_data(
        title=f"物业服务企业信用风险通报：{enterprise_name}",
        content=(f"经{evaluation_year}年度物业服务评议考评，{enterprise_name}（{compound_name}物业服务项目）"
                 f"总分{_points(total_score)}分，信用评价为D级。根据评议监督考评制度，{consequence}。"),
        kind=CIRCULAR_KIND, enterprise_name=enterprise_name,
        violations=[{"description": f"{evaluation_year}年度评议考评总分{_points(total_score)}分，"
                                    f"信用评价为D级。主要问题：{findings}",
                     "found_on": scored_on}],
        addressees=list(notify_parties),
        basis="三方联动评议监督考评制度：信用评价为D级的物业服务企业，通报业主、业委会（物管会）、社区居委会")


HANDLERS = {
    "evaluation_subject": evaluation_subject,
    "evaluation_grade": evaluation_grade,
    "evaluation_credit_record": evaluation_credit_record,
    "evaluation_rectification_request": evaluation_rectification_request,
    "evaluation_announcement": evaluation_announcement,
}
