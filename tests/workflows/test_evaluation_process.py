"""The evaluation process (评议监督考评) walked through the service layer with a manual clock.

The clock starts on Monday 2 March 2026, 09:00 Beijing time. The community scores 凤台花园's
service project within 10 working days (Monday 16 March); the housing bureau confirms within 5
(Monday 9 March); the street's inspection of a C-grade enterprise is due 20 working days after
the confirmation. Each grade's consequence, 质价不符 and the rescoring loop are walked to the end.
"""
from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine.calendar import CHINA_TZ
from engine.errors import Forbidden, ValidationFailed
from engine.models import Case, Organisation
from workflows.models import CreditRecord, ServiceContract
from workflows.rules.periods import period

COMPOUND = "C0001"    # 凤台花园, managed by E0001 in the demo organisations
ENTERPRISE = "E0001"  # 晋城市安居物业服务有限公司
START_DATA = {"evaluation_year": 2025, "enterprise_code": ENTERPRISE,
              "service_grade_contracted": "4", "reference": "城区住建〔2026〕评议1号"}
FINDINGS = "3号楼电梯一个月内困人两次；地下车库照明大面积损坏；满意度调查中保洁得分偏低。"
CONFIRMED = {"review_decision": "confirmed", "reviewed_on": "2026-03-06"}
# Weighted 0.4 / 0.3 / 0.3: the totals and grades below follow from the default rules.
SCORES = {
    "A": (95, 92, 90),     # 92.6: A, five stars
    "B": (85, 80, 80),     # 82.0: B, four stars, as contracted
    "C": (70, 65, 60),     # 65.5: C, two stars, below the contracted four
    "D": (50, 55, 58),     # 53.9: D, one star, below the contracted four
}


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def scoring(grade, **overrides):
    basic, facilities, satisfaction = SCORES[grade]
    data = {"basic_score": basic, "facilities_score": facilities,
            "satisfaction_score": satisfaction, "survey_respondents": 120, "findings": FINDINGS,
            "scored_on": "2026-03-05", "scorers": "凤台社区 张专干、业委会 赵主任"}
    data.update(overrides)
    return data


def start(engine, clerk, data=None, compound=COMPOUND):
    return engine.start_case(clerk, "evaluation", dict(START_DATA if data is None else data),
                             compound)


def graded(engine, inspect, clerk, bureau, grade, clock=None):
    """Start, score with the scores of `grade`, confirm: the case past the bureau."""
    case = start(engine, clerk)
    engine.complete_task(clerk, inspect.task(case.id, "score_project").id, scoring(grade))
    if clock is not None:
        clock.set(beijing(2026, 3, 6, 10, 0))
    engine.complete_task(bureau, inspect.task(case.id, "confirm_grade").id, CONFIRMED)
    return inspect.case(case.id)


def credit_records(engine):
    with engine.db.unit_of_work(write=False) as session:
        return [(r.enterprise_code, r.year, r.grade, r.kind, r.note, r.case_id, r.recorded_at)
                for r in session.scalars(select(CreditRecord).order_by(CreditRecord.id))]


def children(engine, case_id):
    with engine.db.unit_of_work(write=False) as session:
        cases = session.scalars(select(Case).where(Case.process_id != "evaluation")).all()
        return {c.process_id: c for c in cases if c.data.get("parent_case_id") == case_id}


# -- start -------------------------------------------------------------------------------------

def test_start_fills_periods_and_resolves_the_subject(engine, inspect, clerk):
    case = start(engine, clerk)
    assert case.title == "2025年度物业服务评议考评" and case.compound == COMPOUND
    data = inspect.case(case.id).data
    assert data["scoring_working_days"] == period("evaluation_scoring_working_days") == 10
    assert data["review_working_days"] == period("evaluation_review_working_days") == 5
    assert data["inspection_working_days"] == period("credit_inspection_working_days") == 20
    assert data["enterprise_name"] == "晋城市安居物业服务有限公司"
    assert data["compound_name"] == "凤台花园"
    assert data["service_grade_contracted"] == 4 and data["service_grade_label"] == "四级"
    assert data["contract_code"] is None
    assert data["evaluation_reference"] == "城区住建〔2026〕评议1号"
    task = inspect.task(case.id, "score_project")
    assert task.candidate_groups == ["clerk"] and task.lane == "社区"
    assert task.title == "量化打分"
    assert task.due_at == beijing(2026, 3, 16, 23, 59, 59)
    assert inspect.kinds(case.id, "task_completed") == ["load_subject"]


