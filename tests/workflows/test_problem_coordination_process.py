"""Coordinated problem solving (协调联动解决实际问题) walked through the service layer.

The clock starts on Monday 2 March 2026, 09:00 Beijing time. With the configured periods the
community's deadline is Monday 9 March (5 working days); a problem escalated when that deadline
passes is the street's until Monday 23 March (10 working days from the 9th), and then the
housing bureau's until Tuesday 14 April (15 working days, skipping the Qingming holiday on
Monday 6 April). The reporter confirms within 5 working days.
"""
from datetime import datetime

import pytest

from engine.calendar import CHINA_TZ
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.models import Case
from workflows.rules.periods import period

COMPOUND = "C0001"
PROCESS = "problem_coordination"
REPORT = {"problem_description": "3号楼地下车库雨后积水严重，车辆无法进出。\n已持续两周。",
          "category": "facilities", "location": "3号楼地下车库东区", "reporter_party": "owners",
          "reporter_name": "王建国", "reporter_contact": "13800000000",
          "occurred_on": "2026-02-20", "reported_on": "2026-03-02"}
MEASURES = "组织业主委员会和物业服务企业现场查看，确定排水泵更换方案。"


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def end_of(year, month, day):
    return beijing(year, month, day, 23, 59, 59)


def start(engine, actor, **changes):
    return engine.start_case(actor, PROCESS, {**REPORT, **changes}, COMPOUND)


def resolved(level, text="更换排水泵并疏通排水沟，车库已无积水。"):
    return {f"{level}_result": "resolved", f"{level}_measures": MEASURES,
            f"{level}_resolution": text}


def escalate(level, reason):
    return {f"{level}_result": "escalate", f"{level}_measures": MEASURES,
            f"{level}_escalation_reason": reason}


CONFIRMED = {"confirmation": "confirmed", "satisfaction": "satisfied"}


def not_satisfied(feedback):
    return {"confirmation": "not_satisfied", "satisfaction": "unsatisfied",
            "confirmation_feedback": feedback}


def timers_fired(fired):
    """The timers among what a tick fired (reminders of due tasks come alongside)."""
    return [f["element"] for f in fired if f["kind"] == "timer"]


def complete(engine, inspect, actor, case, name, data):
    return engine.complete_task(actor, inspect.task(case.id, name).id, data)


# -- start form ------------------------------------------------------------------------------

def test_start_fills_periods_and_opens_the_community_task(engine, inspect, clerk):
    case = start(engine, clerk)
    data = inspect.case(case.id).data
    assert case.title == "问题：3号楼地下车库雨后积水严重，车辆无法进出。"
    assert data["community_working_days"] == period("problem_community_working_days") == 5
    assert data["street_working_days"] == period("problem_street_working_days") == 10
    assert data["bureau_working_days"] == period("problem_bureau_working_days") == 15
    assert data["confirm_working_days"] == period("problem_confirm_working_days") == 5
    assert data["category_label"] == "共用部位、共用设施设备"
    assert data["reporter_party_label"] == "业主委员会（物业管理委员会）"
    assert data["level"] == "community" and data["community_deadline"] == "2026-03-09"
    task = inspect.task(case.id, "community_handle")
    assert task.title == "社区协调处理" and task.lane == "社区"
    assert task.candidate_groups == ["clerk"]
    assert task.due_at == end_of(2026, 3, 9)
    assert inspect.timers(case.id) == [("community_overdue", end_of(2026, 3, 9))]


def test_urgent_problem_gets_a_shorter_community_deadline(engine, inspect, clerk):
    case = start(engine, clerk, community_working_days=1, title="电梯困人")
    assert case.title == "电梯困人"
    assert inspect.task(case.id, "community_handle").due_at == end_of(2026, 3, 3)


