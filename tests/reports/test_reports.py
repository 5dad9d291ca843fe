"""The statistics tables: rounding, areas, scope by user, credit by year, case figures, and the
API and page that show them."""
import json
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.access import Principal
from engine.calendar import CHINA_TZ
from engine.models import TaskRow
from tests.reports.conftest import COMPOUND_HEADER, ENTERPRISE_HEADER, write_csv
from workflows import reports, statistics
from workflows.reports import percent

COMMUNITY = "14/1405/140502/140502001/140502001001/"


def test_percent_rounds_half_up_to_two_decimals():
    assert percent(762, 1563) == 48.75 and percent(335, 1563) == 21.43
    assert percent(1, 32) == 3.13  # 3.125: half up, not to even
    assert percent(1, 8) == 12.5 and percent(2, 3) == 66.67 and percent(1, 3) == 33.33
    assert percent(0, 0) == 0.0 and percent(5, 5) == 100.0


def import_places(run, tmp_path):
    """Two districts of Jincheng, a third enterprise working in both, one compound unrecorded."""
    write_csv(tmp_path / "e23.csv", ENTERPRISE_HEADER,
              [["E1", "甲物业", "B", "2023"], ["E2", "乙物业", "C", "2023"]])
    write_csv(tmp_path / "e24.csv", ENTERPRISE_HEADER,
              [["E1", "甲物业", "A", "2024"], ["E2", "乙物业", "B", "2024"],
               ["E3", "丙物业", "D", "2024"], ["E9", "无项目物业", "C", "2024"]])
    compounds = [
        ["C1", "甲小区", "晋城市", "城区", "西街街道", "凤台社区", "enterprise", "E1"],
        ["C2", "乙小区", "晋城市", "城区", "西街街道", "凤台社区", "enterprise", "E3"],
        ["C3", "丙小区", "晋城市", "城区", "东街街道", "东街社区", "community_trust", ""],
        ["C4", "丁小区", "晋城市", "泽州县", "南村镇", "南村", "enterprise", "E2"],
        ["C5", "戊小区", "晋城市", "泽州县", "南村镇", "南村", "enterprise", "E3"],
        ["C6", "己小区", "晋城市", "泽州县", "南村镇", "北村", "none", ""],
        ["C7", "庚小区", "太原市", "小店区", "坞城街道", "坞城社区", "owner_self", ""],
    ]
    for name in ("e23.csv", "e24.csv"):
        assert run("import", "orgs", str(tmp_path / name))[0] == 0
    assert run("import", "orgs", str(write_csv(tmp_path / "c.csv", COMPOUND_HEADER, compounds)))[0] == 0


def test_json_reports_print_indented_text_with_chinese_as_is(run, tmp_path):
    import_places(run, tmp_path)
    code, out, _ = run("report", "coverage", "--by", "city")
    assert code == 0
    value = json.loads(out)
    assert out.rstrip("\n") == json.dumps(value, ensure_ascii=False, indent=2)
    assert "太原市" in out and '\n  "total": 7,' in out


def test_tables_break_down_by_area_and_scope(run, run_json, eng, tmp_path):
    import_places(run, tmp_path)
    with eng.db.unit_of_work() as s:  # a compound whose way of management nobody recorded
        s.get(reports.Organisation, "C6").attributes = {}
    everything = run_json("report", "coverage", "--by", "city")
    assert everything["total"] == 7 and everything["level"] == "city"
    assert [(r["code"], r["name"], r["total"]) for r in everything["rows"]] == [
        ("1401", "太原市", 1), ("1405", "晋城市", 6)]
    assert everything["by_management_type"]["unspecified"] == {"count": 1, "percent": 14.29}

    city = run_json("report", "coverage", "--org", "1405", "--by", "district")
    assert [(r["name"], r["total"], r["by_management_type"]["enterprise"]["count"])
            for r in city["rows"]] == [("城区", 3, 2), ("泽州县", 3, 2)]
    assert city["by_management_type"]["enterprise"] == {"count": 4, "percent": 66.67}
    streets = run_json("report", "coverage", "--org", "140502", "--by", "community")
    assert {r["name"]: r["total"] for r in streets["rows"]} == {"凤台社区": 2, "东街社区": 1}

    # Credit: the latest year by default; an enterprise counts where it manages a compound, once
    # in each area and once in the total; at the top every rated enterprise counts.
    assert run_json("report", "credit") == {"year": 2024, "total": 4,
                                            "by_grade": {"A": 1, "B": 1, "C": 1, "D": 1}}
    assert run_json("report", "credit", "--year", "2023")["by_grade"] == {"A": 0, "B": 1, "C": 1, "D": 0}
    credit = run_json("report", "credit", "--org", "1405", "--by", "district")
    assert credit["total"] == 3 and credit["by_grade"] == {"A": 1, "B": 1, "C": 0, "D": 1}
    assert {r["name"]: r["by_grade"] for r in credit["rows"]} == {
        "城区": {"A": 1, "B": 0, "C": 0, "D": 1}, "泽州县": {"A": 0, "B": 1, "C": 0, "D": 1}}
    assert run_json("report", "credit", "--org", "1401")["total"] == 0