def test_enterprise_and_grade_default_to_the_contract_in_force(engine, inspect, clerk):
    with engine.db.unit_of_work() as session:
        session.add_all([
            ServiceContract(code="HT-2020-01", compound_code=COMPOUND, enterprise_code=ENTERPRISE,
                            starts_on=date(2020, 1, 1), ends_on=date(2025, 12, 31),
                            service_grade="2", status="active"),  # expired: not in force
            ServiceContract(code="HT-2026-01", compound_code=COMPOUND, enterprise_code=ENTERPRISE,
                            starts_on=date(2026, 1, 1), ends_on=None, service_grade="三级",
                            status="active")])
    case = start(engine, clerk, {"evaluation_year": 2025})
    data = inspect.case(case.id).data
    assert (data["enterprise_code"], data["service_grade_contracted"], data["contract_code"]) == \
        (ENTERPRISE, 3, "HT-2026-01")
    assert data["evaluation_reference"] == "2025年度物业服务评议考评"
    # What the clerk states wins over the contract.
    case = start(engine, clerk, {"evaluation_year": 2025, "service_grade_contracted": "5"})
    assert inspect.case(case.id).data["service_grade_contracted"] == 5


def test_start_form_refuses_bad_input_and_starts_nothing(engine, clerk):
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, {"evaluation_year": "2025年", "service_grade_contracted": "6",
                              "reference": "x" * 61, "grade": "A"})
    assert refused.value.fields == {
        "evaluation_year": ["必须是整数"],
        "service_grade_contracted": ["必须是以下之一：一级, 二级, 三级, 四级, 五级"],
        "reference": ["不能超过 60 个字"], "grade": ["不是本表单的字段"]}
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, {"evaluation_year": 1999})
    assert refused.value.fields == {"evaluation_year": ["必须在 2000 至 2100 之间"]}
    with engine.db.unit_of_work(write=False) as session:
        assert session.query(Case).count() == 0


@pytest.mark.parametrize("data, compound, message", [
    ({"evaluation_year": 2025}, COMPOUND, "小区 凤台花园 没有在管的物业服务合同，请在发起时填写物业服务企业编码"),
    ({"evaluation_year": 2025, "enterprise_code": "E9999", "service_grade_contracted": "3"},
     COMPOUND, "未找到物业服务企业 E9999"),
    ({"evaluation_year": 2025, "enterprise_code": "C0002", "service_grade_contracted": "3"},
     COMPOUND, "未找到物业服务企业 C0002"),
    ({"evaluation_year": 2025, "enterprise_code": ENTERPRISE}, COMPOUND,
     "物业服务合同没有约定有效的服务等级"),
    (START_DATA, None, "评议考评必须针对一个小区"),
])
def test_an_evaluation_that_cannot_be_attributed_stops_at_once(engine, inspect, clerk, data,
                                                               compound, message):
    case = start(engine, clerk, data, compound)
    assert case.status == "error" and message in case.error
    assert inspect.tasks(case.id) == [] and credit_records(engine) == []


# -- the four grades ---------------------------------------------------------------------------

def test_grade_a_notes_the_tender_bonus(engine, inspect, clerk, bureau, clock):
    case = start(engine, clerk)
    score = inspect.task(case.id, "score_project")
    with pytest.raises(Forbidden):  # the bureau confirms; the community scores
        engine.complete_task(bureau, score.id, scoring("A"))
    engine.complete_task(clerk, score.id, scoring("A"))
    data = inspect.case(case.id).data
    assert (data["total_score"], data["star_level"], data["star_label"], data["credit_grade"]) \
        == (92.6, 5, "五星级", "A")
    assert data["quality_below_price"] is False and data["scoring_round"] == 1
    confirm = inspect.task(case.id, "confirm_grade")
    assert confirm.candidate_groups == ["bureau"] and confirm.lane == "住建部门"
    assert confirm.due_at == beijing(2026, 3, 9, 23, 59, 59)
    with pytest.raises(Forbidden):
        engine.complete_task(clerk, confirm.id, CONFIRMED)
    clock.set(beijing(2026, 3, 6, 10, 0))
    done = engine.complete_task(bureau, confirm.id, CONFIRMED)

    assert done.status == "completed"
    assert done.data["tender_bonus"] is True
    assert done.data["tender_bonus_note"] == "晋城市安居物业服务有限公司2025年度信用评价为A级，参加招投标时可予以加分"
    assert done.data["consequence_code"] == "tender_bonus" and done.data["outcome"] == "graded"
    [record] = credit_records(engine)
    assert record[:4] == (ENTERPRISE, 2025, "A", "evaluation") and record[5] == case.id
    assert record[6] == beijing(2026, 3, 6, 10, 0)
    assert "总分92.6分，五星级，信用等级A级" in record[4] and "招投标时可予以加分" in record[4]
    assert done.data["credit_record"]["grade"] == "A"
    assert inspect.kinds(case.id, "task_completed") == [
        "load_subject", "score_project", "grade_project", "confirm_grade", "record_credit",
        "note_tender_bonus", "close_evaluation"]
    assert children(engine, case.id) == {}
    assert inspect.kinds(case.id, "message_sent") == []


