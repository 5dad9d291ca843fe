"""Who is told about a task, what they are told, and over which channels.

Recipients are the people who may act on the task: its assignee once claimed, otherwise the
users whose role is one of the task's candidate groups and whose organisation is on the task's
organisation path, the nearest level per role (the district's housing bureau, not the city's
and the province's as well). In-app notifications are written here, in the caller's
transaction, with their `reminder_sent` event; email and webhook messages become `deliveries`
rows that `engine.channels` sends afterwards, so a slow or broken mail server never holds up a
sweep's transaction nor another channel.
"""
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from engine.calendar import CHINA_TZ
from engine.models import Event, Organisation, User
from engine.scheduler_models import Delivery, Notification

PRODUCT = "物业三方联动"


@dataclass
class Message:
    subject: str
    text: str
    link: str


def task_link(base_url, task_id):
    return f"{(base_url or '').rstrip('/')}/tasks/{task_id}"


def redact_url(url):
    """A webhook address fit for the audit trail: robots keep their secret in the query."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else "webhook"


def format_deadline(due_at):
    local = due_at.astimezone(CHINA_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def task_recipients(session, task):
    """The active users who may act on `task`, nearest organisation level per role."""
    if task.assignee:
        return list(session.scalars(select(User).where(User.username == task.assignee,
                                                       User.active.is_(True))))
    groups = [g for g in task.candidate_groups or [] if g != "admin"]
    codes = [c for c in (task.org_path or "").split("/") if c]
    if not groups or not codes:
        return []
    users = session.scalars(select(User).where(User.role.in_(groups), User.org_code.in_(codes),
                                               User.active.is_(True))
                            .order_by(User.username)).all()
    depth = {code: i for i, code in enumerate(codes)}
    nearest = {}
    for user in users:
        nearest[user.role] = max(nearest.get(user.role, -1), depth[user.org_code])
    return [u for u in users if depth[u.org_code] == nearest[u.role]]


class Recipients:
    """Recipients and place names remembered for one batch: tasks of one place share them."""

    def __init__(self, session):
        self.session, self.known, self.places = session, {}, {}

    def of(self, task):
        key = (task.assignee, tuple(task.candidate_groups or ()), task.org_path)
        if key not in self.known:
            self.known[key] = task_recipients(self.session, task)
        return self.known[key]

    def place(self, task):
        if task.compound not in self.places:
            self.places[task.compound] = place_name(self.session, task)
        return self.places[task.compound]


def reminder_message(task, case, place, moment, base_url, names=()):
    """The reminder in Chinese, with the deadline, the state and a link to the task page."""
    link = task_link(base_url, task.id)
    state = moment.describe()
    subject = f"【{PRODUCT}】待办提醒：{task.title}（{state}）"
    lines = [f"{'、'.join(names)}：" if names else "您好：", "",
             "您有一项待办任务需要办理，请及时处理。" if moment.kind != "overdue"
             else "您有一项待办任务已超过办理期限，请尽快办理。",
             f"任务：{task.title}",
             f"案件：{case.title}" if case is not None else None,
             f"地点：{place}" if place else None,
             f"办理期限：{format_deadline(task.due_at)}",
             f"当前状态：{state}",
             f"办理链接：{link}", "",
             "（本消息由系统自动发送，请勿直接回复）"]
    return Message(subject, "\n".join(line for line in lines if line is not None), link)


def place_name(session, task):
    if not task.compound:
        return None
    org = session.get(Organisation, task.compound)
    return org.name if org is not None else task.compound


def remind(session, settings, task, case, moments, channels, now, people=None):
    """Tell everyone who may act on `task` about the latest of `moments`, once per channel.

    Several moments due at once (after downtime) make one message, not a burst: the event
    records how many occurrences it covers. Returns the number of messages written.
    """
    moment = moments[-1]
    people = people or Recipients(session)
    users, place = people.of(task), people.place(task)
    message = reminder_message(task, case, place, moment, settings.base_url)
    detail = {"task_id": task.id, "reminder": moment.kind, "due_at": moment.at.isoformat(),
              "deadline": task.due_at.isoformat()}
    if len(moments) > 1:
        detail["occurrences"] = [m.at.isoformat() for m in moments]
    written = 0
    if "inapp" in channels:
        for user in users:
            session.add(Notification(username=user.username, case_id=task.case_id, task_id=task.id,
                                     title=message.subject, body=message.text, link=message.link,
                                     created_at=now))
            session.add(Event(case_id=task.case_id, at=now, actor="scheduler", kind="reminder_sent",
                              element=task.name,
                              detail={**detail, "channel": "inapp", "recipient": user.username}))
            written += 1
    if "email" in channels and settings.email_enabled:
        for user in users:
            if not user.email:
                continue
            personal = reminder_message(task, case, place, moment,
                                        settings.base_url, [user.display_name or user.username])
            session.add(_delivery("email", user.email, user.username, task, personal, detail, now))
            written += 1
    if "webhook" in channels and settings.webhook_enabled:
        names = [u.display_name or u.username for u in users]
        group = reminder_message(task, case, place, moment, settings.base_url,
                                 names)
        session.add(_delivery("webhook", redact_url(settings.webhook_url), None, task, group,
                              detail, now))
        written += 1
    return written


def _delivery(channel, recipient, username, task, message, detail, now):
    return Delivery(channel=channel, recipient=recipient, username=username, case_id=task.case_id,
                    task_id=task.id, element=task.name, subject=message.subject,
                    body=message.text, detail=dict(detail), status="pending", attempts=0,
                    next_attempt_at=now, created_at=now)
