"""Printable documents of a case: the PDFs carry the case's Chinese data (read back with pypdf),
are kept with the case until it changes, and are shown only to those who can see the case."""
import io
from datetime import datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from engine.access import Principal
from engine.calendar import CHINA_TZ
from engine.models import TaskRow
from tests.web.conftest import Client
from workflows.models import GeneratedDocument

COMMUNITY = "14/1405/140502/140502001/140502001001/"
CLERK = Principal("clerk", "clerk", "140502001001", COMMUNITY)
START = {"problem_description": "3号楼电梯近一个月困人两次，地下车库东区照明大面积损坏。",
         "source": "complaint", "source_reference": "12345-2026-0312"}
ORDER = {"order_no": "凤台社区整改〔2026〕7号",
         "requirements": "一、7日内完成3号楼电梯全面检修；二、修复地下车库东区照明。"}
MEETING = {"meeting_type": "ad_hoc", "requested_by": "owners_committee", "request_reason": "电梯反复故障",
           "meeting_at": "2026-03-09T09:30:00", "location": "凤台社区党群服务中心二楼会议室",
           "agenda": ["研究3号楼电梯维修方案", "协调地下车库停车秩序"]}
MINUTES = {"held_on": "2026-03-09", "minutes": "会议研究了3号楼电梯维修方案，同意动用专项维修资金。",
           "attendance": [{"party": "residents_committee", "expected": 2, "present": 2, "names": "张专干、李书记"},
                          {"party": "owners_committee", "expected": 5, "present": 4},
                          {"party": "company", "expected": 2, "present": 1, "names": "刘经理"}],
           "resolutions": [{"content": "物业公司于3月20日前提交电梯维修方案", "owner_party": "company",
                            "deadline": "2026-03-20"}]}


@pytest.fixture
def db_url(sqlite_url):
    """Documents are the same bytes on any store: SQLite only, to keep the suite quick."""
    return sqlite_url


def text_of(pdf):
    assert pdf[:5] == b"%PDF-"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")


def ready_task(eng, case_id, name):
    with eng.db.unit_of_work(write=False) as s:
        return s.scalar(select(TaskRow).where(TaskRow.case_id == case_id, TaskRow.name == name,
                                              TaskRow.state == "ready"))


@pytest.fixture
def cases(demo_app, clock):
    """A rectification with its order issued and a joint meeting minuted and publicized."""
    eng = demo_app.extensions["linkage"]
    rectification = eng.start_case(CLERK, "rectification", dict(START), "C0001")
    eng.complete_task(CLERK, ready_task(eng, rectification.id, "issue_order").id, ORDER)
    meeting = eng.start_case(CLERK, "joint_meeting", dict(MEETING), "C0001")
    eng.complete_task(CLERK, ready_task(eng, meeting.id, "send_notice").id, {
        "notified_parties": ["residents_committee", "owners_committee", "company"],
        "notice_method": "written", "notified_on": "2026-03-03"})
    eng.tick(datetime(2026, 3, 9, 10, 0, tzinfo=CHINA_TZ))
    clock.set(datetime(2026, 3, 9, 11, 0, tzinfo=CHINA_TZ))
    eng.complete_task(CLERK, ready_task(eng, meeting.id, "record_minutes").id, MINUTES)
    eng.complete_task(CLERK, ready_task(eng, meeting.id, "publicize_minutes").id,
                      {"publicized_on": "2026-03-10", "publicity_locations": "小区公告栏、业主微信群"})
    return rectification.id, meeting.id


@pytest.fixture
def signed_in(demo_app):
    def login(username):
        client = Client(demo_app)
        client.login(username)
        return client.http
    return login


