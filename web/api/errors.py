"""Every API failure answers `{"error": {"code", "message", "fields"?}}`, never an HTML page or
a 500 with a stack trace."""
from flask import current_app, jsonify
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError
from web.api import bp

HTTP_CODES = {400: "malformed", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large",
              415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests"}
HTTP_MESSAGES = {400: "请求格式错误", 401: "未登录或令牌无效", 403: "没有权限",
                 404: "未找到", 405: "不支持该请求方法", 413: "请求内容过大",
                 415: "不支持的内容类型", 429: "请求过于频繁"}


class UnsupportedMediaType(EngineError):
    code = "unsupported_media_type"
    status = 415


class TooManyAttempts(EngineError):
    code = "too_many_requests"
    status = 429


def error_response(status, code, message, fields=None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify({"error": body}), status


@bp.errorhandler(EngineError)
def engine_error(exc):
    return error_response(exc.status, exc.code, exc.message, exc.fields)


@bp.errorhandler(HTTPException)
def http_error(exc):
    status = exc.code or 500
    message = getattr(exc, "clear_message", None)  # refusals of web.security say exactly why
    return error_response(status, HTTP_CODES.get(status, "error"),
                          message or HTTP_MESSAGES.get(status, exc.description or "请求失败"))


@bp.errorhandler(Exception)
def unexpected(exc):
    current_app.logger.exception("unexpected API error")
    return error_response(500, "internal", "服务器内部错误")


def app_http_error(exc):
    """App-wide: errors raised before any blueprint matched (unknown path, body too large)
    answer in the API's shape under /api/, and as usual elsewhere."""
    from flask import request
    if request.path.startswith("/api/"):
        return http_error(exc)
    return exc
