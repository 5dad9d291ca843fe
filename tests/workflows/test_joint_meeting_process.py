"""The joint meeting process (联席会议) walked through the service layer with a manual clock.

The clock starts on Monday 2 March 2026, 09:00 Beijing time; the meeting is convened for
Monday 9 March at 09:30, so the three parties must be notified by Friday 6 March (3 days).
"""
from datetime import datetime

import pytest

from engine.calendar import CHINA_TZ
from engine.errors import Forbidden, ValidationFailed
from workflows.rules.periods import period

COMPOUND = "C0001"  # 凤台花园, one of the demo organisations loaded by the fixtures
CONVENE = {"meeting_type": "regular", "meeting_at": "2026-03-09T09:30:00", "location": "凤台社区党群服务中心",
           "agenda": ["通报一季度物业服务情况", "研究3号楼电梯维修方案"]}
NOTICE = {"notified_parties": ["residents_committee", "owners_committee", "company", "street"],
          "notice_method": "written", "notified_on": "2026-03-03",
          "notice_content": "定于3月9日上午9:30召开三方联席会议。"}
ATTENDANCE = [{"party": "residents_committee", "expected": 2, "present": 2},
              {"party": "owners_committee", "expected": 5, "present": 4},
              {"party": "company", "expected": 2, "present": 1, "names": "刘经理"}]
RESOLUTIONS = [{"content": "物业公司于3月20日前完成3号楼电梯维修方案报业委会", "owner_party": "company",
                "deadline": "2026-03-20"},
               {"content": "业委会组织业主对维修资金使用方案进行表决", "owner_party": "owners_committee",
                "deadline": "2026-03-31"}]
MINUTES = {"held_on": "2026-03-09", "attendance": ATTENDANCE, "resolutions": RESOLUTIONS,
           "minutes": "会议通报了物业服务情况，研究了电梯维修方案，形成决议两项。"}
PUBLICITY = {"publicized_on": "2026-03-10", "publicity_locations": "小区公告栏、业主微信群"}


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def convene(engine, clerk, data=None):
    return engine.start_case(clerk, "joint_meeting", dict(CONVENE if data is None else data),
                             COMPOUND)


def held(engine, inspect, clerk, minutes=None):
    """Convene, notify, let the meeting time come, record minutes and publicize them."""
    case = convene(engine, clerk)
    engine.complete_task(clerk, inspect.task(case.id, "send_notice").id, NOTICE)
    engine.tick(beijing(2026, 3, 9, 9, 30))
    engine.complete_task(clerk, inspect.task(case.id, "record_minutes").id,
                         MINUTES if minutes is None else minutes)
    engine.complete_task(clerk, inspect.task(case.id, "publicize_minutes").id, PUBLICITY)
    return case


