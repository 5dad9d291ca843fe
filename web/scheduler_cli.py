"""`linkage reminders|schedules|deliveries`: the scheduler's data, for administrators.

Reminder rules and recurring schedules are data an administrator changes here (no redeploy);
failed deliveries and failed recurring starts are listed and retried here.
"""
import json
import sys

import click
from flask.cli import with_appcontext

from engine import scheduler_admin
from engine.access import SYSTEM
from engine.errors import EngineError
from engine.schedules import seed_defaults
from web.services import engine


def _fail(exc):
    message = exc.message if isinstance(exc, EngineError) else str(exc)
    click.echo(f"错误: {message}", err=True)
    for field, reasons in (getattr(exc, "fields", None) or {}).items():
        click.echo(f"  {field}: {'；'.join(reasons)}", err=True)
    sys.exit(1)


def _iso(value):
    return value.isoformat() if value is not None else None


def _echo_json(payload):
    click.echo(json.dumps(payload, ensure_ascii=False))


def seed_default_schedules():
    """Called by `linkage init`: the default schedules, once per installation."""
    from workflows.schedules import default_schedules
    eng = engine()
    with eng.db.unit_of_work() as session:
        return seed_defaults(session, eng.scheduler.hooks, default_schedules(), eng.clock.now())


# -- reminder rules ---------------------------------------------------------------------------
@click.group("reminders")
def reminders_group():
    """提醒与自动上报规则（按流程、任务配置）。"""


def _rule_json(rule):
    return {"process_id": rule.process_id or None, "task": rule.task_name or None,
            "enabled": rule.enabled, "before_working_days": rule.before_working_days,
            "before_days": rule.before_days, "at_due": rule.at_due,
            "overdue_every_working_days": rule.overdue_every_working_days,
            "escalate_after_working_days": rule.escalate_after_working_days, "hour": rule.hour,
            "channels": rule.channels}


@reminders_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def reminders_list(as_json):
    """列出提醒规则（最具体的规则优先：流程+任务 > 流程 > 默认）。"""
    with engine().db.unit_of_work(write=False) as session:
        rules = [_rule_json(r) for r in scheduler_admin.list_rules(session, SYSTEM)]
    if as_json:
        return _echo_json(rules)
    for r in rules:
        scope = f"{r['process_id'] or '全部流程'}/{r['task'] or '全部任务'}"
        escalate = f"逾期{r['escalate_after_working_days']}个工作日上报" \
            if r["escalate_after_working_days"] else "不自动上报"
        click.echo(f"{scope}\t{'启用' if r['enabled'] else '停用'}\t"
                   f"提前{r['before_working_days']}个工作日、{r['before_days']}天\t"
                   f"{'到期当日' if r['at_due'] else '到期不提醒'}\t"
                   f"逾期每{r['overdue_every_working_days']}个工作日\t{escalate}\t"
                   f"{r['hour']}时\t{','.join(r['channels'])}")


@reminders_group.command("set")
@click.option("--process", "process_id", default="", help="流程 ID（不填为默认规则）")
@click.option("--task", "task_name", default="", help="任务（BPMN 元素 ID）")
@click.option("--before-working-days", help="提前几个工作日提醒，逗号分隔，如 3")
@click.option("--before-days", help="提前几天提醒，逗号分隔，如 1")
@click.option("--at-due/--no-at-due", default=None, help="到期当日是否提醒")
@click.option("--overdue-every", type=int, help="逾期后每几个工作日提醒一次（0 为不提醒）")
@click.option("--escalate-after", help="逾期几个工作日自动上报（never 为不自动上报）")
@click.option("--hour", type=int, help="提醒发送时刻（北京时间，0-23）")
@click.option("--channels", help="通道，逗号分隔：inapp,email,webhook")
@click.option("--enable/--disable", "enabled", default=None, help="启用或停用")
@with_appcontext
def reminders_set(process_id, task_name, before_working_days, before_days, at_due, overdue_every,
                  escalate_after, hour, channels, enabled):
    """新建或修改一条提醒规则；未指定的设置保持不变。"""
    if escalate_after is not None and escalate_after != "never":
        try:
            escalate_after = int(escalate_after)
        except ValueError:
            _fail(ValueError("--escalate-after 应为工作日数或 never"))
    eng = engine()
    try:
        with eng.db.unit_of_work() as session:
            rule = scheduler_admin.set_rule(
                session, SYSTEM, eng.clock.now(), process_id, task_name,
                before_working_days=before_working_days, before_days=before_days, at_due=at_due,
                overdue_every_working_days=overdue_every,
                escalate_after_working_days=escalate_after, hour=hour, channels=channels,
                enabled=enabled)
            result = _rule_json(rule)
    except EngineError as exc:
        _fail(exc)
    _echo_json(result)


