"""The figures of a periodic report, counted on a seeded database at the exact boundaries.

The reporting period is 3 to 17 March 2026 (the report due on the 18th): from 00:00 on the 3rd to
the last instant of the 17th, Beijing time. Each seeded case sits just inside or just outside
an edge, so an off-by-one day, a UTC/Beijing mix-up or a `<=` for a `<` changes a count.
"""
import uuid
from datetime import date, datetime, timedelta

import pytest

from engine.calendar import CHINA_TZ
from engine.db import Database
from engine.models import Case, Event, ProcessDefinition
from web.demo import DEMO_ORGS, ensure_org
from workflows.statistics import (joint_meeting_counts, period_bounds,
                                  problem_coordination_counts, rectification_counts,
                                  report_statistics)

STREET = "14/1405/140502/140502001/"
FENGTAI = STREET + "140502001001/"          # 凤台社区
FENGTAI_COMPOUND = FENGTAI + "C0001/"       # 凤台花园
ZHONGJIA = STREET + "140502001002/C0003/"   # 钟家庄社区, 钟家庄小区
FIRST, LAST = date(2026, 3, 3), date(2026, 3, 17)
ONE_SECOND = timedelta(seconds=1)
START = datetime(2026, 3, 3, 0, 0, tzinfo=CHINA_TZ)      # first instant of the period
END = datetime(2026, 3, 18, 0, 0, tzinfo=CHINA_TZ)       # first instant after it