def test_grade_b_is_normal_supervision(engine, inspect, clerk, bureau):
    done = graded(engine, inspect, clerk, bureau, "B")
    assert done.status == "completed"
    assert (done.data["total_score"], done.data["star_level"], done.data["credit_grade"]) == \
        (82, 4, "B")
    assert done.data["consequence"] == "信用评价为B级的物业服务企业，实施正常监管"
    assert done.data["tender_bonus"] is False and done.data["quality_below_price"] is False
    assert [r[2] for r in credit_records(engine)] == ["B"]
    assert inspect.kinds(done.id, "task_completed")[-3:] == ["confirm_grade", "record_credit",
                                                            "close_evaluation"]
    assert children(engine, done.id) == {}


def test_grade_c_schedules_an_inspection_and_quality_below_price_starts_a_rectification(
        engine, inspect, clerk, company, street, bureau, clock):
    evaluation = graded(engine, inspect, clerk, bureau, "C", clock)
    assert evaluation.status == "running"
    data = evaluation.data
    assert (data["total_score"], data["star_level"], data["credit_grade"]) == (65.5, 2, "C")
    assert data["quality_below_price"] is True
    # Twenty working days from Friday 6 March.
    assert data["inspection_deadline"] == "2026-04-03"
    inspection = inspect.task(evaluation.id, "inspect_enterprise")
    assert inspection.candidate_groups == ["street"] and inspection.lane == "街道"
    assert inspection.due_at == beijing(2026, 4, 3, 23, 59, 59)
    assert [r[2] for r in credit_records(engine)] == ["C"]

    # 质价不符: a rectification case, same compound, with everything its flow needs.
    rectification = children(engine, evaluation.id)["rectification"]
    assert rectification.status == "running" and rectification.compound == COMPOUND
    assert rectification.title == "整改：凤台花园质价不符（2025年度评议考评）"
    child = rectification.data
    assert child["source"] == "evaluation" and child["source_label"] == "评议考评"
    assert child["source_reference"] == "城区住建〔2026〕评议1号"
    assert child["parent_process_id"] == "evaluation" and child["found_on"] == "2026-03-05"
    assert child["problem_description"] == (
        "2025年度物业服务评议考评：凤台花园物业服务项目总分65.5分（基础管理70分，共有设施设备管理65分，"
        "群众满意度60分），评定为二星级，低于合同约定的四级服务等级，质价不符。\n主要问题：" + FINDINGS)
    assert child["deadline_working_days"] == period("rectification_working_days")
    assert child["verify_working_days"] == period("problem_community_working_days")
    assert child["street_working_days"] == period("problem_street_working_days")
    assert child["bureau_working_days"] == period("problem_bureau_working_days")
    assert (child["rectification_round"], child["escalated"], child["outcome"]) == (0, False, None)
    assert inspect.kinds(rectification.id, "case_started") == [None]
    linked = [e[3] for e in inspect.events(evaluation.id) if e[0] == "case_linked"]
    assert linked == [{"name": "start_rectification", "case_id": rectification.id,
                       "process_id": "rectification"}]

    # The rectification runs its ordinary course from the clerk's order.
    engine.complete_task(clerk, inspect.task(rectification.id, "issue_order").id,
                         {"requirements": "一、修复3号楼电梯；二、修复车库照明；三、提高保洁频次。"})
    report = inspect.task(rectification.id, "submit_report")
    assert report.due_at == beijing(2026, 3, 27, 23, 59, 59)  # 15 working days from 6 March
    engine.complete_task(company, report.id, {"report": "已全部整改。", "completed_on": "2026-03-20"})
    done = engine.complete_task(clerk, inspect.task(rectification.id, "verify").id, {
        "verification_result": "accepted", "verification_opinion": "整改到位。",
        "verified_on": "2026-03-23"})
    assert done.status == "completed" and done.data["outcome"] == "rectified"

    # The street inspects; the evaluation closes.
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(street, inspection.id, {"inspected_on": "2026-03-25",
                                                     "inspection_findings": "检查服务台账。",
                                                     "problems_found": True})
    assert refused.value.fields == {"follow_up_measures": ["发现问题的，必须写明处理措施"]}
    finished = engine.complete_task(street, inspection.id, {
        "inspected_on": "2026-03-25", "inspection_findings": "台账基本完整，保洁仍有不足。",
        "problems_found": True, "follow_up_measures": "约谈项目经理，一个月后复查。"})
    assert finished.status == "completed" and finished.data["problems_found"] is True
    assert inspect.kinds(evaluation.id, "task_completed") == [
        "load_subject", "score_project", "grade_project", "confirm_grade", "record_credit",
        "prepare_rectification", "schedule_inspection", "inspect_enterprise", "close_evaluation"]