@reminders_group.command("delete")
@click.option("--process", "process_id", required=True, help="流程 ID")
@click.option("--task", "task_name", default="", help="任务（BPMN 元素 ID）")
@with_appcontext
def reminders_delete(process_id, task_name):
    """删除一条流程或任务的提醒规则（之后按更一般的规则提醒）。"""
    try:
        with engine().db.unit_of_work() as session:
            scheduler_admin.delete_rule(session, SYSTEM, process_id, task_name)
    except EngineError as exc:
        _fail(exc)
    click.echo("已删除。")


@reminders_group.command("failed")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def reminders_failed(as_json):
    """列出多次尝试后仍失败的提醒或自动上报（及原因）。"""
    with engine().db.unit_of_work(write=False) as session:
        rows = [{"id": j.id, "kind": j.kind, "task_id": j.task_id, "case_id": j.case_id,
                 "attempts": j.attempts, "last_error": j.last_error}
                for j in scheduler_admin.failed_jobs(session, SYSTEM)]
    if as_json:
        return _echo_json(rows)
    click.echo(f"{len(rows)} 条失败的提醒或上报")
    for j in rows:
        click.echo(f"{j['id']}\t{j['kind']}\t任务 {j['task_id']}\t尝试{j['attempts']}次\t{j['last_error']}")


@reminders_group.command("retry")
@click.argument("job_id", type=int)
@with_appcontext
def reminders_retry(job_id):
    """重试一条失败的提醒或自动上报（下次扫描时执行）。"""
    eng = engine()
    try:
        with eng.db.unit_of_work() as session:
            scheduler_admin.retry_job(session, SYSTEM, job_id, eng.clock.now())
    except EngineError as exc:
        _fail(exc)
    click.echo("已重新排队，下次扫描时执行。")


# -- schedules --------------------------------------------------------------------------------
@click.group("schedules")
def schedules_group():
    """定期案件计划（联席会议、定期报告、合同期限监督）。"""


def _schedule_json(s):
    return {"id": s.id, "name": s.name, "process_id": s.process_id, "org_code": s.org_code,
            "per_kind": s.per_kind, "rule": s.rule, "anchor": _iso(s.anchor),
            "lead_working_days": s.lead_working_days, "hour": s.hour, "params": s.params,
            "enabled": s.enabled, "next_due": _iso(s.next_due)}


@schedules_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def schedules_list(as_json):
    """列出全部计划及下次发起时间。"""
    with engine().db.unit_of_work(write=False) as session:
        rows = [_schedule_json(s) for s in scheduler_admin.list_schedules(session, SYSTEM)]
    if as_json:
        return _echo_json(rows)
    for s in rows:
        click.echo(f"{s['id']}\t{'启用' if s['enabled'] else '停用'}\t{s['process_id']}\t{s['rule']}\t"
                   f"{s['per_kind'] or '-'}@{s['org_code'] or '全部'}\t下次 {s['next_due'] or '-'}\t{s['name']}")


