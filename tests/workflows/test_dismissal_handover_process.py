"""The dismissal and handover process (解聘与退出移交) walked through the service layer.

The clock starts on Monday 2 March 2026, 09:00 Beijing time. The owners' committee announces the
assembly that day; 15 days later (Tuesday 17 March) is the earliest the meeting may be held. A
dismissal notice served on Wednesday 18 March ends the contract 60 days later, on Sunday 17 May;
the 15-day exit period then runs to Monday 1 June, and the continued-service check falls 30 days
after termination, on Tuesday 16 June.
"""
from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine.calendar import CHINA_TZ, add_working_days
from engine.errors import Forbidden, ValidationFailed
from engine.models import Case
from workflows.models import CreditRecord, ServiceContract
from workflows.rules.handover import HANDOVER_ITEMS
from workflows.rules.periods import period

COMPOUND = "C0001"
CONTRACT = "HT-C0001-2024"
ALL_ITEMS = list(HANDOVER_ITEMS)

START_DATA = {"initiated_by": "owners_committee",
              "dismissal_grounds": "物业服务企业拒不整改电梯和车库照明问题，业主投诉强烈。",
              "notice_on": "2026-03-02", "meeting_at": "2026-03-17T09:30",
              "meeting_form": "collective", "meeting_location": "凤台花园会所二楼"}
# Art. 278 at its exact boundaries: 2000 of 3000 m² and 200 of 300 owners take part (two
# thirds, 以上 includes it); 1000.01 m² and 101 owners agree (more than half of 2000 and 200).
PASSING_VOTE = {"meeting_held_on": "2026-03-17", "total_area": "3000.00", "total_owners": 300,
                "voted_area": "2000.00", "voted_owners": 200, "yes_area": "1000.01",
                "yes_owners": 101, "resolution_no": "凤台花园业主大会〔2026〕1号"}
NOTICE = {"notice_served_on": "2026-03-18", "notice_no": "凤业委〔2026〕2号",
          "delivery_method": "direct"}
SUCCESSOR = {"successor_type": "new_enterprise", "successor_name": "晋城市宜居物业管理有限公司",
             "successor_code": "E0002", "selection_method": "公开招标", "decided_on": "2026-04-20",
             "receiver": "owners_committee"}
HAND_OVER = {"company_action": "hand_over",
             "property_state_report": "3号楼电梯待年检；地下车库东区照明已修复；维修资金账户余额如实移交。",
             "handover_planned_on": "2026-05-20"}


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def add_contract(engine, code=CONTRACT, ends_on=date(2027, 12, 31), notice_days=None):
    with engine.db.unit_of_work() as session:
        session.add(ServiceContract(code=code, compound_code=COMPOUND, enterprise_code="E0001",
                                    starts_on=date(2025, 1, 1), ends_on=ends_on,
                                    notice_days=notice_days, status="active"))


def contract_status(engine, code=CONTRACT):
    with engine.db.unit_of_work(write=False) as session:
        return session.get(ServiceContract, code).status


def credit_records(engine):
    with engine.db.unit_of_work(write=False) as session:
        return [(r.kind, r.enterprise_code, r.year, r.case_id, r.note) for r in
                session.scalars(select(CreditRecord).order_by(CreditRecord.id))]


@pytest.fixture
def contract(engine):
    add_contract(engine)
    return CONTRACT


def start(engine, owners, data=None):
    return engine.start_case(owners, "dismissal_handover",
                             dict(START_DATA if data is None else data), COMPOUND)


def vote(engine, inspect, owners, clock, case, figures=None):
    clock.set(beijing(2026, 3, 17, 9, 30))
    engine.tick()
    clock.set(beijing(2026, 3, 17, 16, 0))
    return engine.complete_task(owners, inspect.task(case.id, "record_vote").id,
                                dict(PASSING_VOTE if figures is None else figures))


