"""Who may do what: every API endpoint and every page against every role, a supervisor of
another street, and no one signed in, with the status each must get.

The rules the table encodes (engine.access): scope is the organisation subtree; a property
company sees only the compounds its enterprise manages (`attributes["enterprise_code"]`), an
owners' committee only its compound; supervisors (admin, bureau, street) see everything in
their area but act on a task only as candidates, and alone escalate, reassign and extend; the
admin pages are the admin's. Anything outside a user's scope is 404, exactly as an id that does
not exist, so ids cannot be probed.

Objects: case A in 凤台花园 (C0001, community 凤台, managed by E0001), case FAR in 钟家庄小区
(C0003, the other community of the same street, managed by E0002) and case OTHER in 东街小区
(C0101, another street). A completeness test fails when an endpoint has no row here.

Protection removed to check these tests: with `engine.access.in_scope` answering True for
everyone, the object rows fail cell by cell (other_street, clerk, owners and company reach FAR
and OTHER).
"""
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import queries
from engine.models import User
from tests.security.conftest import (PASSWORD, ROLES_UNDER_TEST, START, Api, fresh_sqlite,
                                     make_app, principal, start, token_for)

ANON = "anonymous"
COLUMNS = [*ROLES_UNDER_TEST, ANON]
SUPERVISORS = {"admin", "bureau", "street"}
VISIBLE = {
    "a": {"admin", "bureau", "street", "clerk", "owners", "company"},
    "far": {"admin", "bureau", "street"},
    "other": {"admin", "bureau", "other_street"},
}
REPORTERS = {"admin", "bureau", "street", "clerk", "other_street"}

PUBLICITY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_pub"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="publicity" name="公示" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="post" name="张贴公示" camunda:candidateGroups="clerk">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="post" />
    <bpmn:sequenceFlow id="f2" sourceRef="post" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode("utf-8")


def expect(rule, anon):
    """A row of expected statuses: `rule(role)` for each role, `anon` for no one signed in."""
    return {**{role: rule(role) for role in ROLES_UNDER_TEST}, ANON: anon}


def seen(obj, yes, no=404):
    return lambda role: yes if role in VISIBLE[obj] else no


def acting(candidates, refused=403, ok=200, obj="a"):
    """Candidates act (ok); others who can see are refused; those who cannot see get 404."""
    return lambda role: ok if role in candidates else (refused if role in VISIBLE[obj] else 404)


def supervising(ok=200, obj="a"):
    """Supervisors act (ok), other roles are refused whatever the object, 404 outside scope."""
    return lambda role: (ok if role in VISIBLE[obj] else 404) if role in SUPERVISORS | {"other_street"} else 403


def only_admin(ok):
    return lambda role: ok if role == "admin" else 403


def everyone(ok):
    return lambda role: ok


@dataclass
class Row:
    name: str
    kind: str  # "api" or "page"
    method: str
    path: str  # formatted with the objects of `fresh(world, role)` or of the world
    expected: dict
    endpoint: str
    body: object = None
    fresh: object = None  # world, role -> dict of path values and body overrides
    files: object = None  # role -> multipart files (pages and deploy)
    extra: dict = field(default_factory=dict)


# -- fresh objects for the rows that change something ---------------------------------------
def new_task(world, role, process="sec_review"):
    case_id, task_id = start(world.eng, process)
    return {"case": case_id, "task": task_id}


def claimed_task(world, role):
    values = new_task(world, role)
    world.eng.claim_task(principal(world.eng, "clerk"), values["task"])
    return values


def escalation_task(world, role):
    return new_task(world, role, "sec_escalate")


def admin_token_id(world, role):
    token = token_for(world.eng, "admin")
    with world.eng.db.unit_of_work(write=False) as session:
        from engine.users import live_token
        token_id, _ = live_token(session, token)
    return {"token_id": token_id}


def fresh_token(world, role):
    return {"token": token_for(world.eng, role) if role != ANON else None}


def failed_delivery(world, role):
    from engine.scheduler_models import Delivery
    now = world.eng.clock.now()
    with world.eng.db.unit_of_work() as session:
        row = Delivery(channel="email", recipient="x@example.com", username="clerk", subject="提醒",
                       status="failed", attempts=3, next_attempt_at=now, created_at=now)
        for name, value in (("body", "正文"), ("payload", {}), ("last_error", "refused")):
            if hasattr(Delivery, name):
                setattr(row, name, value)
        session.add(row)
        session.flush()
        return {"delivery": row.id}