def test_happy_path_with_resolutions_and_meeting_timer(engine, inspect, clerk, company, clock):
    case = convene(engine, clerk)
    assert case.title == "定期会议：三方联席会议（2026-03-09）"
    data = inspect.case(case.id).data
    assert data["meeting_at"] == "2026-03-09T09:30:00+08:00"
    assert data["requested_by"] == "residents_committee"
    assert data["notice_days"] == period("joint_meeting_notice_days") == 3
    assert data["notice_due"] == "2026-03-06"
    notice = inspect.task(case.id, "send_notice")
    assert notice.candidate_groups == ["clerk"] and notice.title == "通知三方参会"
    assert notice.due_at == beijing(2026, 3, 6, 23, 59, 59)
    with pytest.raises(Forbidden):
        engine.complete_task(company, notice.id, NOTICE)

    clock.advance(days=1)
    engine.complete_task(clerk, notice.id, NOTICE)
    assert inspect.tasks(case.id) == []
    assert inspect.timers(case.id) == [("wait_meeting", beijing(2026, 3, 9, 9, 30))]

    _, fired = engine.tick(beijing(2026, 3, 9, 9, 29, 59))
    assert fired == []
    _, fired = engine.tick(beijing(2026, 3, 9, 9, 30))
    assert [(f["case_id"], f["element"]) for f in fired] == [(case.id, "wait_meeting")]
    assert inspect.timers(case.id) == []
    record = inspect.task(case.id, "record_minutes")

    clock.set(beijing(2026, 3, 9, 11, 0))
    engine.complete_task(clerk, record.id, MINUTES)
    data = inspect.case(case.id).data
    assert [r["number"] for r in data["resolutions"]] == [1, 2]
    assert [r["done"] for r in data["resolutions"]] == [False, False]
    assert data["resolution_deadline_latest"] == "2026-03-31"
    assert (data["expected_total"], data["present_total"]) == (9, 7)
    assert data["parties_present"] == ["residents_committee", "owners_committee", "company"]

    engine.complete_task(clerk, inspect.task(case.id, "publicize_minutes").id, PUBLICITY)
    data = inspect.case(case.id).data
    assert data["publicity_days"] == period("publicity_days")
    assert data["publicity_ends_on"] == "2026-03-17"

    follow = inspect.task(case.id, "follow_up")
    assert follow.due_at == beijing(2026, 3, 31, 23, 59, 59)
    clock.set(beijing(2026, 3, 20, 16, 0))
    engine.complete_task(clerk, follow.id, {"progress": [
        {"number": 1, "done": True, "result": "维修方案已报业委会"},
        {"number": 2, "done": False, "result": "表决进行中"}]})
    again = inspect.task(case.id, "follow_up")  # one resolution still open: follow up again
    assert again.id != follow.id and again.due_at == follow.due_at
    data = inspect.case(case.id).data
    assert data["resolutions_open"] == 1 and data["all_resolutions_done"] is False
    assert data["resolutions"][0]["result"] == "维修方案已报业委会"

    clock.set(beijing(2026, 3, 30, 10, 0))
    done = engine.complete_task(clerk, again.id, {"progress": [
        {"number": 2, "done": True, "result": "业主表决通过维修资金使用方案"}]})
    assert done.status == "completed"
    assert [r["done"] for r in done.data["resolutions"]] == [True, True]
    assert done.data["follow_up_rounds"] == 2

    assert inspect.kinds(case.id, "task_completed") == [
        "send_notice", "record_minutes", "publicize_minutes", "build_publicity", "follow_up",
        "merge_progress", "follow_up", "merge_progress"]
    fired_events = [(e[1], e[2], e[3]["due_at"]) for e in inspect.events(case.id)
                    if e[0] == "timer_fired"]
    assert fired_events == [("wait_meeting", "scheduler", "2026-03-09T01:30:00+00:00")]
    assert inspect.kinds(case.id, "case_completed") == [None]


def test_meeting_without_resolutions_ends_after_publicity(engine, inspect, clerk):
    case = held(engine, inspect, clerk, dict(MINUTES, resolutions=[]))
    final = inspect.case(case.id)
    assert final.status == "completed"
    assert final.data["has_resolutions"] is False
    assert final.data["resolution_deadline_latest"] is None
    assert "follow_up" not in inspect.kinds(case.id, "task_completed")


def test_ad_hoc_meeting_on_a_partys_request(engine, inspect, clerk):
    case = convene(engine, clerk, dict(CONVENE, meeting_type="ad_hoc", requested_by="company",
                                       request_reason="电梯突发故障需协调维修资金",
                                       meeting_at="2026-03-04T14:00:00+08:00"))
    data = inspect.case(case.id).data
    assert data["requested_by"] == "company" and data["notice_due"] == "2026-03-01"
    # Shorter notice than configured: the notice task is overdue from the start.
    assert inspect.task(case.id, "send_notice").due_at < beijing(2026, 3, 2, 9, 0)


def test_convene_form_refusals(engine, inspect, clerk):
    with pytest.raises(ValidationFailed) as refused:
        convene(engine, clerk, {"meeting_type": "ad_hoc", "meeting_at": "下周一",
                                "location": "", "agenda": []})
    assert refused.value.fields == {"meeting_at": ["不是有效的日期时间（如 2026-03-10T09:00）"],
                                    "location": ["不能为空"], "agenda": ["至少填写一项议题"]}
    with pytest.raises(ValidationFailed) as refused:
        convene(engine, clerk, dict(CONVENE, meeting_type="ad_hoc"))
    assert refused.value.fields == {"requested_by": ["临时会议必须写明提议方"],
                                    "request_reason": ["临时会议必须写明提议事由"]}
    with pytest.raises(ValidationFailed) as refused:
        convene(engine, clerk, dict(CONVENE, agenda=["议题一", " "]))
    assert refused.value.fields == {"agenda.1": ["议题不能为空"]}


