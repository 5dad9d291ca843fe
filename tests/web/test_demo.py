"""`linkage demo` (small): a few cases of every bundled process, in believable states.

Every process has running cases and none in error, several are past their first steps (so
timelines have history and the street has work), every demo role has something in its inbox,
and loading again changes nothing.
"""
from sqlalchemy import func, select

from engine import queries
from engine.access import SYSTEM, may_act
from engine.models import Case, Event, User
from engine.users import principal_for
from web.app import create_app
from web.cli import bundled_bpmn_files
from web.demo import DEMO_USERS, load_demo
from workflows import upgrade_schema

BUNDLED = {"joint_meeting", "problem_coordination", "publicity", "periodic_report", "evaluation",
           "rectification", "dismissal_handover", "contract_watch"}


def test_demo_starts_cases_of_every_process_at_several_stages(tmp_path, clock):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
                      "CLOCK": clock})
    eng = app.extensions["linkage"]
    upgrade_schema(eng.db)
    with app.app_context():
        eng.deploy([(p.name, p.read_bytes()) for p in bundled_bpmn_files()], SYSTEM)
    load_demo(app)
    with eng.db.unit_of_work(write=False) as session:
        by_status = dict(session.execute(select(Case.status, func.count()).group_by(Case.status)).all())
        processes = set(session.scalars(select(Case.process_id).where(Case.status == "running")))
        completed_steps = session.scalar(select(func.count()).select_from(Event)
                                         .where(Event.kind == "task_completed", Event.actor != "engine"))
        inbox = {}
        for username, (role, _org, _display) in DEMO_USERS.items():
            principal = principal_for(session, session.scalar(select(User).where(User.username == username)))
            visible = queries.list_tasks(session, principal, page=1, per_page=100).items
            inbox[role] = sum(1 for row in visible if may_act(principal, row))
        total = session.scalar(select(func.count()).select_from(Case))
    assert processes == BUNDLED
    assert by_status.get("error", 0) == 0, by_status
    assert completed_steps >= 8  # people's steps, not only starts
    assert {role for role, count in inbox.items() if count == 0} <= {"admin"}, inbox
    load_demo(app)  # idempotent
    with eng.db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == total
    eng.db.dispose()


def test_init_deploys_the_eight_bundled_processes_once(tmp_path, clock):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/init.db",
                      "CLOCK": clock})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    eng = app.extensions["linkage"]
    with eng.db.unit_of_work(write=False) as session:
        deployed = {d.process_id: d.version for d in queries.list_processes(session, 1, 100).items}
    assert set(deployed) == BUNDLED and set(deployed.values()) == {1}
    again = runner.invoke(args=["init"])
    assert again.exit_code == 0, again.output
    with eng.db.unit_of_work(write=False) as session:
        assert {d.process_id: d.version
                for d in queries.list_processes(session, 1, 100).items} == deployed
    eng.db.dispose()
