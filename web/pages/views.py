"""The pages: sign-in, language, inbox, task form, case, cases, starting a case.

Like the API, each view reads through `engine.queries` (or the scoped questions of
`web.pages.listing`) for the signed-in principal, or gives one command to the service layer,
and renders what comes back. The supervisors' board is in `board.py`, the admin pages in
`admin.py`.
"""

from flask import (abort, current_app, flash, g, jsonify, redirect, render_template, request,
                   send_file, session, url_for)
from sqlalchemy import select

from engine import deployment, queries
from engine.access import may_act
from engine.deployment import HUMAN_TAGS
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.forms import form_key
from engine.models import Case, Event, Organisation, ProcessDefinition, User
from engine.users import authenticate
from web.pages import auth, bp, csrf, documents, forms, i18n
from web.pages.auth import back, login_required, safe_next
from web.pages.display import due_state
from web.pages.errors import error_page
from web.pages.i18n import _
from web.pages.listing import DUE_FILTERS, WHO_FILTERS, compounds_in_scope, inbox_tasks
from web.services import engine

PER_PAGE = 20
THROTTLE = "linkage_login_throttle"
MAX_COMPOUND_CHOICES = 500


@bp.before_request
def before():
    auth.load_signed_in_user()
    if request.method == "POST" and not csrf.request_is_valid():
        return error_page(403, _("页面已过期或请求无法验证（CSRF），请刷新页面后重试。"))
    return None


@bp.after_request
def security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def page_arg():
    return max(1, request.args.get("page", 1, type=int) or 1)


def page_count(page):
    return max(1, -(-page.total // page.per_page))


def process_names(db):
    return {d.process_id: d.name for d in queries.list_processes(db, 1, queries.MAX_PER_PAGE).items}


def org_names(db, codes):
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.execute(select(Organisation.code, Organisation.name)
                           .where(Organisation.code.in_(codes))).all())


def people_names(db, usernames):
    """username -> "name (username)" for the people a page mentions; a clerk knows 张专干, not
    `demo.clerk`. Accounts without a display name, or gone, keep the username."""
    usernames = {u for u in usernames if u}
    if not usernames:
        return {}
    return {username: f"{name}（{username}）" for username, name in db.execute(
        select(User.username, User.display_name).where(User.username.in_(usernames))) if name}


# -- signing in and out, language ---------------------------------------------------------
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
                               error=_("登录失败次数过多，请 %(minutes)s 分钟后再试。", minutes=minutes))
        return page, 429, {"Retry-After": str(wait)}
    user = None
    if username and password:
        with engine().db.unit_of_work(write=False) as db:
            user = authenticate(db, username, password)
    if user is None:
        throttle.failed(key, now)
        return render_template("pages/login.html", username=username, next=next_url,
                               error=_("用户名或密码错误"))
    throttle.succeeded(key)
    language = session.get(i18n.SESSION_KEY)
    auth.sign_in(user)
    if language:
        session[i18n.SESSION_KEY] = language  # the language chosen before signing in stays
    flash(_("欢迎，%(name)s", name=user.display_name or user.username), "success")
    return redirect(next_url)


@bp.post("/logout")
def logout():
    language = session.get(i18n.SESSION_KEY)
    auth.sign_out()
    if language:
        session[i18n.SESSION_KEY] = language
    flash(_("您已退出登录"), "success")
    return redirect(url_for("pages.login"))


@bp.post("/language")
def set_language():
    chosen = request.form.get("lang")
    if chosen in i18n.LANGUAGES:
        session[i18n.SESSION_KEY] = chosen
    return redirect(back())


# -- inbox and tasks ----------------------------------------------------------------------
def inbox_filters():
    """The inbox's filters from the query string; `mine=1` and `overdue=1` are older spellings.

    By default the inbox holds the tasks the user can act on (`who=group`: their role is a
    candidate, unclaimed or claimed by them); `who=all` widens it to everything in their area.
    """
    args = request.args
    who = args.get("who") if args.get("who") in WHO_FILTERS else WHO_FILTERS[0]
    if args.get("mine") == "1":
        who = "mine"
    due = args.get("due") if args.get("due") in DUE_FILTERS else None
    if args.get("overdue") == "1":
        due = "overdue"
    return {"process": args.get("process") or None, "compound": args.get("compound") or None,
            "due": due, "who": who}