def clerk_notification(world, role):
    from engine.scheduler_models import Notification
    with world.eng.db.unit_of_work() as session:
        row = Notification(username="clerk", title="提醒", body="请办理", link="/",
                           created_at=world.eng.clock.now())
        session.add(row)
        session.flush()
        return {"notification": row.id}


def bpmn_upload(role):
    content = PUBLICITY.replace(b'name="\xe5\x85\xac\xe7\xa4\xba"', f'name="公示{role}"'.encode())
    return {"file": (io.BytesIO(content), f"{role}.bpmn")}


def new_user_form(world, role):
    return {"form": {"username": f"u_{role}_{uuid.uuid4().hex[:6]}", "display_name": "新用户",
                     "role": "clerk", "org": "140502001001", "password": "long-enough-1"}}


def api_rows():
    def a(name, method, path, expected, endpoint, **kw):
        return Row(name, "api", method, "/api/v1" + path, expected, "api." + endpoint, **kw)

    later = (START + timedelta(days=30)).isoformat()
    rows = [
        a("openapi", "GET", "/openapi.json", expect(everyone(200), 200), "openapi"),
        a("token", "POST", "/auth/token", expect(everyone(200), 401), "token",
          body=lambda role, _: {"username": role if role != ANON else "nobody", "password": PASSWORD}),
        a("token revoke own", "DELETE", "/auth/token", expect(everyone(204), 401), "revoke_current_token",
          fresh=fresh_token),
        a("token list", "GET", "/auth/tokens", expect(everyone(200), 401), "tokens_list"),
        a("token revoke admin's", "DELETE", "/auth/tokens/{token_id}",
          expect(lambda role: 204 if role == "admin" else 404, 401), "revoke_a_token", fresh=admin_token_id),
        a("processes", "GET", "/processes", expect(everyone(200), 401), "list_processes"),
        a("process", "GET", "/processes/sec_review", expect(everyone(200), 401), "get_process"),
        a("deploy", "POST", "/processes", expect(only_admin(201), 401), "deploy_process", files=bpmn_upload),
        a("start in C0001", "POST", "/cases", expect(lambda r: 201 if r in VISIBLE["a"] else 403, 401),
          "start_case", body={"process_id": "sec_review", "compound": "C0001"}),
        a("start in C0101", "POST", "/cases", expect(lambda r: 201 if r in VISIBLE["other"] else 403, 401),
          "start_case", body={"process_id": "sec_review", "compound": "C0101"}),
        a("cases", "GET", "/cases", expect(everyone(200), 401), "list_cases"),
        a("cancel", "POST", "/cases/{case}/cancel",
          expect(acting(SUPERVISORS | {"clerk"}), 401), "cancel_case", body={"reason": "重复"}, fresh=new_task),
        a("tasks", "GET", "/tasks", expect(everyone(200), 401), "list_tasks"),
        a("claim", "POST", "/tasks/{task}/claim", expect(acting({"admin", "clerk"}), 401), "claim_task",
          fresh=new_task),
        a("unclaim", "POST", "/tasks/{task}/unclaim", expect(acting(SUPERVISORS | {"clerk"}), 401),
          "unclaim_task", fresh=claimed_task),
        a("complete", "POST", "/tasks/{task}/complete", expect(acting({"admin", "clerk"}), 401),
          "complete_task", body={"data": {"opinion": "同意"}}, fresh=new_task),
        a("escalate", "POST", "/tasks/{task}/escalate", expect(supervising(), 401), "escalate_task",
          body={"reason": "逾期未办理"}, fresh=escalation_task),
        a("reassign", "POST", "/tasks/{task}/reassign", expect(supervising(), 401), "reassign_task",
          body={"username": "clerk3", "reason": "人手调整"}, fresh=new_task),
        a("extend", "POST", "/tasks/{task}/extend", expect(supervising(), 401), "extend_deadline",
          body={"due_at": later, "reason": "材料补充"}, fresh=new_task),
        a("message", "POST", "/messages", expect(seen("a", 200), 401), "messages",
          body=lambda role, v: {"name": "company_reply", "case_id": v["case"]}, fresh=new_task),
        a("escalate message", "POST", "/messages", expect(supervising(), 401), "messages",
          body=lambda role, v: {"name": "escalate", "case_id": v["case"]}, fresh=escalation_task),
        a("notifications", "GET", "/notifications", expect(everyone(200), 401), "list_notifications"),
        a("notifications read", "POST", "/notifications/read", expect(everyone(200), 401),
          "read_all_notifications"),
        a("clerk's notification", "POST", "/notifications/{notification}/read",
          expect(lambda r: 200 if r == "clerk" else 404, 401), "read_notification", fresh=clerk_notification),
        a("deliveries", "GET", "/deliveries", expect(only_admin(200), 401), "list_deliveries"),
        a("retry delivery", "POST", "/deliveries/{delivery}/retry", expect(only_admin(200), 401),
          "retry_delivery", fresh=failed_delivery),
    ]
    for kind in ("coverage", "credit", "cases"):
        rows.append(a(f"report {kind}", "GET", f"/reports/{kind}",
                      expect(lambda r: 200 if r in REPORTERS else 403, 401), f"report_{kind}"))
    for obj in ("a", "far", "other"):
        rows += [
            a(f"case {obj}", "GET", f"/cases/{{case_{obj}}}", expect(seen(obj, 200), 401), "get_case"),
            a(f"events {obj}", "GET", f"/cases/{{case_{obj}}}/events", expect(seen(obj, 200), 401), "case_events"),
            a(f"task {obj}", "GET", f"/tasks/{{task_{obj}}}", expect(seen(obj, 200), 401), "get_task"),
            a(f"documents {obj}", "GET", f"/cases/{{case_{obj}}}/documents", expect(seen(obj, 200), 401),
              "list_case_documents"),
        ]
    rows.append(a("publicity pdf", "GET", "/cases/{case_pub}/documents/publicity_notice.pdf",
                  expect(seen("a", 200), 401), "get_case_document"))
    return rows


