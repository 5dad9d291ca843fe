"""Who sees which cases: a company the compounds it manages (by each compound's
`enterprise_code`), an owners' committee member its own compound, across pages and the API."""
from sqlalchemy import select

from engine import queries
from engine.access import Principal, in_scope, scope_clause
from engine.models import Case, Organisation
from engine.users import add_user
from web.demo import ensure_org
from tests.web.test_pages import text

C1_PATH = "14/1405/140502/140502001/140502001001/C0001/"
C3_PATH = "14/1405/140502/140502001/140502001002/C0003/"


def start(engine, principal_of, compound, title):
    return engine.start_case(principal_of("admin"), "web_review", {"title": title}, compound)


def test_demo_company_sees_the_compounds_its_enterprise_manages(principal_of, engine):
    company = principal_of("company")
    assert company.org_code == "E0001" and company.org_path == "E0001/"
    assert set(company.paths) == {"E0001/", C1_PATH, "14/1405/140502/140502001/140502001001/C0002/"}
    assert in_scope(company, C1_PATH) and not in_scope(company, C3_PATH)
    assert not in_scope(company, "14/1405/140502/140502001/140502001001/")  # not the community
    with engine.db.unit_of_work(write=False) as db:
        managed = db.scalar(select(Organisation).where(Organisation.code == "C0003"))
        assert managed.attributes["enterprise_code"] == "E0002"


def test_company_cases_follow_the_enterprise_code(principal_of, engine):
    ours = start(engine, principal_of, "C0001", "凤台花园的案件")
    theirs = start(engine, principal_of, "C0003", "钟家庄小区的案件")
    with engine.db.unit_of_work(write=False) as db:
        visible = [c.id for c in queries.list_cases(db, principal_of("company")).items]
        assert ours.id in visible and theirs.id not in visible
        assert db.scalars(select(Case.id).where(scope_clause(principal_of("company"), Case.org_path),
                                                Case.id == theirs.id)).all() == []
    # The compound changes hands: the scope follows at the company user's next request.
    with engine.db.unit_of_work() as db:
        org = db.get(Organisation, "C0003")
        org.attributes = {**org.attributes, "enterprise_code": "E0001"}
    with engine.db.unit_of_work(write=False) as db:
        visible = [c.id for c in queries.list_cases(db, principal_of("company")).items]
    assert theirs.id in visible


def test_company_without_compounds_sees_nothing_but_its_own(engine, principal_of):
    with engine.db.unit_of_work() as db:
        ensure_org(db, "E0009", "新成立物业公司", "enterprise", None)
        add_user(db, "newco", "pw-1234", "company", "E0009", now=engine.clock.now())
    start(engine, principal_of, "C0001", "凤台花园的案件")
    newco = principal_of("newco")
    assert newco.paths == ("E0009/",)
    with engine.db.unit_of_work(write=False) as db:
        assert queries.list_cases(db, newco).total == 0


def test_principals_built_by_hand_keep_the_org_path_scope():
    """Callers that build a Principal themselves (tests, the demo) scope as before."""
    company = Principal("c", "company", "C0001", C1_PATH)
    assert company.paths == (C1_PATH,) and in_scope(company, C1_PATH + "x/")
    nobody = Principal("n", "clerk")
    assert nobody.paths == () and not in_scope(nobody, C1_PATH)


def test_pages_and_api_refuse_other_companies_and_compounds(client_factory, engine, principal_of):
    ours = start(engine, principal_of, "C0001", "凤台花园的案件")
    theirs = start(engine, principal_of, "C0003", "钟家庄小区的案件")
    with engine.db.unit_of_work() as db:
        add_user(db, "company2", "pw-1234", "company", "E0002", now=engine.clock.now())
    for username, password, allowed, refused in (("company", "demo", ours, theirs),
                                                  ("company2", "pw-1234", theirs, ours),
                                                  ("owners", "demo", ours, theirs)):
        client = client_factory()
        client.login(username, password)
        assert client.get(f"/cases/{allowed.id}").status_code == 200, username
        refused_page = client.get(f"/cases/{refused.id}")
        assert refused_page.status_code == 404 and "页面不存在" in text(refused_page), username
        cases = text(client.get("/cases"))
        assert allowed.title in cases and refused.title not in cases
    api = client_factory().http
    token = api.post("/api/v1/auth/token", json={"username": "company", "password": "demo"}).get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert api.get(f"/api/v1/cases/{ours.id}", headers=headers).status_code == 200
    assert api.get(f"/api/v1/cases/{theirs.id}", headers=headers).status_code == 404


def test_owners_member_sees_only_its_compound(principal_of, engine):
    start(engine, principal_of, "C0001", "凤台花园")
    start(engine, principal_of, "C0002", "书院小区")
    with engine.db.unit_of_work(write=False) as db:
        titles = [c.title for c in queries.list_cases(db, principal_of("owners")).items]
    assert titles == ["凤台花园"]