@bp.get("/")
@login_required
def inbox():
    principal = g.principal
    filters = inbox_filters()
    now = engine().clock.now()
    with engine().db.unit_of_work(write=False) as db:
        page = inbox_tasks(db, principal, now, page=page_arg(), per_page=PER_PAGE, **filters)
        case_ids = {t.case_id for t in page.items}
        cases = {c.id: c for c in db.scalars(select(Case).where(Case.id.in_(case_ids)))} if case_ids else {}
        choices = compounds_in_scope(db, principal, MAX_COMPOUND_CHOICES + 1)
        compounds = org_names(db, {t.compound for t in page.items})
        processes = process_names(db)
    rows = [{"task": t, "case": cases.get(t.case_id), "due": due_state(t.due_at, now),
             "compound": compounds.get(t.compound, t.compound or ""),
             "process": processes.get(t.process_id, t.process_id),
             "can_claim": not t.assignee and may_act(principal, t),
             "can_release": bool(t.assignee) and (t.assignee == principal.username
                                                  or principal.is_supervisor)}
            for t in page.items]
    return render_template("pages/inbox.html", rows=rows, page=page, processes=processes,
                           filters=filters, compound_choices=choices[:MAX_COMPOUND_CHOICES],
                           many_compounds=len(choices) > MAX_COMPOUND_CHOICES, now=now,
                           pages=page_count(page))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id):
    row = engine().claim_task(g.principal, task_id)
    flash(_("已认领任务「%(title)s」", title=row.title), "success")
    return redirect(back())


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id):
    row = engine().claim_task(g.principal, task_id, release=True)
    flash(_("已退回任务「%(title)s」，其他人可以认领", title=row.title), "success")
    return redirect(back())


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id):
    principal = g.principal
    now = engine().clock.now()
    with engine().db.unit_of_work(write=False) as db:
        row = queries.get_task(db, principal, task_id)
        case = db.get(Case, row.case_id)
        compound = org_names(db, {row.compound}).get(row.compound, row.compound or "")
        process = db.get(ProcessDefinition, case.definition_id).name
    fields = forms.fields_from_schema(engine().forms.schema(row.form_key))
    can_act = row.state == "ready" and may_act(principal, row)
    context = {"row": row, "case": case, "compound": compound, "process": process,
               "fields": fields, "can_act": can_act, "general_errors": [], "now": now,
               "due": due_state(row.due_at, now) if row.state == "ready" else None,
               "upload_errors": [], "accept": documents.ACCEPT,
               "max_mb": documents.max_bytes() // (1024 * 1024) or 1,
               "max_files": documents.MAX_FILES}
    if request.method == "GET":
        return render_template("pages/task.html", **context)
    if row.state != "ready":
        flash(_("任务已经完成或已取消"), "warning")
        return redirect(url_for("pages.case_page", case_id=row.case_id))
    if not can_act:
        raise Forbidden(_("您不能办理此任务"))
    data, errors = forms.convert(fields, request.form)
    uploads, upload_errors = documents.check(request.files.getlist(documents.FIELD))
    message = _("表单填写有误，请按提示修改")
    if not errors and not upload_errors:
        try:
            done = engine().complete_task(principal, task_id, data)
        except ValidationFailed as exc:
            errors, message = exc.fields or {}, exc.message or message
        except Conflict as exc:
            flash(exc.message, "warning")
            return redirect(url_for("pages.case_page", case_id=row.case_id))
        else:
            _store_documents(uploads, row, principal)
            if done.status == "error":
                flash(_("任务「%(title)s」已提交，但案件运行出错：%(error)s", title=row.title,
                        error=done.error), "error")
            else:
                flash(_("任务「%(title)s」已办理", title=row.title), "success")
            return redirect(url_for("pages.case_page", case_id=done.id))
    forms.keep_input(fields, request.form)
    general = forms.attach_errors(fields, errors)
    if upload_errors or uploads:
        upload_errors = upload_errors + [_("表单未提交，请重新选择附件")]
    context.update(general_errors=[message, *general], upload_errors=upload_errors)
    return render_template("pages/task.html", **context), 422