def page_rows():
    def p(name, method, path, expected, endpoint, **kw):
        return Row(name, "page", method, path, expected, "pages." + endpoint, **kw)

    rows = [
        p("login page", "GET", "/login", expect(everyone(302), 200), "login"),
        p("sign in", "POST", "/login", expect(everyone(302), 200), "login",
          body=lambda role, _: {"username": role if role != ANON else "nobody", "password": PASSWORD},
          extra={"fresh_client": True}),
        p("sign out", "POST", "/logout", expect(everyone(302), 302), "logout", extra={"fresh_client": True}),
        p("language", "POST", "/language", expect(everyone(302), 302), "set_language",
          body={"lang": "zh"}, extra={"fresh_client": True}),
        p("inbox", "GET", "/", expect(everyone(200), 302), "inbox"),
        p("cases", "GET", "/cases", expect(everyone(200), 302), "cases"),
        p("start page", "GET", "/cases/new?process=sec_review", expect(everyone(200), 302), "start_case"),
        p("start in C0001", "POST", "/cases/new?process=sec_review",
          expect(lambda r: 302 if r in VISIBLE["a"] else 403, 302), "start_case", body={"compound": "C0001"}),
        p("complete", "POST", "/tasks/{task}", expect(acting({"admin", "clerk"}, ok=302), 302), "task",
          body={}, fresh=new_task),
        p("claim", "POST", "/tasks/{task}/claim", expect(acting({"admin", "clerk"}, ok=302), 302), "claim",
          fresh=new_task),
        p("unclaim", "POST", "/tasks/{task}/unclaim", expect(acting(SUPERVISORS | {"clerk"}, ok=302), 302),
          "unclaim", fresh=claimed_task),
        p("escalate", "POST", "/tasks/{task}/escalate", expect(supervising(302), 302), "escalate",
          body={"reason": "逾期未办理"}, fresh=escalation_task),
        p("reassign", "POST", "/tasks/{task}/reassign", expect(supervising(302), 302), "reassign",
          body={"username": "clerk3", "reason": "人手调整"}, fresh=new_task),
        p("extend", "POST", "/tasks/{task}/extend", expect(supervising(302), 302), "extend",
          body={"due": "2026-04-30", "reason": "材料补充"}, fresh=new_task),
        p("board", "GET", "/board", expect(lambda r: 200 if r in SUPERVISORS | {"other_street"} else 403, 302),
          "board"),
        p("admin", "GET", "/admin", expect(only_admin(302), 302), "admin_home"),
        p("admin users", "GET", "/admin/users", expect(only_admin(200), 302), "admin_users"),
        p("admin add user", "POST", "/admin/users", expect(only_admin(302), 302), "admin_users",
          fresh=new_user_form),
        p("admin update user", "POST", "/admin/users/{clerk3_id}", expect(only_admin(302), 302),
          "admin_user_update", body={"action": "activate"}),
        p("admin orgs", "GET", "/admin/orgs", expect(only_admin(200), 302), "admin_orgs"),
        p("admin add org", "POST", "/admin/orgs", expect(lambda r: {302, 422} if r == "admin" else 403, 302),
          "admin_orgs", body={"code": "C0999", "name": "新小区", "kind": "compound", "parent": "140502001001"}),
        p("admin update org", "POST", "/admin/orgs/C0002",
          expect(lambda r: {302, 422} if r == "admin" else 403, 302), "admin_org_update",
          body={"name": "书院小区", "enterprise_code": "E0001", "management_type": "enterprise"}),
        p("admin processes", "GET", "/admin/processes", expect(only_admin(200), 302), "admin_processes"),
        p("admin deploy", "POST", "/admin/processes", expect(lambda r: {200, 302, 422} if r == "admin" else 403, 302),
          "admin_processes", files=bpmn_upload),
        p("notifications", "GET", "/notifications", expect(everyone(200), 302), "notifications_page"),
        p("notifications read", "POST", "/notifications/read", expect(everyone(302), 302),
          "read_all_notifications"),
        p("open clerk's notification", "POST", "/notifications/{notification}/open",
          expect(lambda r: 302 if r == "clerk" else 404, 302), "open_notification", fresh=clerk_notification),
        p("reports", "GET", "/reports", expect(lambda r: 200 if r in REPORTERS else 403, 302), "reports"),
        p("report xlsx", "GET", "/reports/coverage.xlsx", expect(lambda r: 200 if r in REPORTERS else 403, 302),
          "report_xlsx"),
        p("static", "GET", "/static/css/app.css", expect(everyone(200), 200), "static"),
        p("publicity pdf", "GET", "/cases/{case_pub}/documents/publicity_notice.pdf",
          expect(seen("a", 200), 302), "case_pdf"),
        p("uploaded document", "GET", "/cases/{case_a}/documents/{doc_a}", expect(seen("a", 200), 302),
          "case_document"),
    ]
    for obj in ("a", "far", "other"):
        rows += [
            p(f"task page {obj}", "GET", f"/tasks/{{task_{obj}}}", expect(seen(obj, 200), 302), "task"),
            p(f"case page {obj}", "GET", f"/cases/{{case_{obj}}}", expect(seen(obj, 200), 302), "case_page"),
            p(f"diagram {obj}", "GET", f"/cases/{{case_{obj}}}/diagram.bpmn", expect(seen(obj, 200), 302),
              "case_diagram"),
            p(f"diagram state {obj}", "GET", f"/cases/{{case_{obj}}}/diagram-state.json",
              expect(seen(obj, 200), 302), "case_diagram_state"),
        ]
    return rows


