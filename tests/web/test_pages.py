"""The server-rendered pages, through Flask's test client."""
import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from engine import queries
from engine.models import Event, TaskRow
from engine.users import add_user
from web.demo import ensure_org
from web.pages.display import due_state


def text(response):
    return html.unescape(response.get_data(as_text=True))


def events_of(engine, case_id, kind):
    with engine.db.unit_of_work(write=False) as session:
        return session.scalars(select(Event).where(Event.case_id == case_id, Event.kind == kind)).all()


def task_row(engine, task_id):
    with engine.db.unit_of_work(write=False) as session:
        return session.get(TaskRow, task_id)


def add_other_clerk(engine):
    with engine.db.unit_of_work() as session:
        add_user(session, "clerk2", "secret2", "clerk", "140502001002", now=engine.clock.now(),
                 display_name="钟家庄社区 陈专干")


# -- signing in ---------------------------------------------------------------------------
def test_login_page_is_chinese_and_mobile_ready(client):
    page = client.get("/login")
    body = text(page)
    assert page.status_code == 200
    assert 'name="viewport"' in body and 'lang="zh-CN"' in body
    assert 'name="username"' in body and 'name="password"' in body and 'name="csrf_token"' in body


def test_anonymous_user_is_sent_to_login_with_next(client, review_case):
    case, task = review_case
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query)["next"] == [f"/cases/{case.id}"]
    # A form sent after the session ended goes back to the form's page after signing in.
    response = client.post(f"/tasks/{task.id}/claim", {"next": "/?mine=1"})
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query)["next"] == ["/?mine=1"]


