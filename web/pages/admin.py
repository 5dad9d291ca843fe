"""Admin pages: organisations, users and roles, deployed process versions.

Only the `admin` role gets here. Organisations are added (not moved: a case keeps the path it
was started under) and a compound's managing enterprise can be changed, which is what decides
the cases a company sees. Users are added, given a role and organisation, deactivated, or
given a new password. BPMN files are deployed through the service layer like `linkage deploy`.
"""
import re
from functools import wraps

from flask import flash, g, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select

from engine import queries
from engine.access import ROLES
from engine.errors import EngineError, Forbidden, NotFound, ValidationFailed
from engine.models import Organisation, ProcessDefinition, User
from engine.users import add_user, hash_password
from web.pages import bp
from web.pages.auth import login_required
from web.pages.i18n import _, _l
from web.pages.views import page_arg, page_count
from web.services import engine

PER_PAGE = 30
ORG_KINDS = {"province": _l("省"), "city": _l("市"), "district": _l("区县"), "street": _l("街道（乡镇）"),
             "community": _l("社区"), "compound": _l("小区"), "enterprise": _l("物业服务企业")}
TOP_LEVEL = ("province", "enterprise")  # kinds without a parent
MANAGEMENT_TYPES = {"enterprise": _l("物业服务企业管理"), "community_trust": _l("社区托管"),
                    "work_unit": _l("单位自管"), "owner_self": _l("业主自治"), "none": _l("无管理")}
CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_PASSWORD = 4


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not g.principal.is_admin:
            raise Forbidden(_("只有系统管理员可以管理组织、用户和流程"))
        return view(*args, **kwargs)
    return wrapper


def _refuse(problems):
    raise ValidationFailed(_("填写有误"), fields=problems)


def _flash_refusal(exc):
    details = "；".join("，".join(str(m) for m in v) for v in (exc.fields or {}).values())
    flash(exc.message + (f"：{details}" if details else ""), "error")


@bp.get("/admin")
@admin_required
def admin_home():
    return redirect(url_for("pages.admin_users"))


# -- users ----------------------------------------------------------------------------------
@bp.route("/admin/users", methods=["GET", "POST"])
@admin_required
def admin_users():
    search = request.args.get("q", "").strip()
    form = {"username": "", "display_name": "", "role": "clerk", "org": ""}
    status = 200
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in form}
        try:
            with engine().db.unit_of_work() as db:
                add_user(db, form["username"], request.form.get("password", ""), form["role"],
                         form["org"] or None, now=engine().clock.now(),
                         display_name=form["display_name"])
        except ValidationFailed as exc:
            _flash_refusal(exc)
            status = 422
        else:
            flash(_("已添加用户 %(name)s", name=form["username"]), "success")
            return redirect(url_for("pages.admin_users"))
    with engine().db.unit_of_work(write=False) as db:
        query = select(User)
        if search:
            like = f"%{search}%"
            query = query.where(or_(User.username.like(like), User.display_name.like(like),
                                    User.org_code.like(like)))
        page = queries._page(db, query, page_arg(), PER_PAGE, [User.username])
        orgs = dict(db.execute(select(Organisation.code, Organisation.name).where(
            Organisation.code.in_({u.org_code for u in page.items if u.org_code}))).all())
    return render_template("pages/admin_users.html", page=page, pages=page_count(page), orgs=orgs,
                           search=search, form=form, roles=ROLES), status


