"""The periodic report (报告) walked through the service layer with a manual clock.

The clock starts on Monday 2 March 2026, 09:00 Beijing time, so a report started then is due on
the 3rd (report days 3 and 18) and covers 18 February to 2 March; it becomes overdue at 00:00 on
the 4th. A community reports to its street, a street to the district housing bureau.
"""
from datetime import datetime

import pytest

from engine.access import Principal
from engine.calendar import CHINA_TZ
from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.models import Case
from workflows import statistics
from workflows.rules.periods import period

COMPOUND = "C0001"
COMMUNITY_PATH = "14/1405/140502/140502001/140502001001/"
STREET_PATH = "14/1405/140502/140502001/"
REPORT = {"progress": "本期下达整改通知1件，已按期整改完毕；协调解决车库照明问题。",
          "problems": "部分小区业委会换届滞后。", "next_steps": "督促凤台花园完成业委会换届。",
          "compiled_by": "凤台社区 张专干", "contact_phone": "0356-2229201"}
ACCEPT = {"review_decision": "accepted", "reviewed_on": "2026-03-04"}
RETURN = {"review_decision": "returned", "review_opinion": "请补充整改案件的具体情况。",
          "reviewed_on": "2026-03-04"}
CORRECTION = dict(REPORT, correction_note="已补充凤台花园整改案件的问题、期限和验收情况。")


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def timers_fired(fired, case_id):
    return [f["element"] for f in fired if f["case_id"] == case_id and f["kind"] == "timer"]


def start(engine, actor, data=None, compound=None):
    return engine.start_case(actor, "periodic_report", dict(data or {}), compound)


def rectified_case(engine, inspect, clerk, company):
    """A rectification opened and closed (on time) on Monday 2 March, in 凤台社区."""
    case = engine.start_case(clerk, "rectification", {
        "problem_description": "地下车库照明损坏。", "source": "inspection"}, COMPOUND)
    engine.complete_task(clerk, inspect.task(case.id, "issue_order").id,
                         {"requirements": "修复车库照明。"})
    engine.complete_task(company, inspect.task(case.id, "submit_report").id,
                         {"report": "已修复。", "completed_on": "2026-03-02"})
    engine.complete_task(clerk, inspect.task(case.id, "verify").id, {
        "verification_result": "accepted", "verification_opinion": "到位。",
        "verified_on": "2026-03-02"})
    return case


# -- start -------------------------------------------------------------------------------------

def test_start_finds_reporter_receiver_and_schedule(engine, inspect, clerk):
    case = start(engine, clerk)
    assert case.title == "工作进展报告" and case.compound is None
    data = inspect.case(case.id).data
    assert data["report_days_of_month"] == period("report_days_of_month") == [3, 18]
    assert (data["report_level"], data["reporting_org"], data["receiving_org"]) == \
        ("community", "凤台社区", "西街街道")
    assert (data["report_due_on"], data["period_start"], data["period_end"]) == \
        ("2026-03-03", "2026-02-18", "2026-03-02")
    assert data["report_deadline_at"] == "2026-03-04T00:00:00+08:00"
    assert data["review_working_days"] == period("report_review_working_days")
    assert data["correction_working_days"] == period("report_correction_working_days")
    assert (data["report_status"], data["report_overdue"], data["statistics"]) == \
        ("compiling", False, None)
    task = inspect.task(case.id, "compile_community")
    assert task.candidate_groups == ["clerk"] and task.lane == "社区"
    assert task.due_at == beijing(2026, 3, 3, 23, 59, 59)
    assert inspect.timers(case.id) == [("overdue_community", beijing(2026, 3, 4, 0, 0))]