def _schedule_options(function):
    options = [
        click.option("--name", help="计划名称"),
        click.option("--process", "process_id", help="流程 ID"),
        click.option("--rule", help="RRULE（如 FREQ=MONTHLY;BYMONTHDAY=3,18）或 hook:contract_end"),
        click.option("--org", "org_code", help="组织范围（代码；不填为全部）"),
        click.option("--per", "per_kind", help="为范围内每个该类组织各发起一件（community、street、compound）"),
        click.option("--anchor", help="重复规则的起算日期 YYYY-MM-DD（默认当年1月1日）"),
        click.option("--lead", "lead_working_days", type=int, help="提前几个工作日发起"),
        click.option("--hour", type=int, help="发起时刻（北京时间，0-23）"),
        click.option("--params", "params_text", help="传给发起数据的参数（JSON 对象）"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _params(params_text):
    if params_text is None:
        return None
    try:
        return json.loads(params_text)
    except ValueError as exc:
        _fail(ValueError(f"--params 不是有效的 JSON: {exc}"))


@schedules_group.command("add")
@_schedule_options
@with_appcontext
def schedules_add(params_text, **values):
    """新增一个计划。"""
    _save(None, _params(params_text), values)


@schedules_group.command("set")
@click.argument("schedule_id", type=int)
@_schedule_options
@click.option("--enable/--disable", "enabled", default=None, help="启用或停用")
@with_appcontext
def schedules_set(schedule_id, params_text, **values):
    """修改一个计划（下次发起时间从现在起重新计算）。"""
    _save(schedule_id, _params(params_text), values)


def _save(schedule_id, params, values):
    eng = engine()
    try:
        with eng.db.unit_of_work() as session:
            schedule = scheduler_admin.save(session, SYSTEM, eng.scheduler.hooks, eng.clock.now(),
                                            schedule_id, params=params, **values)
            result = _schedule_json(schedule)
    except EngineError as exc:
        _fail(exc)
    _echo_json(result)


@schedules_group.command("runs")
@click.option("--status", type=click.Choice(scheduler_admin.RUN_STATES), help="按状态筛选")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def schedules_runs(status, as_json):
    """列出计划发起的案件记录（失败的可重试）。"""
    with engine().db.unit_of_work(write=False) as session:
        page = scheduler_admin.list_runs(session, SYSTEM, status, 1, 200)
        rows = [{"id": r.id, "schedule_id": r.schedule_id, "target": r.target,
                 "org_code": r.org_code or None, "due_at": _iso(r.due_at), "status": r.status,
                 "attempts": r.attempts, "case_id": r.case_id, "last_error": r.last_error}
                for r in page.items]
    if as_json:
        return _echo_json(rows)
    for r in rows:
        click.echo(f"{r['id']}\t{r['status']}\t计划{r['schedule_id']}\t{r['target']}\t"
                   f"{r['org_code'] or '-'}\t{r['case_id'] or r['last_error'] or ''}")


@schedules_group.command("retry")
@click.argument("run_id", type=int)
@with_appcontext
def schedules_retry(run_id):
    """重新发起一条失败的计划记录（下次扫描时发起）。"""
    eng = engine()
    try:
        with eng.db.unit_of_work() as session:
            scheduler_admin.retry_run(session, SYSTEM, run_id, eng.clock.now())
    except EngineError as exc:
        _fail(exc)
    click.echo("已重新排队，下次扫描时发起。")


# -- deliveries -------------------------------------------------------------------------------
@click.group("deliveries", invoke_without_command=True)
@click.option("--status", type=click.Choice(scheduler_admin.DELIVERY_STATES), default="failed",
              show_default=True, help="按状态筛选")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
@with_appcontext
def deliveries_group(ctx, status, as_json):
    """邮件、Webhook 发送记录（默认列出发送失败的）。"""
    if ctx.invoked_subcommand is not None:
        return
    with engine().db.unit_of_work(write=False) as session:
        page = scheduler_admin.list_deliveries(session, SYSTEM, status, 1, 200)
        rows = [{"id": d.id, "channel": d.channel, "recipient": d.recipient, "case_id": d.case_id,
                 "task_id": d.task_id, "subject": d.subject, "status": d.status,
                 "attempts": d.attempts, "last_error": d.last_error,
                 "created_at": _iso(d.created_at), "sent_at": _iso(d.sent_at)} for d in page.items]
        total = page.total
    if as_json:
        return _echo_json({"items": rows, "total": total})
    click.echo(f"{total} 条{ {'failed': '发送失败', 'pending': '待发送', 'sent': '已发送'}[status] }的记录")
    for d in rows:
        click.echo(f"{d['id']}\t{d['channel']}\t{d['recipient']}\t尝试{d['attempts']}次\t"
                   f"{d['last_error'] or ''}\t{d['subject']}")


@deliveries_group.command("retry")
@click.argument("delivery_id", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="重试全部发送失败的记录")
@with_appcontext
def deliveries_retry(delivery_id, all_failed):
    """重新发送失败的记录（修复邮件服务器或 Webhook 后）。"""
    if delivery_id is None and not all_failed:
        _fail(ValueError("请指定记录编号，或使用 --all-failed"))
    eng = engine()
    try:
        with eng.db.unit_of_work() as session:
            if all_failed:
                count = scheduler_admin.retry_all_failed_deliveries(session, SYSTEM, eng.clock.now())
            else:
                scheduler_admin.retry_delivery(session, SYSTEM, delivery_id, eng.clock.now())
                count = 1
    except EngineError as exc:
        _fail(exc)
    click.echo(f"已重新排队 {count} 条，下次扫描时发送。")


# -- holiday arrangements ---------------------------------------------------------------------
@click.group("calendar")
def calendar_group():
    """法定节假日安排（工作日计算）。"""


@calendar_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def calendar_load(path):
    """载入某一年的节假日安排（JSON：year、holidays、workdays），所有进程随后使用。"""
    from engine.calendar_store import store
    eng = engine()
    try:
        with eng.db.unit_of_work() as session:
            year = store(session, path, SYSTEM, eng.clock.now())
    except (ValueError, OSError) as exc:
        _fail(exc)
    click.echo(f"已载入 {year} 年节假日安排；调度进程下次扫描时使用，网页服务重启后使用。")


@calendar_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def calendar_list(as_json):
    """列出已载入的节假日安排。"""
    from engine.calendar_store import stored
    with engine().db.unit_of_work(write=False) as session:
        rows = [{"year": r.year, "holidays": len(r.holidays), "workdays": len(r.workdays),
                 "loaded_at": _iso(r.loaded_at), "loaded_by": r.loaded_by} for r in stored(session)]
    if as_json:
        return _echo_json(rows)
    for r in rows:
        click.echo(f"{r['year']}\t假日 {r['holidays']} 天\t调休上班 {r['workdays']} 天\t{r['loaded_at']}")


def register_scheduler_commands(app):
    for group in (reminders_group, schedules_group, deliveries_group, calendar_group):
        app.cli.add_command(group)