def to_termination(engine, inspect, owners, clock):
    """Start, vote, notify, choose the successor and let the contract end on 17 May."""
    case = start(engine, owners)
    vote(engine, inspect, owners, clock, case)
    clock.set(beijing(2026, 3, 18, 10, 0))
    engine.complete_task(owners, inspect.task(case.id, "serve_notice").id, NOTICE)
    clock.set(beijing(2026, 4, 20, 10, 0))
    engine.complete_task(owners, inspect.task(case.id, "choose_successor").id, SUCCESSOR)
    clock.set(beijing(2026, 5, 17, 0, 0))
    engine.tick()
    return case


def confirm(engine, inspect, owners, case, items, on, **extra):
    return engine.complete_task(owners, inspect.task(case.id, "confirm_handover").id, {
        "confirmed_items": items, "received_by": "凤台花园业委会 赵主任", "confirmed_on": on,
        **extra})


# -- starting and the owners' meeting -----------------------------------------------------------

def test_start_form_keeps_the_meeting_and_finds_the_contract(engine, inspect, owners, contract):
    case = start(engine, owners)
    data = inspect.case(case.id).data
    assert case.status == "running" and case.compound == COMPOUND
    assert case.title == "解聘物业服务企业（业主大会 2026-03-17）"
    assert data["mode"] == "dismissal" and data["meeting_at"] == "2026-03-17T09:30:00+08:00"
    assert data["owners_meeting_notice_days"] == period("owners_meeting_notice_days") == 15
    assert (data["contract_code"], data["enterprise_code"]) == (CONTRACT, "E0001")
    assert data["enterprise_name"] == "晋城市安居物业服务有限公司"
    assert data["dismissal_notice_days"] == period("dismissal_notice_days") == 60
    assert data["dismissal_notice_basis"] == "《民法典》第九百四十六条"
    assert inspect.tasks(case.id) == []
    assert inspect.timers(case.id) == [("wait_meeting", beijing(2026, 3, 17, 9, 30))]


def test_notice_shorter_than_fifteen_days_is_refused_and_nothing_starts(engine, owners):
    with pytest.raises(ValidationFailed) as refused:
        start(engine, owners, dict(START_DATA, meeting_at="2026-03-16T18:00"))
    assert refused.value.fields == {"meeting_at": [
        "业主大会会议应当于召开15日以前通知全体业主（《物业管理条例》第十四条）：通知于2026-03-02发出，"
        "会议最早于2026-03-17召开"]}
    with pytest.raises(ValidationFailed) as refused:
        start(engine, owners, dict(START_DATA, meeting_location="  ", initiated_by="mayor",
                                   dismissal_grounds="", meeting_at="2026-03-17 上午"))
    assert refused.value.fields == {
        "initiated_by": ["必须是以下之一：业主委员会（物业管理委员会）, 百分之二十以上业主提议, 街道（乡镇）引导, 社区居（村）民委员会"],
        "dismissal_grounds": ["不能为空"],
        "meeting_at": ["不是有效的日期时间（如 2026-03-10T09:00）"]}
    with pytest.raises(ValidationFailed) as refused:
        start(engine, owners, dict(START_DATA, meeting_location=None))
    assert refused.value.fields == {"meeting_location": ["集体讨论形式的会议必须填写会议地点"]}
    with engine.db.unit_of_work(write=False) as session:
        assert session.query(Case).count() == 0


def test_written_consultation_needs_no_location(engine, inspect, owners, contract):
    case = start(engine, owners, dict(START_DATA, meeting_form="written", meeting_location=None))
    assert inspect.case(case.id).data["meeting_form_label"] == "书面征求意见"


@pytest.mark.parametrize("changes, quorum, reason", [
    ({"voted_area": "1999.99"}, False,
     "参与表决的专有部分面积1999.99平方米未达到专有部分总面积3000.00平方米的三分之二以上"),
    ({"voted_owners": 199, "yes_owners": 100}, False,
     "参与表决的业主人数199人未达到业主总人数300人的三分之二以上"),
    ({"yes_area": "1000.00"}, True,  # exactly half: 过半数 excludes it
     "同意的专有部分面积1000.00平方米未达到参与表决的专有部分面积2000.00平方米的过半数"),
    ({"yes_owners": 100}, True, "同意的业主人数100人未达到参与表决的业主人数200人的过半数"),
])
def test_failed_vote_ends_the_case_as_failed(engine, inspect, owners, clock, contract, changes,
                                             quorum, reason):
    case = start(engine, owners)
    done = vote(engine, inspect, owners, clock, case, dict(PASSING_VOTE, **changes))
    assert done.status == "completed"
    assert done.data["outcome"] == "vote_failed" and done.data["vote_passed"] is False
    assert done.data["vote_reasons"] == [reason]
    assert done.data["vote_quorum_met"] is quorum
    assert inspect.kinds(case.id, "task_completed")[-2:] == ["record_vote", "record_vote_failed"]
    assert credit_records(engine) == [] and contract_status(engine) == "active"