def test_a_compounds_case_is_its_communitys_report(engine, inspect, clerk):
    case = start(engine, clerk, {"due_on": "2026-03-18"}, compound=COMPOUND)
    assert case.title == "工作进展报告（2026-03-18）"
    data = inspect.case(case.id).data
    assert data["report_level"] == "community" and data["scope"]["org_path"] == COMMUNITY_PATH
    assert (data["period_start"], data["period_end"]) == ("2026-03-03", "2026-03-17")
    assert inspect.ready_names(case.id) == ["compile_community"]


def test_report_days_can_be_those_the_level_above_asks_for(engine, inspect, clerk):
    case = start(engine, clerk, {"report_days": [20, 5]})
    data = inspect.case(case.id).data
    assert data["report_days_of_month"] == [5, 20]
    assert (data["report_due_on"], data["period_start"], data["period_end"]) == \
        ("2026-03-05", "2026-02-20", "2026-03-04")


def test_start_form_refuses_bad_input_and_starts_nothing(engine, clerk):
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, {"due_on": "2026-03-10"})
    assert refused.value.fields == {
        "due_on": ["报告日必须是每月3、18日之一（月末不足的为当月最后一日）"]}
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, {"due_on": "2026-03-18", "report_days": [5, 20]})
    assert refused.value.fields == {
        "due_on": ["报告日必须是每月5、20日之一（月末不足的为当月最后一日）"]}
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, {"report_days": [0, "3"], "due_on": "3月18日", "level": "street"})
    assert refused.value.fields == {"report_days.0": ["必须在 1 至 31 之间"],
                                    "report_days.1": ["必须是整数"],
                                    "due_on": ["不是有效的日期（如 2026-03-10）"],
                                    "level": ["不是本表单的字段"]}
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, {"report_days": []})
    assert refused.value.fields == {"report_days": ["报告日为1至31项"]}
    with engine.db.unit_of_work(write=False) as session:
        assert session.query(Case).count() == 0


def test_only_communities_and_streets_report_here(engine, inspect, bureau):
    case = start(engine, bureau)
    assert case.status == "error"
    assert "报告由社区或街道向上级报送" in case.error
    assert inspect.tasks(case.id) == []


# -- paths -------------------------------------------------------------------------------------

def test_report_accepted_with_statistics_attached(engine, inspect, clerk, company, street,
                                                  bureau, clock):
    rectification = rectified_case(engine, inspect, clerk, company)
    case = start(engine, clerk)
    compile_task = inspect.task(case.id, "compile_community")
    with pytest.raises(Forbidden):  # the street receives the report; the community writes it
        engine.complete_task(street, compile_task.id, REPORT)
    clock.set(beijing(2026, 3, 3, 16, 30))
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, compile_task.id, dict(REPORT, progress="", contact_phone="电话"))
    assert refused.value.fields == {"progress": ["不能为空"], "contact_phone": ["不是有效的电话号码"]}
    engine.complete_task(clerk, compile_task.id, REPORT)

    data = inspect.case(case.id).data
    assert inspect.timers(case.id) == []
    assert (data["report_status"], data["submission_count"], data["report_overdue"]) == \
        ("submitted", 1, False)
    assert data["first_submitted_at"] == data["submitted_at"] == "2026-03-03T08:30:00+00:00"
    snapshot = data["statistics"]
    assert snapshot["rectifications"] == {"opened": 1, "closed": 1, "closed_on_time": 1,
                                          "overdue": 0, "escalated": 0}
    assert (snapshot["org_name"], snapshot["org_path"]) == ("凤台社区", COMMUNITY_PATH)
    assert (snapshot["period_start"], snapshot["period_end"]) == ("2026-02-18", "2026-03-02")
    assert snapshot["as_of"] == "2026-03-03T08:30:00+00:00"
    with engine.db.unit_of_work(write=False) as session:
        direct = statistics.report_statistics(session, COMMUNITY_PATH, "2026-02-18", "2026-03-02")
    assert {k: snapshot[k] for k in direct} == direct
    assert inspect.case(rectification.id).status == "completed"

    review = inspect.task(case.id, "review_by_street")
    assert review.candidate_groups == ["street"] and review.lane == "街道"
    assert review.due_at == beijing(2026, 3, 5, 23, 59, 59)  # two working days from the 3rd
    with pytest.raises(Forbidden):
        engine.complete_task(clerk, review.id, ACCEPT)
    with pytest.raises(Forbidden):  # the bureau sees the community's report, reviews streets'
        engine.complete_task(bureau, review.id, ACCEPT)
    done = engine.complete_task(street, review.id, ACCEPT)

    assert done.status == "completed"
    assert (done.data["report_status"], done.data["accepted_on"]) == ("accepted", "2026-03-03")
    assert done.data["report_overdue"] is False
    assert inspect.kinds(case.id, "task_completed") == [
        "prepare_report", "compile_community", "attach_statistics", "review_by_street",
        "record_accepted"]
    assert inspect.kinds(case.id, "timer_fired") == []


