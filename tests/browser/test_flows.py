"""Whole cases through the pages, as clerks and companies do them: a rectification from the
start form to its acceptance, and a joint meeting from convening to the last resolution, with
a refused minutes form coming back with its messages and the input kept, attachments uploaded,
and the diagram's highlight following the case."""
import re
import struct
import zlib
from datetime import datetime, timedelta

import pytest

from engine.calendar import CHINA_TZ
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def png_bytes():
    """A real 1x1 PNG, as a phone photo would be (only smaller)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xc8\x20\x20")) + chunk(b"IEND", b""))


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def case_id_of(page):
    found = re.search(r"/cases/([0-9a-f-]{36})$", page.url)
    assert found, page.url
    return found.group(1)


def diagram_marks(page):
    """Wait for bpmn-js to draw the case, then read which elements carry which marker."""
    page.wait_for_selector('#diagram[data-state="ready"]')
    return page.evaluate("""() => {
        const marks = {};
        for (const kind of ["done", "active", "overdue"]) {
            marks[kind] = [...document.querySelectorAll(`#diagram g.djs-element.${kind}`)]
                .map(g => g.getAttribute("data-element-id")).sort();
        }
        return marks;
    }""")


def today(server, days=0):
    return (server.clock.now().astimezone(CHINA_TZ) + timedelta(days=days)).date().isoformat()


def flash(page):
    return " ".join(page.locator(".flash").all_inner_texts())


def test_rectification_from_start_to_end(server, new_page):
    clerk = new_page(user="clerk")
    clerk.goto("/cases/new?process=rectification")
    clerk.select_option("#compound", "C0001")
    clerk.fill('[name="problem_description"]', "书院路一侧消防通道被杂物堵塞，多次劝导未清理。")
    clerk.select_option('[name="source"]', "inspection")
    clerk.fill('[name="deadline_working_days"]', "5")
    clerk.click("form.form button[type=submit]")
    clerk.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
    case_id = case_id_of(clerk)
    assert "已发起案件" in flash(clerk)
    assert diagram_marks(clerk)["active"] == ["issue_order"]

    order = server.task(case_id, "issue_order")
    clerk.goto("/")
    clerk.click(f'#inbox a[href="/tasks/{order.id}"] >> nth=0')
    clerk.fill('[name="requirements"]', "一、三日内清理消防通道杂物；二、设置禁止堆放标识。")
    screenshot(clerk, "task-form")
    clerk.click("form.form button[type=submit]")
    clerk.wait_for_url(f"**/cases/{case_id}")
    assert "任务「下达整改通知」已办理" in flash(clerk)
    marks = diagram_marks(clerk)
    assert "issue_order" in marks["done"] and marks["active"] == ["submit_report"]

    company = new_page(user="company")
    report = server.task(case_id, "submit_report")
    company.goto("/?who=group")
    company.click(f'#inbox a[href="/tasks/{report.id}"] >> nth=0')
    company.fill('[name="report"]', "已清理消防通道全部杂物，并在通道两端设置禁止堆放标识。")
    company.fill('[name="completed_on"]', today(server))
    company.set_input_files('input[name="documents"]', files=[
        {"name": "整改后照片.png", "mimeType": "image/png", "buffer": png_bytes()}])
    company.click("form.form button[type=submit]")
    company.wait_for_url(f"**/cases/{case_id}")
    assert "已上传 1 个附件" in flash(company)
    link = company.locator("#documents a", has_text="整改后照片.png")
    photo = company.request.get(server.url + link.get_attribute("href"))
    assert photo.status == 200 and photo.headers["content-type"] == "image/png"
    assert photo.body() == png_bytes()

    verify = server.task(case_id, "verify")
    clerk.goto(f"/tasks/{verify.id}")
    clerk.select_option('[name="verification_result"]', "accepted")
    clerk.fill('[name="verification_opinion"]', "现场核查，通道畅通，标识齐全。")
    clerk.fill('[name="verified_on"]', today(server))
    clerk.click("form.form button[type=submit]")
    clerk.wait_for_url(f"**/cases/{case_id}")
    assert clerk.locator("h1 .badge").inner_text() == "已办结"
    assert server.case(case_id).status == "completed"
    marks = diagram_marks(clerk)
    assert {"issue_order", "submit_report", "verify", "close_rectified"} <= set(marks["done"])
    assert marks["active"] == [] and marks["overdue"] == []
    timeline = clerk.locator(".timeline").inner_text()
    assert "核查整改结果" in timeline and "办结" in timeline


def test_joint_meeting_with_a_refused_minutes_form(server, new_page, browser_errors):
    # The refused form answers 422, which Chromium logs as a failed load; nothing else may.
    browser_errors.allow(r"status of 422 .* @ .*/tasks/")
    clerk = new_page(user="clerk")
    meeting_day = today(server, 7)
    clerk.goto("/cases/new?process=joint_meeting")
    clerk.select_option("#compound", "C0001")
    clerk.select_option('[name="meeting_type"]', "regular")
    clerk.fill('[name="meeting_at"]', f"{meeting_day}T09:30")
    clerk.fill('[name="location"]', "凤台社区党群服务中心二楼会议室")
    clerk.fill('[name="agenda"]', "通报物业服务质量\n研究电梯维修方案")
    clerk.click("form.form button[type=submit]")
    clerk.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
    case_id = case_id_of(clerk)
    assert diagram_marks(clerk)["active"] == ["send_notice"]

    clerk.goto(f"/tasks/{server.task(case_id, 'send_notice').id}")
    for party in ("residents_committee", "owners_committee", "company"):
        clerk.check(f'[name="notified_parties"][value="{party}"]')
    clerk.select_option('[name="notice_method"]', "written")
    clerk.fill('[name="notified_on"]', today(server))
    clerk.click("form.form button[type=submit]")
    clerk.wait_for_url(f"**/cases/{case_id}")
    assert diagram_marks(clerk)["active"] == []  # waiting for the meeting

    # An hour after the meeting began, whatever time of day earlier tests left the clock at.
    server.clock.set(datetime.fromisoformat(f"{meeting_day}T10:30").replace(tzinfo=CHINA_TZ))
    server.engine.tick()

    record = server.task(case_id, "record_minutes")
    clerk.goto(f"/tasks/{record.id}")
    clerk.fill('[name="held_on"]', meeting_day)
    clerk.select_option('[name="attendance-0-party"]', "residents_committee")
    clerk.fill('[name="attendance-0-expected"]', "2")
    clerk.fill('[name="attendance-0-present"]', "3")
    clerk.fill('[name="minutes"]', "会议通报了物业服务情况，研究了电梯维修方案。")
    clerk.fill('[name="resolutions-0-content"]', "物业公司十日内报送电梯维修方案")
    clerk.select_option('[name="resolutions-0-owner_party"]', "company")
    clerk.fill('[name="resolutions-0-deadline"]', today(server, 10))
    clerk.click("form.form button[type=submit]")
    clerk.wait_for_load_state()
    assert "/tasks/" in clerk.url
    cell = clerk.locator('td.has-error:has([name="attendance-0-present"])')
    assert "实到人数（3）不能超过应到人数（2）" in cell.inner_text()
    assert "表单填写有误" in clerk.locator(".alert-error").inner_text()
    assert clerk.input_value('[name="attendance-0-present"]') == "3"  # the input is kept
    assert clerk.input_value('[name="minutes"]') == "会议通报了物业服务情况，研究了电梯维修方案。"
    assert clerk.input_value('[name="resolutions-0-content"]') == "物业公司十日内报送电梯维修方案"
    screenshot(clerk, "task-form-refused")

    clerk.fill('[name="attendance-0-present"]', "2")
    clerk.click('[data-rows="attendance"] .add-row')
    clerk.select_option('[name="attendance-1-party"]', "owners_committee")
    clerk.fill('[name="attendance-1-expected"]', "5")
    clerk.fill('[name="attendance-1-present"]', "4")
    clerk.set_input_files('input[name="documents"]', files=[
        {"name": "联席会议纪要.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    clerk.click("form.form button[type=submit]")
    clerk.wait_for_url(f"**/cases/{case_id}")
    assert "联席会议纪要.pdf" in clerk.locator("#documents").inner_text()
    data = server.case(case_id).data
    assert data["present_total"] == 6 and data["resolutions_count"] == 1
    assert diagram_marks(clerk)["active"] == ["publicize_minutes"]

    clerk.goto(f"/tasks/{server.task(case_id, 'publicize_minutes').id}")
    clerk.fill('[name="publicized_on"]', today(server))
    clerk.fill('[name="publicity_locations"]', "小区公告栏、业主微信群")
    clerk.click("form.form button[type=submit]")
    clerk.wait_for_url(f"**/cases/{case_id}")

    clerk.goto(f"/tasks/{server.task(case_id, 'follow_up').id}")
    clerk.fill('[name="progress-0-number"]', "1")
    clerk.check('[name="progress-0-done"]')
    clerk.fill('[name="progress-0-result"]', "维修方案已报业委会")
    clerk.click("form.form button[type=submit]")
    clerk.wait_for_url(f"**/cases/{case_id}")
    assert clerk.locator("h1 .badge").inner_text() == "已办结"
    case = server.case(case_id)
    assert case.status == "completed" and case.data["resolutions"][0]["done"] is True
    assert "follow_up" in diagram_marks(clerk)["done"]