def test_start_form_refuses_bad_input_and_starts_nothing(engine, clerk):
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, problem_description="  ", category="noise", reporter_party="resident",
              occurred_on="2026-03-05", community_working_days=0, urgency="high")
    assert refused.value.fields == {
        "problem_description": ["不能为空"],
        "category": ["必须是以下之一：共用部位、共用设施设备, 环境卫生与绿化, 秩序维护与安全, 物业收费, "
                     "停车管理, 装饰装修管理, 物业服务质量, 邻里纠纷, 其他"],
        "reporter_party": ["必须是以下之一：业主委员会（物业管理委员会）, 物业服务企业, 居民（由社区登记并回访）"],
        "community_working_days": ["必须在 1 至 250 之间"],
        "urgency": ["不是本表单的字段"]}
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, occurred_on="2026-03-05")
    assert refused.value.fields == {"occurred_on": ["问题发生日期不能晚于反映日期"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.start_case(clerk, PROCESS, {"category": "fees"}, COMPOUND)
    assert set(refused.value.fields) == {"problem_description", "reporter_party", "reporter_name",
                                         "reported_on"}
    with engine.db.unit_of_work(write=False) as session:
        assert session.query(Case).count() == 0


# -- paths -----------------------------------------------------------------------------------

def test_resolved_in_the_community_and_confirmed_by_the_owners(engine, inspect, clerk, owners,
                                                              company, clock):
    case = start(engine, clerk)
    clock.set(beijing(2026, 3, 4, 15, 0))
    complete(engine, inspect, clerk, case, "community_handle",
             {**resolved("community"), "community_participants": ["owners_committee", "company"]})
    confirm = inspect.task(case.id, "confirm_owners")
    assert confirm.lane == "业主委员会" and confirm.candidate_groups == ["owners"]
    assert confirm.due_at == end_of(2026, 3, 11)  # five working days from Wednesday 4 March
    assert inspect.timers(case.id) == [("owners_confirm_timeout", end_of(2026, 3, 11))]
    data = inspect.case(case.id).data
    assert data["resolved_level"] == "community" and data["resolved_on"] == "2026-03-04"
    assert data["resolution"] == "更换排水泵并疏通排水沟，车库已无积水。"
    with pytest.raises(Forbidden):  # only the reporting party confirms
        engine.complete_task(company, confirm.id, CONFIRMED)
    with pytest.raises(Forbidden):
        engine.complete_task(clerk, confirm.id, CONFIRMED)

    done = engine.complete_task(owners, confirm.id, CONFIRMED)
    assert done.status == "completed"
    assert done.data["outcome"] == "resolved" and done.data["confirmation"] == "confirmed"
    assert done.data["confirmation_label"] == "认可处理结果"
    assert done.data["escalations"] == [] and done.data["resolution_round"] == 1
    assert done.data["community_result_label"] == "已协调解决"
    assert done.data["community_participants"] == ["owners_committee", "company"]
    assert inspect.tasks(case.id) == [] and inspect.timers(case.id) == []
    assert inspect.kinds(case.id, "task_completed") == [
        "open_community", "community_handle", "record_resolution", "confirm_owners",
        "close_resolved"]
    actors = {e[1]: e[2] for e in inspect.events(case.id) if e[0] == "task_completed"}
    assert actors["community_handle"] == "clerk" and actors["confirm_owners"] == "owners"


def test_deadlines_escalate_to_the_street_then_the_bureau(engine, inspect, clerk, company,
                                                         street, bureau, clock):
    case = start(engine, clerk, reporter_party="company", reporter_name="凤台物业 刘经理")
    community = inspect.task(case.id, "community_handle")
    _, fired = engine.tick(beijing(2026, 3, 9, 23, 59, 58))
    assert timers_fired(fired) == []
    _, fired = engine.tick(beijing(2026, 3, 10, 0, 0))
    assert timers_fired(fired) == ["community_overdue"]
    assert [t.id for t in inspect.tasks(case.id, states=("cancelled",))] == [community.id]
    handle = inspect.task(case.id, "street_handle")
    assert handle.lane == "街道" and handle.candidate_groups == ["street"]
    assert handle.due_at == end_of(2026, 3, 23)
    data = inspect.case(case.id).data
    assert data["level"] == "street" and data["street_received_on"] == "2026-03-09"
    assert data["escalations"] == [{
        "from": "community", "to": "street", "cause": "overdue",
        "reason": "社区处理期限（2026-03-09）届满，问题仍未解决", "on": "2026-03-09"}]
    assert inspect.timers(case.id) == [("street_overdue", end_of(2026, 3, 23))]
    with pytest.raises(Forbidden):  # the community no longer holds the problem
        engine.complete_task(clerk, handle.id, resolved("street"))

    _, fired = engine.tick(beijing(2026, 3, 24, 8, 0))
    assert timers_fired(fired) == ["street_overdue"]
    handle = inspect.task(case.id, "bureau_handle")
    assert handle.lane == "住建部门" and handle.candidate_groups == ["bureau"]
    assert handle.due_at == end_of(2026, 4, 14)  # across the Qingming holiday
    assert inspect.timers(case.id) == []  # the top level has a deadline but nowhere to go
    data = inspect.case(case.id).data
    assert [(e["from"], e["to"], e["cause"]) for e in data["escalations"]] == [
        ("community", "street", "overdue"), ("street", "bureau", "overdue")]
    assert data["escalations"][1]["reason"] == "街道处理期限（2026-03-23）届满，问题仍未解决"

    clock.set(beijing(2026, 3, 30, 10, 0))
    engine.complete_task(bureau, handle.id, resolved("bureau", "责令物业服务企业更换排水设备，已验收。"))
    confirm = inspect.task(case.id, "confirm_company")
    assert confirm.lane == "物业服务企业" and confirm.candidate_groups == ["company"]
    assert confirm.due_at == end_of(2026, 4, 7)  # Monday 6 April is the Qingming holiday
    done = engine.complete_task(company, confirm.id, CONFIRMED)
    assert done.status == "completed" and done.data["outcome"] == "resolved"
    assert done.data["resolved_level"] == "bureau"
    assert inspect.kinds(case.id, "timer_fired") == ["community_overdue", "street_overdue"]
    assert inspect.kinds(case.id, "task_completed") == [
        "open_community", "mark_community_overdue", "open_street", "mark_street_overdue",
        "open_bureau", "bureau_handle", "record_resolution", "confirm_company", "close_resolved"]


def test_one_late_tick_replays_both_deadlines_in_order(engine, inspect, clerk):
    case = start(engine, clerk)
    _, fired = engine.tick(beijing(2026, 4, 1, 12, 0))
    assert timers_fired(fired) == ["community_overdue", "street_overdue"]
    assert inspect.ready_names(case.id) == ["bureau_handle"]
    data = inspect.case(case.id).data
    assert [e["on"] for e in data["escalations"]] == ["2026-03-09", "2026-03-23"]
    assert data["bureau_deadline"] == "2026-04-14"


def test_supervisors_escalate_by_hand_and_the_bureau_refers(engine, inspect, clerk, street,
                                                           bureau, clock):
    case = start(engine, clerk, reporter_party="clerk", reporter_name="居民 赵阿姨")
    community = inspect.task(case.id, "community_handle")
    with pytest.raises(Forbidden):  # escalation is a supervisor's act
        engine.escalate_task(clerk, community.id, "处理不了")
    clock.set(beijing(2026, 3, 3, 10, 0))
    engine.escalate_task(street, community.id, "业主多次到街道反映，社区协调无进展")
    assert inspect.kinds(case.id, "message_received") == ["community_escalated"]
    handle = inspect.task(case.id, "street_handle")
    assert handle.due_at == end_of(2026, 3, 17)  # ten working days from Tuesday 3 March
    data = inspect.case(case.id).data
    assert data["escalations"] == [{"from": "community", "to": "street", "cause": "manual",
                                    "reason": "业主多次到街道反映，社区协调无进展",
                                    "on": "2026-03-03"}]
    assert data["escalated_to"] == "street"
    assert inspect.timers(case.id) == [("street_overdue", end_of(2026, 3, 17))]

    clock.set(beijing(2026, 3, 5, 10, 0))
    engine.escalate_task(street, handle.id, "涉及开发建设遗留问题，街道无权处理")
    handle = inspect.task(case.id, "bureau_handle")
    assert handle.due_at == end_of(2026, 3, 26)
    assert inspect.kinds(case.id, "message_received") == ["community_escalated", "street_escalated"]
    escalated = [(e[1], e[3]["from"], e[3]["to"]) for e in inspect.events(case.id)
                 if e[0] == "escalated"]
    assert escalated == [("community_handle", "clerk", "street"),
                         ("street_handle", "street", "bureau")]
    with pytest.raises(Conflict):  # nothing above the housing bureau
        engine.escalate_task(bureau, handle.id, "再上报")

    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(bureau, handle.id, {"bureau_result": "referred",
                                                 "bureau_measures": "调查核实"})
    assert refused.value.fields == {"referred_to": ["转办时须写明转交部门或告知的途径"],
                                    "referral_reason": ["转办时须写明理由"]}
    done = engine.complete_task(bureau, handle.id, {
        "bureau_result": "referred", "bureau_measures": "调取规划和竣工资料，核实为开发建设遗留问题。",
        "referred_to": "城区自然资源局", "referral_reason": "属于规划建设遗留问题，已转交主管部门。"})
    assert done.status == "completed"
    assert done.data["outcome"] == "referred" and done.data["confirmation"] is None
    assert done.data["resolution"] is None and done.data["resolution_round"] == 0
    assert inspect.kinds(case.id, "task_completed")[-3:] == ["open_bureau", "bureau_handle",
                                                            "close_referred"]


def test_community_reports_it_cannot_resolve_and_the_resident_confirms(engine, inspect, clerk,
                                                                       street, owners):
    case = start(engine, clerk, reporter_party="clerk", reporter_name="居民 赵阿姨",
                 category="neighbourhood")
    complete(engine, inspect, clerk, case, "community_handle",
             escalate("community", "楼上住户拒不配合检查漏水，需街道协调"))
    data = inspect.case(case.id).data
    assert data["escalations"][0]["cause"] == "unresolved"
    assert data["escalations"][0]["reason"] == "楼上住户拒不配合检查漏水，需街道协调"
    assert data["community_resolution"] is None
    complete(engine, inspect, street, case, "street_handle", resolved("street", "已修复楼上防水层。"))
    confirm = inspect.task(case.id, "confirm_clerk")
    assert confirm.title == "回访居民确认结果" and confirm.candidate_groups == ["clerk"]
    with pytest.raises(Forbidden):
        engine.complete_task(owners, confirm.id, CONFIRMED)
    done = engine.complete_task(clerk, confirm.id, {"confirmation": "confirmed"})
    assert done.data["outcome"] == "resolved" and done.data["resolved_level"] == "street"


def test_an_unsatisfied_reporter_sends_the_problem_up_a_level(engine, inspect, clerk, owners,
                                                              street, bureau, clock):
    """Not satisfied: community -> street -> bureau -> the bureau again, which then refers."""
    case = start(engine, clerk)
    complete(engine, inspect, clerk, case, "community_handle", resolved("community", "已临时抽水。"))
    clock.set(beijing(2026, 3, 4, 9, 0))
    complete(engine, inspect, owners, case, "confirm_owners", not_satisfied("雨后仍然积水，未根治。"))
    handle = inspect.task(case.id, "street_handle")
    assert handle.due_at == end_of(2026, 3, 18)
    data = inspect.case(case.id).data
    assert data["escalations"] == [{"from": "community", "to": "street", "cause": "not_satisfied",
                                    "reason": "雨后仍然积水，未根治。", "on": "2026-03-04"}]

    engine.complete_task(street, handle.id, resolved("street", "协调物业更换排水泵。"))
    assert inspect.case(case.id).data["resolution_round"] == 2
    complete(engine, inspect, owners, case, "confirm_owners", not_satisfied("排水泵功率不足。"))
    assert inspect.ready_names(case.id) == ["bureau_handle"]

    complete(engine, inspect, bureau, case, "bureau_handle", resolved("bureau", "责令限期改造排水系统。"))
    complete(engine, inspect, owners, case, "confirm_owners", not_satisfied("改造方案未征求业主意见。"))
    assert inspect.ready_names(case.id) == ["bureau_handle"]  # nothing above the bureau
    data = inspect.case(case.id).data
    assert [(e["from"], e["to"]) for e in data["escalations"]] == [
        ("community", "street"), ("street", "bureau"), ("bureau", "bureau")]
    assert {e["cause"] for e in data["escalations"]} == {"not_satisfied"}
    assert data["resolution_round"] == 3

    done = complete(engine, inspect, bureau, case, "bureau_handle", {
        "bureau_result": "referred", "bureau_measures": "组织听证，业主与企业分歧较大。",
        "referred_to": "人民调解委员会", "referral_reason": "双方就改造费用分担存在民事争议，告知申请调解或诉讼。"})
    assert done.status == "completed" and done.data["outcome"] == "referred"
    completed = inspect.kinds(case.id, "task_completed")
    assert completed.count("confirm_owners") == 3 and completed.count("open_bureau") == 2


def test_a_silent_reporter_is_taken_to_accept_the_result(engine, inspect, clerk, company):
    case = start(engine, clerk, reporter_party="company", reporter_name="凤台物业 刘经理")
    complete(engine, inspect, clerk, case, "community_handle", resolved("community"))
    confirm = inspect.task(case.id, "confirm_company")
    _, fired = engine.tick(end_of(2026, 3, 9))
    assert timers_fired(fired) == ["company_confirm_timeout"]
    final = inspect.case(case.id)
    assert final.status == "completed"
    assert final.data["confirmation"] == "deemed"
    assert final.data["confirmation_label"] == "逾期未确认，视为认可"
    assert final.data["outcome"] == "resolved"
    assert [t.id for t in inspect.tasks(case.id, states=("cancelled",))] == [confirm.id]
    assert inspect.kinds(case.id, "task_completed")[-2:] == ["deem_confirmed", "close_resolved"]


def _snapshot(inspect, case_id):
    case = inspect.case(case_id)
    return case.version, case.data, case.status, [(t.id, t.state) for t in inspect.tasks(case_id)]


def test_refused_forms_leave_the_case_unchanged(engine, inspect, clerk, owners):
    case = start(engine, clerk)
    handle = inspect.task(case.id, "community_handle")
    before = _snapshot(inspect, case.id)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, handle.id, {"community_result": "resolved",
                                                "community_measures": MEASURES})
    assert refused.value.fields == {"community_resolution": ["已解决的须写明解决结果"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, handle.id, {"community_result": "escalate",
                                                "community_measures": " ",
                                                "community_participants": ["neighbours"]})
    assert refused.value.fields == {
        "community_measures": ["不能为空"],
        "community_participants": ["只能选择：业主委员会（物业管理委员会）, 物业服务企业, 社区居（村）民委员会, "
                                   "街道办事处（乡镇）, 住房和城乡建设部门, 其他部门"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, handle.id, {"community_result": "escalate",
                                                "community_measures": MEASURES})
    assert refused.value.fields == {"community_escalation_reason": ["上报街道须写明理由"]}
    assert refused.value.status == 422
    assert _snapshot(inspect, case.id) == before

    engine.complete_task(clerk, handle.id, resolved("community"))
    confirm = inspect.task(case.id, "confirm_owners")
    before = _snapshot(inspect, case.id)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(owners, confirm.id, {"confirmation": "not_satisfied",
                                                  "satisfaction": "satisfied"})
    assert refused.value.fields == {
        "confirmation_feedback": ["不满意时须写明意见和理由"],
        "satisfaction": ["不满意处理结果时，满意程度不能为“满意”或“基本满意”"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(owners, confirm.id, {"confirmation": "deemed"})
    assert refused.value.fields == {"confirmation": ["必须是以下之一：认可处理结果, 不满意，要求继续处理"]}
    assert _snapshot(inspect, case.id) == before


def test_diagram_draws_completely(diagram_problems):
    assert diagram_problems("problem_coordination.bpmn") == []