def test_report_returned_and_corrected(engine, inspect, clerk, street, clock):
    case = start(engine, clerk)
    engine.complete_task(clerk, inspect.task(case.id, "compile_community").id, REPORT)
    review = inspect.task(case.id, "review_by_street")
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(street, review.id, dict(RETURN, review_opinion=None))
    assert refused.value.fields == {"review_opinion": ["退回修改时必须写明审核意见"]}
    clock.set(beijing(2026, 3, 4, 9, 0))
    engine.complete_task(street, review.id, RETURN)
    assert inspect.case(case.id).data["report_status"] == "returned"
    correct = inspect.task(case.id, "correct_community")
    assert correct.candidate_groups == ["clerk"] and correct.lane == "社区"
    assert correct.due_at == beijing(2026, 3, 6, 23, 59, 59)

    # Corrected after the report day: the report reached the street in time, so it is not late,
    # and no overdue timer waits on the correction.
    assert inspect.timers(case.id) == []
    clock.set(beijing(2026, 3, 5, 10, 0))
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, correct.id, REPORT)
    assert refused.value.fields == {"correction_note": ["此项为必填项"]}
    engine.complete_task(clerk, correct.id, CORRECTION)
    data = inspect.case(case.id).data
    assert (data["report_status"], data["submission_count"], data["report_overdue"]) == \
        ("submitted", 2, False)
    assert data["first_submitted_at"] == "2026-03-02T01:00:00+00:00"
    assert data["submitted_at"] == data["statistics"]["as_of"] == "2026-03-05T02:00:00+00:00"

    engine.complete_task(street, inspect.task(case.id, "review_by_street").id, RETURN)
    engine.complete_task(clerk, inspect.task(case.id, "correct_community").id, CORRECTION)
    done = engine.complete_task(street, inspect.task(case.id, "review_by_street").id,
                                dict(ACCEPT, reviewed_on="2026-03-06"))
    assert done.status == "completed" and done.data["report_status"] == "accepted"
    assert done.data["review_opinion"] is None and done.data["submission_count"] == 3
    completed = inspect.kinds(case.id, "task_completed")
    assert completed.count("review_by_street") == 3 and completed.count("correct_community") == 2
    assert completed.count("attach_statistics") == 3
    assert inspect.kinds(case.id, "timer_fired") == []


URGE = {"urged_on": "2026-03-04", "urge_method": "phone",
        "urge_note": "请于3月5日下班前补报，并说明逾期原因。"}


