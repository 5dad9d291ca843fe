"""Publicity and circulation (公示通报) walked through the service layer with the engine clock.

The clock starts on Monday 2 March 2026, 09:00 Beijing time. A notice posted that day for the
configured 7 days runs from Tuesday 3 March (the day of posting is not counted) to the end of
Monday 9 March; the review is due within 3 working days, the objections are handled within 5.
"""
from datetime import datetime

import pytest

from engine.access import SYSTEM
from engine.calendar import CHINA_TZ
from engine.errors import Forbidden, ValidationFailed
from engine.models import Case
from workflows.publicity import publicity_message_data
from workflows.rules.periods import period

COMPOUND = "C0001"
PROCESS = "publicity"
FUND_NOTICE = {"title": "凤台花园2026年第一季度公共收益收支情况公示", "kind": "fund_usage",
               "content": "一、电梯广告收入12,000元；二、停车场地收入8,600元；三、支出：公共照明维修3,200元。",
               "basis": "《民法典》第九百四十三条", "covers_from": "2026-01-01",
               "covers_to": "2026-03-31"}
CIRCULAR = {"title": "关于凤台物业服务有限公司违规行为的通报", "kind": "violation_circular",
            "content": "经查，凤台物业服务有限公司存在以下违规行为，现予通报。",
            "enterprise_name": "凤台物业服务有限公司",
            "violations": [{"description": "擅自停止3号楼电梯运行维护", "found_on": "2026-02-20"},
                           {"description": "未按规定公示公共收益收支情况"}]}
POSTED = {"channels": ["bulletin_board", "owners_group"], "locations": "小区东门公告栏、各楼栋单元出入口"}
APPROVED = {"review_result": "approved", "review_opinion": "同意公示。"}
OBJECTION = {"objector_party": "owners_committee", "objector_name": "王建国",
             "objection_content": "停车场地收入与业主委员会掌握的台账不符，少计2,400元。"}


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def end_of(year, month, day):
    return beijing(year, month, day, 23, 59, 59)


def timers_fired(fired):
    """The timers among what a tick fired (reminders of due tasks come alongside)."""
    return [f["element"] for f in fired if f["kind"] == "timer"]


def complete(engine, inspect, actor, case, name, data):
    return engine.complete_task(actor, inspect.task(case.id, name).id, data)


def posted_notice(engine, inspect, clerk, street, draft=FUND_NOTICE):
    """Draft, approve and post a notice: the objection task of its period is ready."""
    case = engine.start_case(clerk, PROCESS, dict(draft), COMPOUND)
    complete(engine, inspect, street, case, "street_review", APPROVED)
    complete(engine, inspect, clerk, case, "post_notice", POSTED)
    return case


# -- start form ------------------------------------------------------------------------------

def test_draft_takes_periods_and_the_street_as_reviewer(engine, inspect, clerk):
    case = engine.start_case(clerk, PROCESS, dict(FUND_NOTICE), COMPOUND)
    assert case.title == FUND_NOTICE["title"]
    data = inspect.case(case.id).data
    assert data["publicity_days"] == period("publicity_days") == 7
    assert data["review_working_days"] == period("publicity_review_working_days") == 3
    assert data["objection_reply_working_days"] == period("objection_reply_working_days") == 5
    assert data["kind_label"] == "专项维修资金使用与公共收益"
    assert data["reviewer"] == "street" and data["reviewer_label"] == "街道办事处（乡镇）"
    assert data["addressees"] == [] and data["enterprise_name"] is None
    review = inspect.task(case.id, "street_review")
    assert review.lane == "街道" and review.candidate_groups == ["street"]
    assert review.due_at == end_of(2026, 3, 5)