def test_rectification_notice_carries_the_order(cases, signed_in):
    rectification, _ = cases
    response = signed_in("clerk").get(f"/cases/{rectification}/documents/rectification_notice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    text = text_of(response.data)
    for expected in ("整改通知书", "凤台社区整改〔2026〕7号", "晋城市安居物业服务有限公司：", "凤台花园",
                     "3号楼电梯近一个月困人两次", "一、7日内完成3号楼电梯全面检修", "业主投诉",
                     "12345-2026-0312", "2026年3月23日前", "15个工作日", "西街街道", "凤台社区"):
        assert expected in text, expected


def test_minutes_and_publicity_carry_the_meeting(cases, signed_in):
    _, meeting = cases
    clerk = signed_in("clerk")
    minutes = text_of(clerk.get(f"/cases/{meeting}/documents/meeting_minutes.pdf").data)
    for expected in ("纪要", "临时会议", "业主委员会（物业管理委员会）", "电梯反复故障", "2026年3月9日09:30",
                     "凤台社区党群服务中心二楼会议室", "张专干、李书记", "刘经理", "研究3号楼电梯维修方案",
                     "同意动用专项维修资金", "物业公司于3月20日前提交电梯维修方案", "2026年3月20日", "落实中"):
        assert expected in minutes, expected
    publicity = text_of(clerk.get(f"/cases/{meeting}/documents/publicity_notice.pdf").data)
    for expected in ("的公示", "2026年3月9日召开", "同意动用专项维修资金", "公示期自2026年3月10日起至2026年3月17日止",
                     "小区公告栏、业主微信群", "凤台社区"):
        assert expected in publicity, expected


def test_documents_are_kept_until_the_case_changes(cases, demo_app, signed_in):
    eng = demo_app.extensions["linkage"]
    rectification, _ = cases
    clerk = signed_in("clerk")
    url = f"/cases/{rectification}/documents/rectification_notice.pdf"
    first = clerk.get(url).data
    assert clerk.get(url).data == first  # the same file, not made again
    with eng.db.unit_of_work(write=False) as s:
        kept = s.scalar(select(GeneratedDocument).where(GeneratedDocument.case_id == rectification))
        assert kept.kind == "rectification_notice" and kept.generated_by == "clerk"
        revision = kept.case_revision
    company = Principal("company", "company", "E0001", "E0001/", ("E0001/", COMMUNITY + "C0001/"))
    eng.complete_task(company, ready_task(eng, rectification, "submit_report").id,
                      {"report": "已检修", "completed_on": "2026-03-05"})
    assert text_of(clerk.get(url).data).count("整改通知书") >= 1
    with eng.db.unit_of_work(write=False) as s:
        rows = s.scalars(select(GeneratedDocument).where(GeneratedDocument.case_id == rectification)).all()
        assert len(rows) == 1 and rows[0].case_revision > revision


def test_only_those_who_see_the_case_get_its_documents(cases, demo_app, signed_in):
    rectification, meeting = cases
    url = f"/cases/{rectification}/documents/rectification_notice.pdf"
    assert signed_in("company").get(url).status_code == 200  # 安居物业 manages 凤台花园
    assert signed_in("street").get(url).status_code == 200
    from engine.users import add_user
    eng = demo_app.extensions["linkage"]
    with eng.db.unit_of_work() as s:
        add_user(s, "other", "demo", "company", "E0002", now=eng.clock.now())  # 宜居物业: not its compound
    assert signed_in("other").get(url).status_code == 404
    anonymous = Client(demo_app).http.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    clerk = signed_in("clerk")
    assert clerk.get(f"/cases/{rectification}/documents/meeting_minutes.pdf").status_code == 404
    assert clerk.get(f"/cases/{rectification}/documents/nothing.pdf").status_code == 404
    fresh = eng.start_case(CLERK, "rectification", dict(START), "C0001")
    not_yet = clerk.get(f"/cases/{fresh.id}/documents/rectification_notice.pdf")
    assert not_yet.status_code == 409 and "整改通知尚未下达" in not_yet.get_data(as_text=True)


def test_api_lists_and_serves_documents_with_the_token(cases, demo_app):
    rectification, meeting = cases
    client = demo_app.test_client()

    def token(username):
        return {"Authorization": "Bearer " + client.post(
            "/api/v1/auth/token", json={"username": username, "password": "demo"}).get_json()["token"]}

    clerk = token("clerk")
    listed = client.get(f"/api/v1/cases/{meeting}/documents", headers=clerk).get_json()
    assert [(i["kind"], i["title"]) for i in listed["items"]] == [
        ("publicity_notice", "公示"), ("meeting_minutes", "联席会议纪要")]
    pdf = client.get(listed["items"][1]["url"], headers=clerk)
    assert pdf.status_code == 200 and "同意动用专项维修资金" in text_of(pdf.data)
    assert client.get(f"/api/v1/cases/{rectification}/documents/rectification_notice.pdf").status_code == 401
    owners = token("owners")  # 凤台花园's committee sees its compound's cases
    assert client.get(f"/api/v1/cases/{rectification}/documents/rectification_notice.pdf",
                      headers=owners).status_code == 200
    missing = client.get(f"/api/v1/cases/{rectification}/documents/meeting_minutes.pdf", headers=clerk)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    with demo_app.extensions["linkage"].db.unit_of_work(write=False) as s:
        assert s.scalar(select(func.count()).select_from(GeneratedDocument)) == 2


def test_publicity_notice_of_a_violation_circular(demo_app, signed_in):
    eng = demo_app.extensions["linkage"]
    street = Principal("street", "street", "140502001", "14/1405/140502/140502001/")
    bureau = Principal("bureau", "bureau", "140502", "14/1405/140502/")
    circular = {"title": "关于凤台物业服务有限公司违规行为的通报", "kind": "violation_circular",
                "content": "经查，凤台物业服务有限公司存在以下违规行为，现予通报。",
                "enterprise_name": "凤台物业服务有限公司", "basis": "《晋城市物业管理条例》",
                "violations": [{"description": "擅自停止3号楼电梯运行维护", "found_on": "2026-02-20"},
                               {"description": "未按规定公示公共收益收支情况"}]}
    case = eng.start_case(CLERK, "publicity", circular, "C0001")
    clerk = signed_in("clerk")
    url = f"/cases/{case.id}/documents/publicity_notice.pdf"
    assert clerk.get(url).status_code == 409  # not posted yet: no notice to print
    review = ready_task(eng, case.id, "bureau_review") or ready_task(eng, case.id, "street_review")
    eng.complete_task(bureau if review.name == "bureau_review" else street, review.id,
                      {"review_result": "approved", "review_opinion": "同意"})
    eng.complete_task(CLERK, ready_task(eng, case.id, "post_notice").id,
                      {"channels": ["bulletin_board", "owners_group"], "locations": "小区东门公告栏"})
    text = text_of(clerk.get(url).data)
    for expected in ("关于凤台物业服务有限公司违规行为的通报", "（违规行为通报）", "全体业主", "被通报企业：凤台物业服务有限公司",
                     "擅自停止3号楼电梯运行维护（2026年2月20日发现）", "2. 未按规定公示公共收益收支情况",
                     "依据：《晋城市物业管理条例》", "公示期：2026年3月2日至", "小区公告栏、业主微信群；小区东门公告栏",
                     "凤台社区"):
        assert expected in text, expected


def test_case_page_links_its_printable_documents(cases, signed_in):
    rectification, meeting = cases
    clerk = signed_in("clerk")
    page = clerk.get(f"/cases/{meeting}").get_data(as_text=True)
    assert f"/cases/{meeting}/documents/meeting_minutes.pdf" in page and "联席会议纪要（PDF）" in page
    assert f"/cases/{meeting}/documents/publicity_notice.pdf" in page
    page = clerk.get(f"/cases/{rectification}").get_data(as_text=True)
    assert "整改通知书（PDF）" in page and "meeting_minutes.pdf" not in page
