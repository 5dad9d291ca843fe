"""A small world for the security tests: the demo tree and users, a second street with its own
community, compound, enterprise and users (the "other organisation"), and two processes:

- `sec_review`: one clerk task `review` with a non-interrupting one-day reminder timer;
- `sec_escalate`: one clerk task `handle` whose escalation is modelled (a boundary message
  `escalate` moves the case to the street's task `street_handle`).
"""
import shutil
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from engine import queries
from engine.access import SYSTEM
from engine.clock import ManualClock
from engine.models import User
from engine.users import add_user, issue_token, principal_for
from web.app import create_app
from web.demo import ensure_org, load_demo
from workflows import upgrade_schema

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Beijing
PASSWORD = "demo"

SEC_REVIEW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_sec_review"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="sec_review" name="材料审核" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="社区审核材料" camunda:candidateGroups="clerk">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="remind" name="一日提醒" cancelActivity="false" attachedToRef="review">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P1D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="reminded"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="reminded" />
  </bpmn:process>
</bpmn:definitions>
""".encode("utf-8")

SEC_ESCALATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_sec_escalate"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="Message_escalate" name="escalate" />
  <bpmn:process id="sec_escalate" name="问题协调" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="handle" name="社区处理" camunda:candidateGroups="clerk">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="escalated" name="上报街道" attachedToRef="handle">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Message_escalate" />
    </bpmn:boundaryEvent>
    <bpmn:userTask id="street_handle" name="街道处理" camunda:candidateGroups="street">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="street_end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handle" />
    <bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="escalated" targetRef="street_handle" />
    <bpmn:sequenceFlow id="f4" sourceRef="street_handle" targetRef="street_end" />
  </bpmn:process>
</bpmn:definitions>
""".encode("utf-8")

# The other organisation: a second street of the same district, with its own community,
# compound and property company.
OTHER_ORGS = [
    ("140502002", "东街街道", "street", "140502", None),
    ("140502002001", "东街社区", "community", "140502002", None),
    ("C0101", "东街小区", "compound", "140502002001",
     {"management_type": "enterprise", "enterprise_code": "E0101"}),
    ("E0101", "晋城市东街物业有限公司", "enterprise", None, None),
]
OTHER_USERS = {
    "other_street": ("street", "140502002"),
    "other_clerk": ("clerk", "140502002001"),
    "other_company": ("company", "E0101"),
}
# Extra clerks of 凤台社区 for the races.
RACERS = [f"clerk{i}" for i in range(6)]
ROLES_UNDER_TEST = ["admin", "bureau", "street", "clerk", "owners", "company", "other_street"]


def build_world(app):
    """Schema, demo tree and users, the other organisation, and the two test processes."""
    eng = app.extensions["linkage"]
    upgrade_schema(eng.db)
    load_demo(app)
    with eng.db.unit_of_work() as session:
        for code, name, kind, parent, attributes in OTHER_ORGS:
            ensure_org(session, code, name, kind, parent, attributes)
        for username, (role, org) in [*OTHER_USERS.items(),
                                      *((r, ("clerk", "140502001001")) for r in RACERS)]:
            if session.scalar(select(User).where(User.username == username)) is None:
                add_user(session, username, PASSWORD, role, org, now=eng.clock.now())
    eng.deploy([("sec_review.bpmn", SEC_REVIEW), ("sec_escalate.bpmn", SEC_ESCALATE)], SYSTEM)
    return eng


def principal(eng, username):
    with eng.db.unit_of_work(write=False) as session:
        user = session.scalar(select(User).where(User.username == username))
        return principal_for(session, user)


def start(eng, process_id="sec_review", compound="C0001", username="clerk", data=None):
    """Start a case as `username`; returns (case id, id of its first ready task)."""
    case = eng.start_case(principal(eng, username), process_id, data or {"title": "测试"}, compound)
    with eng.db.unit_of_work(write=False) as session:
        tasks = queries.case_tasks(session, case.id)
    return case.id, (tasks[0].id if tasks else None)


class Api:
    """A JSON client with a bearer token, on a Flask test client."""

    def __init__(self, app, token=None):
        self.client = app.test_client()
        self.token = token

    def headers(self, extra=None):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def login(self, username, password=PASSWORD):
        response = self.client.post("/api/v1/auth/token",
                                    json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        self.token = response.get_json()["token"]
        return self

    def call(self, method, path, body=None, **kwargs):
        headers = self.headers(kwargs.pop("headers", None))
        response = self.client.open("/api/v1" + path, method=method, json=body, headers=headers,
                                    **kwargs)
        return response.status_code, response.get_json(silent=True)


def token_for(eng, username):
    """An API token issued directly (what POST /auth/token does after checking the password,
    without paying for scrypt in every test)."""
    with eng.db.unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        return issue_token(session, user, eng.clock.now())


def make_app(url, clock, tmp_path, **config):
    return create_app({"TESTING": True, "DATABASE_URL": url, "CLOCK": clock, "LINKAGE_ENV": "test",
                       "UPLOAD_FOLDER": str(tmp_path / "uploads"), **config})


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """The world built once per test process; each test gets a copy of the file."""
    folder = tmp_path_factory.mktemp("world")
    app = make_app(f"sqlite:///{folder / 'world.db'}", ManualClock(START), folder)
    build_world(app)
    app.extensions["linkage"].db.dispose()
    return folder / "world.db"


def fresh_sqlite(template, tmp_path):
    target = tmp_path / "sec.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


# Tables that hold the world (kept between PostgreSQL tests); everything else is emptied.
WORLD_TABLES = {"organisations", "users", "process_definitions", "alembic_version"}


def fresh_postgres(url, clock, tmp_path):
    """The PostgreSQL test database with the world in it and nothing else."""
    from engine.db import Database
    database = Database(url)
    try:
        with database.engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))]
            built = "users" in tables and conn.execute(text(
                "SELECT count(*) FROM users WHERE username = 'other_company'")).scalar() and \
                conn.execute(text("SELECT count(*) FROM process_definitions "
                                  "WHERE process_id = 'sec_escalate'")).scalar()
            doomed = [t for t in tables if not built or t not in WORLD_TABLES]
            doomed = [t for t in doomed if t != "alembic_version"]
            if doomed:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in doomed)
                                  + " RESTART IDENTITY CASCADE"))
    finally:
        database.dispose()
    if not built:
        app = make_app(url, clock, tmp_path)
        build_world(app)
        app.extensions["linkage"].db.dispose()
    return url


@pytest.fixture
def world(sqlite_template, tmp_path, clock):
    """A fresh SQLite app with the world built; yields the app."""
    app = make_app(fresh_sqlite(sqlite_template, tmp_path), clock, tmp_path)
    yield app
    app.extensions["linkage"].db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world_on(request, sqlite_template, tmp_path, clock):
    """The same world on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = fresh_sqlite(sqlite_template, tmp_path)
    else:
        url = fresh_postgres(request.getfixturevalue("pg_base_url"), clock, tmp_path)
    app = make_app(url, clock, tmp_path)
    yield app
    app.extensions["linkage"].db.dispose()
