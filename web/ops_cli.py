"""Operators' commands: `audit verify`, `token list|revoke`, `user deactivate`, `backup`,
`restore`, and the production check that `serve` and `worker` run before they start."""
import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from engine import audit_chain, backup as backups
from engine.models import ApiToken, User
from engine.users import deactivate_user, list_tokens, revoke_token, revoke_user_tokens
from web.services import engine


def _fail(message, code=1):
    click.echo(f"错误: {message}", err=True)
    sys.exit(code)


def refuse_unsafe_production():
    """Stop `serve` or `worker` with a clear message when production is not configured safely."""
    from web.security import ProductionRefused, check_production
    try:
        check_production(current_app._get_current_object())
    except ProductionRefused as exc:
        _fail(str(exc))


# -- audit ----------------------------------------------------------------------------------
@click.group("audit")
def audit_group():
    """审计记录。"""


@audit_group.command("verify")
@click.option("--case", "case_id", help="只校验一个案件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def audit_verify_command(case_id, as_json):
    """校验审计记录的哈希链，报告第一条被改动或缺失的记录（有问题时退出码为 1）。"""
    with engine().db.unit_of_work(write=False) as session:
        report = audit_chain.verify(session, case_id)
    broken = report.first_break
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "cases": report.cases, "events": report.events,
                               "first_break": None if broken is None else {
                                   "case_id": broken.case_id, "event_id": broken.event_id,
                                   "problem": broken.problem}}, ensure_ascii=False))
    elif broken is None:
        click.echo(f"审计链完整：{report.cases} 个案件，{report.events} 条记录。")
    else:
        click.echo(f"审计链被破坏：{broken.describe()}", err=True)
    if case_id and report.cases == 0:
        _fail(f"案件 {case_id} 不存在")
    sys.exit(0 if report.ok else 1)


# -- tokens and users -----------------------------------------------------------------------
@click.group("token")
def token_group():
    """API 令牌。"""


def _user(session, name):
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        _fail(f"用户 {name} 不存在")
    return user


@token_group.command("list")
@click.option("--user", "username", help="只列出此用户的令牌")
@click.option("--all", "include_revoked", is_flag=True, help="包括已撤销的令牌")
@with_appcontext
def token_list_command(username, include_revoked):
    """列出令牌（只显示编号与时间：令牌本身只以哈希保存）。"""
    with engine().db.unit_of_work(write=False) as session:
        user_id = _user(session, username).id if username else None
        rows = list_tokens(session, user_id, include_revoked)
    for row, name in rows:
        revoked = f"\t已撤销 {row.revoked_at.isoformat()}" if row.revoked_at else ""
        click.echo(f"{row.id}\t{name}\t{row.created_at.isoformat()}{revoked}")


@token_group.command("revoke")
@click.argument("token_ids", nargs=-1, type=int)
@click.option("--user", "username", help="撤销此用户的全部令牌")
@with_appcontext
def token_revoke_command(token_ids, username):
    """撤销令牌：按编号，或用 --user 撤销某用户的全部令牌。被撤销的令牌立即失效（401）。"""
    if not token_ids and not username:
        _fail("请指定令牌编号或 --user 用户名")
    now = engine().clock.now()
    with engine().db.unit_of_work() as session:
        count = 0
        for token_id in token_ids:
            row = session.get(ApiToken, token_id)
            if row is None:
                _fail(f"令牌 {token_id} 不存在")
            count += row.revoked_at is None
            revoke_token(session, row, now)
        if username:
            count += revoke_user_tokens(session, _user(session, username), now)
    click.echo(f"已撤销 {count} 个令牌。")


@click.command("deactivate")
@click.argument("name")
@with_appcontext
def user_deactivate_command(name):
    """停用用户：不能再登录，其 API 令牌立即失效。"""
    with engine().db.unit_of_work() as session:
        revoked = deactivate_user(session, _user(session, name), engine().clock.now())
    click.echo(f"已停用用户 {name}，撤销令牌 {revoked} 个。")


# -- backup and restore ---------------------------------------------------------------------
@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="覆盖已存在的文件")
@with_appcontext
def backup_command(file, force):
    """在线备份 SQLite 数据库到 FILE（PostgreSQL 请用 pg_dump）。"""
    try:
        target = backups.backup(current_app.config["DATABASE_URL"], file, overwrite=force)
    except backups.BackupRefused as exc:
        _fail(str(exc))
    click.echo(f"已备份到 {target}")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="不再确认")
@with_appcontext
def restore_command(file, yes):
    """用备份 FILE 替换当前 SQLite 数据库的全部内容（先停止 serve 和 worker）。"""
    url = current_app.config["DATABASE_URL"]
    try:
        backups.sqlite_path(url)
        backups.check_backup_file(file)
    except backups.BackupRefused as exc:
        _fail(str(exc))
    if not yes and sys.stdin.isatty():
        click.confirm(f"当前数据库的全部内容将被 {file} 替换，继续吗？", abort=True)
    engine().db.dispose()  # no pooled connection may keep the old pages
    try:
        target = backups.restore(url, file)
    except backups.BackupRefused as exc:
        _fail(str(exc))
    from workflows import upgrade_schema
    upgrade_schema(engine().db)  # a backup from an older release gets today's schema
    with engine().db.unit_of_work(write=False) as session:
        report = audit_chain.verify(session)
    click.echo(f"已从 {file} 恢复到 {target}：{report.cases} 个案件，{report.events} 条审计记录。")
    if not report.ok:
        _fail(f"恢复的数据审计链有问题：{report.first_break.describe()}")


def register_ops_commands(app, user_group):
    for command in (audit_group, token_group, backup_command, restore_command):
        app.cli.add_command(command)
    if "deactivate" not in user_group.commands:
        user_group.add_command(user_deactivate_command)
