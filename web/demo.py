"""`linkage demo`: demo organisations, users and a few running cases, idempotent.

The demo tree is a slice of Jincheng (晋城市): one district, one street, two communities and
their compounds, one property company. Demo users are refused in production.
"""
import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from engine import queries
from engine.access import Principal
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
    ("C0001", "凤台花园", "compound", "140502001001"),
    ("C0002", "书院小区", "compound", "140502001001"),
    ("C0003", "钟家庄小区", "compound", "140502001002"),
    ("E0001", "晋城市安居物业服务有限公司", "enterprise", None),
]

# username -> (role, org, display name)
DEMO_USERS = {
    "admin": ("admin", None, "系统管理员"),
    "bureau": ("bureau", "140502", "城区住建局 李科长"),
    "street": ("street", "140502001", "西街街道 王主任"),
    "clerk": ("clerk", "140502001001", "凤台社区 张专干"),
    "owners": ("owners", "C0001", "凤台花园业委会 赵主任"),
    "company": ("company", "C0001", "安居物业 刘经理"),
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
    session.flush()


def load_demo(app, scale="small"):
    if app.config["LINKAGE_ENV"] == "production":
        raise click.ClickException("生产环境（LINKAGE_ENV=production）不能加载演示数据和演示用户")
    if scale != "small":
        raise click.ClickException(f"{scale} 规模的演示数据尚未实现，目前只有 small")
    eng = app.extensions["linkage"]
    with eng.db.unit_of_work() as session:
        for code, name, kind, parent in DEMO_ORGS:
            ensure_org(session, code, name, kind, parent)
        for username, (role, org, display) in DEMO_USERS.items():
            if session.scalar(select(User).where(User.username == username)) is None:
                add_user(session, username, DEMO_PASSWORD, role, org, now=eng.clock.now(),
                         display_name=display)
        started = session.scalar(select(func.count()).select_from(Case))
        processes = [d.process_id for d in queries.list_processes(session, 1, 200).items]
    if started == 0:
        clerk = Principal("clerk", "clerk", "140502001001", "14/1405/140502/140502001/140502001001/")
        for process_id in processes:
            try:
                eng.start_case(clerk, process_id, demo_start_data(process_id), "C0001")
            except Exception as exc:  # noqa: BLE001 - a process needing other data is skipped
                click.echo(f"  跳过 {process_id}: {exc}", err=True)
    return processes


def demo_start_data(process_id):
    """Believable start data for the bundled processes, from `workflows` when it has some."""
    from workflows.demo import start_data
    return start_data(process_id)


@click.command("demo")
@click.option("--scale", type=click.Choice(["small", "city", "province"]), default="small",
              show_default=True, help="演示数据规模")
@with_appcontext
def demo_command(scale):
    """加载演示组织、用户和若干进行中的案件（可重复执行）。"""
    load_demo(current_app._get_current_object(), scale)
    click.echo("演示数据已就绪。演示账号（密码均为 demo）：")
    for username, (role, org, display) in DEMO_USERS.items():
        click.echo(f"  {username:8s} {display}")
