"""How the pages say no: Chinese error pages for 403/404 (and the rest), a flash message and a
redirect back for conflicts. Nothing reaches the user as a stack trace."""
from flask import current_app, flash, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from engine.errors import Conflict, EngineError, ValidationFailed
from web.pages import bp
from web.pages.auth import back, load_signed_in_user
from web.pages.i18n import _l

TITLES = {400: _l("请求有误"), 401: _l("请先登录"), 403: _l("没有权限"), 404: _l("页面不存在"),
          405: _l("不支持该操作"), 409: _l("操作冲突"), 413: _l("提交的内容过大"), 422: _l("数据有误"),
          429: _l("操作过于频繁"), 500: _l("服务器出错了")}
MESSAGES = {400: _l("请求格式不正确。"), 403: _l("您没有权限访问此页面或执行此操作。"),
            404: _l("您要找的页面、任务或案件不存在，或不在您的辖区内。"),
            405: _l("此页面不支持该请求方式。"), 413: _l("提交的内容超过了大小限制。"),
            429: _l("请求过于频繁，请稍后再试。"),
            500: _l("处理请求时发生了意外错误，请稍后重试；若问题持续，请联系管理员。")}


def error_page(status, message=None):
    page = render_template("pages/error.html", status=status, title=TITLES.get(status, _l("出错了")),
                           message=message or MESSAGES.get(status, _l("请求无法完成。")))
    return page, status


@bp.errorhandler(Conflict)
def conflict(exc):
    if request.method == "GET":  # nothing was sent: going back could only loop
        return error_page(409, exc.message)
    flash(exc.message, "warning")
    return redirect(back())


@bp.errorhandler(ValidationFailed)
def invalid(exc):
    details = "；".join(f"{'，'.join(v)}" for v in (exc.fields or {}).values())
    message = exc.message + (f"：{details}" if details else "")
    if request.method == "GET":
        return error_page(422, message)
    flash(message, "error")
    return redirect(back())


@bp.errorhandler(EngineError)
def engine_error(exc):
    return error_page(exc.status, exc.message)


@bp.errorhandler(HTTPException)
def http_error(exc):
    return error_page(exc.code or 500)


@bp.errorhandler(Exception)
def unexpected(exc):
    current_app.logger.exception("unexpected error on a page")
    return error_page(500)


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def unrouted(exc):
    """Paths no route matched: the API keeps its JSON errors, everything else gets a page."""
    if request.path == "/api" or request.path.startswith("/api/"):
        from web.api.errors import HTTP_CODES, HTTP_MESSAGES, error_response
        return error_response(exc.code, HTTP_CODES[exc.code], HTTP_MESSAGES[exc.code])
    try:
        load_signed_in_user()  # so the top bar still shows who is signed in
    except Exception:  # noqa: BLE001 - an error page must render even without the database
        current_app.logger.exception("could not load the user for an error page")
    return error_page(exc.code)