def test_grade_d_is_announced_and_rectified(engine, inspect, clerk, bureau, clock):
    done = graded(engine, inspect, clerk, bureau, "D", clock)
    assert done.status == "completed"
    assert (done.data["total_score"], done.data["star_level"], done.data["credit_grade"]) == \
        (53.9, 1, "D")
    assert done.data["notify_parties"] == ["owners", "owners_committee", "residents_committee"]
    assert [r[2] for r in credit_records(engine)] == ["D"]
    sent = [e[3]["name"] for e in inspect.events(done.id) if e[0] == "message_sent"]
    assert sent == ["start_rectification", "start_publicity"]

    started = children(engine, done.id)
    assert set(started) == {"rectification", "publicity"}
    publicity = started["publicity"]
    assert publicity.status == "running" and publicity.compound == COMPOUND
    assert publicity.title == "物业服务企业信用风险通报：晋城市安居物业服务有限公司"
    announced = publicity.data
    assert announced["kind"] == "violation_circular"
    assert announced["enterprise_name"] == "晋城市安居物业服务有限公司"
    assert announced["addressees"] == ["owners", "owners_committee", "residents_committee"]
    assert announced["content"] == (
        "经2025年度物业服务评议考评，晋城市安居物业服务有限公司（凤台花园物业服务项目）总分53.9分，信用评价为D级。"
        "根据评议监督考评制度，信用评价为D级的物业服务企业，通报业主、业委会（物管会）、社区居委会，提示信用风险。")
    assert announced["publicity_days"] == period("publicity_days")
    assert announced["parent_case_id"] == done.id
    assert [(v["description"], v["found_on"]) for v in announced["violations"]] == [(
        "2025年度评议考评总分53.9分，信用评价为D级。主要问题：" + FINDINGS, "2026-03-05")]
    # The announcement the evaluation keeps is the one the publicity received.
    kept = done.data["announcement"]
    assert {k: announced[k] for k in ("title", "content", "kind", "enterprise_name", "addressees",
                                      "publicity_days")} == \
        {k: kept[k] for k in ("title", "content", "kind", "enterprise_name", "addressees",
                              "publicity_days")}
    assert started["rectification"].data["problem_description"].startswith(
        "2025年度物业服务评议考评：凤台花园物业服务项目总分53.9分")
    assert done.data["message_data"] is None
    assert inspect.kinds(done.id, "task_completed")[-4:] == [
        "record_credit", "prepare_rectification", "prepare_announcement", "close_evaluation"]


def test_grade_c_without_quality_below_price_starts_no_rectification(engine, inspect, clerk,
                                                                     street, bureau):
    case = start(engine, clerk, dict(START_DATA, service_grade_contracted="2"))
    engine.complete_task(clerk, inspect.task(case.id, "score_project").id, scoring("C"))
    engine.complete_task(bureau, inspect.task(case.id, "confirm_grade").id, CONFIRMED)
    data = inspect.case(case.id).data
    assert data["credit_grade"] == "C" and data["quality_below_price"] is False
    assert inspect.ready_names(case.id) == ["inspect_enterprise"]
    assert children(engine, case.id) == {}


# -- rescoring ---------------------------------------------------------------------------------

