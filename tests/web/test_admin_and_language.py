"""Admin pages (organisations, users, process versions) and the language switch."""
import io
from pathlib import Path

from sqlalchemy import select

from engine.models import Organisation, ProcessDefinition, User
from engine.users import authenticate
from tests.web.test_pages import text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def user(engine, username):
    with engine.db.unit_of_work(write=False) as db:
        return db.scalar(select(User).where(User.username == username))


def test_admin_pages_are_for_admins_only(client):
    client.login("street")
    for url in ("/admin", "/admin/users", "/admin/orgs", "/admin/processes"):
        response = client.get(url)
        assert response.status_code == 403 and "只有系统管理员" in text(response), url
    assert client.post("/admin/users", {"username": "x", "password": "pw-1234", "role": "clerk",
                                        "org": "140502001001"}).status_code == 403


def test_admin_manages_users(client, client_factory, engine):
    client.login("admin")
    page = text(client.get("/admin/users"))
    assert 'data-user="clerk"' in page and "凤台社区" in page
    refused = client.post("/admin/users", {"username": "wang", "display_name": "王", "role": "clerk",
                                           "org": "NOPE", "password": "pw-1234"})
    assert refused.status_code == 422 and "组织 NOPE 不存在" in text(refused)
    assert 'value="wang"' in text(refused) and user(engine, "wang") is None  # input kept
    added = client.post("/admin/users", {"username": "wang", "display_name": "钟家庄社区 王专干",
                                         "role": "clerk", "org": "140502001002", "password": "pw-1234"})
    assert added.status_code == 302 and "已添加用户 wang" in text(client.get("/admin/users"))
    wang = user(engine, "wang")
    assert (wang.role, wang.org_code) == ("clerk", "140502001002")

    url = f"/admin/users/{wang.id}"
    client.post(url, {"action": "role", "role": "street", "org": "140502001"})
    assert (user(engine, "wang").role, user(engine, "wang").org_code) == ("street", "140502001")
    client.post(url, {"action": "role", "role": "street", "org": "GONE"})
    assert "组织 GONE 不存在" in text(client.get("/admin/users"))
    client.post(url, {"action": "password", "password": "abc"})
    assert "密码至少 4 个字符" in text(client.get("/admin/users"))
    client.post(url, {"action": "password", "password": "new-secret"})
    with engine.db.unit_of_work(write=False) as db:
        assert authenticate(db, "wang", "new-secret") is not None
        assert authenticate(db, "wang", "pw-1234") is None
    client.post(url, {"action": "deactivate"})
    assert user(engine, "wang").active is False
    other = client_factory()
    other.get("/login")
    assert other.post("/login", {"username": "wang", "password": "new-secret"}).status_code == 200
    admin_id = user(engine, "admin").id
    client.post(f"/admin/users/{admin_id}", {"action": "deactivate"})
    client.post(f"/admin/users/{admin_id}", {"action": "role", "role": "clerk", "org": "140502001001"})
    me = user(engine, "admin")
    assert me.active and me.role == "admin"
    assert client.post("/admin/users/999999", {"action": "deactivate"}).status_code == 404


def test_admin_manages_organisations(client, engine, principal_of):
    client.login("admin")
    refused = client.post("/admin/orgs", {"code": "C0009", "name": "新小区", "kind": "compound",
                                          "parent": "NOPE"})
    assert refused.status_code == 422 and "上级组织 NOPE 不存在" in text(refused)
    client.post("/admin/orgs", {"code": "E0003", "name": "晋城市新安物业", "kind": "enterprise"})
    added = client.post("/admin/orgs", {"code": "C0009", "name": "新小区", "kind": "compound",
                                        "parent": "140502001002", "enterprise_code": "E0003",
                                        "management_type": "enterprise"})
    assert added.status_code == 302
    with engine.db.unit_of_work(write=False) as db:
        org = db.get(Organisation, "C0009")
        assert org.path == "14/1405/140502/140502001/140502001002/C0009/"
        assert org.attributes == {"enterprise_code": "E0003", "management_type": "enterprise"}
        assert db.get(Organisation, "E0003").path == "E0003/"
    assert "新小区" in text(client.get("/admin/orgs?q=C0009"))
    duplicate = client.post("/admin/orgs", {"code": "C0009", "name": "重复", "kind": "compound",
                                            "parent": "140502001002"})
    assert "编码 C0009 已存在" in text(duplicate)
    # The compound goes to the demo company: its user now sees it.
    client.post("/admin/orgs/C0009", {"name": "新小区（一期）", "enterprise_code": "E0001",
                                      "management_type": "enterprise"})
    assert "14/1405/140502/140502001/140502001002/C0009/" in principal_of("company").paths
    client.post("/admin/orgs/C0009", {"name": "新小区", "enterprise_code": "C0001"})
    assert "物业服务企业 C0001 不存在" in text(client.get("/admin/orgs"))


def test_admin_deploys_bpmn(client, engine):
    client.login("admin")
    page = text(client.get("/admin/processes"))
    assert 'data-process="web_review"' in page and "材料审核" in page
    wrong = client.post("/admin/processes", {"file": (io.BytesIO(b"x"), "notes.txt")},
                        content_type="multipart/form-data")
    assert wrong.status_code == 422 and "只能部署 .bpmn 文件" in text(wrong)
    broken = client.post("/admin/processes", {"file": (io.BytesIO(b"<not bpmn"), "x.bpmn")},
                         content_type="multipart/form-data")
    assert broken.status_code == 422
    bpmn = (FIXTURES / "camunda_reminder.bpmn").read_bytes().replace(b'name="', b'name="v2 ', 1)
    deployed = client.post("/admin/processes", {"file": (io.BytesIO(bpmn), "camunda_reminder.bpmn")},
                           content_type="multipart/form-data")
    assert deployed.status_code == 302
    assert "已部署" in text(client.get("/admin/processes"))
    with engine.db.unit_of_work(write=False) as db:
        assert len(db.scalars(select(ProcessDefinition.version)).all()) == 3


def test_language_switch(client):
    client.login("clerk")
    assert 'lang="zh-CN"' in text(client.get("/"))
    response = client.post("/language", {"lang": "en", "next": "/cases"})
    assert response.status_code == 302 and response.headers["Location"] == "/cases"
    body = text(client.get("/"))
    assert 'lang="en"' in body and "My tasks" in body
    assert "Sign out" in body and "我的待办" not in body
    client.post("/language", {"lang": "fr", "next": "/"})  # unknown: unchanged
    assert "My tasks" in text(client.get("/"))
    client.post("/logout")
    assert "Sign in" in text(client.get("/login"))  # the choice outlives the session
    client.post("/language", {"lang": "zh", "next": "/login"})
    assert "登录" in text(client.get("/login"))
