"""The rectification process (整改) walked through the service layer with a manual clock.

The clock starts on Monday 2 March 2026, 09:00 Beijing time. With the configured 15 working
days, the order issued that day falls due on Monday 23 March (end of day); the reminder comes
when half the period has run, on the 8th working day (Thursday 12 March, 09:00).
"""
from datetime import datetime

import pytest

from engine.access import SYSTEM
from engine.calendar import CHINA_TZ
from engine.errors import Conflict, Forbidden, ValidationFailed
from workflows.rules.periods import period

COMPOUND = "C0001"  # 凤台花园, one of the demo organisations loaded by the fixtures
BJ = CHINA_TZ
START_DATA = {"problem_description": "3号楼电梯频繁故障，一个月内困人两次；地下车库照明大面积损坏。",
              "source": "complaint", "source_reference": "TS-2026-0012"}
ORDER = {"order_no": "凤台社区整改〔2026〕3号",
         "requirements": "一、7日内完成3号楼电梯全面检修并取得检验合格证明；二、修复地下车库照明。"}
REPORT = {"report": "已委托维保单位更换3号楼电梯曳引机钢丝绳并通过检验；车库照明已全部更换为LED灯具。",
          "completed_on": "2026-03-10"}
ACCEPTED = {"verification_result": "accepted", "verification_opinion": "经现场核查，整改到位。",
            "verified_on": "2026-03-11"}
NOT_ACCEPTED = {"verification_result": "not_accepted",
                "verification_opinion": "车库东侧仍有照明未修复。", "verified_on": "2026-03-11"}


def beijing(*args):
    return datetime(*args, tzinfo=BJ)


def start(engine, clerk, data=None):
    return engine.start_case(clerk, "rectification", dict(START_DATA if data is None else data),
                             COMPOUND)


def to_company(engine, inspect, clerk, data=None):
    """Start a case and issue the order: the company's report task is ready."""
    case = start(engine, clerk, data)
    engine.complete_task(clerk, inspect.task(case.id, "issue_order").id, ORDER)
    return case


def street_decision(**overrides):
    data = {"regrade_service": False, "propose_dismissal": False,
            "street_opinion": "约谈物业服务企业负责人，责令限期整改。"}
    data.update(overrides)
    return data


# -- deployment ------------------------------------------------------------------------------

def test_deploy_accepts_both_files_and_is_idempotent(engine, bpmn_files):
    again = {d.process_id: d for d in engine.deploy(bpmn_files, SYSTEM)}
    assert {(d.process_id, d.version, d.created) for d in again.values()} >= {
        ("rectification", 1, False), ("joint_meeting", 1, False)}
    assert not any(d.created for d in again.values())
    assert (again["rectification"].name, again["joint_meeting"].name) == ("整改", "联席会议")


def test_other_processes_can_start_a_rectification_by_message(engine):
    """Its message start `start_rectification` (walked end to end from the evaluation, in
    test_evaluation_process.py); the thrower's payload comes from `case_defaults`."""
    from engine import deployment
    from workflows.rectification import case_defaults
    with engine.db.unit_of_work(write=False) as session:
        assert deployment.message_starts(deployment.latest(session, "rectification")) == [
            "start_rectification"]
    defaults = case_defaults("inspection")
    assert defaults["source_label"] == "日常巡查检查"
    assert defaults["deadline_working_days"] == period("rectification_working_days")
    assert case_defaults("complaint", 5)["deadline_working_days"] == 5
    with pytest.raises(ValueError, match="整改来源必须是以下之一"):
        case_defaults("rumour")


# -- start form ------------------------------------------------------------------------------

def test_start_form_fills_periods_and_title(engine, inspect, clerk):
    case = start(engine, clerk)
    data = inspect.case(case.id).data
    assert data["deadline_working_days"] == period("rectification_working_days") == 15
    assert data["rectification_working_days"] == 15
    assert data["street_working_days"] == period("problem_street_working_days")
    assert data["verify_working_days"] == period("problem_community_working_days")
    assert data["source_label"] == "业主投诉"
    assert case.title.startswith("整改：3号楼电梯频繁故障")
    assert case.compound == COMPOUND
    task = inspect.task(case.id, "issue_order")
    assert task.candidate_groups == ["clerk"] and task.lane == "社区"
    assert task.title == "下达整改通知"


def test_start_form_refuses_bad_input_and_starts_nothing(engine, inspect, clerk):
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, {"problem_description": "   ", "source": "rumour",
                              "deadline_working_days": 0, "colour": "red"})
    fields = refused.value.fields
    assert fields["problem_description"] == ["不能为空"]
    assert fields["source"] == ["必须是以下之一：日常巡查检查, 评议考评, 业主投诉"]
    assert fields["deadline_working_days"] == ["必须在 1 至 250 之间"]
    assert fields["colour"] == ["不是本表单的字段"]
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, {"source": "inspection", "deadline_working_days": "十五"})
    assert refused.value.fields == {"problem_description": ["此项为必填项"],
                                    "deadline_working_days": ["必须是整数"]}
    from engine.models import Case
    with engine.db.unit_of_work(write=False) as session:
        assert session.query(Case).count() == 0