def test_draft_refuses_what_a_clerk_should_not_post(engine, clerk):
    def refused(**changes):
        with pytest.raises(ValidationFailed) as caught:
            engine.start_case(clerk, PROCESS, {**FUND_NOTICE, **changes}, COMPOUND)
        return caught.value.fields

    assert refused(covers_from="2026-04-01") == {"covers_to": ["所属期间止不能早于所属期间起"]}
    assert refused(covers_from=None) == {"covers_from": ["填写所属期间止时须同时填写所属期间起"]}
    assert refused(enterprise_name="凤台物业", addressees=["owners"]) == {
        "enterprise_name": ["只有违规行为通报才填写此项"], "addressees": ["只有违规行为通报才填写此项"]}
    assert refused(kind="notice", publicity_days=0, title="", reviewer="district") == {
        "kind": ["必须是以下之一：一般公示, 物业服务信息公开, 专项维修资金使用与公共收益, 联席会议纪要, "
                 "评议考评结果, 违规行为通报"],
        "publicity_days": ["必须在 1 至 365 之间"], "title": ["不能为空"],
        "reviewer": ["必须是以下之一：街道办事处（乡镇）, 住房和城乡建设部门"]}
    with pytest.raises(ValidationFailed) as caught:
        engine.start_case(clerk, PROCESS, {**CIRCULAR, "enterprise_name": "", "violations": []},
                          COMPOUND)
    assert caught.value.fields == {"enterprise_name": ["违规行为通报须写明被通报企业"],
                                   "violations": ["违规行为通报须至少写明一项违规行为"]}
    with pytest.raises(ValidationFailed) as caught:
        engine.start_case(clerk, PROCESS, {**CIRCULAR, "violations": [{"found_on": "2026-02-30"}]},
                          COMPOUND)
    assert caught.value.fields == {"violations.0.description": ["此项为必填项"],
                                   "violations.0.found_on": ["不是有效的日期（如 2026-03-10）"]}
    with engine.db.unit_of_work(write=False) as session:
        assert session.query(Case).count() == 0


# -- paths -----------------------------------------------------------------------------------

def test_no_objection_completes_when_the_period_ends(engine, inspect, clerk, street, owners):
    case = posted_notice(engine, inspect, clerk, street)
    data = inspect.case(case.id).data
    assert data["posted_on"] == "2026-03-02" and data["publicity_ends_on"] == "2026-03-09"
    assert data["posting_round"] == 1
    objection = inspect.task(case.id, "raise_objection")
    assert objection.lane == "业主委员会"
    assert objection.candidate_groups == ["owners", "company", "clerk"]
    assert objection.due_at == end_of(2026, 3, 9)
    assert inspect.timers(case.id) == [("period_ended", end_of(2026, 3, 9))]
    with pytest.raises(Forbidden):  # the reviewer has no objection to raise
        engine.complete_task(street, objection.id, OBJECTION)

    _, fired = engine.tick(beijing(2026, 3, 9, 23, 59, 58))
    assert timers_fired(fired) == []
    _, fired = engine.tick(beijing(2026, 3, 10, 0, 0))
    assert timers_fired(fired) == ["period_ended"]
    final = inspect.case(case.id)
    assert final.status == "completed"
    assert final.data["outcome"] == "published" and final.data["objections"] == []
    assert final.data["closed_on"] == "2026-03-09"
    assert [t.id for t in inspect.tasks(case.id, states=("cancelled",))] == [objection.id]
    assert inspect.kinds(case.id, "task_completed") == [
        "street_review", "post_notice", "open_period", "close_published"]


