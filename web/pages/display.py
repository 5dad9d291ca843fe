"""How things read on the pages: Beijing times, due states, Chinese labels."""
import json
from dataclasses import dataclass
from datetime import timedelta

from flask import request, url_for

from engine.access import ROLE_NAMES
from engine.calendar import CHINA_TZ

SOON = timedelta(days=3)

CASE_STATUS = {"running": "进行中", "completed": "已办结", "cancelled": "已取消", "error": "出错"}
TASK_STATE = {"ready": "待办", "completed": "已完成", "cancelled": "已取消"}
EVENT_KINDS = {
    "case_started": "发起", "task_completed": "完成", "timer_fired": "定时触发",
    "message_received": "收到消息", "escalated": "上报", "reminder_sent": "提醒",
    "case_completed": "办结", "case_cancelled": "取消", "case_error": "出错",
    "task_claimed": "认领", "task_released": "退回认领", "message_sent": "发出消息",
}


@dataclass(frozen=True)
class DueState:
    key: str  # overdue, today, soon; the CSS class is `due-<key>`
    label: str


OVERDUE = DueState("overdue", "逾期")
TODAY = DueState("today", "今日到期")
WITHIN_3_DAYS = DueState("soon", "3 日内到期")


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
        return f"{late.days} 天"
    hours = late.seconds // 3600
    return f"{hours} 小时" if hours else "不到 1 小时"


def role_names(groups):
    return "、".join(ROLE_NAMES.get(g, g) for g in groups or []) or "不限"


def show_value(value):
    """A case data value as text: 是/否 for booleans, JSON for lists and objects."""
    if isinstance(value, bool):
        return "是" if value else "否"
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
        target = ROLE_NAMES.get(detail.get("to"), detail.get("to") or "")
        reason = detail.get("reason") or ""
        return f"上报至{target}" + (f"：{reason}" if reason else "")
    if kind in ("message_received", "message_sent"):
        return f"消息 {detail.get('name', '')}"
    if kind == "case_error":
        return detail.get("message", "")
    if kind == "case_cancelled":
        return detail.get("reason", "")
    if kind == "case_started" and detail.get("version"):
        return f"流程版本 v{detail['version']}"
    return ""


def page_url(number, param="page"):
    """This page's address with the page number changed (filters kept)."""
    args = {**request.args.to_dict(), param: number, **(request.view_args or {})}
    return url_for(request.endpoint, **args)


def register(app):
    app.add_template_global(page_url, "page_url")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(role_names, "role_names")
    app.add_template_filter(show_value, "show_value")
    app.add_template_global(due_state, "due_state")
    app.add_template_global(overdue_by, "overdue_by")
    app.add_template_global(event_detail, "event_detail")
    app.jinja_env.globals.update(CASE_STATUS=CASE_STATUS, TASK_STATE=TASK_STATE,
                                 EVENT_KINDS=EVENT_KINDS, ROLE_NAMES=ROLE_NAMES)
