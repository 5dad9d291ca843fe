"""The `linkage` command line: thin wrappers over the service layer, registered on the app."""
import json
import os
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from engine.access import ROLES, SYSTEM
from engine.calendar import CalendarDataMissing
from engine.clock import aware
from engine.errors import EngineError
from engine.users import add_user
from web.services import engine
from workflows import upgrade_schema


def _fail(exc):
    message = exc.message if isinstance(exc, EngineError) else str(exc)
    click.echo(f"错误: {message}", err=True)
    for field, reasons in (getattr(exc, "fields", None) or {}).items():
        click.echo(f"  {field}: {'；'.join(reasons)}", err=True)
    sys.exit(1)


def bundled_bpmn_files():
    folder = Path(current_app.config["BPMN_DIR"])
    return sorted(folder.glob("*.bpmn")) if folder.is_dir() else []


def deploy_files(paths, as_json=False):
    files = [(Path(p).name, Path(p).read_bytes()) for p in paths]
    try:
        results = engine().deploy(files, SYSTEM) if files else []
    except EngineError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps([{"process_id": r.process_id, "version": r.version,
                                "created": r.created} for r in results], ensure_ascii=False))
    else:
        for r in results:
            click.echo(f"{r.process_id}\tv{r.version}\t{'新版本' if r.created else '未变化'}\t{r.name}")
    return results


@click.command("init")
@with_appcontext
def init_command():
    """创建或升级数据库结构，并部署 bpmn/ 下的全部流程（可重复执行）。"""
    upgrade_schema(engine().db)
    click.echo("数据库结构已是最新。")
    deploy_files(bundled_bpmn_files())
    from web.scheduler_cli import seed_default_schedules
    if seed_default_schedules():
        click.echo("已创建默认的定期案件计划（linkage schedules list 查看）。")


@click.command("deploy")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def deploy_command(files, as_json):
    """部署 BPMN 文件，为其流程生成新版本。"""
    deploy_files(files, as_json)


@click.command("tick")
@click.option("--now", "now_text", help="ISO 8601 时间（默认：当前时钟）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def tick_command(now_text, as_json):
    """触发截至 NOW 到期的全部定时器、提醒和上报。"""
    now = None
    if now_text:
        try:
            now = aware(datetime.fromisoformat(now_text))
        except ValueError:
            _fail(ValueError(f"无效的时间: {now_text}（应为 ISO 8601，如 2026-03-01T09:00:00+08:00）"))
    try:
        now, fired = engine().tick(now)
    except EngineError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps({"now": now.isoformat(), "fired": fired}, ensure_ascii=False))
    else:
        click.echo(f"{now.isoformat()}: 触发 {len(fired)} 项")
        for item in fired:
            click.echo(f"  {item['case_id']}\t{item['kind']}\t{item['element']}")


@click.group("user")
def user_group():
    """用户管理。"""


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="角色")
@click.option("--org", "org_code", help="所属组织代码（管理员可不填）")
@click.option("--email", help="电子邮箱（用于提醒）")
@with_appcontext
def user_add_command(name, role, org_code, email):
    """添加用户；密码从标准输入读取。"""
    if sys.stdin.isatty():
        password = click.prompt("密码", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with engine().db.unit_of_work() as session:
            add_user(session, name, password, role, org_code, now=engine().clock.now(), email=email)
    except EngineError as exc:
        _fail(exc)
    click.echo(f"已添加用户 {name}（{role}）")


@click.command("worker")
@click.option("--interval", default=30, show_default=True, help="扫描间隔（秒）")
@with_appcontext
def worker_command(interval):
    """只运行调度器：定时触发到期的定时器、提醒和上报。"""
    from web.ops_cli import refuse_unsafe_production
    refuse_unsafe_production()
    from web.scheduler import run_blocking
    run_blocking(current_app._get_current_object(), interval)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=int(os.environ.get("LINKAGE_WORKERS", 2)), show_default=True,
              type=int, help="gunicorn 工作进程数")
@click.option("--no-scheduler", is_flag=True, help="不在本进程组中运行调度器")
@with_appcontext
def serve_command(host, port, workers, no_scheduler):
    """以 gunicorn 提供网页、接口（及调度器）。"""
    from web.ops_cli import refuse_unsafe_production
    refuse_unsafe_production()
    from web.server import serve
    serve(host, port, workers, scheduler=not no_scheduler)


def register_commands(app):
    for command in (init_command, deploy_command, tick_command, user_group, worker_command,
                    serve_command):
        app.cli.add_command(command)
    from web.demo import demo_command
    app.cli.add_command(demo_command)
    from web.ops_cli import register_ops_commands
    register_ops_commands(app, user_group)
    from web.report_commands import import_group, report_command
    app.cli.add_command(import_group)
    app.cli.add_command(report_command)
    from web.scheduler_cli import register_scheduler_commands
    register_scheduler_commands(app)


def _create_app():
    from web.app import create_app
    return create_app({"LINKAGE_CLI": True})  # production checks run in serve and worker


cli = FlaskGroup(create_app=_create_app, add_default_commands=False, add_version_option=False,
                 load_dotenv=False, help="Linkage 三方联动工作流引擎")


def _show_warning(message, category, filename, lineno, file=None, line=None,
                  _default=warnings.showwarning):
    """A missing holiday arrangement is news for the operator, not a Python warning with a
    source line: say it once, plainly, and how to fix it."""
    if issubclass(category, CalendarDataMissing):
        click.echo(f"注意：{message}", err=True)
    else:
        _default(message, category, filename, lineno, file, line)


def main():
    warnings.showwarning = _show_warning
    cli.main(prog_name="linkage")


if __name__ == "__main__":
    main()