# -- paths -----------------------------------------------------------------------------------

def test_happy_path(engine, inspect, clerk, company, clock):
    case = to_company(engine, inspect, clerk)
    report = inspect.task(case.id, "submit_report")
    assert report.candidate_groups == ["company"] and report.lane == "物业服务企业"
    assert report.due_at == beijing(2026, 3, 23, 23, 59, 59)
    assert sorted(inspect.timers(case.id)) == [
        ("deadline_passed", beijing(2026, 3, 23, 23, 59, 59)),
        ("remind_company", beijing(2026, 3, 12, 9, 0))]
    data = inspect.case(case.id).data
    assert data["rectification_deadline"] == "2026-03-23" and data["rectification_round"] == 1

    with pytest.raises(Forbidden):  # the clerk may see the company's task, not do it
        engine.complete_task(clerk, report.id, REPORT)
    clock.advance(days=8)
    engine.complete_task(company, report.id, REPORT)
    assert inspect.timers(case.id) == []
    verify = inspect.task(case.id, "verify")
    assert verify.candidate_groups == ["clerk"]
    # Five working days from Tuesday 10 March.
    assert verify.due_at == beijing(2026, 3, 17, 23, 59, 59)
    with pytest.raises(Conflict):
        engine.complete_task(company, report.id, REPORT)
    done = engine.complete_task(clerk, verify.id, ACCEPTED)

    assert done.status == "completed"
    assert done.data["outcome"] == "rectified" and done.data["escalated"] is False
    assert done.data["report"] == REPORT["report"]
    assert inspect.tasks(case.id) == []
    completed = inspect.kinds(case.id, "task_completed")
    assert completed == ["issue_order", "compute_deadline", "submit_report", "verify",
                         "close_rectified"]
    actors = {e[1]: e[2] for e in inspect.events(case.id) if e[0] == "task_completed"}
    assert actors["submit_report"] == "company" and actors["verify"] == "clerk"
    assert actors["compute_deadline"] == "engine"
    assert inspect.kinds(case.id, "case_completed") == [None]
    assert inspect.kinds(case.id, "timer_fired") == []


def test_not_accepted_twice_then_accepted(engine, inspect, clerk, company, clock):
    case = to_company(engine, inspect, clerk)
    deadlines = []
    for round_no, verdict in enumerate([NOT_ACCEPTED, dict(NOT_ACCEPTED, deadline_working_days=5),
                                        ACCEPTED], start=1):
        report = inspect.task(case.id, "submit_report")
        deadlines.append(report.due_at)
        assert inspect.case(case.id).data["rectification_round"] == round_no
        assert len(inspect.timers(case.id)) == 2
        clock.advance(days=3)
        engine.complete_task(company, report.id, REPORT)
        clock.advance(days=1)
        engine.complete_task(clerk, inspect.task(case.id, "verify").id, verdict)

    final = inspect.case(case.id)
    assert final.status == "completed"
    assert final.data["outcome"] == "rectified" and final.data["rectification_round"] == 3
    # Round 1 from Mon 2 March (15 working days); round 2 restarts from the verification on
    # Fri 6 March with 15 working days; round 3 from Tue 10 March with the 5 days now asked.
    assert deadlines == [beijing(2026, 3, 23, 23, 59, 59), beijing(2026, 3, 27, 23, 59, 59),
                         beijing(2026, 3, 17, 23, 59, 59)]
    completed = inspect.kinds(case.id, "task_completed")
    assert completed.count("submit_report") == 3 and completed.count("verify") == 3
    assert completed.count("compute_deadline") == 3
    assert inspect.kinds(case.id, "timer_fired") == []
    assert inspect.timers(case.id) == []


