"""Who sees what, the supervisors' board, the admin pages and the language switch, in Chromium.

Cases these tests need are started through the service layer (the forms themselves are walked
in `test_flows.py`); everything the tests look at and click is a page.
"""
from datetime import timedelta

import pytest

from engine.calendar import CHINA_TZ
from engine.models import TimerRow
from tests.browser.conftest import login, screenshot
from workflows.demo import start_data

pytestmark = pytest.mark.browser

DEMO_USERS = {  # user -> (name in the top bar, sees the board, sees the admin pages)
    "admin": ("系统管理员", True, True), "bureau": ("城区住建局 李科长", True, False),
    "street": ("西街街道 王主任", True, False), "clerk": ("凤台社区 张专干", False, False),
    "owners": ("凤台花园业委会 赵主任", False, False), "company": ("安居物业 刘经理", False, False),
}


def rectification(server, compound, starter="admin", issue=True, days=5):
    """A rectification case in `compound`, its order issued: the company's report is due."""
    eng = server.engine
    data = dict(start_data("rectification"), deadline_working_days=days)
    case = eng.start_case(server.principal(starter), "rectification", data, compound)
    if issue:
        eng.complete_task(server.principal("admin"), server.task(case.id, "issue_order").id,
                          {"requirements": "限期修复损坏的照明设施"})
    return case


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_each_demo_role_signs_in_and_sees_its_pages(server, new_page):
    rectification(server, "C0001")
    for username, (name, board, admin) in DEMO_USERS.items():
        page = login(new_page(), username)
        assert page.locator(".user-name").inner_text() == name
        assert page.locator("h1").inner_text() == "我的待办"
        assert page.locator('.nav a[href="/board"]').count() == (1 if board else 0)
        assert page.locator('.nav a[href="/admin/users"]').count() == (1 if admin else 0)
        if username == "company":  # the report its compound's rectification waits for
            assert page.locator("#inbox", has_text="提交整改报告").count() == 1
        if username == "clerk":
            page.goto("/?due=soon&who=group")
            screenshot(page, "inbox")
        page.goto("/cases")
        assert page.locator("#cases tbody tr").count() >= 1


def test_company_and_clerk_see_only_their_own_cases(server, new_page, browser_errors):
    browser_errors.allow(r"status of 404 .* @ .*/cases/")  # Chromium logs the refused page
    ours = rectification(server, "C0001")    # 安居物业 (E0001), 凤台社区
    theirs = rectification(server, "C0003")  # 宜居物业 (E0002), 钟家庄社区
    expected = {"company": (200, 404), "company2": (404, 200), "clerk": (200, 404),
                "clerk2": (404, 200), "owners": (200, 404), "street": (200, 200)}
    for username, statuses in expected.items():
        page = new_page(user=username)
        for case, status in zip((ours, theirs), statuses):
            response = page.goto(f"/cases/{case.id}")
            assert response.status == status, (username, case.compound)
            if status == 404:
                assert "页面不存在" in page.locator("h1").inner_text()
                assert case.title not in page.content()
            else:
                assert page.locator("h1").inner_text().startswith(case.title)
        if username.startswith("company"):  # its inbox: its own compounds' reports only
            page.goto("/")
            inbox = page.content()
            for case, status in zip((ours, theirs), statuses):
                report = server.task(case.id, "submit_report")
                assert (f"/tasks/{report.id}" in inbox) == (status == 200), (username, case.compound)


def test_overdue_case_is_highlighted_and_escalated_from_the_board(server, new_page):
    case = rectification(server, "C0002", days=2)
    report = server.task(case.id, "submit_report")
    server.clock.set(report.due_at + timedelta(hours=2))  # past the deadline, not yet ticked

    street = new_page(user="street")
    street.goto(f"/cases/{case.id}")
    street.wait_for_selector('#diagram[data-state="ready"]')
    assert street.locator('#diagram g.djs-element.overdue[data-element-id="submit_report"]').count() == 1
    assert "逾期" in street.locator("table.list").first.inner_text()
    screenshot(street, "case")

    street.goto("/board")
    assert int(street.locator("#total-overdue").inner_text()) >= 1
    for kind in ("street", "community", "process", "company"):
        street.wait_for_selector(f'#chart-{kind}[data-state="ready"] canvas')
    assert "书院小区" in street.locator("#by-compound").text_content()
    assert "晋城市安居物业服务有限公司" in street.locator("#by-company").text_content()
    screenshot(street, "board")
    card = street.locator(f'li[data-task="{report.id}"]')
    card.locator('form.escalate input[name="reason"]').fill("逾期未提交整改报告，请街道督办")
    card.locator("form.escalate button").click()  # the confirm dialog is accepted
    street.wait_for_url("**/board")
    assert "已上报上一级处理" in street.locator(".flash").inner_text()

    handle = server.task(case.id, "street_handle")  # the process took the escalation message
    assert handle.candidate_groups == ["street"]
    street.goto(f"/cases/{case.id}")
    timeline = street.locator(".timeline").inner_text()
    assert "逾期未提交整改报告，请街道督办" in timeline
    street.wait_for_selector('#diagram[data-state="ready"]')  # bpmn-js draws after the page loads
    assert street.locator('#diagram g.djs-element.active[data-element-id="street_handle"]').count() == 1


