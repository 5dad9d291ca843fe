"""`linkage demo`: demo organisations, users and a few running cases, idempotent.

The demo tree is a slice of Jincheng (晋城市): one district, one street, two communities and
their compounds, and two property companies: 安居物业 manages 凤台花园 and 书院小区, 宜居物业
manages 钟家庄小区 (a compound's `attributes["enterprise_code"]`, which is also what decides
which cases a company user sees). Demo users are refused in production.

`--scale city` adds Jincheng's 1,563 compounds and 202 rated enterprises, `--scale province`
Shanxi's 23,494 compounds and a load of open and closed cases, with the seed documents' figures
(`web.demo_scale` for the organisations, `web.demo_cases` for the cases).
"""
import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from engine import queries
from engine.models import Case, Organisation, User
from engine.users import add_user
from web.services import engine

DEMO_PASSWORD = "demo"

# (code, name, kind, parent)
DEMO_ORGS = [
    ("14", "山西省", "province", None),
    ("1405", "晋城市", "city", "14"),
    ("140502", "城区", "district", "1405"),
    ("140502001", "西街街道", "street", "140502"),
    ("140502001001", "凤台社区", "community", "140502001"),
    ("140502001002", "钟家庄社区", "community", "140502001"),
    ("E0001", "晋城市安居物业服务有限公司", "enterprise", None),
    ("E0002", "晋城市宜居物业管理有限公司", "enterprise", None),
    ("C0001", "凤台花园", "compound", "140502001001"),
    ("C0002", "书院小区", "compound", "140502001001"),
    ("C0003", "钟家庄小区", "compound", "140502001002"),
]

# compound -> managing enterprise
DEMO_MANAGED_BY = {"C0001": "E0001", "C0002": "E0001", "C0003": "E0002"}

# username -> (role, org, display name)
DEMO_USERS = {
    "admin": ("admin", None, "系统管理员"),
    "bureau": ("bureau", "140502", "城区住建局 李科长"),
    "street": ("street", "140502001", "西街街道 王主任"),
    "clerk": ("clerk", "140502001001", "凤台社区 张专干"),
    "owners": ("owners", "C0001", "凤台花园业委会 赵主任"),
    "company": ("company", "E0001", "安居物业 刘经理"),
}


def ensure_org(session, code, name, kind, parent, attributes=None):
    org = session.get(Organisation, code)
    parent_path = session.get(Organisation, parent).path if parent else ""
    path = f"{parent_path}{code}/"
    if org is None:
        session.add(Organisation(code=code, name=name, kind=kind, parent_code=parent, path=path,
                                 attributes=attributes or {}))
    else:
        org.name, org.kind, org.parent_code, org.path = name, kind, parent, path
        if attributes:
            org.attributes = {**(org.attributes or {}), **attributes}
    session.flush()


def load_demo(app, scale="small"):
    if app.config["LINKAGE_ENV"] == "production":
        raise click.ClickException("生产环境（LINKAGE_ENV=production）不能加载演示数据和演示用户")
    eng = app.extensions["linkage"]
    with eng.db.unit_of_work() as session:
        for code, name, kind, parent in DEMO_ORGS:
            attributes = ({"management_type": "enterprise", "enterprise_code": DEMO_MANAGED_BY[code]}
                          if code in DEMO_MANAGED_BY else None)
            ensure_org(session, code, name, kind, parent, attributes)
        for username, (role, org, display) in DEMO_USERS.items():
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                add_user(session, username, DEMO_PASSWORD, role, org, now=eng.clock.now(),
                         display_name=display)
            elif user.role == role and user.org_code != org:
                user.org_code = org  # an older demo put the company user in its compound
        started = session.scalar(select(func.count()).select_from(Case))
        processes = [d.process_id for d in queries.list_processes(session, 1, 200).items]
    if started == 0:
        start_demo_cases(eng, processes)
    if scale != "small":
        load_scale(eng, scale)
    return processes


# Supervisors of the larger scales: username -> (role, org, display name, scales)
DEMO_SCALE_USERS = {
    "jincheng": ("bureau", "1405", "晋城市住建局 陈科长", ("city", "province")),
    "shanxi": ("bureau", "14", "山西省住建厅 周处长", ("province",)),
}


def scale_users(scale):
    return {name: entry[:3] for name, entry in DEMO_SCALE_USERS.items() if scale in entry[3]}


def load_scale(eng, scale):
    """Jincheng's (city) or Shanxi's (province) compounds, enterprises and cases, with a
    progress bar; see `web.demo_scale` and `web.demo_cases`."""
    import time
    from web.demo_cases import load_scale_cases
    from web.demo_scale import load_scale_orgs
    from web.progress import ProgressBar
    started = time.monotonic()
    progress = ProgressBar()
    _, compounds = load_scale_orgs(eng, scale, progress)
    with eng.db.unit_of_work() as session:
        for username, (role, org, display) in scale_users(scale).items():
            if session.scalar(select(User).where(User.username == username)) is None:
                add_user(session, username, DEMO_PASSWORD, role, org, now=eng.clock.now(),
                         display_name=display)
    cases = load_scale_cases(eng, scale, progress)
    summary = f"{scale} 规模：小区 {compounds} 个"
    if cases is not None:
        summary += f"，案件样本 {cases['sample']} 件（经流程引擎办理），批量复制 {cases['copies']} 件"
    click.echo(f"{summary}，用时 {time.monotonic() - started:.0f} 秒", err=True)


def start_demo_cases(eng, processes):
    """A few cases of each process, each taken through its first steps by the demo user of
    the acting role (`workflows.demo.scenarios`), so every role finds work at several stages."""
    from engine.users import principal_for
    from workflows.demo import scenarios
    with eng.db.unit_of_work(write=False) as session:
        actors = {role: principal_for(session, session.scalar(select(User).where(User.username == name)))
                  for name, (role, _org, _display) in DEMO_USERS.items()}
    for process_id in processes:
        for role, start, steps in scenarios(process_id):
            try:
                case = eng.start_case(actors[role], process_id, start, "C0001")
                for task_name, who, data in steps:
                    with eng.db.unit_of_work(write=False) as session:
                        task = next(t for t in queries.case_tasks(session, case.id, ("ready",))
                                    if t.name == task_name)
                    eng.complete_task(actors[who], task.id, data)
            except Exception as exc:  # noqa: BLE001 - reported, the other demo cases go on
                click.echo(f"  演示案件 {process_id} 未能完成准备：{exc}", err=True)


@click.command("demo")
@click.option("--scale", type=click.Choice(["small", "city", "province"]), default="small",
              show_default=True, help="演示数据规模")
@with_appcontext
def demo_command(scale):
    """加载演示组织、用户和若干进行中的案件（可重复执行）。"""
    load_demo(current_app._get_current_object(), scale)
    click.echo("演示数据已就绪。演示账号（密码均为 demo）：")
    for username, (role, org, display) in {**DEMO_USERS, **scale_users(scale)}.items():
        click.echo(f"  {username:8s} {display}")