def _store_documents(uploads, row, principal):
    if not uploads:
        return
    try:
        with engine().db.unit_of_work() as db:
            documents.store(db, uploads, row.case_id, row, principal, engine().clock.now())
    except OSError:
        current_app.logger.exception("could not store the documents of task %s", row.id)
        flash(_("任务已办理，但附件保存失败，请联系管理员"), "error")
    else:
        flash(_("已上传 %(n)s 个附件", n=len(uploads)), "success")


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
                                  page_arg(), PER_PAGE)
        compounds = org_names(db, {c.compound for c in page.items})
        processes = process_names(db)
    return render_template("pages/cases.html", page=page, compounds=compounds,
                           processes=processes, process=process, status=status,
                           overdue=overdue, pages=page_count(page))


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def start_case():
    """Start a case of a process: pick the process, then fill its start form (if it has one)."""
    principal = g.principal
    process_id = request.values.get("process") or None
    with engine().db.unit_of_work(write=False) as db:
        processes = process_names(db)
        definition = deployment.get_definition(db, process_id) if process_id else None
        compounds = compounds_in_scope(db, principal, MAX_COMPOUND_CHOICES + 1)
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
    message = _("表单填写有误，请按提示修改")
    if not errors:
        try:
            case = engine().start_case(principal, definition.process_id, data,
                                       request.form.get("compound") or None)
        except ValidationFailed as exc:
            errors, message = dict(exc.fields or {}), exc.message or message
        else:
            if case.status == "error":
                flash(_("案件已发起，但运行出错：%(error)s", error=case.error), "error")
            else:
                flash(_("已发起案件「%(title)s」", title=case.title), "success")
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
    events_page = page_arg()
    with engine().db.unit_of_work(write=False) as db:
        case = queries.get_case(db, principal, case_id)
        definition = db.get(ProcessDefinition, case.definition_id)
        compound = org_names(db, {case.compound}).get(case.compound, case.compound or "")
        tasks = queries.case_tasks(db, case.id)
        timers = queries.case_timers(db, case.id)
        events = queries.list_events(db, principal, case.id, events_page, queries.MAX_PER_PAGE)
        files = documents.of_case(db, case.id)
        people = people_names(db, {case.started_by, *(t.assignee for t in tasks),
                                   *(e.actor for e in events.items), *(d.uploaded_by for d in files)})
    meta = definition.task_meta or {}

    def element_name(element, detail=None):
        if not element:
            return ""
        return (meta.get(element) or {}).get("name") or (detail or {}).get("name") or element

    task_rows = [{"task": t, "due": due_state(t.due_at, now), "can_act": may_act(principal, t)}
                 for t in tasks]
    labels, value_labels = data_labels(definition)
    return render_template("pages/case.html", case=case, definition=definition,
                           compound=compound, tasks=task_rows, timers=timers, events=events,
                           element_name=element_name, events_pages=page_count(events), now=now,
                           labels=labels, value_labels=value_labels, documents=files,
                           human_size=documents.human_size, person=lambda u: people.get(u, u))


def data_labels(definition):
    """Chinese names of case data keys and of their choice values, from the process's form
    schemas: `({key: title}, {key: {value: label}})`, so the case page shows 业主投诉 where
    the data holds `complaint`."""
    keys = [definition.start_form] + [form_key(definition, element)
                                      for element, entry in (definition.task_meta or {}).items()
                                      if entry.get("tag") in HUMAN_TAGS]
    labels, value_labels = {"title": _("标题")}, {}
    for key in filter(None, keys):
        properties = (engine().forms.schema(key) or {}).get("properties") or {}
        for name, spec in properties.items():
            if not isinstance(spec, dict):
                continue
            if spec.get("title"):
                labels.setdefault(name, str(spec["title"]))
            choices = spec if "enum" in spec else spec.get("items") or {}
            titles = isinstance(choices, dict) and (choices.get("x-enum-labels") or choices.get(
                "x-enum-titles") or choices.get("enumNames"))  # as the form renderer reads them
            if titles and choices.get("enum"):
                value_labels.setdefault(name, dict(zip(choices["enum"], titles)))
    return labels, value_labels


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


@bp.get("/cases/<case_id>/documents/<doc_id>")
@login_required
def case_document(case_id, doc_id):
    with engine().db.unit_of_work(write=False) as db:
        case = queries.get_case(db, g.principal, case_id)
        row = documents.get(db, case.id, doc_id)
    path = documents.path_of(row) if row is not None else None
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=row.content_type, download_name=row.file_name,
                         as_attachment=row.content_type not in documents.INLINE_TYPES,
                         max_age=0, etag=row.sha256)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