ROWS = api_rows() + page_rows()


# -- the world and its signed-in clients ----------------------------------------------------
class World:
    def __init__(self, app):
        self.app, self.eng = app, app.extensions["linkage"]
        self.tokens = {role: token_for(self.eng, role) for role in ROLES_UNDER_TEST}
        self.pages = {role: self.signed_in(role) for role in ROLES_UNDER_TEST}
        self.pages[ANON] = self.signed_in(None)
        self.values = self.objects()

    def signed_in(self, role):
        """A browser signed in as `role` (None: no one), holding its CSRF token. The session is
        set as the login page sets it (the login page itself is a row of the matrix)."""
        client = self.app.test_client()
        if role is not None:
            with self.eng.db.unit_of_work(write=False) as session:
                user_id = session.scalar(select(User.id).where(User.username == role))
            with client.session_transaction() as cookie:
                cookie["uid"], cookie["username"] = user_id, role
        page = client.get("/login" if role is None else "/").get_data(as_text=True)
        client.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        return client

    def objects(self):
        from web.pages import documents
        eng = self.eng
        values = {}
        for obj, compound, starter in (("a", "C0001", "clerk"), ("far", "C0003", "street"),
                                       ("other", "C0101", "other_street")):
            values[f"case_{obj}"], values[f"task_{obj}"] = start(eng, compound=compound, username=starter)
        eng.deploy([("publicity.bpmn", PUBLICITY)], principal(eng, "admin"))
        values["case_pub"], _ = start(eng, "publicity", data={"title": "公示", "content": "维修资金使用公示",
                                                               "posted_on": "2026-03-02"})
        with eng.db.unit_of_work(write=False) as db:
            task_a = queries.get_task(db, principal(eng, "admin"), values["task_a"])
        upload = documents.Upload("会议纪要.pdf", "application/pdf", b"%PDF-1.4 minutes")
        with self.app.test_request_context(), eng.db.unit_of_work() as session:
            [doc] = documents.store(session, [upload], values["case_a"], task_a, principal(eng, "clerk"),
                                    eng.clock.now())
            values["doc_a"] = doc.id
            values["clerk3_id"] = session.scalar(select(User.id).where(User.username == "clerk3"))
        return values


