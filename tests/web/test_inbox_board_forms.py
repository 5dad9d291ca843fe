"""Inbox filters (compound, due state, my group / mine / all), the board's counts by street,
community and company, and tables of rows in task forms."""
import re

from werkzeug.datastructures import MultiDict

from web.pages import forms
from tests.web.test_pages import text


def task_links(body):
    return re.findall(r'<tr class="[^"]*">\s*<td data-label="任务"><a href="/tasks/([^"]+)"', body)


def test_inbox_filters(client, engine, clerk, clock, principal_of, review_case):
    _, first = review_case  # C0001, due in 2 days
    clock.advance(days=1)
    engine.start_case(clerk, "web_review", {"title": "书院小区材料"}, "C0002")
    client.login("clerk")
    body = text(client.get("/"))
    assert "书院小区材料" in body and "凤台花园维修资金材料" in body
    assert "书院小区材料" not in text(client.get("/?compound=C0001"))
    assert 'option value="C0002" selected' in text(client.get("/?compound=C0002"))
    # Tuesday 09:00: the first is due Wednesday 09:00, the second Thursday 09:00.
    soon = text(client.get("/?due=soon"))
    assert "书院小区材料" in soon and "凤台花园维修资金材料" in soon
    assert "暂无待办任务" in text(client.get("/?due=today"))
    clock.advance(hours=16)  # Wednesday 01:00
    today = text(client.get("/?due=today"))
    assert "凤台花园维修资金材料" in today and "书院小区材料" not in today
    assert "暂无待办任务" in text(client.get("/?due=overdue"))
    clock.advance(hours=9)  # Wednesday 10:00
    overdue = text(client.get("/?due=overdue"))
    assert "凤台花园维修资金材料" in overdue and "书院小区材料" not in overdue
    # My group: candidates of my role; mine: claimed by me; all: everything in my area.
    client.post(f"/tasks/{first.id}/claim", {"next": "/"})
    mine = text(client.get("/?who=mine"))
    assert "凤台花园维修资金材料" in mine and "书院小区材料" not in mine
    client.post("/logout")
    client.login("street")
    assert "书院小区材料" not in text(client.get("/"))  # a clerk's task is not the street's to do
    everything = text(client.get("/?who=all"))
    assert "书院小区材料" in everything and "凤台花园维修资金材料" in everything


def test_board_counts_by_street_community_and_company(client, engine, clerk, clock, review_case):
    engine.start_case(clerk, "web_review", {"title": "书院"}, "C0002")
    admin = type(clerk)("admin", "admin")
    engine.start_case(admin, "web_review", {"title": "钟家庄"}, "C0003")
    clock.advance(days=3)
    client.login("bureau")
    body = text(client.get("/board"))

    def counts(table):
        section = body.split(f'id="{table}"')[1].split("</table>")[0]
        return dict((name, (int(o), int(s))) for name, o, s in re.findall(
            r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td></tr>", section))

    assert counts("by-street") == {"西街街道": (3, 0)}
    assert counts("by-community") == {"凤台社区": (2, 0), "钟家庄社区": (1, 0)}
    assert counts("by-company") == {"晋城市安居物业服务有限公司": (2, 0),
                                    "晋城市宜居物业管理有限公司": (1, 0)}
    data = re.search(r'<script type="application/json" id="board-data">(.*?)</script>', body, re.S)
    assert data and '"company"' in data.group(1) and 'id="chart-company"' in body


def test_rows_widget_converts_keeps_and_places_errors():
    schema = {"type": "object", "required": ["attendance"], "x-order": ["attendance", "note"],
              "properties": {
                  "note": {"type": "string", "title": "备注"},
                  "attendance": {"type": "array", "title": "出席情况", "minItems": 1, "maxItems": 5,
                                 "items": {"type": "object", "required": ["party", "present"],
                                           "properties": {
                                               "party": {"type": "string", "title": "单位",
                                                         "enum": ["a", "b"], "x-enum-labels": ["甲", "乙"]},
                                               "present": {"type": "integer", "title": "实到"},
                                               "late": {"type": "boolean", "title": "迟到"},
                                               "on": {"type": "string", "format": "date",
                                                      "title": "日期"}}}}}}
    fields = forms.fields_from_schema(schema)
    assert [f.name for f in fields] == ["attendance", "note"]
    rows = fields[0]
    assert rows.widget == "rows"
    assert [c.widget for c in rows.columns] == ["select", "integer", "boolean", "date"]
    assert len(rows.display_rows()) == 2
    submitted = MultiDict([("attendance-0-party", "a"), ("attendance-0-present", "3"),
                           ("attendance-0-late", "true"), ("attendance-0-on", "2024-05-06"),
                           ("attendance-1-party", ""), ("attendance-1-present", ""),  # blank: left out
                           ("attendance-7-party", "b"), ("attendance-7-present", "三"),
                           ("note", "")])
    data, errors = forms.convert(fields, submitted)
    assert errors == {"attendance.1.present": ["请输入整数"]}  # numbered as sent to the form
    assert data["attendance"][0] == {"party": "a", "present": 3, "late": True, "on": "2024-05-06"}
    forms.keep_input(fields, submitted)
    assert rows.value == [{"party": "a", "present": "3", "late": "true", "on": "2024-05-06"},
                          {"party": "b", "present": "三", "late": "", "on": ""}]
    general = forms.attach_errors(fields, {"attendance.1.present": ["请输入整数"],
                                           "attendance": ["三方中至少一方须有人出席"],
                                           "attendance.0": ["同一单位只能填写一行"]})
    assert general == []
    assert rows.cell_errors == {(1, "present"): ["请输入整数"]}
    assert rows.errors == ["三方中至少一方须有人出席", "第 1 行：同一单位只能填写一行"]
    assert len(rows.display_rows()) == 3  # what was entered, and one blank row
    empty, _ = forms.convert(forms.fields_from_schema(schema), MultiDict())
    assert empty == {"attendance": []}  # required: sent empty, so the form says what is missing


def test_rows_render_in_the_task_form(app, client, engine, clerk):
    from tests.web.conftest import REVIEW_FORM
    schema = {"type": "object", "properties": {"items": {
        "type": "array", "title": "决议", "items": {"type": "object", "properties": {
            "content": {"type": "string", "title": "内容", "x-widget": "textarea"},
            "deadline": {"type": "string", "format": "date", "title": "期限"}}}}}}

    class RowsForm:
        def load(self, data, context=None):
            return dict(data)

        def json_schema(self):
            return schema
    engine.forms.register(REVIEW_FORM, RowsForm())
    case = engine.start_case(clerk, "web_review", {"title": "决议"}, "C0001")
    from engine import queries
    with engine.db.unit_of_work(write=False) as db:
        task = queries.case_tasks(db, case.id)[0]
    client.login("clerk")
    body = text(client.get(f"/tasks/{task.id}"))
    assert 'name="items-0-content"' in body and 'name="items-1-deadline" type="date"' in body
    done = client.post(f"/tasks/{task.id}", {"items-0-content": "维修电梯", "items-0-deadline": "2024-05-20",
                                             "items-1-content": "", "items-1-deadline": ""})
    assert done.status_code == 302
    with engine.db.unit_of_work(write=False) as db:
        assert queries.get_case(db, clerk, case.id).data["items"] == [
            {"content": "维修电梯", "deadline": "2024-05-20"}]