def test_silent_company_is_reminded_then_escalated_to_street(engine, inspect, clerk, company,
                                                              street, bureau, clock):
    case = to_company(engine, inspect, clerk)
    report = inspect.task(case.id, "submit_report")

    _, fired = engine.tick(beijing(2026, 3, 12, 8, 59))
    assert fired == []
    _, fired = engine.tick(beijing(2026, 3, 12, 9, 0))
    assert [f["element"] for f in fired] == ["remind_company"]
    assert inspect.task(case.id, "submit_report").id == report.id  # still the company's turn
    assert inspect.timers(case.id) == [("deadline_passed", beijing(2026, 3, 23, 23, 59, 59))]

    _, fired = engine.tick(beijing(2026, 3, 24, 0, 0))
    assert [f["element"] for f in fired] == ["deadline_passed"]
    assert inspect.ready_names(case.id) == ["street_handle"]
    cancelled = inspect.tasks(case.id, states=("cancelled",))
    assert [t.id for t in cancelled] == [report.id]
    handle = inspect.task(case.id, "street_handle")
    assert handle.candidate_groups == ["street"] and handle.lane == "街道"
    # Ten working days counted from the day the deadline timer fired (Tuesday 24 March).
    assert handle.due_at == beijing(2026, 4, 7, 23, 59, 59)
    data = inspect.case(case.id).data
    assert data["escalated"] is True and data["escalation_cause"] == "overdue"
    assert data["escalated_on"] == "2026-03-23"

    events = inspect.events(case.id)
    fired_events = [(e[1], e[2], e[3]["due_at"]) for e in events if e[0] == "timer_fired"]
    assert fired_events == [("remind_company", "scheduler", "2026-03-12T01:00:00+00:00"),
                            ("deadline_passed", "scheduler", "2026-03-23T15:59:59+00:00")]
    assert "submit_report" not in inspect.kinds(case.id, "task_completed")
    assert inspect.kinds(case.id, "task_completed")[-2:] == ["mark_overdue", "record_escalation"]

    with pytest.raises(Forbidden):  # the company has no say in the street's decision
        engine.complete_task(company, handle.id, street_decision())
    clock.set(beijing(2026, 3, 26, 10, 0))
    engine.complete_task(street, handle.id, street_decision(
        regrade_service=True, new_service_grade="4", new_fee_standard=0.8,
        fee_basis="会同市发展改革委核定", transfer_illegal_acts=True,
        illegal_acts="擅自停止电梯运行维护，危及业主人身安全。", transfer_department="市场监督管理局",
        propose_dismissal=True, dismissal_grounds="逾期拒不整改，业主投诉强烈，严重违反合同约定。"))
    transfer = inspect.task(case.id, "bureau_transfer")
    assert transfer.candidate_groups == ["bureau"] and transfer.lane == "住建部门"
    done = engine.complete_task(bureau, transfer.id, {
        "transferred_to": "晋城市市场监督管理局", "transferred_on": "2026-03-27",
        "transfer_file_no": "城住建移〔2026〕1号"})

    assert done.status == "completed"
    assert done.data["outcome"] == "dismissal_proposed"
    assert done.data["new_service_grade"] == "4" and done.data["new_fee_standard"] == 0.8
    assert done.data["transfer_department"] == "市场监督管理局"
    assert inspect.kinds(case.id, "task_completed")[-3:] == ["street_handle", "bureau_transfer",
                                                             "record_outcome"]
    # The proposal starts a dismissal case for the compound: the owners' assembly is convened.
    linked = [e[3] for e in inspect.events(case.id) if e[0] == "case_linked"]
    assert [(d["name"], d["process_id"]) for d in linked] == [
        ("start_dismissal_handover", "dismissal_handover")]
    child = inspect.case(linked[0]["case_id"])
    assert child.status == "running" and child.compound == COMPOUND
    assert child.data["parent_case_id"] == case.id and child.data["mode"] == "dismissal"
    assert child.data["dismissal_grounds"] == "逾期拒不整改，业主投诉强烈，严重违反合同约定。"
    assert inspect.ready_names(child.id) == ["convene_meeting"]


def test_one_late_tick_replays_reminder_and_deadline_in_order(engine, inspect, clerk):
    case = to_company(engine, inspect, clerk)
    _, fired = engine.tick(beijing(2026, 4, 1, 12, 0))
    # The street's task, created when the deadline passed, gets its reminders in the same tick.
    assert [f["element"] for f in fired if f["kind"] == "timer"] == ["remind_company",
                                                                      "deadline_passed"]
    assert inspect.ready_names(case.id) == ["street_handle"]
    assert inspect.kinds(case.id, "timer_fired") == ["remind_company", "deadline_passed"]


def test_supervisor_escalates_manually(engine, inspect, clerk, street, clock):
    """The `escalate` boundary message on the company's task: a supervisor sends it on."""
    case = to_company(engine, inspect, clerk)
    report = inspect.task(case.id, "submit_report")
    with pytest.raises(Forbidden):
        engine.escalate_task(clerk, report.id, "业主多次投诉")
    clock.advance(days=2)
    engine.escalate_task(street, report.id, "业主多次投诉，企业拒不回应")

    events = inspect.events(case.id)
    escalated = [e for e in events if e[0] == "escalated"]
    assert [(e[1], e[2], e[3]["to"], e[3]["reason"]) for e in escalated] == [
        ("submit_report", "street", "street", "业主多次投诉，企业拒不回应")]
    assert inspect.kinds(case.id, "message_received") == ["escalate_company"]
    assert inspect.ready_names(case.id) == ["street_handle"]
    assert inspect.timers(case.id) == []
    data = inspect.case(case.id).data
    assert data["escalation_cause"] == "manual"
    assert data["escalation_reason"] == "业主多次投诉，企业拒不回应"
    assert data["escalated_to"] == "street"
    assert inspect.kinds(case.id, "task_completed")[-2:] == ["mark_escalated", "record_escalation"]

    done = engine.complete_task(street, inspect.task(case.id, "street_handle").id,
                                street_decision(regrade_service=True, new_service_grade="3",
                                                new_fee_standard=1.2))
    assert done.status == "completed" and done.data["outcome"] == "regraded"
    assert done.data["transfer_illegal_acts"] is False


