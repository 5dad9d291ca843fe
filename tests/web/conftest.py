"""A fresh app and SQLite database per test: demo organisations and users, two deployed
processes, a manual clock, and a test client that can sign in and post forms with the CSRF
token the way a browser does."""
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import queries
from engine.access import SYSTEM
from engine.clock import ManualClock
from engine.errors import ValidationFailed
from engine.models import User
from engine.users import principal_for
from web.app import create_app
from web.demo import load_demo
from workflows import upgrade_schema

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REVIEW_FORM = "web_test.review"
# Monday 2024-05-06 09:00 in Beijing.
START = datetime(2024, 5, 6, 1, 0, tzinfo=timezone.utc)

REVIEW_BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_web_review"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="web_review" name="材料审核" isExecutable="true">
    <bpmn:startEvent id="start" name="提交材料"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="社区审核材料" camunda:candidateGroups="clerk"
        camunda:dueDate="P2D" camunda:formKey="{REVIEW_FORM}">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end" name="审核完毕"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode("utf-8")


class ReviewForm:
    """A form as `workflows` registers them: `load` validates, `json_schema` describes."""

    def load(self, data, context=None):
        problems, clean = {}, dict(data)
        if not str(data.get("opinion") or "").strip():
            problems["opinion"] = ["请填写审核意见"]
        score = data.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            problems["score"] = ["评分必须是 1 到 5 的整数"]
        if not isinstance(data.get("passed"), bool):
            problems["passed"] = ["必须是布尔值"]
        if not isinstance(data.get("checks", []), list):
            problems["checks"] = ["必须是列表"]
        if problems:
            raise ValidationFailed("表单填写有误", fields=problems)
        return clean

    def json_schema(self):
        return {
            "type": "object",
            "required": ["opinion", "score"],
            "properties": {
                "opinion": {"type": "string", "title": "审核意见", "x-widget": "textarea",
                            "description": "写明材料是否齐全"},
                "score": {"type": "integer", "title": "评分", "minimum": 1, "maximum": 5},
                "passed": {"type": "boolean", "title": "审核通过"},
                "checks": {"type": "array", "title": "核查项", "x-widget": "checklist",
                           "items": {"type": "string", "enum": ["license", "contract"],
                                     "x-enum-titles": ["营业执照", "服务合同"]}},
                "visit_date": {"type": "string", "format": "date", "title": "走访日期"},
            },
        }


class Client:
    """Flask's test client plus what a browser does: keep the CSRF token from the last page."""

    def __init__(self, app):
        self.http = app.test_client()
        self.token = None

    def get(self, url, **kwargs):
        response = self.http.get(url, **kwargs)
        self._remember(response)
        return response

    def post(self, url, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            if self.token is None:  # as a browser would have: the token of a page of ours
                self.get("/login", follow_redirects=True)
            data.setdefault("csrf_token", self.token)
        response = self.http.post(url, data=data, **kwargs)
        if response.status_code in (301, 302, 303):
            self.token = None  # signing in or out changes it; fetch afresh before the next post
        self._remember(response)
        return response

    def _remember(self, response):
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
        if found:
            self.token = found.group(1)

    def login(self, username, password="demo"):
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def app(tmp_path, clock):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
                      "CLOCK": clock, "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    eng = app.extensions["linkage"]
    upgrade_schema(eng.db)
    load_demo(app)
    eng.forms.register(REVIEW_FORM, ReviewForm())
    eng.deploy([("camunda_reminder.bpmn", (FIXTURES / "camunda_reminder.bpmn").read_bytes()),
                ("web_review.bpmn", REVIEW_BPMN)], SYSTEM)
    yield app
    eng.db.dispose()


@pytest.fixture
def engine(app):
    return app.extensions["linkage"]


@pytest.fixture
def principal_of(engine):
    """The engine's `Principal` for a user name, as a signed-in page would build it."""
    def principal(username):
        with engine.db.unit_of_work(write=False) as session:
            user = session.scalar(select(User).where(User.username == username))
            return principal_for(session, user)
    return principal


@pytest.fixture
def clerk(principal_of):
    return principal_of("clerk")


@pytest.fixture
def review_case(engine, clerk):
    """A running `web_review` case in 凤台花园 (C0001) with its ready task `review`."""
    case = engine.start_case(clerk, "web_review", {"title": "凤台花园维修资金材料"}, "C0001")
    with engine.db.unit_of_work(write=False) as session:
        task = queries.case_tasks(session, case.id)[0]
    return case, task


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def client_factory(app):
    return lambda: Client(app)