def bj(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


class Seeder:
    def __init__(self, session):
        self.session = session
        self.definitions = {}

    def definition(self, process_id):
        if process_id not in self.definitions:
            row = ProcessDefinition(process_id=process_id, version=1, name=process_id,
                                    content_hash=uuid.uuid4().hex, file_name=f"{process_id}.bpmn",
                                    bpmn_xml="<definitions/>", dependency_ids=[], task_meta={},
                                    deployed_at=bj(2026, 1, 1))
            self.session.add(row)
            self.session.flush()
            self.definitions[process_id] = row.id
        return self.definitions[process_id]

    def case(self, process_id, started, org_path=FENGTAI_COMPOUND, completed=None,
             status=None, **data):
        status = status or ("completed" if completed else "running")
        case = Case(id=str(uuid.uuid4()), definition_id=self.definition(process_id),
                    process_id=process_id, status=status, compound=None, org_path=org_path,
                    title=process_id, data=data, state="{}", started_at=started,
                    updated_at=completed or started, completed_at=completed)
        self.session.add(case)
        self.session.flush()
        return case.id

    def event(self, case_id, at, kind, element):
        self.session.add(Event(case_id=case_id, at=at, actor="scheduler", kind=kind,
                               element=element, detail={}))


@pytest.fixture
def seeded(db_url):
    database = Database(db_url)
    with database.unit_of_work() as session:
        for code, name, kind, parent in DEMO_ORGS:
            ensure_org(session, code, name, kind, parent)
        seed(Seeder(session))
    yield database
    database.dispose()


def seed(s):
    rect = "rectification"
    # Opened: only starts from 00:00:00 on the 3rd up to 23:59:59 on the 17th count.
    s.case(rect, START - ONE_SECOND)
    s.case(rect, START)
    s.case(rect, END - ONE_SECOND)
    s.case(rect, END)
    # Closed on the deadline day, at its very first instant: on time (and opened before).
    s.case(rect, bj(2026, 2, 10, 9), completed=START, outcome="rectified",
           rectification_deadline="2026-03-03")
    # Closed at the last instant of its deadline day: still on time.
    s.case(rect, bj(2026, 2, 20, 9), completed=bj(2026, 3, 9, 23, 59, 59), outcome="rectified",
           rectification_deadline="2026-03-09")
    # Closed the day after its deadline: closed, not on time.
    s.case(rect, bj(2026, 2, 20, 9), completed=bj(2026, 3, 10, 0, 0), outcome="rectified",
           rectification_deadline="2026-03-09")
    # Closed after escalation (handled by the street): closed, not on time; overdue and
    # escalated inside the period.
    handled = s.case(rect, bj(2026, 2, 12, 9), completed=bj(2026, 3, 12, 10), outcome="handled",
                     rectification_deadline="2026-03-05", escalated=True)
    s.event(handled, bj(2026, 3, 5, 23, 59, 59), "timer_fired", "deadline_passed")
    s.event(handled, bj(2026, 3, 5, 23, 59, 59), "task_completed", "record_escalation")
    # Closed one second after the period: not counted.
    s.case(rect, bj(2026, 2, 25, 9), completed=END, outcome="rectified",
           rectification_deadline="2026-03-20")
    # Cancelled inside the period: not closed.
    s.case(rect, bj(2026, 2, 25, 9), completed=bj(2026, 3, 6, 9), status="cancelled")
    # Overdue and escalated one second before the period: not counted; its reminder inside the
    # period is no overdue.
    early = s.case(rect, bj(2026, 2, 9, 9))
    s.event(early, START - ONE_SECOND, "timer_fired", "deadline_passed")
    s.event(early, START - ONE_SECOND, "task_completed", "record_escalation")
    s.event(early, bj(2026, 3, 4, 9), "timer_fired", "remind_company")
    # Escalated by hand on the period's last day (counted once although the step ran twice),
    # overdue at the first instant after it (not counted).
    manual = s.case(rect, bj(2026, 2, 26, 9))
    s.event(manual, END - ONE_SECOND, "task_completed", "record_escalation")
    s.event(manual, bj(2026, 3, 10, 9), "task_completed", "record_escalation")
    s.event(manual, END, "timer_fired", "deadline_passed")
    # In the other community of the street: counts for the street only.
    other = s.case(rect, bj(2026, 3, 10, 9), org_path=ZHONGJIA, completed=bj(2026, 3, 16, 9),
                   outcome="rectified", rectification_deadline="2026-03-20")
    s.event(other, bj(2026, 3, 11, 9), "task_completed", "record_escalation")
    # A joint meeting's escalation-like event is not a rectification's.
    meeting = s.case("joint_meeting", bj(2026, 2, 25, 9), held_on="2026-03-03")
    s.event(meeting, bj(2026, 3, 4, 9), "task_completed", "record_escalation")

    jm = "joint_meeting"
    s.case(jm, bj(2026, 3, 10, 9), held_on="2026-03-17", completed=bj(2026, 3, 30, 9))
    s.case(jm, bj(2026, 3, 10, 9), held_on="2026-03-18")
    s.case(jm, bj(2026, 2, 20, 9), held_on="2026-03-02")
    s.case(jm, bj(2026, 3, 1, 9), held_on="2026-03-10", status="cancelled",
           completed=bj(2026, 3, 11, 9))
    s.case(jm, bj(2026, 3, 12, 9))  # convened, not yet held
    s.case(jm, bj(2026, 3, 1, 9), org_path=ZHONGJIA, held_on="2026-03-05")

    pc = "problem_coordination"
    s.case(pc, START)
    s.case(pc, START - ONE_SECOND, completed=END - ONE_SECOND, outcome="resolved")
    s.case(pc, bj(2026, 3, 5, 9), completed=bj(2026, 3, 6, 9), outcome="referred")
    s.case(pc, bj(2026, 3, 5, 9), completed=END, outcome="resolved")
    s.case(pc, bj(2026, 3, 5, 9), completed=bj(2026, 3, 7, 9), status="cancelled")
    s.case(pc, bj(2026, 3, 8, 9), org_path=ZHONGJIA, completed=bj(2026, 3, 9, 9),
           outcome="resolved")


def test_period_bounds_are_whole_beijing_days():
    assert period_bounds(FIRST, LAST) == (START, END)
    assert period_bounds("2026-03-03", "2026-03-17") == (START, END)
    assert period_bounds(LAST, LAST) == (END - timedelta(days=1), END)


@pytest.mark.parametrize("first, last, error, message", [
    (LAST, FIRST, ValueError, "统计结束日期（2026-03-03）不能早于开始日期（2026-03-17）"),
    ("2026-02-30", LAST, ValueError, "统计开始日期不是有效的日期"),
    (FIRST, None, ValueError, "统计结束日期不是有效的日期"),
    (START, LAST, TypeError, "统计开始日期必须是日期，不能是日期时间"),
])
def test_bad_periods_are_refused(first, last, error, message):
    with pytest.raises(error, match=message):
        period_bounds(first, last)


def test_rectifications_of_a_community(seeded):
    with seeded.unit_of_work(write=False) as session:
        counts = rectification_counts(session, FENGTAI, FIRST, LAST)
    assert counts == {"opened": 2, "closed": 4, "closed_on_time": 2, "overdue": 1,
                      "escalated": 2}


def test_rectifications_of_the_street_include_both_communities(seeded):
    with seeded.unit_of_work(write=False) as session:
        counts = rectification_counts(session, STREET, FIRST, LAST)
        one_compound = rectification_counts(session, ZHONGJIA, FIRST, LAST)
    assert counts == {"opened": 3, "closed": 5, "closed_on_time": 3, "overdue": 1,
                      "escalated": 3}
    assert one_compound == {"opened": 1, "closed": 1, "closed_on_time": 1, "overdue": 0,
                            "escalated": 1}


def test_one_day_periods_at_the_edges(seeded):
    with seeded.unit_of_work(write=False) as session:
        first_day = rectification_counts(session, FENGTAI, FIRST, FIRST)
        last_day = rectification_counts(session, FENGTAI, LAST, LAST)
        day_after = rectification_counts(session, FENGTAI, date(2026, 3, 18), date(2026, 3, 18))
    assert first_day == {"opened": 1, "closed": 1, "closed_on_time": 1, "overdue": 0,
                         "escalated": 0}
    assert last_day == {"opened": 1, "closed": 0, "closed_on_time": 0, "overdue": 0,
                        "escalated": 1}
    assert day_after == {"opened": 1, "closed": 1, "closed_on_time": 1, "overdue": 1,
                         "escalated": 0}


def test_joint_meetings_held(seeded):
    with seeded.unit_of_work(write=False) as session:
        assert joint_meeting_counts(session, FENGTAI, FIRST, LAST) == {"held": 2}
        assert joint_meeting_counts(session, STREET, FIRST, LAST) == {"held": 3}
        assert joint_meeting_counts(session, FENGTAI, date(2026, 3, 18), date(2026, 3, 31)) \
            == {"held": 1}


def test_problem_coordinations(seeded):
    with seeded.unit_of_work(write=False) as session:
        assert problem_coordination_counts(session, FENGTAI, FIRST, LAST) == \
            {"opened": 4, "resolved": 1}
        assert problem_coordination_counts(session, STREET, FIRST, LAST) == \
            {"opened": 5, "resolved": 2}


def test_report_statistics_puts_it_together(seeded):
    with seeded.unit_of_work(write=False) as session:
        figures = report_statistics(session, FENGTAI, "2026-03-03", "2026-03-17")
    assert figures == {
        "org_path": FENGTAI, "period_start": "2026-03-03", "period_end": "2026-03-17",
        "rectifications": {"opened": 2, "closed": 4, "closed_on_time": 2, "overdue": 1,
                           "escalated": 2},
        "joint_meetings": {"held": 2},
        "problem_coordinations": {"opened": 4, "resolved": 1},
    }


def test_an_empty_scope_counts_nothing(seeded):
    with seeded.unit_of_work(write=False) as session:
        figures = report_statistics(session, "14/1405/140581/", FIRST, LAST)
    assert figures["rectifications"] == {"opened": 0, "closed": 0, "closed_on_time": 0,
                                         "overdue": 0, "escalated": 0}
    assert figures["joint_meetings"] == {"held": 0}
    assert figures["problem_coordinations"] == {"opened": 0, "resolved": 0}


def test_scope_must_be_a_path(seeded):
    with seeded.unit_of_work(write=False) as session:
        with pytest.raises(ValueError, match="组织路径必须以 / 结尾"):
            rectification_counts(session, "140502001001", FIRST, LAST)
