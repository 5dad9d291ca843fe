"""Recurring cases: schedules are data; each occurrence starts its case exactly once, in due order,
also after downtime and after a worker died half-way; a schedule whose process is not deployed
waits with a warning and catches up once it is."""
import json
import logging
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine import schedules
from engine.access import SYSTEM
from engine.calendar import CHINA_TZ
from engine.errors import ValidationFailed
from engine.models import Case
from engine.scheduler_admin import save
from engine.scheduler_models import ScheduleRun
from tests.scheduler.conftest import bpmn_file, prepare

COMMUNITIES = {"140502001001": "凤台社区", "140502001002": "钟家庄社区"}


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


@pytest.fixture
def engine(database, clock):
    from engine.service import Engine
    return prepare(Engine(database, clock), files=("joint_meeting.bpmn", "periodic_report.bpmn"))


def add(engine, **values):
    with engine.db.unit_of_work() as session:
        return save(session, SYSTEM, engine.scheduler.hooks, engine.clock.now(), **values)


def cases_of(engine, process_id):
    with engine.db.unit_of_work(write=False) as session:
        return session.scalars(select(Case).where(Case.process_id == process_id)
                               .order_by(Case.started_at, Case.compound)).all()


def quarterly_meetings(engine):
    return add(engine, name="联席会议（每季度）", process_id="joint_meeting", org_code="140502001",
               per_kind="community", rule="FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1",
               anchor=date(2026, 1, 1), params={"meeting_after_working_days": 5})


def test_quarterly_joint_meeting_per_community_starts_once(engine):
    schedule = quarterly_meetings(engine)
    assert schedule.next_due == beijing(2026, 4, 1, 9)
    assert engine.tick(beijing(2026, 3, 31, 18))[1] == []
    _, fired = engine.tick(beijing(2026, 4, 1, 9))
    assert [(f["kind"], f["element"], f["org_code"]) for f in fired if f["kind"] == "recurring"] == [
        ("recurring", "joint_meeting", "140502001001"), ("recurring", "joint_meeting", "140502001002")]
    assert [f for f in engine.tick(beijing(2026, 4, 1, 9, 30))[1] if f["kind"] == "recurring"] == []
    started = cases_of(engine, "joint_meeting")
    assert [(c.compound, c.started_by, c.started_at) for c in started] == [
        (code, "scheduler", beijing(2026, 4, 1, 9)) for code in COMMUNITIES]
    meeting = started[0]
    assert meeting.title == "凤台社区2026年第2季度三方联席会议"
    assert meeting.org_path.endswith("140502001001/")
    # 5 working days after Wednesday 1 April, across the Qingming holiday (4-6 April).
    assert meeting.data["meeting_at"].startswith("2026-04-09T09:30")


@pytest.mark.filterwarnings("ignore::engine.calendar.CalendarDataMissing")
def test_after_downtime_each_quarter_starts_once_in_due_order(engine):
    quarterly_meetings(engine)
    _, fired = engine.tick(beijing(2026, 10, 20, 12))  # down from March to late October
    recurring = [(f["due_at"], f["org_code"]) for f in fired if f["kind"] == "recurring"]
    starts = ["2026-04-01T01:00:00+00:00", "2026-07-01T01:00:00+00:00",
              "2026-10-08T01:00:00+00:00"]  # 1-7 October is National Day: the next working day
    assert recurring == [(s, code) for s in starts for code in COMMUNITIES]
    assert [f for f in engine.tick(beijing(2026, 10, 20, 13))[1] if f["kind"] == "recurring"] == []
    assert len(cases_of(engine, "joint_meeting")) == 6
    titles = sorted(c.title for c in cases_of(engine, "joint_meeting"))
    assert titles[0] == "凤台社区2026年第2季度三方联席会议"
    assert "凤台社区2026年第4季度三方联席会议" in titles


def test_reports_start_ahead_of_each_report_day(engine):
    add(engine, name="社区报告", process_id="periodic_report", org_code="140502001001",
        per_kind=None, rule="FREQ=MONTHLY;BYMONTHDAY=3,18", lead_working_days=3)
    _, fired = engine.tick(beijing(2026, 4, 5, 12))
    # Report days 18 March and 3 April; each case starts 3 working days ahead at 09:00.
    assert [f["due_at"] for f in fired if f["kind"] == "recurring"] == [
        "2026-03-13T01:00:00+00:00", "2026-03-31T01:00:00+00:00"]
    reports = cases_of(engine, "periodic_report")
    assert [c.data.get("report_due_on") or c.data.get("due_on") for c in reports] == [
        "2026-03-18", "2026-04-03"]