def test_command_line_refuses_what_it_cannot_count(run, eng, tmp_path):
    import_places(run, tmp_path)
    code, _, err = run("report", "coverage", "--org", "NOPE")
    assert code == 1 and "未找到组织 NOPE" in err
    code, _, err = run("report", "coverage", "--org", "C1")
    assert code == 1 and "统计范围必须是行政区划" in err
    code, _, err = run("report", "coverage", "--org", "140502", "--by", "city")
    assert code == 1 and "城区以下没有市一级" in err
    code, _, err = run("report", "coverage", "--year", "2024")
    assert code == 1 and "--year 只用于 credit 报表" in err
    code, _, err = run("report", "cases", "--from", "2026-02-30")
    assert code == 1 and "开始日期无效" in err
    code, _, err = run("report", "cases", "--from", "2026-03-10", "--to", "2026-03-01")
    assert code == 1 and "不能早于开始日期" in err


def walk_cases(eng, clock):
    """A rectification that runs out of time and goes to the street, one rectified on time,
    and a joint meeting held, all in 凤台社区 (C0001) in March 2026."""
    clerk = Principal("clerk", "clerk", "140502001001", COMMUNITY)
    company = Principal("company", "company", "E0001", "E0001/",
                        ("E0001/", COMMUNITY + "C0001/", COMMUNITY + "C0002/"))

    def task(case_id, name):
        with eng.db.unit_of_work(write=False) as s:
            return s.scalar(select(TaskRow).where(TaskRow.case_id == case_id, TaskRow.name == name,
                                                  TaskRow.state == "ready"))

    order = {"order_no": "凤台社区整改〔2026〕3号", "requirements": "修复电梯"}
    late = eng.start_case(clerk, "rectification",
                          {"problem_description": "电梯故障", "source": "complaint"}, "C0001")
    eng.complete_task(clerk, task(late.id, "issue_order").id, order)
    good = eng.start_case(clerk, "rectification",
                          {"problem_description": "照明损坏", "source": "inspection"}, "C0002")
    eng.complete_task(clerk, task(good.id, "issue_order").id, order)
    meeting = eng.start_case(clerk, "joint_meeting",
                             {"meeting_type": "regular", "meeting_at": "2026-03-09T09:30:00",
                              "location": "凤台社区", "agenda": ["电梯维修"]}, "C0001")
    eng.complete_task(clerk, task(meeting.id, "send_notice").id, {
        "notified_parties": ["residents_committee", "owners_committee", "company"],
        "notice_method": "written", "notified_on": "2026-03-03"})
    eng.tick(datetime(2026, 3, 9, 10, 0, tzinfo=CHINA_TZ))
    clock.set(datetime(2026, 3, 9, 11, 0, tzinfo=CHINA_TZ))
    eng.complete_task(clerk, task(meeting.id, "record_minutes").id, {
        "held_on": "2026-03-09", "minutes": "研究电梯维修。",
        "attendance": [{"party": "residents_committee", "expected": 1, "present": 1}]})
    eng.complete_task(company, task(good.id, "submit_report").id,
                      {"report": "已修复", "completed_on": "2026-03-09"})
    eng.complete_task(clerk, task(good.id, "verify").id, {
        "verification_result": "accepted", "verification_opinion": "到位", "verified_on": "2026-03-10"})
    eng.tick(datetime(2026, 3, 25, 9, 0, tzinfo=CHINA_TZ))  # the first order's deadline has passed


