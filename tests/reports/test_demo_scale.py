"""`linkage demo --scale city`: Jincheng's published figures, a sample of cases walked through
the engine, copies that behave like any case, and a second load that changes nothing.

The province scale is the same code with more cities and more copies; it takes minutes and is
measured outside the suite (see the report of this work).
"""
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import audit_chain
from engine.access import Principal
from engine.models import Case, Event, Organisation, TaskRow, User
from tests.reports.conftest import bundled_bpmn
from web import demo_cases
from web.demo import load_demo
from web.demo_scale import city_mixes, scale_rows


@pytest.fixture
def db_url(sqlite_url):
    return sqlite_url


def counts(eng):
    with eng.db.unit_of_work(write=False) as s:
        return (s.scalar(select(func.count()).select_from(Organisation)),
                s.scalar(select(func.count()).select_from(Case)),
                s.scalar(select(func.count()).select_from(Event)),
                sorted(s.execute(select(Organisation.code, Organisation.name, Organisation.path)).all()))


def test_province_rows_keep_jincheng_and_add_up_to_shanxi():
    mixes = city_mixes("province")
    assert sum(sum(m.values()) for m in mixes.values()) == 23494
    assert {t: sum(m[t] for m in mixes.values()) for t in mixes["1405"]} == {
        "enterprise": 10802, "community_trust": 2752, "work_unit": 2538, "owner_self": 3176, "none": 4226}
    city = scale_rows("city")
    assert city == scale_rows("city")  # the same rows every time
    assert len(city.compounds) == 1563 - 3  # the small demo's three compounds count in Jincheng
    assert Counter(e["credit_grade"] for e in city.enterprises) == {"A": 32, "B": 77, "C": 92, "D": 1}
    assert len({c["code"] for c in city.compounds}) == len(city.compounds)


def test_city_scale(app, run_json, monkeypatch):
    eng = app.extensions["linkage"]
    eng.deploy(bundled_bpmn(), Principal("root", "admin"))
    monkeypatch.setitem(demo_cases.COPIES, "city", {"rectification": 2, "joint_meeting": 2})
    monkeypatch.setitem(demo_cases.WEEKS, "city", 4)  # a shorter history than the command's
    load_demo(app, "city")

    coverage = run_json("report", "coverage", "--org", "1405")
    assert coverage["total"] == 1563
    assert {k: v["percent"] for k, v in coverage["by_management_type"].items()} == {
        "enterprise": 48.75, "community_trust": 21.43, "work_unit": 16.38, "owner_self": 13.44, "none": 0.0}
    assert run_json("report", "credit", "--org", "1405") == {
        "year": 2024, "total": 202, "by_grade": {"A": 32, "B": 77, "C": 92, "D": 1}}
    assert run_json("report", "credit", "--year", "2023")["total"] == 202

    with eng.db.unit_of_work(write=False) as s:
        assert s.scalar(select(User).where(User.username == "jincheng")).org_code == "1405"
        demo_cases_ = s.execute(select(Case.process_id, Case.status, Case.started_by)
                                .where(Case.started_by == "demo.clerk")).all()
        statuses = Counter((p, st) for p, st, _ in demo_cases_)
        assert statuses[("rectification", "completed")] and statuses[("rectification", "running")]
        assert statuses[("joint_meeting", "completed")] and statuses[("joint_meeting", "running")]
        assert not s.scalar(select(func.count()).select_from(Case).where(Case.status == "error"))
        assert audit_chain.verify(s).ok  # copies carry chains of their own
        copied = s.execute(select(Case.id, Case.compound).where(
            Case.process_id == "rectification", Case.status == "running",
            Case.id.in_(select(TaskRow.case_id).where(TaskRow.name == "submit_report",
                                                      TaskRow.state == "ready")))).all()
    before = counts(eng)
    table = run_json("report", "cases", "--org", "1405", "--from", "2000-01-01", "--to", "2100-12-31")
    assert table["rectifications"]["opened"] >= 10 and table["joint_meetings"]["held"] >= 1

    # A copy is an ordinary case: its company can report, and its timers fire.
    case_id, compound = copied[-1]
    with eng.db.unit_of_work(write=False) as s:
        org = s.get(Organisation, compound)
        task = s.scalar(select(TaskRow).where(TaskRow.case_id == case_id, TaskRow.state == "ready"))
    company = Principal("x", "company", org.attributes["enterprise_code"], "", (org.path,))
    eng.complete_task(company, task.id, {"report": "已整改", "completed_on": "2026-03-05"})
    eng.tick(eng.clock.now() + timedelta(days=60))
    with eng.db.unit_of_work(write=False) as s:
        assert not s.scalar(select(func.count()).select_from(Case).where(Case.status == "error"))
        assert s.scalar(select(func.count()).select_from(TaskRow).where(
            TaskRow.case_id == case_id, TaskRow.name == "verify", TaskRow.state == "ready")) == 1
        assert audit_chain.verify(s).ok

    # Loading again changes nothing.
    snapshot = counts(eng)
    load_demo(app, "city")
    assert counts(eng) == snapshot
    assert before[0] == snapshot[0] and before[1] == snapshot[1]