def test_undeployed_process_waits_with_a_warning_then_catches_up(engine, caplog):
    from workflows.models import ServiceContract
    with engine.db.unit_of_work() as session:
        session.add(ServiceContract(code="HT-2026-001", compound_code="C0001",
                                    enterprise_code="E0001", starts_on=date(2023, 6, 1),
                                    ends_on=date(2026, 9, 30), status="active"))
        session.add(ServiceContract(code="HT-2026-002", compound_code="C0003",
                                    enterprise_code="E0001", starts_on=date(2024, 1, 1),
                                    ends_on=date(2027, 12, 31), status="active"))
    schedule = add(engine, name="合同期限监督", process_id="contract_watch",
                   rule="hook:contract_end", params={"preparation_days": 30})
    caplog.set_level(logging.WARNING, logger="linkage.schedules")
    engine.tick(beijing(2026, 5, 20, 10))
    engine.tick(beijing(2026, 5, 21, 10))
    assert [r.message for r in caplog.records].count(
        f"计划 {schedule.id}（合同期限监督）的流程 contract_watch 尚未部署，暂不发起") == 1
    with engine.db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(ScheduleRun)) == 0

    engine.deploy([bpmn_file("contract_watch.bpmn")], SYSTEM)
    # Ends 30 September: the 90-day notice is due 2 July, preparation opens 30 days earlier.
    _, fired = engine.tick(beijing(2026, 6, 10, 10))
    watch = [f for f in fired if f["kind"] == "recurring"]
    assert [(f["org_code"], f["due_at"]) for f in watch] == [("C0001", "2026-06-02T01:00:00+00:00")]
    (case,) = cases_of(engine, "contract_watch")
    assert case.compound == "C0001" and case.data["contract_code"] == "HT-2026-001"
    assert case.data["notice_on"] == "2026-07-02" and case.data["ends_on"] == "2026-09-30"
    assert [f for f in engine.tick(beijing(2026, 6, 30, 10))[1] if f["kind"] == "recurring"] == []


def test_a_contract_already_watched_by_a_running_case_is_not_watched_twice(engine):
    from workflows.models import ServiceContract
    engine.deploy([bpmn_file("contract_watch.bpmn")], SYSTEM)
    with engine.db.unit_of_work() as session:
        session.add(ServiceContract(code="HT-2026-001", compound_code="C0001",
                                    enterprise_code="E0001", starts_on=date(2023, 6, 1),
                                    ends_on=date(2026, 9, 30), status="active"))
    registered = engine.start_case(SYSTEM, "contract_watch", {"contract_code": "HT-2026-001"}, "C0001")
    assert registered.status == "running"
    add(engine, name="合同期限监督", process_id="contract_watch", rule="hook:contract_end",
        params={"preparation_days": 30})
    _, fired = engine.tick(beijing(2026, 6, 10, 10))
    assert [f for f in fired if f["kind"] == "recurring"] == []
    assert [c.id for c in cases_of(engine, "contract_watch")] == [registered.id]


def test_a_run_interrupted_after_starting_its_case_is_not_started_again(engine):
    quarterly_meetings(engine)
    now = beijing(2026, 4, 1, 9)
    schedules.expand_due(engine, engine.scheduler.hooks, now)
    runs = schedules._claim(engine, engine.scheduler.settings, now)  # a worker takes the runs...
    assert len(runs) == 2
    first = runs[0]
    with engine.clock.at(first.due_at):  # ...starts the first case, and dies before recording it
        builder = engine.scheduler.hooks.builders["joint_meeting"]
        with engine.db.unit_of_work(write=False) as session:
            _, occurrence = schedules._occurrence(session, first)
        engine.start_case(schedules.SCHEDULER, "joint_meeting", builder(occurrence), first.org_code)
    assert engine.tick(now + timedelta(minutes=1))[1] == []  # leased: nobody else takes them yet
    _, fired = engine.tick(now + timedelta(minutes=6))  # the lease ran out
    assert sorted(f["org_code"] for f in fired if f["kind"] == "recurring") == list(COMMUNITIES)
    started = cases_of(engine, "joint_meeting")
    assert sorted(c.compound for c in started) == list(COMMUNITIES)  # one each, not three
    with engine.db.unit_of_work(write=False) as session:
        recorded = session.scalars(select(ScheduleRun).order_by(ScheduleRun.id)).all()
    assert {r.case_id for r in recorded} == {c.id for c in started}
    assert [r.status for r in recorded] == ["started", "started"]


def test_schedule_input_is_checked_in_chinese(engine, database, clock):
    with pytest.raises(ValidationFailed) as refused:
        add(engine, name="坏计划", process_id="joint_meeting", rule="FREQ=HOURLY", org_code="NOPE")
    assert refused.value.fields["rule"] == ["频率最小为每日（FREQ=DAILY）"]
    assert refused.value.fields["org_code"] == ["组织 NOPE 不存在"]
    with pytest.raises(ValidationFailed) as refused:
        add(engine, name="坏计划", process_id="contract_watch", rule="hook:nothing")
    assert "未知的日期来源 nothing" in refused.value.fields["rule"][0]

    from web.app import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": database.url, "CLOCK": clock})
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["schedules", "add", "--name", "季度会议", "--process",
                                     "joint_meeting", "--per", "community", "--rule",
                                     "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1", "--anchor", "2026-01-01"])
        assert result.exit_code == 0, result.output
        created = json.loads(result.output)
        assert created["next_due"] == "2026-04-01T01:00:00+00:00"
        result = runner.invoke(args=["schedules", "set", str(created["id"]), "--disable"])
        assert json.loads(result.output)["next_due"] is None
        result = runner.invoke(args=["schedules", "add", "--name", "x", "--process", "joint_meeting",
                                     "--rule", "每月一次"])
        assert result.exit_code == 1 and "无法解析 '每月一次'（应为 RRULE" in result.output
    finally:
        app.extensions["linkage"].db.dispose()
    assert [f for f in engine.tick(beijing(2026, 4, 2, 10))[1] if f["kind"] == "recurring"] == []