def test_report_overdue_is_marked_and_escalated_to_the_street(engine, inspect, clerk, street,
                                                              clock):
    case = start(engine, clerk)
    compile_task = inspect.task(case.id, "compile_community")
    _, fired = engine.tick(beijing(2026, 3, 3, 23, 59, 59))
    assert timers_fired(fired, case.id) == []
    _, fired = engine.tick(beijing(2026, 3, 4, 0, 0))
    assert timers_fired(fired, case.id) == ["overdue_community"]
    data = inspect.case(case.id).data
    assert data["report_overdue"] is True and data["overdue_since"] == "2026-03-04T00:00:00+08:00"
    # Still the community's to submit, now overdue; the street is to urge it.
    assert inspect.ready_names(case.id) == ["compile_community", "urge_community"]
    assert inspect.task(case.id, "compile_community").id == compile_task.id
    urge = inspect.task(case.id, "urge_community")
    assert urge.candidate_groups == ["street"] and urge.lane == "街道"
    assert urge.due_at == beijing(2026, 3, 6, 23, 59, 59)  # two working days from the 4th
    assert inspect.timers(case.id) == []
    fired_events = [(e[1], e[3]["due_at"]) for e in inspect.events(case.id) if e[0] == "timer_fired"]
    assert fired_events == [("overdue_community", "2026-03-03T16:00:00+00:00")]
    assert inspect.kinds(case.id, "task_completed")[-1] == "mark_overdue_community"

    with pytest.raises(Forbidden):
        engine.complete_task(clerk, urge.id, URGE)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(street, urge.id, dict(URGE, urge_method="wechat", urge_note=""))
    assert refused.value.fields == {"urge_method": ["必须是以下之一：电话督促, 书面督办, 上门督促"],
                                    "urge_note": ["不能为空"]}
    clock.set(beijing(2026, 3, 4, 9, 0))
    engine.complete_task(street, urge.id, URGE)
    assert inspect.ready_names(case.id) == ["compile_community"]
    clock.set(beijing(2026, 3, 5, 9, 0))
    engine.complete_task(clerk, compile_task.id, REPORT)
    assert inspect.case(case.id).data["report_overdue"] is True
    done = engine.complete_task(street, inspect.task(case.id, "review_by_street").id, ACCEPT)
    assert done.status == "completed"
    assert done.data["report_overdue"] is True and done.data["report_status"] == "accepted"
    assert done.data["first_submitted_at"] == "2026-03-05T01:00:00+00:00"
    assert inspect.kinds(case.id, "task_completed") == [
        "prepare_report", "mark_overdue_community", "urge_community", "compile_community",
        "attach_statistics", "review_by_street", "record_accepted"]


def test_acceptance_ends_an_urging_nobody_needs(engine, inspect, clerk, street, clock):
    case = start(engine, clerk)
    engine.tick(beijing(2026, 3, 4, 0, 0))
    urge = inspect.task(case.id, "urge_community")
    clock.set(beijing(2026, 3, 4, 8, 0))
    engine.complete_task(clerk, inspect.task(case.id, "compile_community").id, REPORT)
    assert inspect.ready_names(case.id) == ["review_by_street", "urge_community"]
    done = engine.complete_task(street, inspect.task(case.id, "review_by_street").id, ACCEPT)
    assert done.status == "completed" and done.data["report_overdue"] is True
    assert inspect.tasks(case.id) == []
    assert [t.id for t in inspect.tasks(case.id, states=("cancelled",))] == [urge.id]
    assert "urge_community" not in inspect.kinds(case.id, "task_completed")


def test_submitted_in_the_last_second_is_on_time(engine, inspect, clerk, clock):
    case = start(engine, clerk)
    clock.set(beijing(2026, 3, 3, 23, 59, 59))
    engine.complete_task(clerk, inspect.task(case.id, "compile_community").id, REPORT)
    _, fired = engine.tick(beijing(2026, 3, 4, 0, 0))
    assert timers_fired(fired, case.id) == []
    data = inspect.case(case.id).data
    assert data["report_overdue"] is False and inspect.kinds(case.id, "timer_fired") == []


def test_submitted_at_the_deadline_without_a_tick_is_still_overdue(engine, inspect, clerk, clock):
    case = start(engine, clerk)
    clock.set(beijing(2026, 3, 4, 0, 0))
    engine.complete_task(clerk, inspect.task(case.id, "compile_community").id, REPORT)
    assert inspect.case(case.id).data["report_overdue"] is True


