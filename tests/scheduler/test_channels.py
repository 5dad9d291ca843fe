"""Acceptance: reminders reach a real SMTP server and a real webhook receiver on loopback, each
once, in Chinese, with a link to the task; a failing channel never holds up another; failed
deliveries are retried with backoff, then kept as failed for administrators, and resent once
after a fix."""
import json
from datetime import datetime, timedelta

from sqlalchemy import select

from engine.calendar import CHINA_TZ
from engine.scheduler_models import Delivery
from tests.scheduler.conftest import BASE_URL, channels, events, issue_rectification


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def company_task(engine, clerk):
    """The order is issued on Monday 2 March: the report is due on Monday 23 March, end of day."""
    case, task = issue_rectification(engine, clerk)
    assert task.due_at == beijing(2026, 3, 23, 23, 59, 59)
    return case, task


def reminder_events(engine, case_id):
    return [e.detail for e in events(engine, case_id, "reminder_sent")]


def test_each_reminder_arrives_once_by_email_and_webhook_in_chinese_with_link(
        engine, clerk, smtp_server, webhook):
    channels(engine, smtp_server, webhook)
    case, task = company_task(engine, clerk)
    link = f"{BASE_URL}/tasks/{task.id}"
    expected = [  # (moment, what the reminder says)
        (beijing(2026, 3, 18, 9), "距办理期限还有3个工作日"),
        (beijing(2026, 3, 22, 9), "距办理期限还有1天"),
        (beijing(2026, 3, 23, 9), "今日到期"),
    ]
    engine.tick(beijing(2026, 3, 17, 18))
    assert smtp_server.messages == [] and webhook.bodies == []
    for number, (moment, state) in enumerate(expected, 1):
        _, fired = engine.tick(moment)
        assert [(f["kind"], f["element"]) for f in fired] == [("reminder", "submit_report")]
        engine.tick(moment + timedelta(minutes=5))  # a second sweep sends nothing again
        assert len(smtp_server.messages) == number and len(webhook.bodies) == number
        recipients, message = smtp_server.messages[-1]
        assert recipients == ["liu@anju-wy.example.cn"]  # 陈主管 has no address; 周经理 is elsewhere
        assert message["Subject"] == f"【物业三方联动】待办提醒：提交整改报告（{state}）"
        assert message["From"] == "linkage@zjj.example.cn"
        text = message.get_content()
        assert "安居物业 刘经理：" in text and "办理期限：2026年3月23日 23:59" in text
        assert f"办理链接：{link}" in text and f"当前状态：{state}" in text
        body = webhook.bodies[-1]
        assert body["msgtype"] == "text" and set(body) == {"msgtype", "text"}
        content = body["text"]["content"]
        assert "安居物业 刘经理、安居物业 陈主管：" in content
        assert link in content and state in content and "凤台花园" in content

    # The deadline passes: the process escalates by its own timer, the task is gone, and no
    # further reminder of it is sent.
    for day in range(24, 31):
        engine.tick(beijing(2026, 3, day, 10))
    assert len(smtp_server.messages) == 3 and len(webhook.bodies) == 3

    events = reminder_events(engine, case.id)
    by_channel = {}
    for detail in events:
        by_channel.setdefault(detail["channel"], []).append(detail["recipient"])
    assert by_channel["email"] == ["liu@anju-wy.example.cn"] * 3
    assert sorted(by_channel["inapp"]) == ["company"] * 3 + ["company2"] * 3
    webhook_base = webhook.url.split("?")[0]
    assert by_channel["webhook"] == [webhook_base] * 3  # the robot's secret key is not recorded
    assert [d["reminder"] for d in events if d["channel"] == "email"] == ["before", "before", "due"]
    assert all(d["task_id"] == task.id for d in events)