def test_upheld_objections_are_revised_and_posted_again_for_a_fresh_period(
        engine, inspect, clerk, street, owners, company, clock):
    case = posted_notice(engine, inspect, clerk, street)
    clock.set(beijing(2026, 3, 3, 10, 0))
    complete(engine, inspect, owners, case, "raise_objection", OBJECTION)
    assert inspect.timers(case.id) == [("period_ended", end_of(2026, 3, 9))]  # same period
    clock.set(beijing(2026, 3, 4, 16, 0))
    complete(engine, inspect, company, case, "raise_objection", {
        "objector_party": "company", "objector_name": "凤台物业 刘经理",
        "objector_contact": "0356-2220000", "objection_content": "照明维修支出另有1,100元未列入。",
        "evidence": "维修发票.pdf"})
    data = inspect.case(case.id).data
    assert data["objection_count"] == 2 and data["objections_this_round"] == 2
    assert [(o["number"], o["round"], o["party"], o["received_on"]) for o in data["objections"]] == [
        (1, 1, "owners_committee", "2026-03-03"), (2, 1, "company", "2026-03-04")]
    assert data["objections"][1]["evidence"] == "维修发票.pdf"
    assert data["objection_content"] is None  # recorded in the list, not left lying around

    _, fired = engine.tick(beijing(2026, 3, 10, 0, 0))
    assert timers_fired(fired) == ["period_ended"]
    handle = inspect.task(case.id, "handle_objections")
    assert handle.candidate_groups == ["clerk"] and handle.due_at == end_of(2026, 3, 16)
    clock.set(beijing(2026, 3, 10, 9, 30))
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, handle.id, {"objection_decision": "upheld",
                                                "objection_findings": "经核对台账，异议属实。"})
    assert refused.value.fields == {"revision_points": ["异议成立时须写明需要修改的内容"]}
    engine.complete_task(clerk, handle.id, {
        "objection_decision": "upheld", "objection_findings": "经核对台账和发票，两项异议均属实。",
        "revision_points": "停车场地收入更正为11,000元；补列照明维修支出1,100元。"})
    revise = inspect.task(case.id, "revise_notice")
    assert revise.due_at == end_of(2026, 3, 17)
    assert [o["decision"] for o in inspect.case(case.id).data["objections"]] == ["upheld", "upheld"]

    clock.set(beijing(2026, 3, 10, 15, 0))
    engine.complete_task(clerk, revise.id, {
        "content": "一、电梯广告收入12,000元；二、停车场地收入11,000元；三、支出：公共照明维修4,300元。",
        "revision_note": "根据业主委员会和物业服务企业的异议更正两项数据。"})
    clock.set(beijing(2026, 3, 11, 9, 0))
    complete(engine, inspect, clerk, case, "post_notice", POSTED)
    data = inspect.case(case.id).data
    assert data["posting_round"] == 2 and data["objections_this_round"] == 0
    assert data["posted_on"] == "2026-03-11" and data["publicity_ends_on"] == "2026-03-18"
    assert data["title"] == FUND_NOTICE["title"]  # kept when the revision leaves it blank
    assert "11,000元" in data["content"]
    assert inspect.timers(case.id) == [("period_ended", end_of(2026, 3, 18))]

    _, fired = engine.tick(beijing(2026, 3, 19, 0, 0))
    assert timers_fired(fired) == ["period_ended"]
    final = inspect.case(case.id)
    assert final.status == "completed" and final.data["outcome"] == "published"
    assert len(final.data["objections"]) == 2
    completed = inspect.kinds(case.id, "task_completed")
    assert completed.count("post_notice") == 2 and completed.count("open_period") == 2
    assert completed.count("record_objection") == 2 and completed[-1] == "close_published"


def test_rejected_objections_need_reasons_and_close_the_publicity(engine, inspect, clerk, street,
                                                                   owners):
    case = posted_notice(engine, inspect, clerk, street)
    complete(engine, inspect, clerk, case, "raise_objection", {
        "objector_party": "owner", "objector_name": "5号楼 陈女士", "objection_content": "广告收入应全部用于电梯更新。"})
    engine.tick(beijing(2026, 3, 10, 0, 0))
    handle = inspect.task(case.id, "handle_objections")
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, handle.id, {"objection_decision": "rejected",
                                                "objection_findings": "公示数据与台账一致。"})
    assert refused.value.fields == {"rejection_reasons": ["异议不成立时须写明理由"]}
    done = engine.complete_task(clerk, handle.id, {
        "objection_decision": "rejected", "objection_findings": "公示数据与台账一致。",
        "rejection_reasons": "异议涉及收益用途，应由业主大会决定，不属于公示内容错误；已当面答复异议人。"})
    assert done.status == "completed" and done.data["outcome"] == "objections_rejected"
    assert done.data["objection_decision_label"] == "异议不成立，维持公示内容"
    assert done.data["objections"][0]["decision"] == "rejected"
    assert done.data["objections"][0]["party_label"] == "业主（住户）"
    assert inspect.kinds(case.id, "task_completed")[-3:] == [
        "handle_objections", "record_decision", "close_objections_rejected"]