def test_refusal_goes_to_street_and_street_can_close(engine, inspect, clerk, company, street):
    case = to_company(engine, inspect, clerk)
    engine.complete_task(company, inspect.task(case.id, "submit_report").id,
                         {"report": "本公司认为车库照明不属于服务范围，不予整改。", "completed_on": "2026-03-05"})
    engine.complete_task(clerk, inspect.task(case.id, "verify").id, {
        "verification_result": "refused", "verification_opinion": "企业明确拒绝整改。",
        "verified_on": "2026-03-06"})
    handle = inspect.task(case.id, "street_handle")
    assert inspect.case(case.id).data["escalation_cause"] == "refused"
    assert inspect.timers(case.id) == []
    done = engine.complete_task(street, handle.id, street_decision())
    assert done.status == "completed" and done.data["outcome"] == "handled"
    assert done.data["new_service_grade"] is None and done.data["dismissal_grounds"] is None
    completed = inspect.kinds(case.id, "task_completed")
    assert completed[-5:] == ["verify", "mark_refused", "record_escalation", "street_handle",
                              "record_outcome"]


def test_street_task_escalates_to_bureau_by_candidates(engine, inspect, clerk, street, bureau):
    case = to_company(engine, inspect, clerk)
    engine.tick(beijing(2026, 3, 24, 0, 0))
    handle = inspect.task(case.id, "street_handle")
    engine.escalate_task(street, handle.id, "街道协调未果")
    assert inspect.task(case.id, "street_handle").candidate_groups == ["street", "bureau"]
    done = engine.complete_task(bureau, handle.id, street_decision())
    assert done.status == "completed" and done.data["outcome"] == "handled"


# -- form refusals leave the case as it was --------------------------------------------------

def _snapshot(inspect, case_id):
    case = inspect.case(case_id)
    return case.version, case.data, case.status, [(t.id, t.state) for t in inspect.tasks(case_id)]


def test_refused_task_forms_leave_case_unchanged(engine, inspect, clerk, company, street):
    case = to_company(engine, inspect, clerk)
    report = inspect.task(case.id, "submit_report")
    before = _snapshot(inspect, case.id)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(company, report.id, {"report": "", "completed_on": "2026-02-30"})
    assert refused.value.fields == {"report": ["不能为空"],
                                    "completed_on": ["不是有效的日期（如 2026-03-10）"]}
    assert refused.value.status == 422
    assert _snapshot(inspect, case.id) == before

    engine.complete_task(company, report.id, REPORT)
    verify = inspect.task(case.id, "verify")
    before = _snapshot(inspect, case.id)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, verify.id, dict(ACCEPTED, deadline_working_days=5))
    assert refused.value.fields == {
        "deadline_working_days": ["只有核查结论为“继续整改”时才填写再次整改期限"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, verify.id, {"verification_opinion": "x", "verified_on": None})
    assert refused.value.fields == {"verification_result": ["此项为必填项"],
                                    "verified_on": ["此项不能为空"]}
    assert _snapshot(inspect, case.id) == before

    engine.complete_task(clerk, verify.id, dict(NOT_ACCEPTED, verification_result="refused"))
    handle = inspect.task(case.id, "street_handle")
    before = _snapshot(inspect, case.id)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(street, handle.id, street_decision(
            regrade_service=True, transfer_illegal_acts=True, propose_dismissal=True,
            new_fee_standard=-1))
    assert refused.value.fields == {"new_fee_standard": ["必须大于 0，且不超过 100"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(street, handle.id, street_decision(
            regrade_service=True, transfer_illegal_acts=True, propose_dismissal=True))
    assert refused.value.fields == {
        "new_service_grade": ["重新核定时必须填写核定后的服务等级"],
        "new_fee_standard": ["重新核定时必须填写核定后的收费标准"],
        "illegal_acts": ["移送违法行为时必须写明违法行为"],
        "transfer_department": ["移送违法行为时必须写明拟移送部门"],
        "dismissal_grounds": ["建议解聘时必须写明理由"]}
    assert _snapshot(inspect, case.id) == before


def test_diagram_draws_completely(diagram_problems):
    assert diagram_problems("rectification.bpmn") == []