def test_case_figures_match_the_statistics_of_each_area(demo_app, eng, clock, run_json):
    walk_cases(eng, clock)
    table = run_json("report", "cases", "--org", "140502", "--by", "community",
                     "--from", "2026-03-01", "--to", "2026-03-31")
    assert table["rectifications"] == {"opened": 2, "closed": 1, "closed_on_time": 1,
                                       "overdue": 1, "escalated": 1}
    assert table["joint_meetings"] == {"held": 1}
    first, last = date(2026, 3, 1), date(2026, 3, 31)
    with eng.db.unit_of_work(write=False) as s:
        for path, row in [("14/1405/140502/", table)] + [
                (s.get(reports.Organisation, r["code"]).path, r) for r in table["rows"]]:
            assert row["rectifications"] == statistics.rectification_counts(s, path, first, last)
            assert row["joint_meetings"] == statistics.joint_meeting_counts(s, path, first, last)
    feng_tai = [r for r in table["rows"] if r["name"] == "凤台社区"][0]
    assert feng_tai["rectifications"]["opened"] == 2
    april = run_json("report", "cases", "--from", "2026-04-01", "--to", "2026-04-30")
    assert april["rectifications"] == dict.fromkeys(april["rectifications"], 0)
    assert april["joint_meetings"]["held"] == 0


@pytest.fixture
def api_as(demo_app):
    client = demo_app.test_client()

    def login(username):
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        token = response.get_json()["token"]

        def get(path):
            return client.get("/api/v1" + path, headers={"Authorization": f"Bearer {token}"})
        return get
    return login


def test_api_tables_are_scoped_to_the_caller(api_as, demo_app, tmp_path):
    clerk = Principal("clerk", "clerk", "140502001001", COMMUNITY)
    demo_app.extensions["linkage"].start_case(
        clerk, "rectification", {"problem_description": "电梯故障", "source": "complaint"}, "C0001")
    street = api_as("street")
    body = street("/reports/coverage").get_json()
    assert body["org"] == {"code": "140502001", "name": "西街街道", "kind": "street"}
    assert body["total"] == 3 and body["level"] == "community"
    assert [(r["name"], r["total"]) for r in body["rows"]] == [("凤台社区", 2), ("钟家庄社区", 1)]
    assert street("/reports/coverage?org=140502001001").get_json()["total"] == 2
    outside = street("/reports/coverage?org=140502")
    assert outside.status_code == 404 and outside.get_json()["error"]["code"] == "not_found"
    bad = street("/reports/credit?year=abc")
    assert bad.status_code == 422 and "year" in bad.get_json()["error"]["fields"]
    assert street("/reports/coverage?format=pdf").status_code == 422
    cases = street("/reports/cases?from=2026-03-01&to=2026-03-31").get_json()
    assert cases["rectifications"]["opened"] == 1 and cases["period_end"] == "2026-03-31"
    assert [r["rectifications"]["opened"] for r in cases["rows"]] == [1, 0]
    sheet = street("/reports/coverage?format=xlsx")
    assert sheet.status_code == 200 and sheet.mimetype.endswith("spreadsheetml.sheet")
    (tmp_path / "s.xlsx").write_bytes(sheet.data)
    assert load_workbook(tmp_path / "s.xlsx").active["A1"].value == "西街街道住宅小区物业管理方式统计表"
    assert api_as("clerk")("/reports/coverage").get_json()["total"] == 2
    company = api_as("company")("/reports/credit")
    assert company.status_code == 403 and company.get_json()["error"]["code"] == "forbidden"
    assert api_as("admin")("/reports/coverage").get_json()["org"]["name"] == "全部"
    documented = api_as("admin")("/openapi.json").get_json()["paths"]
    assert {"/reports/coverage", "/reports/credit", "/reports/cases", "/cases/{case_id}/documents",
            "/cases/{case_id}/documents/{kind}.pdf"} <= set(documented)


def test_reports_page_shows_tables_charts_and_downloads(demo_app):
    from tests.web.conftest import Client
    client = Client(demo_app)
    client.login("bureau")
    page = client.get("/reports")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "统计报表：城区" in html and 'id="coverage-table"' in html and 'id="credit-table"' in html
    assert 'data-type="enterprise">3<' in html and 'data-percent="enterprise">100.00<' in html
    assert 'id="reports-data"' in html and "/reports/coverage.xlsx" in html
    drilled = client.get("/reports?org=140502001001").get_data(as_text=True)
    assert "统计报表：凤台社区" in drilled and 'data-type="enterprise">2<' in drilled
    sheet = client.http.get("/reports/credit.xlsx?org=140502001")
    assert sheet.status_code == 200 and sheet.data[:2] == b"PK"
    assert client.get("/reports?org=14").status_code == 404  # above the user's area
    assert client.get("/reports/nothing.xlsx").status_code == 404
    assert 'href="/reports"' in html  # in the top bar
    owners = Client(demo_app)
    owners.login("owners")
    assert owners.get("/reports").status_code == 403
    assert 'href="/reports"' not in owners.get("/").get_data(as_text=True)