def test_bureau_returns_for_rescoring_then_confirms(engine, inspect, clerk, bureau, clock):
    case = start(engine, clerk)
    engine.complete_task(clerk, inspect.task(case.id, "score_project").id, scoring("D"))
    confirm = inspect.task(case.id, "confirm_grade")
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(bureau, confirm.id, {"review_decision": "returned",
                                                  "reviewed_on": "2026-03-03"})
    assert refused.value.fields == {"review_opinion": ["退回重新评分时必须写明审定意见"]}
    clock.set(beijing(2026, 3, 4, 9, 0))
    engine.complete_task(bureau, confirm.id, {
        "review_decision": "returned", "review_opinion": "满意度调查样本不足，请补充调查后重新评分。",
        "reviewed_on": "2026-03-04"})
    rescore = inspect.task(case.id, "score_project")
    assert rescore.id != confirm.id
    assert rescore.due_at == beijing(2026, 3, 18, 23, 59, 59)  # ten working days from 4 March
    assert credit_records(engine) == []  # nothing is recorded before the bureau confirms
    engine.complete_task(clerk, rescore.id, scoring("B", survey_respondents=None,
                                                    scored_on="2026-03-10"))
    again = inspect.task(case.id, "confirm_grade")
    assert inspect.case(case.id).data["scoring_round"] == 2
    done = engine.complete_task(bureau, again.id, CONFIRMED)

    assert done.status == "completed"
    assert done.data["credit_grade"] == "B" and done.data["review_opinion"] is None
    assert done.data["survey_respondents"] is None
    assert [r[2] for r in credit_records(engine)] == ["B"]
    assert children(engine, case.id) == {}  # the first, returned scoring started nothing
    completed = inspect.kinds(case.id, "task_completed")
    assert completed.count("score_project") == 2 and completed.count("grade_project") == 2
    assert completed.count("confirm_grade") == 2 and completed.count("record_credit") == 1


# -- forms -------------------------------------------------------------------------------------

def _snapshot(inspect, case_id):
    case = inspect.case(case_id)
    return case.version, case.data, case.status, [(t.id, t.state) for t in inspect.tasks(case_id)]


def test_scoring_form_refuses_what_a_careful_clerk_would(engine, inspect, clerk):
    case = start(engine, clerk)
    score = inspect.task(case.id, "score_project")
    before = _snapshot(inspect, case.id)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, score.id, scoring("A", basic_score=100.5, facilities_score=-1,
                                                      satisfaction_score=88.125,
                                                      survey_respondents=0))
    assert refused.value.fields == {
        "basic_score": ["必须在 0 至 100 之间"], "facilities_score": ["必须在 0 至 100 之间"],
        "satisfaction_score": ["最多保留两位小数"], "survey_respondents": ["必须在 1 至 100000 之间"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, score.id, {"basic_score": "九十", "facilities_score": True,
                                               "satisfaction_score": "NaN", "findings": " ",
                                               "scored_on": "2026-13-01"})
    assert refused.value.fields == {
        "basic_score": ["必须是数字"], "facilities_score": ["必须是数字"],
        "satisfaction_score": ["不能是非数字或无穷大"], "findings": ["不能为空"],
        "scored_on": ["不是有效的日期（如 2026-03-10）"]}
    assert _snapshot(inspect, case.id) == before
    # Two decimals, given as text or number, are exact.
    engine.complete_task(clerk, score.id, scoring("A", basic_score="89.88", facilities_score=90,
                                                  satisfaction_score=89.87))
    data = inspect.case(case.id).data
    assert data["basic_score"] == 89.88 and data["total_score"] == 89.9  # 35.952+27+26.961
    assert data["credit_grade"] == "B"


def test_every_task_has_its_form():
    from workflows.evaluation import FORMS
    assert set(FORMS) == {"evaluation.start", "evaluation.score_project",
                          "evaluation.confirm_grade", "evaluation.inspect_enterprise"}


def test_credit_record_is_written_once_per_case(engine, inspect, clerk, bureau):
    """The credit file holds one entry per evaluation, even if its step were run again."""
    from engine.handlers import ServiceContext
    from workflows.evaluation import evaluation_credit_record
    done = graded(engine, inspect, clerk, bureau, "B")
    with engine.db.unit_of_work() as session:
        case = session.get(Case, done.id)
        again = evaluation_credit_record(ServiceContext(session, case, beijing(2026, 3, 9, 9, 0),
                                                        "engine"),
                                         ENTERPRISE, 2025, "C", "复核后调整")
    records = credit_records(engine)
    assert len(records) == 1 and records[0][2:5] == ("C", "evaluation", "复核后调整")
    assert again["id"] == done.data["credit_record"]["id"]


def test_diagram_draws_completely(diagram_problems):
    assert diagram_problems("evaluation.bpmn") == []