def _snapshot(inspect, case_id):
    case = inspect.case(case_id)
    return case.version, case.data, case.status, [(t.id, t.state) for t in inspect.tasks(case_id)]


def test_task_form_refusals_leave_case_unchanged(engine, inspect, clerk):
    case = convene(engine, clerk)
    notice = inspect.task(case.id, "send_notice")
    before = _snapshot(inspect, case.id)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, notice.id, dict(NOTICE, notified_parties=["company"]))
    assert refused.value.fields == {
        "notified_parties": ["三方均须通知，尚未通知：居（村）民委员会、业主委员会（物业管理委员会）"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, notice.id, dict(NOTICE, notified_parties=["company", "mayor"]))
    assert refused.value.fields["notified_parties"][0].startswith("只能选择：")
    assert _snapshot(inspect, case.id) == before

    engine.complete_task(clerk, notice.id, NOTICE)
    engine.tick(beijing(2026, 3, 9, 9, 30))
    record = inspect.task(case.id, "record_minutes")
    before = _snapshot(inspect, case.id)
    bad = dict(MINUTES, attendance=[dict(ATTENDANCE[0]), dict(ATTENDANCE[1], present=6),
                                    dict(ATTENDANCE[2], expected=-1)],
               resolutions=[dict(RESOLUTIONS[0], deadline="2026-03-08"),
                            dict(RESOLUTIONS[1], owner_party="street")])
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, record.id, bad)
    assert refused.value.fields == {
        "attendance.1.present": ["实到人数（6）不能超过应到人数（5）"],
        "attendance.2.expected": ["必须在 0 至 1000 之间"],
        "resolutions.1.owner_party": [
            "必须是以下之一：居（村）民委员会, 业主委员会（物业管理委员会）, 物业服务企业"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, record.id, dict(
            MINUTES, resolutions=[dict(RESOLUTIONS[0], deadline="2026-03-08")]))
    assert refused.value.fields == {"resolutions.0.deadline": ["完成期限不能早于会议召开日期"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, record.id, dict(
            MINUTES, attendance=[dict(ATTENDANCE[0], present=0), dict(ATTENDANCE[0], present=0)]))
    assert refused.value.fields == {"attendance.1.party": ["同一单位只能填写一行"],
                                    "attendance": ["三方中至少一方须有人出席"]}
    assert _snapshot(inspect, case.id) == before

    engine.complete_task(clerk, record.id, MINUTES)
    engine.complete_task(clerk, inspect.task(case.id, "publicize_minutes").id, PUBLICITY)
    follow = inspect.task(case.id, "follow_up")
    before = _snapshot(inspect, case.id)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, follow.id, {"progress": [
            {"number": 1, "done": True}, {"number": 1, "done": "也许"}]})
    assert refused.value.fields == {"progress.0.result": ["已落实的决议须写明落实情况"],
                                    "progress.1.done": ["必须是“是”或“否”"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, follow.id, {"progress": []})
    assert refused.value.fields == {"progress": ["至少填写 1 项"]}
    assert _snapshot(inspect, case.id) == before


def test_diagram_draws_completely(diagram_problems):
    assert diagram_problems("joint_meeting.bpmn") == []


def test_publicized_minutes_start_a_publicity_case_with_the_minutes(engine, inspect, clerk):
    case = held(engine, inspect, clerk)
    linked = [detail for kind, _e, _a, detail in inspect.events(case.id) if kind == "case_linked"]
    assert [d["process_id"] for d in linked] == ["publicity"]
    publicity = inspect.case(linked[0]["case_id"])
    assert publicity.compound == COMPOUND and publicity.status == "running"
    assert publicity.data["kind"] == "meeting_minutes"
    assert publicity.data["parent_case_id"] == case.id
    assert publicity.data["title"] == inspect.case(case.id).data["title"] + "纪要公示"
    assert MINUTES["minutes"] in publicity.data["content"]
    assert PUBLICITY["publicity_locations"] in publicity.data["content"]
    assert inspect.kinds(case.id, "message_undelivered") == []