@bp.post("/admin/users/<int:user_id>")
@admin_required
def admin_user_update(user_id):
    action = request.form.get("action")
    try:
        with engine().db.unit_of_work() as db:
            user = db.get(User, user_id)
            if user is None:
                raise NotFound(_("未找到该用户"))
            if action == "password":
                password = request.form.get("password", "")
                if len(password) < MIN_PASSWORD:
                    _refuse({"password": [_("密码至少 %(n)s 个字符", n=MIN_PASSWORD)]})
                user.password_hash = hash_password(password)
                message = _("已重设 %(name)s 的密码", name=user.username)
            elif action == "role":
                role, org = request.form.get("role", ""), request.form.get("org", "").strip() or None
                if role not in ROLES:
                    _refuse({"role": [_("角色必须是 %(roles)s 之一", roles=", ".join(ROLES))]})
                if role != "admin" and (org is None or db.get(Organisation, org) is None):
                    _refuse({"org": [_("组织 %(code)s 不存在", code=org or "")]})
                if user.username == g.principal.username and role != "admin":
                    _refuse({"role": [_("不能取消自己的管理员角色")]})
                user.role, user.org_code = role, org
                message = _("已更新 %(name)s 的角色和组织", name=user.username)
            elif action in ("deactivate", "activate"):
                if user.username == g.principal.username:
                    _refuse({"active": [_("不能停用自己")]})
                user.active = action == "activate"
                message = (_("已启用用户 %(name)s", name=user.username) if user.active
                           else _("已停用用户 %(name)s", name=user.username))
            else:
                _refuse({"action": [_("未知的操作")]})
    except ValidationFailed as exc:
        _flash_refusal(exc)
    else:
        flash(message, "success")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/admin/")
                    else url_for("pages.admin_users"))


# -- organisations --------------------------------------------------------------------------
def _org_form():
    return {k: request.form.get(k, "").strip()
            for k in ("code", "name", "kind", "parent", "enterprise_code", "management_type")}


def _check_org(db, form, creating):
    problems = {}
    if creating:
        if not CODE.match(form["code"]):
            problems["code"] = [_("编码只能包含字母、数字、- 和 _，至多 64 个字符")]
        elif db.get(Organisation, form["code"]) is not None:
            problems["code"] = [_("编码 %(code)s 已存在", code=form["code"])]
        if form["kind"] not in ORG_KINDS:
            problems["kind"] = [_("请选择组织类型")]
        elif form["kind"] not in TOP_LEVEL:
            parent = db.get(Organisation, form["parent"]) if form["parent"] else None
            if parent is None:
                problems["parent"] = [_("上级组织 %(code)s 不存在", code=form["parent"])]
    if not form["name"] or len(form["name"]) > 200:
        problems["name"] = [_("名称不能为空且不超过 200 个字")]
    if form["enterprise_code"]:
        company = db.get(Organisation, form["enterprise_code"])
        if company is None or company.kind != "enterprise":
            problems["enterprise_code"] = [_("物业服务企业 %(code)s 不存在", code=form["enterprise_code"])]
    if form["management_type"] and form["management_type"] not in MANAGEMENT_TYPES:
        problems["management_type"] = [_("请选择管理方式")]
    if problems:
        _refuse(problems)


def _compound_attributes(org, form):
    attributes = dict(org.attributes or {})
    for key in ("enterprise_code", "management_type"):
        if form[key]:
            attributes[key] = form[key]
        else:
            attributes.pop(key, None)
    return attributes