def test_vote_form_refuses_impossible_figures(engine, inspect, owners, company, clock, contract):
    case = start(engine, owners)
    clock.set(beijing(2026, 3, 17, 9, 30))
    engine.tick()
    task = inspect.task(case.id, "record_vote")
    assert task.candidate_groups == ["owners", "clerk"] and task.lane == "业主委员会"
    with pytest.raises(Forbidden):
        engine.complete_task(company, task.id, PASSING_VOTE)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(owners, task.id, dict(PASSING_VOTE, voted_area="3000.01",
                                                   voted_owners=301, yes_owners=202))
    assert refused.value.fields == {
        "voted_area": ["参与表决的面积（3000.01）不能超过总面积（3000.00）"],
        "voted_owners": ["参与表决的人数（301）不能超过业主总人数（300）"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(owners, task.id, dict(PASSING_VOTE, yes_area="1000.001"))
    assert refused.value.fields == {"yes_area": ["面积最多保留两位小数"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(owners, task.id, dict(PASSING_VOTE, total_owners=0, yes_owners=201))
    assert refused.value.fields == {"total_owners": ["业主总人数必须大于零"],
                                    "voted_owners": ["参与表决的人数（200）不能超过业主总人数（0）"],
                                    "yes_owners": ["同意的人数（201）不能超过参与表决的人数（200）"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(owners, task.id, dict(PASSING_VOTE, total_area="三千", yes_owners=1.5))
    assert refused.value.fields == {"total_area": ["必须是数字"], "yes_owners": ["必须是整数"]}
    assert inspect.task(case.id, "record_vote").id == task.id


# -- the whole way: dismissal, exit, handover ------------------------------------------------------

def test_dismissal_and_handover_completed_on_time(engine, inspect, owners, company, clerk, clock,
                                                  contract):
    case = start(engine, owners)
    voted = vote(engine, inspect, owners, clock, case)
    assert voted.data["vote_passed"] is True and voted.data["yes_area"] == "1000.01"
    notice = inspect.task(case.id, "serve_notice")
    clock.set(beijing(2026, 3, 18, 10, 0))
    engine.complete_task(owners, notice.id, NOTICE)

    data = inspect.case(case.id).data
    assert data["termination_on"] == "2026-05-17"  # 60 days after the notice was served
    assert contract_status(engine) == "ending"
    [(kind, enterprise, year, case_id, note)] = credit_records(engine)
    assert (kind, enterprise, year, case_id) == ("dismissal", "E0001", 2026, case.id)
    assert "2026-03-17表决通过" in note and "合同于2026-05-17终止" in note
    successor = inspect.task(case.id, "choose_successor")
    assert successor.due_at == beijing(2026, 5, 17, 23, 59, 59)
    clock.set(beijing(2026, 4, 20, 10, 0))
    engine.complete_task(owners, successor.id, SUCCESSOR)
    assert inspect.timers(case.id) == [("wait_termination", beijing(2026, 5, 17, 0, 0))]

    clock.set(beijing(2026, 5, 16, 23, 59))
    assert engine.tick()[1] == []
    clock.set(beijing(2026, 5, 17, 0, 0))
    engine.tick()
    assert contract_status(engine) == "terminated"
    handover = inspect.task(case.id, "company_handover")
    assert handover.candidate_groups == ["company"] and handover.lane == "物业服务企业"
    assert handover.due_at == beijing(2026, 6, 1, 23, 59, 59)
    assert sorted(inspect.timers(case.id)) == [
        ("company_deadline", beijing(2026, 6, 1, 23, 59, 59)),
        ("service_wait", beijing(2026, 6, 16, 9, 0))]
    with pytest.raises(Forbidden):
        engine.complete_task(owners, handover.id, HAND_OVER)
    clock.set(beijing(2026, 5, 18, 9, 0))
    engine.complete_task(company, handover.id, HAND_OVER)
    clock.set(beijing(2026, 5, 20, 15, 0))
    done = confirm(engine, inspect, owners, case, ALL_ITEMS, "2026-05-20")

    assert done.status == "completed"
    assert done.data["outcome"] == "handover_completed"
    assert done.data["handover_confirmed"] == ALL_ITEMS and done.data["handover_outstanding"] == []
    assert done.data["fees_after_termination_chargeable"] is True
    assert done.data["service_checks"] == [] and done.data["successor_name"] == SUCCESSOR["successor_name"]
    assert inspect.tasks(case.id) == [] and inspect.timers(case.id) == []
    kinds = [k for k, *_ in credit_records(engine)]
    assert kinds == ["dismissal", "handover_completed"]
    assert credit_records(engine)[1][4] == "按期完成退出移交（2026-05-20）"
    completed = inspect.kinds(case.id, "task_completed")
    assert completed[-4:] == ["confirm_handover", "tally_handover", "handover_done", "record_outcome"]
    assert "service_start" in completed and "confirm_service" not in completed
    assert inspect.kinds(case.id, "case_completed") == [None]


def test_partial_confirmations_until_every_item_is_received(engine, inspect, owners, company,
                                                            clock, contract):
    case = to_termination(engine, inspect, owners, clock)
    engine.complete_task(company, inspect.task(case.id, "company_handover").id, HAND_OVER)
    clock.set(beijing(2026, 5, 19, 10, 0))
    with pytest.raises(ValidationFailed) as refused:
        confirm(engine, inspect, owners, case, [], "2026-05-19")
    assert refused.value.fields == {"confirmed_items": ["请勾选本次确认接收的项目，或说明企业拒绝移交其余项目"]}
    with pytest.raises(ValidationFailed) as refused:
        confirm(engine, inspect, owners, case, ["keys", "garage"], "2026-05-19")
    assert "只能选择" in refused.value.fields["confirmed_items"][0]

    confirm(engine, inspect, owners, case, ["keys", "service_rooms"], "2026-05-19")
    first = inspect.task(case.id, "confirm_handover")
    data = inspect.case(case.id).data
    assert data["handover_confirmed"] == ["service_rooms", "keys"]
    assert data["handover_outstanding"] == [i for i in ALL_ITEMS if i not in ("service_rooms", "keys")]
    assert first.due_at == beijing(2026, 6, 1, 23, 59, 59)
    confirm(engine, inspect, owners, case, ["keys", "drawings", "records", "owner_roster"],
            "2026-05-22", handover_note="业主名册缺2号楼部分，已补齐")
    assert inspect.case(case.id).data["handover_outstanding"] == [
        "facilities", "prepaid_fees", "public_revenue", "maintenance_fund"]
    clock.set(beijing(2026, 5, 28, 10, 0))
    done = confirm(engine, inspect, owners, case,
                   ["facilities", "prepaid_fees", "public_revenue", "maintenance_fund"], "2026-05-28")
    assert done.status == "completed" and done.data["outcome"] == "handover_completed"
    assert done.data["handover_confirmed"] == ALL_ITEMS
    assert inspect.kinds(case.id, "task_completed").count("confirm_handover") == 3


def test_refusal_goes_to_the_bureau_then_handover_completes(engine, inspect, owners, company,
                                                            clerk, bureau, clock, contract):
    case = to_termination(engine, inspect, owners, clock)
    clock.set(beijing(2026, 5, 18, 9, 0))
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(company, inspect.task(case.id, "company_handover").id,
                             {"company_action": "refuse"})
    assert refused.value.fields == {"refusal_reason": ["拒绝退出或移交的，必须写明理由"]}
    engine.complete_task(company, inspect.task(case.id, "company_handover").id, {
        "company_action": "refuse", "refusal_reason": "业主尚欠物业费，结清前不予移交。"})

    order = inspect.task(case.id, "bureau_order")
    assert order.candidate_groups == ["bureau"] and order.lane == "住建部门"
    assert inspect.case(case.id).data["refusal_cause"] == "refused"
    assert [k for k, *_ in credit_records(engine)] == ["dismissal", "refused_handover"]
    assert credit_records(engine)[1][4] == "拒绝退出或拒绝移交物业服务用房、设施和资料"
    with pytest.raises(Forbidden):
        engine.complete_task(owners, order.id, {"order_no": "x", "order_content": "y"})
    clock.set(beijing(2026, 5, 20, 10, 0))
    engine.complete_task(bureau, order.id, {
        "order_no": "城区住建责〔2026〕5号", "order_working_days": 20,
        "order_content": "责令于期限内退出物业服务区域，移交物业服务用房、设施设备和全部资料。"})
    # Twenty working days from Wednesday 20 May (no holiday in between).
    ordered = inspect.task(case.id, "company_handover")
    assert ordered.due_at == beijing(2026, 6, 17, 23, 59, 59)
    assert add_working_days(date(2026, 5, 20), 20) == date(2026, 6, 17)
    assert inspect.case(case.id).data["handover_order_deadline"] == "2026-06-17"

    # The continued-service check falls due while the company is still under the order.
    clock.set(beijing(2026, 6, 16, 9, 0))
    engine.tick()
    service = inspect.task(case.id, "confirm_service")
    assert service.candidate_groups == ["clerk", "owners"]
    clock.set(beijing(2026, 6, 16, 10, 0))
    engine.complete_task(company, ordered.id, HAND_OVER)
    done = confirm(engine, inspect, owners, case, ALL_ITEMS, "2026-06-16")

    assert done.status == "completed" and done.data["outcome"] == "handover_completed"
    assert done.data["fees_after_termination_chargeable"] is False  # Art. 949 para. 2
    assert [t.id for t in inspect.tasks(case.id, states=("cancelled",))] == [service.id]
    assert [k for k, *_ in credit_records(engine)] == ["dismissal", "refused_handover",
                                                       "handover_completed"]
    assert "经住建部门责令后完成退出移交" in credit_records(engine)[2][4]
    assert "confirm_service" not in inspect.kinds(case.id, "task_completed")
    assert inspect.timers(case.id) == []


def test_exit_period_runs_out_and_the_company_still_refuses(engine, inspect, owners, company,
                                                            clerk, bureau, clock, contract):
    case = to_termination(engine, inspect, owners, clock)
    clock.set(beijing(2026, 6, 1, 23, 59, 58))
    engine.tick()
    assert inspect.ready_names(case.id) == ["company_handover"]
    clock.set(beijing(2026, 6, 2, 0, 0))
    engine.tick()
    assert inspect.ready_names(case.id) == ["bureau_order"]
    assert inspect.case(case.id).data["refusal_cause"] == "overdue"
    assert credit_records(engine)[1][4] == "退出期限（至2026-06-01）届满仍未完成退出移交"
    clock.set(beijing(2026, 6, 2, 10, 0))
    engine.complete_task(bureau, inspect.task(case.id, "bureau_order").id, {
        "order_no": "城区住建责〔2026〕6号", "order_working_days": 5,
        "order_content": "责令五个工作日内完成退出移交。"})
    assert inspect.task(case.id, "company_handover").due_at == beijing(2026, 6, 9, 23, 59, 59)

    clock.set(beijing(2026, 6, 10, 0, 0))
    engine.tick()
    enforce = inspect.task(case.id, "bureau_enforce")
    assert enforce.lane == "住建部门"
    clock.set(beijing(2026, 6, 16, 9, 0))
    engine.tick()
    clock.set(beijing(2026, 6, 16, 11, 0))
    engine.complete_task(clerk, inspect.task(case.id, "confirm_service").id, {
        "service_continued": True, "checked_on": "2026-06-16",
        "service_note": "保洁、秩序维护照常，电梯维保未中断。"})
    assert inspect.timers(case.id) == [("service_wait", beijing(2026, 7, 16, 9, 0))]
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(bureau, enforce.id, {"enforcement_measures": [],
                                                  "enforcement_opinion": "x", "decided_on": "2026-06-18"})
    assert refused.value.fields == {"enforcement_measures": ["至少选择 1 项"]}
    clock.set(beijing(2026, 6, 18, 10, 0))
    done = engine.complete_task(bureau, enforce.id, {
        "enforcement_measures": ["penalty", "public_notice", "legal_action"],
        "enforcement_opinion": "依法立案处罚，通报全区并支持业主委员会提起诉讼。", "decided_on": "2026-06-18"})

    assert done.status == "completed" and done.data["outcome"] == "still_refused"
    assert done.data["fees_after_termination_chargeable"] is False
    assert done.data["service_checks"] == [{"checked_on": "2026-06-16", "continued": True,
                                            "note": "保洁、秩序维护照常，电梯维保未中断。"}]
    assert inspect.timers(case.id) == [] and inspect.tasks(case.id) == []
    records = credit_records(engine)
    assert [k for k, *_ in records] == ["dismissal", "refused_handover", "refused_handover"]
    assert records[2][4].startswith("住建部门责令限期（至2026-06-09）移交后仍拒不移交")
    assert inspect.kinds(case.id, "timer_fired") == ["wait_meeting", "wait_termination",
                                                     "company_deadline", "company_deadline",
                                                     "service_wait"]


def test_company_refuses_the_rest_after_a_partial_handover(engine, inspect, owners, company,
                                                           bureau, clock, contract):
    case = to_termination(engine, inspect, owners, clock)
    engine.complete_task(company, inspect.task(case.id, "company_handover").id, HAND_OVER)
    confirm(engine, inspect, owners, case, ["service_rooms", "keys", "owner_roster"], "2026-05-18",
            company_refuses_rest=True, handover_note="企业拒绝移交预收费用和公共收益账目")
    assert inspect.ready_names(case.id) == ["bureau_order"]
    engine.complete_task(bureau, inspect.task(case.id, "bureau_order").id, {
        "order_no": "城区住建责〔2026〕7号", "order_content": "责令限期移交其余项目。"})
    data = inspect.case(case.id).data
    assert data["order_working_days"] == period("handover_order_working_days") == 10
    assert data["handover_confirmed"] == ["service_rooms", "keys", "owner_roster"]
    engine.complete_task(company, inspect.task(case.id, "company_handover").id, HAND_OVER)
    done = confirm(engine, inspect, owners, case,
                   [i for i in ALL_ITEMS if i not in ("service_rooms", "keys", "owner_roster")],
                   "2026-05-25")
    assert done.status == "completed" and done.data["handover_confirmed"] == ALL_ITEMS


# -- notice periods by contract --------------------------------------------------------------------

@pytest.mark.parametrize("ends_on, notice_days, days, basis, terminates", [
    (date(2027, 12, 31), 30, 30, f"物业服务合同 {CONTRACT} 约定", "2026-04-17"),
    (None, 30, 60, "《民法典》第九百四十八条（不定期物业服务合同）", "2026-05-17"),
])
def test_the_contract_or_art_948_sets_the_notice(engine, inspect, owners, clock, ends_on,
                                                 notice_days, days, basis, terminates):
    add_contract(engine, ends_on=ends_on, notice_days=notice_days)
    case = start(engine, owners, dict(START_DATA, contract_code=CONTRACT))
    data = inspect.case(case.id).data
    assert (data["dismissal_notice_days"], data["dismissal_notice_basis"]) == (days, basis)
    vote(engine, inspect, owners, clock, case)
    engine.complete_task(owners, inspect.task(case.id, "serve_notice").id, NOTICE)
    assert inspect.case(case.id).data["termination_on"] == terminates


def test_unknown_parties_are_asked_for_not_failed(engine, inspect, owners, clerk, clock):
    """No contract on file and the compound names no enterprise: the community names it."""
    case = start(engine, owners, dict(START_DATA, enterprise_code="E9999"))
    assert case.status == "running"
    name = inspect.task(case.id, "name_parties")
    assert name.candidate_groups == ["clerk"]
    assert inspect.case(case.id).data["parties_problem"] == "未找到物业服务企业 E9999"
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, name.id, {"note": "待核实"})
    assert refused.value.fields == {"enterprise_code": ["物业服务合同编号和物业服务企业编码至少填写一项"]}
    engine.complete_task(clerk, name.id, {"contract_code": "HT-NONE"})
    assert inspect.case(case.id).data["parties_problem"] == "未找到物业服务合同 HT-NONE"
    engine.complete_task(clerk, inspect.task(case.id, "name_parties").id,
                         {"enterprise_code": "E0001"})
    data = inspect.case(case.id).data
    assert data["parties_found"] is True and data["contract_code"] is None
    assert data["dismissal_notice_days"] == 60
    assert inspect.timers(case.id) == [("wait_meeting", beijing(2026, 3, 17, 9, 30))]


def test_street_proposal_convenes_the_owners_first(engine, inspect, clerk, company, street,
                                                   owners, clock, contract):
    """A rectification's dismissal proposal starts the case at the convening of the meeting."""
    from tests.workflows.test_rectification_process import street_decision, to_company
    rectification = to_company(engine, inspect, clerk)
    engine.escalate_task(street, inspect.task(rectification.id, "submit_report").id, "拒不整改")
    engine.complete_task(street, inspect.task(rectification.id, "street_handle").id, street_decision(
        propose_dismissal=True, dismissal_grounds="拒不整改，业主投诉强烈。"))
    [child_id] = [e[3]["case_id"] for e in inspect.events(rectification.id) if e[0] == "case_linked"]
    convene = inspect.task(child_id, "convene_meeting")
    assert convene.candidate_groups == ["owners", "clerk"]
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(owners, convene.id, dict(
            {k: START_DATA[k] for k in ("notice_on", "meeting_form", "meeting_location")},
            meeting_at="2026-03-10T09:00"))
    assert list(refused.value.fields) == ["meeting_at"]
    engine.complete_task(owners, convene.id, {k: START_DATA[k] for k in (
        "notice_on", "meeting_at", "meeting_form", "meeting_location")})
    data = inspect.case(child_id).data
    assert data["dismissal_grounds"] == "拒不整改，业主投诉强烈。"  # kept from the proposal
    assert data["initiated_by"] == "street" and data["parent_process_id"] == "rectification"
    assert (data["contract_code"], data["enterprise_code"]) == (CONTRACT, "E0001")
    assert inspect.timers(child_id) == [("wait_meeting", beijing(2026, 3, 17, 9, 30))]


def test_successor_and_handover_forms_refuse_what_is_missing(engine, inspect, owners, company,
                                                             clock, contract):
    case = start(engine, owners)
    vote(engine, inspect, owners, clock, case)
    engine.complete_task(owners, inspect.task(case.id, "serve_notice").id, NOTICE)
    task = inspect.task(case.id, "choose_successor")
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(owners, task.id, dict(SUCCESSOR, successor_name=None))
    assert refused.value.fields == {"successor_name": ["选聘新物业服务企业或社区托管的，必须填写名称"]}
    done = engine.complete_task(owners, task.id, dict(
        SUCCESSOR, successor_type="self_management", successor_name=None, successor_code=None,
        receiver="self_managing_owners"))
    assert done.data["successor_type_label"] == "业主自行管理"
    assert done.data["exit_period_days"] == period("exit_period_days") == 15
    assert done.data["continued_service_check_days"] == period("continued_service_check_days") == 30
    clock.set(beijing(2026, 5, 17, 0, 0))
    engine.tick()
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(company, inspect.task(case.id, "company_handover").id,
                             {"company_action": "hand_over"})
    assert refused.value.fields == {"property_state_report": ["按期移交的，必须如实告知物业的使用和管理状况"]}


def test_diagram_draws_completely(diagram_problems):
    assert diagram_problems("dismissal_handover.bpmn") == []