def test_review_returns_the_draft_then_refuses_it(engine, inspect, clerk, street, bureau):
    case = engine.start_case(clerk, PROCESS, dict(FUND_NOTICE), COMPOUND)
    review = inspect.task(case.id, "street_review")
    with pytest.raises(Forbidden):
        engine.complete_task(bureau, review.id, APPROVED)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(street, review.id, {"review_result": "returned"})
    assert refused.value.fields == {"review_opinion": ["退回修改须写明理由"]}
    engine.complete_task(street, review.id, {"review_result": "returned",
                                             "review_opinion": "请附收支明细。"})
    revise = inspect.task(case.id, "revise_draft")
    assert revise.lane == "社区" and revise.candidate_groups == ["clerk"]
    engine.complete_task(clerk, revise.id, {"title": "凤台花园2026年第一季度公共收益收支明细公示",
                                            "content": "收支明细：……", "revision_note": "补充明细。"})
    review = inspect.task(case.id, "street_review")
    assert inspect.case(case.id).title == FUND_NOTICE["title"]  # the case keeps its first title
    assert inspect.case(case.id).data["title"] == "凤台花园2026年第一季度公共收益收支明细公示"
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(street, review.id, {"review_result": "rejected", "review_opinion": " "})
    assert refused.value.fields == {"review_opinion": ["不予公示须写明理由"]}
    done = engine.complete_task(street, review.id, {
        "review_result": "rejected", "review_opinion": "收支尚未经业主委员会核对，暂不公示。"})
    assert done.status == "completed" and done.data["outcome"] == "not_approved"
    assert inspect.kinds(case.id, "task_completed") == [
        "street_review", "revise_draft", "street_review", "close_rejected"]


def test_violation_circular_is_reviewed_by_the_bureau_and_open_to_the_company(
        engine, inspect, clerk, street, bureau, company):
    case = engine.start_case(clerk, PROCESS, dict(CIRCULAR), COMPOUND)
    data = inspect.case(case.id).data
    assert data["reviewer"] == "bureau" and data["kind_label"] == "违规行为通报"
    assert data["addressees"] == ["owners", "owners_committee", "residents_committee"]
    assert data["addressee_labels"] == ["全体业主", "业主委员会（物业管理委员会）", "社区居（村）民委员会"]
    assert data["violations"] == [
        {"description": "擅自停止3号楼电梯运行维护", "found_on": "2026-02-20"},
        {"description": "未按规定公示公共收益收支情况", "found_on": None}]
    review = inspect.task(case.id, "bureau_review")
    assert review.lane == "住建部门" and review.candidate_groups == ["bureau"]
    with pytest.raises(Forbidden):
        engine.complete_task(street, review.id, APPROVED)
    engine.complete_task(bureau, review.id, {"review_result": "approved"})
    complete(engine, inspect, clerk, case, "post_notice",
             {"channels": ["bulletin_board", "written"], "locations": "小区公告栏；书面送达业主委员会、社区居委会"})
    complete(engine, inspect, company, case, "raise_objection", {
        "objector_party": "company", "objector_name": "凤台物业服务有限公司",
        "objection_content": "电梯停运系等待配件，已书面告知业主。"})
    engine.tick(beijing(2026, 3, 10, 0, 0))
    done = complete(engine, inspect, clerk, case, "handle_objections", {
        "objection_decision": "rejected", "objection_findings": "电梯停运达21日，未告知业主。",
        "rejection_reasons": "企业未能提供书面告知的证据，违规事实清楚。"})
    assert done.status == "completed" and done.data["outcome"] == "objections_rejected"
    assert done.data["enterprise_name"] == "凤台物业服务有限公司"


def test_a_circular_may_name_its_addressees_and_the_street_as_reviewer(engine, inspect, clerk):
    case = engine.start_case(clerk, PROCESS, {**CIRCULAR, "reviewer": "street",
                                              "addressees": ["owners", "company"]}, COMPOUND)
    data = inspect.case(case.id).data
    assert data["addressees"] == ["owners", "company"] and data["reviewer"] == "street"
    assert inspect.ready_names(case.id) == ["street_review"]


def test_a_period_ending_on_a_holiday_runs_to_the_next_working_day(engine, inspect, clerk,
                                                                     street, clock):
    clock.set(beijing(2026, 4, 28, 9, 0))
    case = posted_notice(engine, inspect, clerk, street)
    data = inspect.case(case.id).data
    # 7 days from Tuesday 28 April end on Tuesday 5 May, inside the Labour Day holiday.
    assert data["posted_on"] == "2026-04-28" and data["publicity_ends_on"] == "2026-05-06"
    assert inspect.timers(case.id) == [("period_ended", end_of(2026, 5, 6))]


# -- started by another process ----------------------------------------------------------------

THROWER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_t"
    targetNamespace="urn:linkage:tests">
  <bpmn:message id="Message_publicity" name="start_publicity" />
  <bpmn:process id="asks_for_publicity" name="请求公示" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prepare" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>message_data = request</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="ask"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:messageEventDefinition messageRef="Message_publicity" /></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="ask" />
  </bpmn:process>