@pytest.fixture(scope="module")
def matrix_world(sqlite_template, tmp_path_factory):
    from engine.clock import ManualClock
    folder = tmp_path_factory.mktemp("matrix")
    app = make_app(fresh_sqlite(sqlite_template, folder), ManualClock(START), folder)
    world = World(app)
    yield world
    world.eng.db.dispose()


def call(world, row, role):
    values = dict(world.values)
    if row.fresh is not None:
        values.update(row.fresh(world, role) or {})
    body = row.body(role, values) if callable(row.body) else row.body
    body = values.pop("form", body)
    path = row.path.format(**values)
    if row.kind == "api":
        token = values["token"] if "token" in values else world.tokens.get(role)
        client = Api(world.app, token).client
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if row.files is not None:
            return client.open(path, method=row.method, data=row.files(role), headers=headers,
                               content_type="multipart/form-data")
        return client.open(path, method=row.method, json=body, headers=headers)
    client = world.signed_in(role if role != ANON else None) if row.extra.get("fresh_client") \
        else world.pages[role]
    if row.method == "GET":
        return client.get(path)
    data = dict(body or {})
    data["csrf_token"] = client.csrf
    if row.files is not None:
        data.update(row.files(role))
        return client.post(path, data=data, content_type="multipart/form-data")
    return client.post(path, data=data)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.kind} {r.name}" for r in ROWS])
def test_authorization_matrix(matrix_world, row):
    wrong = {}
    for role in COLUMNS:
        response = call(matrix_world, row, role)
        expected = row.expected[role]
        allowed = expected if isinstance(expected, set) else {expected}
        if response.status_code not in allowed:
            wrong[role] = (response.status_code, expected, response.get_data(as_text=True)[:160])
        if row.kind == "page" and response.status_code == 302 and role == ANON and row.method == "GET":
            assert "/login" in response.headers["Location"]
        response.close()
    assert not wrong, f"{row.method} {row.path}: " + "; ".join(
        f"{role} got {got}, expected {want} ({text!r})" for role, (got, want, text) in wrong.items())


def test_every_endpoint_has_a_row(matrix_world):
    covered = {(r.endpoint, r.method) for r in ROWS}
    rules = [(rule, method) for rule in matrix_world.app.url_map.iter_rules()
             for method in rule.methods - {"HEAD", "OPTIONS"}]
    # two endpoints on one URL (the app's and the pages' static files): one answers for both
    answered = {(rule.rule, method) for rule, method in rules if (rule.endpoint, method) in covered}
    missing = sorted(f"{method} {rule.rule} ({rule.endpoint})" for rule, method in rules
                     if (rule.rule, method) not in answered)
    assert not missing, "endpoints without an authorization row: " + ", ".join(missing)


def test_lists_show_only_what_is_in_scope(matrix_world):
    values = matrix_world.values
    for role in ROLES_UNDER_TEST:
        api = Api(matrix_world.app, matrix_world.tokens[role])
        _, cases = api.call("GET", "/cases?per_page=200")
        _, tasks = api.call("GET", "/tasks?per_page=200")
        case_ids = {c["id"] for c in cases["items"]}
        task_ids = {t["id"] for t in tasks["items"]}
        for obj in ("a", "far", "other"):
            assert (values[f"case_{obj}"] in case_ids) == (role in VISIBLE[obj]), (role, obj)
            assert (values[f"task_{obj}"] in task_ids) == (role in VISIBLE[obj]), (role, obj)


def test_an_id_out_of_scope_answers_exactly_like_an_id_that_does_not_exist(matrix_world):
    values = matrix_world.values
    nowhere = str(uuid.uuid4())
    for role in ("clerk", "owners", "company", "other_street"):
        api = Api(matrix_world.app, matrix_world.tokens[role])
        hidden = next(obj for obj in ("other", "far") if role not in VISIBLE[obj])
        for template in ("/cases/{}", "/cases/{}/events", "/cases/{}/documents", "/tasks/{}",
                         "/tasks/{}/claim", "/tasks/{}/complete", "/cases/{}/cancel"):
            method = "POST" if template.endswith(("claim", "complete", "cancel")) else "GET"
            body = {"data": {}} if template.endswith("complete") else None
            target = values[f"task_{hidden}"] if template.startswith("/tasks") else values[f"case_{hidden}"]
            real = api.call(method, template.format(target), body)
            fake = api.call(method, template.format(nowhere), body)
            assert real == fake and real[0] == 404, (role, template, real, fake)