def test_street_reports_to_the_bureau(engine, inspect, clerk, street, bureau, clock):
    case = start(engine, street, {"due_on": "2026-03-18"})
    data = inspect.case(case.id).data
    assert (data["report_level"], data["reporting_org"], data["receiving_org"]) == \
        ("street", "西街街道", "城区")
    compile_task = inspect.task(case.id, "compile_street")
    assert compile_task.candidate_groups == ["street"] and compile_task.lane == "街道"
    assert compile_task.due_at == beijing(2026, 3, 18, 23, 59, 59)
    assert inspect.timers(case.id) == [("overdue_street", beijing(2026, 3, 19, 0, 0))]
    with pytest.raises(NotFound):  # a street's report is not the community's business
        engine.complete_task(clerk, compile_task.id, REPORT)

    clock.set(beijing(2026, 3, 17, 15, 0))
    engine.complete_task(street, compile_task.id, dict(REPORT, compiled_by="西街街道 王主任"))
    assert inspect.case(case.id).data["statistics"]["org_path"] == STREET_PATH
    review = inspect.task(case.id, "review_by_bureau")
    assert review.candidate_groups == ["bureau"] and review.lane == "住建部门"
    with pytest.raises(Forbidden):  # a street does not approve its own report
        engine.complete_task(street, review.id, ACCEPT)
    engine.complete_task(bureau, review.id, RETURN)
    correct = inspect.task(case.id, "correct_street")
    assert correct.candidate_groups == ["street"]
    engine.complete_task(street, correct.id, CORRECTION)
    done = engine.complete_task(bureau, inspect.task(case.id, "review_by_bureau").id, ACCEPT)
    assert done.status == "completed" and done.data["report_overdue"] is False
    assert inspect.kinds(case.id, "task_completed") == [
        "prepare_report", "compile_street", "attach_statistics", "review_by_bureau",
        "correct_street", "attach_statistics", "review_by_bureau", "record_accepted"]


def test_street_report_overdue_is_escalated_to_the_bureau(engine, inspect, street, bureau):
    case = start(engine, street)
    _, fired = engine.tick(beijing(2026, 3, 4, 0, 0))
    assert timers_fired(fired, case.id) == ["overdue_street"]
    assert inspect.case(case.id).data["report_overdue"] is True
    assert inspect.ready_names(case.id) == ["compile_street", "urge_street"]
    urge = inspect.task(case.id, "urge_street")
    assert urge.candidate_groups == ["bureau"] and urge.lane == "住建部门"
    with pytest.raises(Forbidden):
        engine.complete_task(street, urge.id, URGE)
    engine.complete_task(bureau, urge.id, dict(URGE, urge_method="written"))
    assert inspect.ready_names(case.id) == ["compile_street"]


def test_scheduled_start_as_the_scheduler_builds_it(engine, inspect):
    """The scheduler starts one report per community, for the community, with the report day."""
    from workflows.schedules import periodic_report_start
    scheduler = Principal("scheduler", "admin")

    class Occurrence:
        target = datetime(2026, 3, 18).date()
        params = {}
    case = start(engine, scheduler, periodic_report_start(Occurrence()), compound="140502001001")
    data = inspect.case(case.id).data
    assert (data["report_level"], data["report_due_on"]) == ("community", "2026-03-18")
    assert inspect.ready_names(case.id) == ["compile_community"]


def test_every_task_has_its_form():
    from workflows.periodic_report import FORMS
    assert set(FORMS) == {"periodic_report.start", "periodic_report.compile_community",
                          "periodic_report.compile_street", "periodic_report.review_by_street",
                          "periodic_report.review_by_bureau", "periodic_report.correct_community",
                          "periodic_report.correct_street", "periodic_report.urge_community",
                          "periodic_report.urge_street"}


def test_diagram_draws_completely(diagram_problems):
    assert diagram_problems("periodic_report.bpmn") == []
