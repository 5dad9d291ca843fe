"""The pages: sign-in, inbox, task form, case, cases, supervisors' board.

Like the API, each view reads through `engine.queries` (scoped to the signed-in principal) or
gives one command to the service layer, and renders what comes back.
"""

from flask import (current_app, flash, g, jsonify, redirect, render_template, request,
                   url_for)
from sqlalchemy import and_, func, select
from sqlalchemy import case as sql_case

from engine import deployment, queries
from engine.access import may_act, scope_clause
from engine.deployment import HUMAN_TAGS
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.forms import form_key
from engine.models import Case, Event, Organisation, ProcessDefinition, TaskRow
from engine.users import authenticate
from web.pages import auth, bp, csrf, forms
from web.pages.auth import back, login_required, safe_next, supervisor_required
from web.pages.display import SOON, due_state
from web.pages.errors import error_page
from web.services import engine

PER_PAGE = 20
THROTTLE = "linkage_login_throttle"


@bp.before_request
def before():
    auth.load_signed_in_user()
    if request.method == "POST" and not csrf.request_is_valid():
        return error_page(403, "页面已过期或请求无法验证（CSRF），请刷新页面后重试。")
    return None


@bp.after_request
def security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _page_arg():
    return max(1, request.args.get("page", 1, type=int) or 1)


def _process_names(db):
    return {d.process_id: d.name for d in queries.list_processes(db, 1, queries.MAX_PER_PAGE).items}


def _org_names(db, codes):
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.execute(select(Organisation.code, Organisation.name)
                           .where(Organisation.code.in_(codes))).all())