@bp.route("/admin/orgs", methods=["GET", "POST"])
@admin_required
def admin_orgs():
    search = request.args.get("q", "").strip()
    kind = request.args.get("kind") if request.args.get("kind") in ORG_KINDS else None
    form = {"code": "", "name": "", "kind": "compound", "parent": "", "enterprise_code": "",
            "management_type": ""}
    status = 200
    if request.method == "POST":
        form = _org_form()
        try:
            with engine().db.unit_of_work() as db:
                _check_org(db, form, creating=True)
                parent = db.get(Organisation, form["parent"]) if form["kind"] not in TOP_LEVEL else None
                org = Organisation(code=form["code"], name=form["name"], kind=form["kind"],
                                   parent_code=parent.code if parent else None,
                                   path=f"{parent.path if parent else ''}{form['code']}/", attributes={})
                if form["kind"] == "compound":
                    org.attributes = _compound_attributes(org, form)
                db.add(org)
        except ValidationFailed as exc:
            _flash_refusal(exc)
            status = 422
        else:
            flash(_("已添加组织 %(name)s", name=form["name"]), "success")
            return redirect(url_for("pages.admin_orgs", q=form["code"]))
    with engine().db.unit_of_work(write=False) as db:
        query = select(Organisation)
        if search:
            like = f"%{search}%"
            query = query.where(or_(Organisation.code.like(like), Organisation.name.like(like)))
        if kind:
            query = query.where(Organisation.kind == kind)
        page = queries._page(db, query, page_arg(), PER_PAGE, [Organisation.path])
        enterprises = dict(db.execute(select(Organisation.code, Organisation.name)
                                      .where(Organisation.kind == "enterprise")
                                      .order_by(Organisation.code).limit(500)).all())
        users = dict(db.execute(select(User.org_code, func.count()).where(
            User.org_code.in_([o.code for o in page.items])).group_by(User.org_code)).all())
    return render_template("pages/admin_orgs.html", page=page, pages=page_count(page), search=search,
                           kind=kind, kinds=ORG_KINDS, form=form, enterprises=enterprises,
                           enterprise_options=_enterprise_options(enterprises),
                           management_types=MANAGEMENT_TYPES, users=users), status


def _enterprise_options(enterprises):
    """The enterprise <option>s of a compound row, with its enterprise selected.

    Every compound row of a page has this select and a city has hundreds of enterprises, so
    the options are escaped and joined once per page; a row only marks its own choice.
    """
    options = "".join(f'<option value="{escape(code)}">{escape(name)}</option>'
                      for code, name in enterprises.items())

    def for_row(selected):
        if not selected:
            return Markup(options)
        mark = f'<option value="{escape(selected)}">'
        return Markup(options.replace(mark, mark[:-1] + " selected>", 1))
    return for_row


@bp.post("/admin/orgs/<code>")
@admin_required
def admin_org_update(code):
    form = _org_form()
    try:
        with engine().db.unit_of_work() as db:
            org = db.get(Organisation, code)
            if org is None:
                raise NotFound(_("未找到该组织"))
            _check_org(db, form, creating=False)
            org.name = form["name"]
            if org.kind == "compound":
                org.attributes = _compound_attributes(org, form)
    except ValidationFailed as exc:
        _flash_refusal(exc)
    else:
        flash(_("已更新组织 %(name)s", name=form["name"]), "success")
    return redirect(url_for("pages.admin_orgs", q=code))


# -- processes -------------------------------------------------------------------------------
@bp.route("/admin/processes", methods=["GET", "POST"])
@admin_required
def admin_processes():
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("请选择要部署的 BPMN 文件"), "error")
            status = 422
        elif not upload.filename.lower().endswith((".bpmn", ".xml")):
            flash(_("只能部署 .bpmn 文件"), "error")
            status = 422
        else:
            name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
            try:
                results = engine().deploy([(name, upload.read())], g.principal)
            except EngineError as exc:
                _flash_refusal(exc)
                status = 422
            else:
                for r in results:
                    flash(_("已部署 %(process)s v%(version)s", process=r.process_id, version=r.version)
                          if r.created else
                          _("%(process)s 未变化（v%(version)s）", process=r.process_id, version=r.version),
                          "success")
                return redirect(url_for("pages.admin_processes"))
    with engine().db.unit_of_work(write=False) as db:
        versions = db.execute(select(
            ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.version,
            ProcessDefinition.name, ProcessDefinition.file_name, ProcessDefinition.deployed_at,
            ProcessDefinition.deployed_by).order_by(ProcessDefinition.process_id,
                                                    ProcessDefinition.version.desc())).all()
    grouped = {}
    for v in versions:
        grouped.setdefault(v.process_id, []).append(v)
    return render_template("pages/admin_processes.html", grouped=grouped), status