def test_login_ok_follows_next_and_shows_user(client, review_case):
    case, _ = review_case
    client.get("/login")
    response = client.post("/login", {"username": "clerk", "password": "demo",
                                      "next": f"/cases/{case.id}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.id}"
    body = text(client.get("/"))
    assert "凤台社区 张专干" in body and "社区" in body and "退出" in body
    assert "监管看板" not in body  # clerks are not supervisors


def test_login_refuses_foreign_next(client):
    client.get("/login")
    response = client.post("/login", {"username": "clerk", "password": "demo",
                                      "next": "//evil.example.com/x"})
    assert response.headers["Location"] == "/"


def test_login_failure_keeps_username(client):
    client.get("/login")
    response = client.post("/login", {"username": "clerk", "password": "wrong"})
    body = text(response)
    assert response.status_code == 200
    assert "用户名或密码错误" in body
    assert 'value="clerk"' in body
    assert client.get("/").status_code == 302  # still signed out


def test_login_throttled_after_five_failures(client, clock):
    client.get("/login")
    for _ in range(5):
        assert client.post("/login", {"username": "clerk", "password": "nope"}).status_code == 200
    refused = client.post("/login", {"username": "clerk", "password": "demo"})
    assert refused.status_code == 429
    assert "登录失败次数过多" in text(refused)
    assert int(refused.headers["Retry-After"]) > 0
    # Another user from the same address is not affected.
    assert client.post("/login", {"username": "street", "password": "demo"}).status_code == 302
    client.post("/logout")
    clock.advance(minutes=16)
    assert client.post("/login", {"username": "clerk", "password": "demo"}).status_code == 302


def test_logout(client):
    client.login("clerk")
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


# -- CSRF -----------------------------------------------------------------------------------
def test_post_without_csrf_token_is_refused(client):
    client.get("/login")
    response = client.post("/login", {"username": "clerk", "password": "demo"}, csrf=False)
    assert response.status_code == 403
    assert "CSRF" in text(response)


def test_claim_with_wrong_csrf_token_is_refused(client, engine, review_case):
    _, task = review_case
    client.login("clerk")
    response = client.post(f"/tasks/{task.id}/claim", {"csrf_token": "forged"})
    assert response.status_code == 403
    assert task_row(engine, task.id).assignee is None


# -- inbox ----------------------------------------------------------------------------------
def test_inbox_lists_task_and_marks_it_overdue(client, clock, review_case):
    case, task = review_case
    client.login("clerk")
    body = text(client.get("/"))
    assert "社区审核材料" in body and "凤台花园维修资金材料" in body and "凤台花园" in body
    assert f"/tasks/{task.id}" in body and f"/cases/{case.id}" in body
    assert '<span class="badge due-soon">3 日内到期</span>' in body and "due-overdue" not in body
    clock.advance(days=2, hours=-1)  # 08:00 on the day it is due
    assert '<span class="badge due-today">今日到期</span>' in text(client.get("/"))
    clock.advance(days=1)
    body = text(client.get("/"))
    assert '<span class="badge due-overdue">逾期</span>' in body and "已超 23 小时" in body


def test_due_states_in_words(clock):
    now = clock.now()  # 09:00 in Beijing
    assert due_state(None, now) is None
    assert due_state(now - timedelta(minutes=1), now).label == "逾期"
    assert due_state(now + timedelta(hours=10), now).label == "今日到期"  # 19:00 the same day
    assert due_state(now + timedelta(hours=16), now).label == "3 日内到期"  # 01:00 the next day
    assert due_state(now + timedelta(days=3), now).label == "3 日内到期"
    assert due_state(now + timedelta(days=4), now) is None


def test_inbox_overdue_first_and_paged(client, clock, engine, clerk, review_case):
    clock.advance(days=3)  # the first case's task is now overdue
    for n in range(21):
        engine.start_case(clerk, "web_review", {"title": f"后来的案件{n:02d}"}, "C0001")
    client.login("clerk")
    first = text(client.get("/"))
    rows = re.findall(r'<tr class="row-(\w+)"', first)
    assert rows[0] == "overdue" and len(rows) == 20
    assert "第 1 / 2 页" in first
    second = text(client.get("/?page=2"))
    assert len(re.findall(r"<tr class=", second)) == 2


def test_inbox_filters_by_process(client, engine, clerk, review_case, clock):
    client.login("clerk")
    assert "社区审核材料" in text(client.get("/?process=web_review"))
    assert "社区审核材料" not in text(client.get("/?process=await_reply"))


def test_claim_and_unclaim_from_inbox(client, engine, review_case):
    _, task = review_case
    client.login("clerk")
    assert "社区审核材料" not in text(client.get("/?mine=1"))
    response = client.post(f"/tasks/{task.id}/claim", {"next": "/?mine=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/?mine=1"
    assert task_row(engine, task.id).assignee == "clerk"
    body = text(client.get("/?mine=1"))
    assert "社区审核材料" in body and "已认领任务" in body and "退回" in body
    client.post(f"/tasks/{task.id}/unclaim", {"next": "/"})
    assert task_row(engine, task.id).assignee is None


def test_claim_conflict_is_a_flash_message(client, engine, clerk, review_case):
    _, task = review_case
    client.login("clerk")
    client.get("/")
    engine.complete_task(clerk, task.id, {"opinion": "好", "score": 5, "passed": True})
    response = client.post(f"/tasks/{task.id}/claim", {"next": "/"})  # a stale inbox
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "任务已经完成或已取消" in text(client.get("/"))


def test_claiming_a_task_someone_else_holds_is_refused(client, engine, review_case):
    _, task = review_case
    with engine.db.unit_of_work() as session:
        session.get(TaskRow, task.id).assignee = "someone"
    client.login("clerk")
    response = client.post(f"/tasks/{task.id}/claim", {"next": "/"})  # a lost race: 409
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "任务已被 someone 认领" in text(client.get("/"))
    assert task_row(engine, task.id).assignee == "someone"


# -- task form ------------------------------------------------------------------------------
def test_task_form_rendered_from_schema(client, review_case):
    _, task = review_case
    client.login("clerk")
    body = text(client.get(f"/tasks/{task.id}"))
    assert "审核意见" in body and "写明材料是否齐全" in body
    assert re.search(r'<textarea id="[^"]+" name="opinion"', body)
    assert re.search(r'name="score" type="number"[^>]*step="1"', body)
    assert 'name="passed" value="true"' in body
    assert 'name="checks" value="license"' in body and "营业执照" in body and "服务合同" in body
    assert 'name="visit_date" type="date"' in body


def test_task_form_refusal_keeps_input(client, engine, review_case):
    _, task = review_case
    client.login("clerk")
    response = client.post(f"/tasks/{task.id}", {"opinion": "材料齐全<script>", "score": "9",
                                                 "checks": "contract", "visit_date": "2024-05-07"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "评分必须是 1 到 5 的整数" in body
    assert "材料齐全&lt;script&gt;</textarea>" in body  # kept, and escaped
    assert re.search(r'name="score" type="number" value="9"', body)
    assert 'name="checks" value="contract" checked' in body
    assert 'name="checks" value="license" checked' not in body
    assert 'value="2024-05-07"' in body
    assert task_row(engine, task.id).state == "ready"


def test_task_form_type_errors_caught_before_the_engine(client, review_case):
    _, task = review_case
    client.login("clerk")
    response = client.post(f"/tasks/{task.id}", {"opinion": "好", "score": "四"})
    assert response.status_code == 422
    body = text(response)
    assert "请输入整数" in body and 'value="四"' in body


def test_completing_redirects_to_case_with_timeline(principal_of, client, engine, review_case):
    case, task = review_case
    client.login("clerk")
    response = client.post(f"/tasks/{task.id}", {"opinion": "材料齐全", "score": "4",
                                                 "passed": "true", "checks": "license",
                                                 "visit_date": "2024-05-07"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case.id}"
    body = text(client.get(response.headers["Location"]))
    assert "任务「社区审核材料」已办理" in body
    assert "完成" in body and "发起" in body and "办结" in body
    assert "已办结" in body
    assert '<th scope="row" title="score">评分</th><td>4</td>' in body  # keys named from the form
    with engine.db.unit_of_work(write=False) as session:
        data = queries.get_case(session, principal_of("clerk"), case.id).data
    assert data["score"] == 4 and data["passed"] is True and data["checks"] == ["license"]
    assert data["visit_date"] == "2024-05-07"
    # The task cannot be completed twice: a flash message, not an error page.
    again = client.post(f"/tasks/{task.id}", {"opinion": "再来", "score": "3"})
    assert again.status_code == 302
    assert "任务已经完成或已取消" in text(client.get(again.headers["Location"]))


def test_task_without_schema_takes_json(client, engine, clerk, clock):
    case = engine.start_case(clerk, "await_reply", {"title": "整改回复"}, "C0001")
    clock.advance(days=7, minutes=1)
    engine.tick()
    with engine.db.unit_of_work(write=False) as session:
        task = queries.case_tasks(session, case.id)[0]
    client.login("clerk")
    body = text(client.get(f"/tasks/{task.id}"))
    assert 'name="data"' in body and "JSON" in body
    bad = client.post(f"/tasks/{task.id}", {"data": "{not json"})
    assert bad.status_code == 422 and "不是有效的 JSON" in text(bad) and "{not json" in text(bad)
    array = client.post(f"/tasks/{task.id}", {"data": "[1, 2]"})
    assert array.status_code == 422 and "必须是 JSON 对象" in text(array)
    done = client.post(f"/tasks/{task.id}", {"data": '{"note": "已上报街道"}'})
    assert done.status_code == 302
    page = text(client.get(done.headers["Location"]))
    assert "定时触发" in page and "逾期上报街道" in page and "已上报街道" in page


def test_task_of_someone_else_cannot_be_completed(client, engine, review_case):
    _, task = review_case
    client.login("street")  # sees the task, but is not a candidate
    body = text(client.get(f"/tasks/{task.id}"))
    assert "不能办理" in body and 'name="opinion"' not in body
    response = client.post(f"/tasks/{task.id}", {"opinion": "越权", "score": "3"})
    assert response.status_code == 403 and "您不能办理此任务" in text(response)
    assert task_row(engine, task.id).state == "ready"


# -- case page ------------------------------------------------------------------------------
def test_case_page_shows_tasks_data_timers_and_diagram(client, engine, clerk, clock):
    case = engine.start_case(clerk, "await_reply", {"title": "整改通知", "整改项": "电梯维保"}, "C0001")
    client.login("clerk")
    body = text(client.get(f"/cases/{case.id}"))
    assert "整改通知" in body and "进行中" in body and "凤台花园" in body
    assert "整改项" in body and "电梯维保" in body
    assert "每日提醒" in body and "七日未回复" in body  # timers, with their Beijing due times
    assert "2024-05-07 09:00" in body and "2024-05-13 09:00" in body
    assert f'id="diagram" class="diagram" data-case="{case.id}"' in body
    xml = client.get(f"/cases/{case.id}/diagram.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b'<bpmn:process id="await_reply"' in xml.data


def test_case_page_names_people_and_choices_in_chinese(client, engine, clerk, review_case):
    case, task = review_case
    engine.complete_task(clerk, task.id, {"opinion": "材料齐全", "score": 4, "passed": True,
                                          "checks": ["license", "contract"]})
    client.login("clerk")
    body = text(client.get(f"/cases/{case.id}"))
    assert "营业执照、服务合同" in body and '"license"' not in body  # labels, not stored values
    assert "张专干（clerk）" in body  # who started it and who acted, as people know them
    assert "审核通过" in body and "是" in body


def test_diagram_state(client, engine, clerk, clock, review_case):
    case, task = review_case
    client.login("clerk")
    state = client.get(f"/cases/{case.id}/diagram-state.json").get_json()
    assert state == {"completed": [], "active": ["review"], "overdue": []}
    clock.advance(days=3)
    state = client.get(f"/cases/{case.id}/diagram-state.json").get_json()
    assert state["overdue"] == ["review"]
    engine.complete_task(clerk, task.id, {"opinion": "好", "score": 5, "passed": True})
    state = client.get(f"/cases/{case.id}/diagram-state.json").get_json()
    assert state == {"completed": ["review"], "active": [], "overdue": []}


def test_clerk_of_another_community_gets_404(client, engine, review_case):
    case, task = review_case
    add_other_clerk(engine)
    client.login("clerk2", "secret2")
    for url in (f"/cases/{case.id}", f"/tasks/{task.id}", f"/cases/{case.id}/diagram.bpmn",
                f"/cases/{case.id}/diagram-state.json"):
        response = client.get(url)
        assert response.status_code == 404, url
    assert "不存在" in text(client.get(f"/cases/{case.id}"))
    assert "社区审核材料" not in text(client.get("/"))
    assert client.post(f"/tasks/{task.id}/claim").status_code == 404
    assert task_row(engine, task.id).assignee is None


def test_unknown_ids_and_paths_are_chinese_404s(client):
    client.login("clerk")
    for url in ("/cases/nope", "/tasks/nope", "/no/such/page"):
        response = client.get(url)
        assert response.status_code == 404 and "页面不存在" in text(response), url
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_cases_list(client, review_case):
    case, _ = review_case
    client.login("clerk")
    body = text(client.get("/cases"))
    assert "凤台花园维修资金材料" in body and f"/cases/{case.id}" in body
    assert "凤台花园维修资金材料" not in text(client.get("/cases?status=completed"))


# -- supervisors' board ---------------------------------------------------------------------
def test_board_forbidden_for_clerk(client):
    client.login("clerk")
    response = client.get("/board")
    assert response.status_code == 403 and "只有街道、住建部门或管理员" in text(response)


def test_board_counts_for_street(client, engine, clerk, clock, review_case):
    engine.start_case(clerk, "web_review", {"title": "第二件"}, "C0002")
    clock.advance(days=1)
    engine.start_case(clerk, "web_review", {"title": "第三件"}, "C0001")  # due in 2 days
    clock.advance(days=1, hours=1)  # the first two are overdue, the third due tomorrow
    client.login("street")
    body = text(client.get("/board"))
    assert re.search(r'id="total-overdue">2<', body)
    assert re.search(r'id="total-soon">1<', body)
    by_process = body.split('id="by-process"')[1].split("</table>")[0]
    assert re.search(r"材料审核</td><td class=\"num\">2</td><td class=\"num\">1</td>", by_process)
    by_compound = body.split('id="by-compound"')[1].split("</table>")[0]
    assert re.search(r"凤台花园</td><td class=\"num\">1</td><td class=\"num\">1</td>", by_compound)
    assert re.search(r"书院小区</td><td class=\"num\">1</td><td class=\"num\">0</td>", by_compound)
    assert body.count('class="escalate"') == 2


def test_board_is_scoped(principal_of, client, app, engine, clock, review_case):
    """A task in another street counts for the district's bureau, not for this street."""
    with engine.db.unit_of_work() as session:
        ensure_org(session, "140502002", "东街街道", "street", "140502")
        ensure_org(session, "140502002001", "东街社区", "community", "140502002")
        ensure_org(session, "C0101", "东街小区", "compound", "140502002001")
    engine.start_case(principal_of("admin"), "web_review", {"title": "东街"}, "C0101")
    clock.advance(days=3)
    client.login("street")
    body = text(client.get("/board"))
    assert re.search(r'id="total-overdue">1<', body) and "东街小区" not in body
    client.post("/logout")
    client.login("bureau")
    body = text(client.get("/board"))
    assert re.search(r'id="total-overdue">2<', body) and "东街小区" in body


def test_escalate_from_board(client, engine, clock, review_case):
    case, task = review_case
    clock.advance(days=3)
    client.login("street")
    empty = client.post(f"/tasks/{task.id}/escalate", {"reason": "  ", "next": "/board"})
    assert empty.status_code == 302 and not events_of(engine, case.id, "escalated")
    response = client.post(f"/tasks/{task.id}/escalate", {"reason": "逾期未审核", "next": "/board"})
    assert response.status_code == 302 and response.headers["Location"] == "/board"
    assert "已上报上一级处理" in text(client.get("/board"))
    [event] = events_of(engine, case.id, "escalated")
    assert event.actor == "street" and event.detail["reason"] == "逾期未审核"
    assert "street" in task_row(engine, task.id).candidate_groups
    page = text(client.get(f"/cases/{case.id}"))
    assert "上报" in page and "逾期未审核" in page


def test_escalate_forbidden_for_clerk(client, engine, clock, review_case):
    case, task = review_case
    client.login("clerk")
    response = client.post(f"/tasks/{task.id}/escalate", {"reason": "试试"})
    assert response.status_code == 403
    assert not events_of(engine, case.id, "escalated")


def test_form_conversion_follows_the_schema():
    from werkzeug.datastructures import MultiDict

    from web.pages import forms
    schema = {"type": "object", "properties": {
        "area": {"type": "number", "title": "面积"},
        "grade": {"type": "integer", "enum": [1, 2, 3], "enumNames": ["一级", "二级", "三级"]},
        "rooms": {"type": "array", "items": {"type": "integer"}},
        "meet_at": {"type": "string", "format": "date-time"},
        "docs": {"type": "object", "x-widget": "checklist",
                 "properties": {"drawings": {"type": "boolean", "title": "竣工图"},
                                "keys": {"type": "boolean", "title": "钥匙"}}},
        "note": {"type": ["string", "null"]},
        "extra": {"type": "object"},
    }}
    fields = forms.fields_from_schema(schema)
    assert [f.widget for f in fields] == ["number", "select", "lines", "datetime", "checklist",
                                          "text", "json"]
    assert fields[1].options[1][:2] == ("2", "二级")
    data, errors = forms.convert(fields, MultiDict([
        ("area", "1,234.5"), ("grade", "2"), ("rooms", "101\n 102 \n"),
        ("meet_at", "2024-05-06T14:30"), ("docs", "keys"), ("note", ""), ("extra", '{"a": 1}')]))
    assert errors == {}
    assert data == {"area": 1234.5, "grade": 2, "rooms": [101, 102],
                    "meet_at": "2024-05-06T14:30:00+08:00",
                    "docs": {"drawings": False, "keys": True}, "extra": {"a": 1}}
    _, errors = forms.convert(fields, MultiDict([("area", "很多"), ("grade", "9"), ("rooms", "一")]))
    assert errors == {"area": ["请输入数字"], "grade": ["请从列表中选择"], "rooms": ["请输入整数"]}


def test_start_case_from_the_web(client, engine):
    client.login("clerk")
    picker = text(client.get("/cases/new"))
    assert '<option value="web_review">材料审核</option>' in picker
    form = text(client.get("/cases/new?process=web_review"))
    assert 'name="compound"' in form and "凤台花园（C0001）" in form and "钟家庄小区" not in form
    refused = client.post("/cases/new", {"process": "web_review", "compound": "C9999",
                                         "data": '{"title": "网页发起"}'})
    assert refused.status_code == 422
    body = text(refused)
    assert "未找到小区 C9999" in body and '{"title": "网页发起"}' in body
    response = client.post("/cases/new", {"process": "web_review", "compound": "C0001",
                                          "data": '{"title": "网页发起"}'})
    assert response.status_code == 302 and response.headers["Location"].startswith("/cases/")
    page = text(client.get(response.headers["Location"]))
    assert "已发起案件「网页发起」" in page and "社区审核材料" in page and "凤台花园" in page
    assert client.get("/cases/new?process=no_such_process").status_code == 404