# -- signing in and out -------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.principal is not None:
            return redirect(next_url)
        return render_template("pages/login.html", username="", next=next_url)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    throttle = current_app.extensions[THROTTLE]
    key, now = throttle.key(username, request.remote_addr), engine().clock.now()
    wait = throttle.retry_after(key, now)
    if wait:
        minutes = max(1, (wait + 59) // 60)
        page = render_template("pages/login.html", username=username, next=next_url,
                               error=f"登录失败次数过多，请 {minutes} 分钟后再试。")
        return page, 429, {"Retry-After": str(wait)}
    user = None
    if username and password:
        with engine().db.unit_of_work(write=False) as db:
            user = authenticate(db, username, password)
    if user is None:
        throttle.failed(key, now)
        return render_template("pages/login.html", username=username, next=next_url,
                               error="用户名或密码错误")
    throttle.succeeded(key)
    auth.sign_in(user)
    flash(f"欢迎，{user.display_name or user.username}", "success")
    return redirect(next_url)


@bp.post("/logout")
def logout():
    auth.sign_out()
    flash("您已退出登录", "success")
    return redirect(url_for("pages.login"))


# -- inbox and tasks ----------------------------------------------------------------------
@bp.get("/")
@login_required
def inbox():
    principal = g.principal
    process = request.args.get("process") or None
    mine = request.args.get("mine") == "1"
    overdue = request.args.get("overdue") == "1"
    now = engine().clock.now()
    with engine().db.unit_of_work(write=False) as db:
        page = queries.list_tasks(db, principal, None, None, overdue, now,
                                  principal.username if mine else None, process,
                                  _page_arg(), PER_PAGE)
        case_ids = {t.case_id for t in page.items}
        cases = {c.id: c for c in db.scalars(select(Case).where(Case.id.in_(case_ids)))} if case_ids else {}
        compounds = _org_names(db, {t.compound for t in page.items})
        processes = _process_names(db)
    rows = [{"task": t, "case": cases.get(t.case_id), "due": due_state(t.due_at, now),
             "compound": compounds.get(t.compound, t.compound or ""),
             "process": processes.get(t.process_id, t.process_id),
             "can_claim": not t.assignee and may_act(principal, t),
             "can_release": bool(t.assignee) and (t.assignee == principal.username
                                                  or principal.is_supervisor)}
            for t in page.items]
    return render_template("pages/inbox.html", rows=rows, page=page, processes=processes,
                           process=process, mine=mine, overdue=overdue, now=now,
                           pages=_page_count(page))


def _page_count(page):
    return max(1, -(-page.total // page.per_page))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id):
    row = engine().claim_task(g.principal, task_id)
    flash(f"已认领任务「{row.title}」", "success")
    return redirect(back())


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id):
    row = engine().claim_task(g.principal, task_id, release=True)
    flash(f"已退回任务「{row.title}」，其他人可以认领", "success")
    return redirect(back())


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id):
    principal = g.principal
    now = engine().clock.now()
    with engine().db.unit_of_work(write=False) as db:
        row = queries.get_task(db, principal, task_id)
        case = db.get(Case, row.case_id)
        compound = _org_names(db, {row.compound}).get(row.compound, row.compound or "")
        process = db.get(ProcessDefinition, case.definition_id).name
    fields = forms.fields_from_schema(engine().forms.schema(row.form_key))
    can_act = row.state == "ready" and may_act(principal, row)
    context = {"row": row, "case": case, "compound": compound, "process": process,
               "fields": fields, "can_act": can_act, "general_errors": [], "now": now,
               "due": due_state(row.due_at, now) if row.state == "ready" else None}
    if request.method == "GET":
        return render_template("pages/task.html", **context)
    if row.state != "ready":
        flash("任务已经完成或已取消", "warning")
        return redirect(url_for("pages.case_page", case_id=row.case_id))
    if not can_act:
        raise Forbidden("您不能办理此任务")
    data, errors = forms.convert(fields, request.form)
    message = "表单填写有误，请按提示修改"
    if not errors:
        try:
            done = engine().complete_task(principal, task_id, data)
        except ValidationFailed as exc:
            errors, message = exc.fields or {}, exc.message or message
        except Conflict as exc:
            flash(exc.message, "warning")
            return redirect(url_for("pages.case_page", case_id=row.case_id))
        else:
            if done.status == "error":
                flash(f"任务「{row.title}」已提交，但案件运行出错：{done.error}", "error")
            else:
                flash(f"任务「{row.title}」已办理", "success")
            return redirect(url_for("pages.case_page", case_id=done.id))
    forms.keep_input(fields, request.form)
    general = forms.attach_errors(fields, errors)
    context["general_errors"] = [message, *general]
    return render_template("pages/task.html", **context), 422


# -- cases ----------------------------------------------------------------------------------
@bp.get("/cases")
@login_required
def cases():
    principal = g.principal
    process = request.args.get("process") or None
    status = request.args.get("status") or None
    overdue = request.args.get("overdue") == "1"
    now = engine().clock.now()
    with engine().db.unit_of_work(write=False) as db:
        page = queries.list_cases(db, principal, process, status, overdue, None, now,
                                  _page_arg(), PER_PAGE)
        compounds = _org_names(db, {c.compound for c in page.items})
        processes = _process_names(db)
    return render_template("pages/cases.html", page=page, compounds=compounds,
                           processes=processes, process=process, status=status,
                           overdue=overdue, pages=_page_count(page))


MAX_COMPOUND_CHOICES = 500


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def start_case():
    """Start a case of a process: pick the process, then fill its start form (if it has one)."""
    principal = g.principal
    process_id = request.values.get("process") or None
    with engine().db.unit_of_work(write=False) as db:
        processes = _process_names(db)
        definition = deployment.get_definition(db, process_id) if process_id else None
        compounds = db.execute(
            select(Organisation.code, Organisation.name)
            .where(Organisation.kind == "compound", scope_clause(principal, Organisation.path))
            .order_by(Organisation.code).limit(MAX_COMPOUND_CHOICES + 1)).all()
    context = {"processes": processes, "definition": definition, "fields": [],
               "compounds": compounds[:MAX_COMPOUND_CHOICES],
               "many_compounds": len(compounds) > MAX_COMPOUND_CHOICES,
               "compound": request.form.get("compound", principal.org_code
                                            if principal.org_code in dict(compounds) else ""),
               "compound_errors": [], "general_errors": []}
    if definition is None:
        return render_template("pages/start.html", **context)
    fields = context["fields"] = forms.fields_from_schema(engine().forms.schema(definition.start_form))
    if request.method == "GET":
        return render_template("pages/start.html", **context)
    data, errors = forms.convert(fields, request.form)
    message = "表单填写有误，请按提示修改"
    if not errors:
        try:
            case = engine().start_case(principal, definition.process_id, data,
                                       request.form.get("compound") or None)
        except ValidationFailed as exc:
            errors, message = dict(exc.fields or {}), exc.message or message
        else:
            if case.status == "error":
                flash(f"案件已发起，但运行出错：{case.error}", "error")
            else:
                flash(f"已发起案件「{case.title}」", "success")
            return redirect(url_for("pages.case_page", case_id=case.id))
    context["compound_errors"] = errors.pop("compound", [])
    forms.keep_input(fields, request.form)
    context["general_errors"] = [message, *forms.attach_errors(fields, errors)]
    return render_template("pages/start.html", **context), 422


@bp.get("/cases/<case_id>")
@login_required
def case_page(case_id):
    principal = g.principal
    now = engine().clock.now()
    events_page = _page_arg()
    with engine().db.unit_of_work(write=False) as db:
        case = queries.get_case(db, principal, case_id)
        definition = db.get(ProcessDefinition, case.definition_id)
        compound = _org_names(db, {case.compound}).get(case.compound, case.compound or "")
        tasks = queries.case_tasks(db, case.id)
        timers = queries.case_timers(db, case.id)
        events = queries.list_events(db, principal, case.id, events_page, queries.MAX_PER_PAGE)
    meta = definition.task_meta or {}

    def element_name(element, detail=None):
        if not element:
            return ""
        return (meta.get(element) or {}).get("name") or (detail or {}).get("name") or element

    task_rows = [{"task": t, "due": due_state(t.due_at, now), "can_act": may_act(principal, t)}
                 for t in tasks]
    return render_template("pages/case.html", case=case, definition=definition,
                           compound=compound, tasks=task_rows, timers=timers, events=events,
                           element_name=element_name, events_pages=_page_count(events), now=now,
                           labels=_data_labels(definition))


def _data_labels(definition):
    """Chinese names of case data keys, from the titles in the process's form schemas."""
    keys = [definition.start_form] + [form_key(definition, element)
                                      for element, entry in (definition.task_meta or {}).items()
                                      if entry.get("tag") in HUMAN_TAGS]
    labels = {"title": "标题"}
    for key in filter(None, keys):
        properties = (engine().forms.schema(key) or {}).get("properties") or {}
        for name, spec in properties.items():
            if isinstance(spec, dict) and spec.get("title"):
                labels.setdefault(name, str(spec["title"]))
    return labels


@bp.get("/cases/<case_id>/diagram.bpmn")
@login_required
def case_diagram(case_id):
    with engine().db.unit_of_work(write=False) as db:
        case = queries.get_case(db, g.principal, case_id)
        xml = db.get(ProcessDefinition, case.definition_id).bpmn_xml
    return current_app.response_class(xml, mimetype="application/xml")


@bp.get("/cases/<case_id>/diagram-state.json")
@login_required
def case_diagram_state(case_id):
    now = engine().clock.now()
    with engine().db.unit_of_work(write=False) as db:
        case = queries.get_case(db, g.principal, case_id)
        completed = db.scalars(select(Event.element).where(
            Event.case_id == case.id, Event.kind == "task_completed", Event.element.is_not(None))
            .order_by(Event.id)).all()
        ready = queries.case_tasks(db, case.id)
    return jsonify({"completed": list(dict.fromkeys(completed)),
                    "active": list(dict.fromkeys(t.name for t in ready)),
                    "overdue": list(dict.fromkeys(t.name for t in ready
                                                  if t.due_at is not None and t.due_at < now))})


# -- supervisors' board -------------------------------------------------------------------
@bp.get("/board")
@supervisor_required
def board():
    principal = g.principal
    now = engine().clock.now()
    horizon = now + SOON
    overdue_n = func.sum(sql_case((TaskRow.due_at < now, 1), else_=0)).label("overdue")
    soon_n = func.sum(sql_case((and_(TaskRow.due_at >= now, TaskRow.due_at <= horizon), 1),
                               else_=0)).label("soon")
    watched = (TaskRow.state == "ready", scope_clause(principal, TaskRow.org_path),
               TaskRow.due_at.is_not(None), TaskRow.due_at <= horizon)

    def grouped(db, column):
        return db.execute(select(column.label("key"), overdue_n, soon_n).where(*watched)
                          .group_by(column).order_by(overdue_n.desc(), soon_n.desc(), column)).all()

    with engine().db.unit_of_work(write=False) as db:
        by_process = grouped(db, TaskRow.process_id)
        by_compound = grouped(db, TaskRow.compound)
        late = queries.list_tasks(db, principal, None, None, True, now, None, None,
                                  _page_arg(), PER_PAGE)
        processes = _process_names(db)
        compounds = _org_names(db, {r.key for r in by_compound} | {t.compound for t in late.items})
        case_ids = {t.case_id for t in late.items}
        titles = dict(db.execute(select(Case.id, Case.title).where(Case.id.in_(case_ids))).all()) \
            if case_ids else {}
    totals = {"overdue": sum(r.overdue or 0 for r in by_process),
              "soon": sum(r.soon or 0 for r in by_process)}
    return render_template("pages/board.html", by_process=by_process, by_compound=by_compound,
                           totals=totals, late=late, processes=processes, compounds=compounds,
                           titles=titles, now=now, pages=_page_count(late))


@bp.post("/tasks/<task_id>/escalate")
@supervisor_required
def escalate(task_id):
    reason = request.form.get("reason", "").strip()[:1000]
    if not reason:
        flash("请填写上报原因", "error")
        return redirect(back(url_for("pages.board")))
    engine().escalate_task(g.principal, task_id, reason)
    flash("已上报上一级处理", "success")
    return redirect(back(url_for("pages.board")))