def test_a_dead_mail_server_does_not_hold_up_the_webhook_and_fails_visibly(
        engine, clerk, smtp_server, webhook, database, clock):
    smtp_server.refuse = "451 4.3.0 邮件系统暂时不可用"
    channels(engine, smtp_server, webhook)  # three attempts, 60 s backoff doubling
    case, task = company_task(engine, clerk)
    first = beijing(2026, 3, 18, 9)
    engine.tick(first)
    assert len(webhook.bodies) == 1 and smtp_server.messages == []

    def email_row():
        with engine.db.unit_of_work(write=False) as session:
            return session.scalars(select(Delivery).where(Delivery.channel == "email")).one()

    row = email_row()
    assert (row.status, row.attempts) == ("pending", 1) and "451" in row.last_error
    assert row.next_attempt_at == first + timedelta(seconds=60)
    engine.tick(first + timedelta(seconds=59))
    assert email_row().attempts == 1  # backoff: not yet
    engine.tick(first + timedelta(seconds=60))
    row = email_row()
    assert row.attempts == 2 and row.next_attempt_at == first + timedelta(seconds=180)
    engine.tick(first + timedelta(seconds=180))
    row = email_row()
    assert (row.status, row.attempts) == ("failed", 3)
    engine.tick(first + timedelta(hours=2))
    assert email_row().attempts == 3 and len(webhook.bodies) == 1

    # Visible to administrators: the command line and the API list it.
    from web.app import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": database.url, "CLOCK": clock})
    try:
        result = app.test_cli_runner().invoke(args=["deliveries", "--json"])
        assert result.exit_code == 0, result.output
        listed = json.loads(result.output)
        assert listed["total"] == 1 and listed["items"][0]["recipient"] == "liu@anju-wy.example.cn"
        assert "451" in listed["items"][0]["last_error"]
        client = app.test_client()
        token = client.post("/api/v1/auth/token",
                            json={"username": "company", "password": "pw-1234"}).get_json()["token"]
        answer = client.get("/api/v1/deliveries", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"

        # The mail server is fixed; the administrator retries; the message goes out once.
        smtp_server.refuse = None
        result = app.test_cli_runner().invoke(args=["deliveries", "retry", "--all-failed"])
        assert result.exit_code == 0 and "1 条" in result.output
    finally:
        app.extensions["linkage"].db.dispose()
    engine.tick(first + timedelta(hours=3))
    engine.tick(first + timedelta(hours=4))
    assert len(smtp_server.messages) == 1 and email_row().status == "sent"
    emails = [d for d in reminder_events(engine, case.id) if d["channel"] == "email"]
    assert len(emails) == 1 and datetime.fromisoformat(emails[0]["due_at"]) == first


def test_an_unreachable_channel_is_tried_once_per_sweep_and_the_others_go_on(engine, clerk, webhook):
    channels(engine, webhook=webhook, SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_TIMEOUT=2)
    case_a, _ = company_task(engine, clerk)
    case_b, _ = company_task(engine, clerk)
    engine.tick(beijing(2026, 3, 18, 9))
    assert len(webhook.bodies) == 2
    with engine.db.unit_of_work(write=False) as session:
        emails = session.scalars(select(Delivery).where(Delivery.channel == "email")).all()
    assert len(emails) == 2 and all(e.status == "pending" for e in emails)
    assert "无法连接邮件服务器" in emails[0].last_error
    assert "本轮不再重试" in emails[1].last_error  # deferred without a second timeout


def test_webhook_refusal_in_the_robot_answer_counts_as_failure(engine, clerk, webhook):
    webhook.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    channels(engine, webhook=webhook)
    company_task(engine, clerk)
    engine.tick(beijing(2026, 3, 18, 9))
    with engine.db.unit_of_work(write=False) as session:
        row = session.scalars(select(Delivery)).one()
    assert row.status == "pending" and "invalid webhook url" in row.last_error


def test_a_claimed_task_reminds_only_its_assignee(engine, clerk, company, smtp_server):
    channels(engine, smtp_server)
    case, task = company_task(engine, clerk)
    engine.claim_task(company, task.id)
    engine.tick(beijing(2026, 3, 18, 9))
    sent = [(d["channel"], d["recipient"]) for d in reminder_events(engine, case.id)]
    assert sent == [("inapp", "company"), ("email", "liu@anju-wy.example.cn")]
    assert [r for r, _ in smtp_server.messages] == [["liu@anju-wy.example.cn"]]
