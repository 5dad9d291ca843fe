"""In-app notifications: the unread count API, marking read, and the badge in the page header."""
from datetime import datetime

import pytest
from sqlalchemy import select

from engine.calendar import CHINA_TZ
from engine.models import User
from tests.scheduler.conftest import issue_rectification


@pytest.fixture
def app(engine, database, clock):
    from web.app import create_app
    application = create_app({"TESTING": True, "DATABASE_URL": database.url, "CLOCK": clock,
                              "BASE_URL": "https://linkage.example.cn"})
    yield application
    application.extensions["linkage"].db.dispose()


def bearer(app, username):
    client = app.test_client()
    token = client.post("/api/v1/auth/token",
                        json={"username": username, "password": "pw-1234"}).get_json()["token"]
    return client, {"Authorization": f"Bearer {token}"}


def signed_in(app, username):
    """A browser session for `username` (the pages read the user id from the session)."""
    client = app.test_client()
    with app.extensions["linkage"].db.unit_of_work(write=False) as session:
        user = session.scalar(select(User).where(User.username == username))
    with client.session_transaction() as browser:
        browser["uid"], browser["username"] = user.id, username
    return client


def test_unread_count_mark_read_and_badge(app, clerk):
    engine = app.extensions["linkage"]
    case, task = issue_rectification(engine, clerk)
    engine.tick(datetime(2026, 3, 18, 9, tzinfo=CHINA_TZ))  # 3 working days before the deadline

    client, headers = bearer(app, "company")
    body = client.get("/api/v1/notifications", headers=headers).get_json()
    assert body["unread"] == 1 and body["total"] == 1
    (item,) = body["items"]
    assert item["read"] is False and item["task_id"] == task.id and item["case_id"] == case.id
    assert item["title"] == "【物业三方联动】待办提醒：提交整改报告（距办理期限还有3个工作日）"
    assert item["link"] == f"https://linkage.example.cn/tasks/{task.id}"

    page = signed_in(app, "company").get("/")
    assert page.status_code == 200
    assert 'data-unread="1"' in page.get_data(as_text=True)
    listing = signed_in(app, "company").get("/notifications").get_data(as_text=True)
    assert "提交整改报告" in listing and "全部标为已读" in listing

    # Somebody else's notification is not found, and they have none of their own.
    other, other_headers = bearer(app, "clerk")
    assert other.get("/api/v1/notifications", headers=other_headers).get_json()["unread"] == 0
    missing = other.post(f"/api/v1/notifications/{item['id']}/read", headers=other_headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/notifications?unread=maybe", headers=headers).status_code == 422

    answer = client.post(f"/api/v1/notifications/{item['id']}/read", headers=headers)
    assert answer.status_code == 200 and answer.get_json() == {"unread": 0}
    body = client.get("/api/v1/notifications?unread=true", headers=headers).get_json()
    assert body["total"] == 0 and body["unread"] == 0
    assert "data-unread" not in signed_in(app, "company").get("/").get_data(as_text=True)


def test_opening_a_notification_in_the_browser_marks_it_read_and_opens_the_task(app, clerk):
    engine = app.extensions["linkage"]
    _, task = issue_rectification(engine, clerk)
    engine.tick(datetime(2026, 3, 18, 9, tzinfo=CHINA_TZ))
    engine.tick(datetime(2026, 3, 22, 9, tzinfo=CHINA_TZ))
    browser = signed_in(app, "company")
    listing = browser.get("/notifications").get_data(as_text=True)
    assert 'data-unread="2"' in listing
    token = listing.split('name="csrf_token" value="')[1].split('"')[0]
    client, headers = bearer(app, "company")
    newest = client.get("/api/v1/notifications", headers=headers).get_json()["items"][0]
    opened = browser.post(f"/notifications/{newest['id']}/open", data={"csrf_token": token})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/tasks/{task.id}")
    assert client.get("/api/v1/notifications", headers=headers).get_json()["unread"] == 1
    browser.post("/notifications/read", data={"csrf_token": token})
    assert client.get("/api/v1/notifications", headers=headers).get_json()["unread"] == 0


def test_the_worker_loop_runs_the_same_sweep(app, clerk, caplog):
    """`linkage worker` (and the worker beside `linkage serve`) calls this every interval."""
    import logging
    from web.scheduler import sweep
    engine = app.extensions["linkage"]
    issue_rectification(engine, clerk)
    engine.clock.set(datetime(2026, 3, 18, 9, tzinfo=CHINA_TZ))
    caplog.set_level(logging.INFO, logger="linkage.scheduler")
    sweep(app)
    assert "fired 2 (reminder 1, timer 1)" in caplog.text  # the halfway BPMN timer, our reminder
    client, headers = bearer(app, "company")
    assert client.get("/api/v1/notifications", headers=headers).get_json()["unread"] == 1
    sweep(app)  # the next interval: nothing again
    assert caplog.text.count("fired") == 1