</bpmn:definitions>""".encode()


@pytest.fixture
def ask(engine, inspect, clerk):
    """Start a tiny process that throws `start_publicity` with `request` as its payload; return
    the publicity case it started (or None) and the thrower's events."""
    engine.deploy([("asks_for_publicity.bpmn", THROWER)], SYSTEM)

    def ask_for(request):
        parent = engine.start_case(clerk, "asks_for_publicity", {"request": request}, COMPOUND)
        events = inspect.events(parent.id)
        linked = [e[3]["case_id"] for e in events if e[0] == "case_linked"]
        return (inspect.case(linked[0]) if linked else None), parent, events
    return ask_for


def test_minutes_are_publicized_when_another_process_asks(engine, inspect, clerk, street, ask):
    request = publicity_message_data("凤台社区2026年第一季度三方联席会议纪要", "会议研究了……",
                                     "meeting_minutes")
    assert request == {"title": "凤台社区2026年第一季度三方联席会议纪要", "content": "会议研究了……",
                       "kind": "meeting_minutes", "publicity_days": period("publicity_days")}
    case, parent, _events = ask(request)
    assert case.process_id == PROCESS and case.compound == COMPOUND
    assert case.title == "凤台社区2026年第一季度三方联席会议纪要"
    assert case.data["parent_case_id"] == parent.id
    assert case.data["parent_process_id"] == "asks_for_publicity"
    assert case.data["kind_label"] == "联席会议纪要" and case.data["reviewer"] == "street"
    assert case.data["review_working_days"] == 3 and case.data["objection_reply_working_days"] == 5
    assert inspect.kinds(case.id, "task_completed") == ["accept_request"]
    review = inspect.task(case.id, "street_review")
    assert review.due_at == end_of(2026, 3, 5)
    engine.complete_task(street, review.id, APPROVED)
    complete(engine, inspect, clerk, case, "post_notice", POSTED)
    engine.tick(beijing(2026, 3, 10, 0, 0))
    assert inspect.case(case.id).data["outcome"] == "published"


def test_a_circular_asked_for_by_message_goes_to_the_bureau(inspect, ask):
    case, _parent, _events = ask({
        "title": "关于凤台物业服务有限公司信用风险的通报", "content": "2026年度信用评价为D级。",
        "kind": "violation_circular", "publicity_days": 10,
        "enterprise_name": "凤台物业服务有限公司", "violations": ["信用评价为D级"]})
    assert case.data["reviewer"] == "bureau" and case.data["publicity_days"] == 10
    assert case.data["violations"] == [{"description": "信用评价为D级", "found_on": None}]
    assert case.data["addressees"] == ["owners", "owners_committee", "residents_committee"]
    assert inspect.ready_names(case.id) == ["bureau_review"]


@pytest.mark.parametrize("request_, reason", [
    ({"title": "纪要", "content": "……"},
     "发起公示的消息须包含标题 title、内容 content、类别 kind 和公示期 publicity_days"),
    ({"title": "通报", "content": "……", "kind": "violation_circular", "publicity_days": 7},
     "发起公示的请求有误：enterprise_name：违规行为通报须写明被通报企业；violations：违规行为通报须至少写明一项违规行为"),
    ({"title": "纪要", "content": "……", "kind": "minutes", "publicity_days": 0},
     "发起公示的请求有误：kind："),
])
def test_a_request_that_breaks_the_rules_starts_no_case(engine, ask, request_, reason):
    case, _parent, events = ask(request_)
    assert case is None
    undelivered = [e[3] for e in events if e[0] == "message_undelivered"]
    assert len(undelivered) == 1 and undelivered[0]["process_id"] == PROCESS
    assert reason in undelivered[0]["reason"]
    with engine.db.unit_of_work(write=False) as session:
        assert session.query(Case).filter(Case.process_id == PROCESS).count() == 0


def test_message_data_builder_refuses_a_bad_request():
    with pytest.raises(ValueError, match="publicity_days：必须在 1 至 365 之间"):
        publicity_message_data("纪要", "……", "meeting_minutes", publicity_days=0)
    with pytest.raises(ValueError, match="未知字段：colour"):
        publicity_message_data("纪要", "……", "meeting_minutes", colour="red")


def test_diagram_draws_completely(diagram_problems):
    assert diagram_problems("publicity.bpmn") == []