def test_board_reassigns_and_extends_a_deadline(server, new_page):
    case = rectification(server, "C0001", days=2)
    report = server.task(case.id, "submit_report")
    server.clock.set(max(server.clock.now(), report.due_at + timedelta(hours=1)))

    street = new_page(user="street")
    street.goto("/board")
    card = street.locator(f'li[data-task="{report.id}"]')
    card.locator(".more-actions summary").click()
    card.locator('form.reassign input[name="username"]').fill("clerk")  # not a candidate
    card.locator("form.reassign button").click()
    street.wait_for_url("**/board")
    assert "该用户不能办理此任务" in street.locator(".flash").inner_text()
    assert server.task_row(report.id).assignee is None

    card = street.locator(f'li[data-task="{report.id}"]')
    card.locator(".more-actions summary").click()
    card.locator('form.reassign input[name="username"]').fill("company")
    card.locator('form.reassign input[name="reason"]').fill("由项目经理负责")
    card.locator("form.reassign button").click()
    street.wait_for_url("**/board")
    assert "改派给 company" in street.locator(".flash").inner_text()
    assert server.task_row(report.id).assignee == "company"

    new_day = (server.clock.now().astimezone(CHINA_TZ) + timedelta(days=10)).date()
    card = street.locator(f'li[data-task="{report.id}"]')
    card.locator(".more-actions summary").click()
    card.locator('form.extend input[name="due"]').fill(new_day.isoformat())
    card.locator('form.extend input[name="reason"]').fill("暴雨影响施工")
    card.locator("form.extend button").click()
    street.wait_for_url("**/board")
    assert "期限延至" in street.locator(".flash").inner_text()
    due = server.task_row(report.id).due_at.astimezone(CHINA_TZ)
    assert (due.date(), due.hour, due.minute) == (new_day, 23, 59)
    with server.engine.db.unit_of_work(write=False) as db:
        timer = db.query(TimerRow).filter_by(case_id=case.id, element="deadline_passed").one()
    assert timer.due_at == server.task_row(report.id).due_at  # the deadline timer moved too
    assert street.locator(f'li[data-task="{report.id}"]').count() == 0  # no longer overdue
    street.goto(f"/cases/{case.id}")
    timeline = street.locator(".timeline").inner_text()
    assert "由项目经理负责" in timeline and "暴雨影响施工" in timeline


def test_admin_pages_language_switch_and_phone_layout(server, new_page):
    admin = new_page(user="admin")
    admin.goto("/admin/users")
    admin.fill("#new-username", "clerk3")
    admin.fill("#new-display", "钟家庄社区 周专干")
    admin.select_option("#new-role", "clerk")
    admin.fill("#new-org", "140502001002")
    admin.fill("#new-password", "secret-3")
    admin.click("#add-user button[type=submit]")
    admin.wait_for_url("**/admin/users")
    assert "已添加用户 clerk3" in admin.locator(".flash").inner_text()
    assert admin.locator('tr[data-user="clerk3"]').count() == 1

    admin.goto("/admin/orgs?q=C0003")
    row = admin.locator('tr[data-org="C0003"]')
    assert row.locator('select[name="enterprise_code"]').input_value() == "E0002"
    admin.goto("/admin/processes")
    assert admin.locator('[data-process="rectification"]').count() == 1

    admin.click('.language button[value="en"]')
    admin.wait_for_load_state()
    assert admin.locator("h1").inner_text() == "Process versions"
    admin.goto("/")
    assert admin.locator("h1").inner_text() == "My tasks"
    assert admin.locator("html").get_attribute("lang") == "en"
    admin.click('.language button[value="zh"]')
    admin.wait_for_load_state()
    assert admin.locator("h1").inner_text() == "我的待办"

    clerk3 = login(new_page(), "clerk3", "secret-3")
    assert clerk3.locator(".user-name").inner_text() == "钟家庄社区 周专干"

    phone = new_page(width=390, height=844, user="clerk")
    assert no_horizontal_scroll(phone)
    case = rectification(server, "C0001", starter="clerk", issue=False)
    phone.goto(f"/tasks/{server.task(case.id, 'issue_order').id}")
    assert no_horizontal_scroll(phone)
    phone.goto(f"/cases/{case.id}")
    phone.wait_for_selector('#diagram[data-state="ready"]')
    assert no_horizontal_scroll(phone)
    screenshot(phone, "case-phone")
