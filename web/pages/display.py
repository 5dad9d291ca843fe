"""How things read on the pages: Beijing times, due states, Chinese labels."""
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import request, url_for

from engine.access import ROLE_NAMES
from engine.calendar import CHINA_TZ
from web.pages.i18n import _, _l

SOON = timedelta(days=3)

CASE_STATUS = {"running": _l("进行中"), "completed": _l("已办结"), "cancelled": _l("已取消"),
               "error": _l("出错")}
TASK_STATE = {"ready": _l("待办"), "completed": _l("已完成"), "cancelled": _l("已取消")}
EVENT_KINDS = {
    "case_started": _l("发起"), "task_completed": _l("完成"), "timer_fired": _l("定时触发"),
    "message_received": _l("收到消息"), "escalated": _l("上报"), "reminder_sent": _l("提醒"),
    "case_completed": _l("办结"), "case_cancelled": _l("取消"), "case_error": _l("出错"),
    "task_claimed": _l("认领"), "task_released": _l("退回认领"), "message_sent": _l("发出消息"),
    "reassigned": _l("改派"), "deadline_extended": _l("延期"),
}
ROLE_LABELS = {"admin": _l("系统管理员"), "bureau": _l("住建部门"), "street": _l("街道（乡镇）"),
               "clerk": _l("社区"), "owners": _l("业主委员会"), "company": _l("物业服务企业")}


@dataclass(frozen=True)
class DueState:
    key: str  # overdue, today, soon; the CSS class is `due-<key>`
    label: str


OVERDUE = DueState("overdue", _l("逾期"))
TODAY = DueState("today", _l("今日到期"))
WITHIN_3_DAYS = DueState("soon", _l("3 日内到期"))
DUE_STATES = (OVERDUE, TODAY, WITHIN_3_DAYS)


def due_state(due_at, now):
    """逾期 / 今日到期 / 3 日内到期, or None when the task has no due date or plenty of time."""
    if due_at is None:
        return None
    if due_at < now:
        return OVERDUE
    if due_at.astimezone(CHINA_TZ).date() == now.astimezone(CHINA_TZ).date():
        return TODAY
    if due_at - now <= SOON:
        return WITHIN_3_DAYS
    return None


def local_time(value, fmt="%Y-%m-%d %H:%M"):
    """A stored (UTC) time as Beijing time."""
    if value is None:
        return ""
    return value.astimezone(CHINA_TZ).strftime(fmt)


def overdue_by(due_at, now):
    """How long past due, in words: 3 天 / 5 小时 / 不到 1 小时."""
    late = now - due_at
    if late.days >= 1:
        return _("%(n)s 天", n=late.days)
    hours = late.seconds // 3600
    return _("%(n)s 小时", n=hours) if hours else _("不到 1 小时")


def role_name(role):
    return str(ROLE_LABELS.get(role, ROLE_NAMES.get(role, role or "")))


def role_names(groups):
    return _("、").join(role_name(g) for g in groups or []) or _("不限")


def show_value(value, choices=None):
    """A case data value as text: 是/否 for booleans, a choice's Chinese label (`choices`,
    value -> label) for a choice or a list of choices, JSON for other lists and objects."""
    if choices:
        if isinstance(value, str) and value in choices:
            return choices[value]
        if isinstance(value, list) and value and all(isinstance(v, str) and v in choices for v in value):
            return "、".join(choices[v] for v in value)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, indent=2)
    return str(value)


def event_detail(event):
    """The detail of an audit event worth a reader's time, in a line."""
    detail = event.detail or {}
    kind = event.kind
    if kind == "escalated":
        target = role_name(detail.get("to"))
        reason = detail.get("reason") or ""
        return _("上报至%(target)s", target=target) + (f"：{reason}" if reason else "")
    if kind == "reassigned":
        reason = detail.get("reason") or ""
        return _("由 %(old)s 改派给 %(new)s", old=detail.get("from") or _("未认领"),
                 new=detail.get("to") or "") + (f"：{reason}" if reason else "")
    if kind == "deadline_extended":
        return _("期限由 %(old)s 延至 %(new)s", old=_iso_local(detail.get("from")) or _("无期限"),
                 new=_iso_local(detail.get("to"))) + f"：{detail.get('reason') or ''}"
    if kind in ("message_received", "message_sent"):
        return _("消息 %(name)s", name=detail.get("name", ""))
    if kind == "case_error":
        return detail.get("message", "")
    if kind == "case_cancelled":
        return detail.get("reason", "")
    if kind == "case_started" and detail.get("version"):
        return _("流程版本 v%(version)s", version=detail["version"])
    return ""


def _iso_local(text):
    if not text:
        return ""
    try:
        return local_time(datetime.fromisoformat(text))
    except (TypeError, ValueError):
        return str(text)


def page_url(number, param="page"):
    """This page's address with the page number changed (filters kept)."""
    args = {**request.args.to_dict(), param: number, **(request.view_args or {})}
    return url_for(request.endpoint, **args)


def register(app):
    app.add_template_global(page_url, "page_url")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(role_names, "role_names")
    app.add_template_filter(role_name, "role_name")
    app.add_template_filter(show_value, "show_value")
    app.add_template_global(due_state, "due_state")
    app.add_template_global(overdue_by, "overdue_by")
    app.add_template_global(event_detail, "event_detail")
    app.jinja_env.globals.update(CASE_STATUS=CASE_STATUS, TASK_STATE=TASK_STATE,
                                 EVENT_KINDS=EVENT_KINDS, ROLE_NAMES=ROLE_LABELS,
                                 DUE_STATES=DUE_STATES)
