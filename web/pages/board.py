"""The supervisors' board: overdue and soon-due work in the supervisor's area, counted by
street, community, compound, process and company (charts drawn by ECharts from the same
numbers as the tables), and the three interventions on an overdue task: escalate it with a
reason, reassign it to a user, extend its deadline with a recorded reason."""
from datetime import datetime, time

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from engine import queries
from engine.access import scope_clause
from engine.calendar import CHINA_TZ
from engine.errors import ValidationFailed
from engine.models import Case, Organisation, User
from web.pages import bp
from web.pages.auth import back, supervisor_required
from web.pages.i18n import _
from web.pages.listing import board_counts
from web.pages.views import PER_PAGE, org_names, page_arg, page_count, process_names
from web.services import engine

MAX_ASSIGNEES = 300


@bp.get("/board")
@supervisor_required
def board():
    principal = g.principal
    now = engine().clock.now()
    with engine().db.unit_of_work(write=False) as db:
        counts = board_counts(db, principal, now)
        late = queries.list_tasks(db, principal, None, None, True, now, None, None,
                                  page_arg(), PER_PAGE)
        processes = process_names(db)
        compounds = org_names(db, {t.compound for t in late.items})
        case_ids = {t.case_id for t in late.items}
        titles = dict(db.execute(select(Case.id, Case.title).where(Case.id.in_(case_ids))).all()) \
            if case_ids else {}
        users = _assignable(db, principal)
    totals = {"overdue": sum(r[1] for r in counts["process"]),
              "soon": sum(r[2] for r in counts["process"])}
    unnamed = {"street": _("（未归属街道）"), "community": _("（未归属社区）"),
               "compound": _("（未指定小区）"), "company": _("（无物业企业）")}
    charts = {kind: [{"name": name or key or unnamed[kind], "overdue": o, "soon": s}
                     for key, name, o, s in counts[kind]]
              for kind in ("street", "community", "compound", "company")}
    charts["process"] = [{"name": processes.get(key, key), "overdue": o, "soon": s}
                         for key, o, s in counts["process"]]
    return render_template("pages/board.html", counts=counts, charts=charts, totals=totals,
                           late=late, processes=processes, compounds=compounds, titles=titles,
                           users=users, now=now, pages=page_count(late), unnamed=unnamed)


def _assignable(db, principal):
    """Users in the supervisor's area a task can be handed to (for the reassign suggestions)."""
    return db.execute(
        select(User.username, User.display_name, User.role)
        .join(Organisation, Organisation.code == User.org_code)
        .where(User.active.is_(True), scope_clause(principal, Organisation.path))
        .order_by(User.username).limit(MAX_ASSIGNEES)).all()


def _done(message):
    flash(message, "success")
    return redirect(back(url_for("pages.board")))


def _refused(exc):
    details = "；".join("，".join(v) for v in (exc.fields or {}).values())
    flash(exc.message + (f"：{details}" if details else ""), "error")
    return redirect(back(url_for("pages.board")))


@bp.post("/tasks/<task_id>/escalate")
@supervisor_required
def escalate(task_id):
    reason = request.form.get("reason", "").strip()[:1000]
    if not reason:
        flash(_("请填写上报原因"), "error")
        return redirect(back(url_for("pages.board")))
    engine().escalate_task(g.principal, task_id, reason)
    return _done(_("已上报上一级处理"))


@bp.post("/tasks/<task_id>/reassign")
@supervisor_required
def reassign(task_id):
    username = request.form.get("username", "").strip()
    reason = request.form.get("reason", "").strip()[:1000]
    try:
        row = engine().reassign_task(g.principal, task_id, username, reason)
    except ValidationFailed as exc:
        return _refused(exc)
    return _done(_("已将任务「%(title)s」改派给 %(user)s", title=row.title, user=username))


def parse_new_due(text):
    """A date (the end of that day in Beijing, as deadlines are read) or a Beijing date-time."""
    text = (text or "").strip()
    if not text:
        raise ValueError(_("请填写新的期限"))
    try:
        if len(text) == 10:
            return datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(),
                                    time(23, 59, 59), CHINA_TZ)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(_("请输入有效的日期（年-月-日）")) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)


@bp.post("/tasks/<task_id>/extend")
@supervisor_required
def extend(task_id):
    reason = request.form.get("reason", "").strip()[:1000]
    try:
        new_due = parse_new_due(request.form.get("due"))
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(back(url_for("pages.board")))
    try:
        row = engine().extend_deadline(g.principal, task_id, new_due, reason)
    except ValidationFailed as exc:
        return _refused(exc)
    return _done(_("已将任务「%(title)s」的期限延至 %(due)s", title=row.title,
                   due=new_due.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")))
