"""What every request and every start of the app goes through for safety.

- Production refuses to start with the default secret key or with demo users who still have
  the demo password (`check_production`).
- Session cookies: HttpOnly, SameSite=Lax, Secure in production; a signed-in session ends
  `SESSION_HOURS` after sign-in however active it was (and the signed cookie itself expires
  after the same time without change).
- Security headers on every response: a Content-Security-Policy that allows only the app's own
  scripts (styles may be inline: the diagram viewer sets them), no framing, no sniffing.
- Hostile input is refused before any view runs, with a clear 4xx: ids beyond 64 bits (404),
  bodies over the limits (413), JSON that is not UTF-8, not JSON, nested too deep or carrying
  NaN (400), NUL characters or lone surrogates anywhere in the path, query, form or JSON (400:
  PostgreSQL cannot store them); `safe_upload_name` strips the path from uploaded file names.
- Passwords and tokens never reach the logs: records are redacted as they are created.
"""
import json
import logging
import math
import os
import re
from datetime import datetime, timedelta, timezone

from flask import current_app, request, session
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge

SESSION_HOURS = 8
MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MIN_SECRET_LENGTH = 16
SIGNED_IN_AT = "_signed_in_at"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class ProductionRefused(RuntimeError):
    """The app will not start in production as configured; the message says what to fix."""


class HostileInput(BadRequest):
    """A request refused before any view ran; `clear_message` is what the client is told."""

    def __init__(self, message):
        super().__init__(message)
        self.clear_message = message


class BodyTooLarge(RequestEntityTooLarge):
    def __init__(self, limit):
        self.clear_message = f"请求内容过大（上限 {_size(limit)}）"
        super().__init__(self.clear_message)


def _size(limit):
    return f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


# -- configuration --------------------------------------------------------------------------
def configure(app):
    """Defaults that depend on the environment; explicit test or deployment config wins."""
    production = app.config.get("LINKAGE_ENV") == "production"
    hours = float(app.config.get("SESSION_HOURS") or os.environ.get("LINKAGE_SESSION_HOURS")
                  or SESSION_HOURS)
    app.config.setdefault("SESSION_HOURS", hours)
    app.config.setdefault("MAX_JSON_BYTES", MAX_JSON_BYTES)
    app.config.setdefault("MAX_JSON_DEPTH", MAX_JSON_DEPTH)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=hours)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if production:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"


def init_app(app):
    configure(app)
    install_log_redaction()
    app.before_request(refuse_hostile_input)
    app.before_request(end_expired_session)
    app.after_request(stamp_session)
    app.after_request(add_security_headers)


# -- production checks ----------------------------------------------------------------------
def production_problems(app, check_users=True):
    """Why this app must not serve in production (empty when it may)."""
    from web.app import DEFAULT_SECRET

    problems = []
    secret = app.config.get("SECRET_KEY") or ""
    if secret == DEFAULT_SECRET or len(str(secret)) < MIN_SECRET_LENGTH:
        problems.append("LINKAGE_SECRET_KEY 未设置、仍是默认值或过短（至少 16 个字符）；"
                        "请设置随机密钥，例如 python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if check_users:
        demo = demo_users_present(app)
        if demo:
            problems.append(f"数据库中有仍使用演示密码的演示用户：{', '.join(demo)}；"
                            "请用 linkage user deactivate NAME 停用它们")
    return problems


def demo_users_present(app):
    """Active demo users whose password is still the published demo password."""
    from engine.models import User
    from engine.users import check_password
    from web.demo import DEMO_PASSWORD, DEMO_USERS

    engine = app.extensions["linkage"]
    try:
        with engine.db.unit_of_work(write=False) as db:
            users = db.scalars(select(User).where(User.username.in_(list(DEMO_USERS)),
                                                  User.active.is_(True))).all()
            return sorted(u.username for u in users if check_password(u.password_hash, DEMO_PASSWORD))
    except SQLAlchemyError:  # no schema yet: `linkage init` has not run, so no users either
        return []


def check_production(app, check_users=True):
    """Raise `ProductionRefused` when LINKAGE_ENV=production and the app is not fit to serve."""
    if app.config.get("LINKAGE_ENV") != "production":
        return
    problems = production_problems(app, check_users)
    if problems:
        raise ProductionRefused("生产环境（LINKAGE_ENV=production）拒绝启动：\n"
                                + "\n".join(f"  - {p}" for p in problems))


# -- sessions -------------------------------------------------------------------------------
def _is_api():
    return request.path.startswith("/api/")  # the API has tokens, not sessions


def wall_clock():
    """Sessions age on the wall clock, as the cookie's own signature does: the engine clock is
    for deadlines and may be moved (tests move it by days with a user signed in)."""
    return datetime.now(timezone.utc)


def end_expired_session():
    """A signed-in session ends SESSION_HOURS after sign-in, however active it was."""
    if _is_api() or "uid" not in session:
        return
    stamp = session.get(SIGNED_IN_AT)
    if not stamp:
        return
    try:
        signed_in = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        signed_in = None
    limit = timedelta(hours=float(current_app.config["SESSION_HOURS"]))
    if signed_in is None or wall_clock() - signed_in >= limit:
        session.clear()


def stamp_session(response):
    """Remember when this session signed in (sign-in clears the session, so a new sign-in
    starts a new period)."""
    if not _is_api() and "uid" in session and SIGNED_IN_AT not in session:
        session[SIGNED_IN_AT] = wall_clock().isoformat()
    return response


# -- headers --------------------------------------------------------------------------------
def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if _is_api():
        headers.setdefault("Cache-Control", "no-store")
    if current_app.config.get("LINKAGE_ENV") == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


# -- hostile input --------------------------------------------------------------------------
_BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def _bad_text(value):
    return isinstance(value, str) and _BAD_CHARACTERS.search(value) is not None


def _refuse(message):
    raise HostileInput(message)


def refuse_hostile_input():
    if any(isinstance(v, int) and not -2 ** 63 <= v < 2 ** 63 for v in (request.view_args or {}).values()):
        raise NotFound()  # no row has such an id, and the database could not even compare it
    if _bad_text(request.path) or any(_bad_text(k) or _bad_text(v)
                                      for k, v in request.args.items(multi=True)):
        _refuse("地址或查询参数包含不允许的字符（NUL 或无效的 Unicode）")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.is_json:
        _check_json_body()
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_form()


def _check_json_body():
    limit = int(current_app.config["MAX_JSON_BYTES"])
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)
    raw = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH
    if len(raw) > limit:
        raise BodyTooLarge(limit)
    if not raw.strip():
        return  # no body: the view says what it needs
    parse_json(raw, int(current_app.config["MAX_JSON_DEPTH"]))


def parse_json(raw, max_depth=MAX_JSON_DEPTH):
    """Parse a request body strictly; every refusal is a `HostileInput` with a clear reason."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _refuse("请求体不是有效的 UTF-8 编码")
    if text.startswith("\ufeff"):
        text = text[1:]

    def no_constant(name):
        raise ValueError(f"JSON 不允许 {name}")

    def finite(number):
        value = float(number)
        if not math.isfinite(value):
            raise ValueError("数值超出范围")
        return value

    try:
        value = json.loads(text, parse_constant=no_constant, parse_float=finite)
    except RecursionError:
        _refuse(f"JSON 嵌套层数过多（最多 {max_depth} 层）")
    except ValueError as exc:
        _refuse(f"请求体不是有效的 JSON：{exc}")
    _check_tree(value, max_depth)
    return value


def _check_tree(value, max_depth):
    """Depth and characters of a parsed JSON value, without recursion."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > max_depth:
                _refuse(f"JSON 嵌套层数过多（最多 {max_depth} 层）")
            if isinstance(node, dict):
                for key, child in node.items():
                    if _bad_text(key):
                        _refuse("JSON 字段名包含不允许的字符（NUL 或无效的 Unicode）")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in node)
        elif _bad_text(node):
            _refuse("JSON 内容包含不允许的字符（NUL 或无效的 Unicode）")


def _check_form():
    form = request.form  # werkzeug enforces MAX_CONTENT_LENGTH and its form-part limits
    if any(_bad_text(k) or _bad_text(v) for k, v in form.items(multi=True)):
        _refuse("表单内容包含不允许的字符（NUL 或无效的 Unicode）")
    for upload in request.files.values():
        if upload.filename and _bad_text(upload.filename):
            _refuse("文件名包含不允许的字符")


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")
MAX_FILE_NAME = 200


def safe_upload_name(name):
    """The last component of an uploaded file's name, without path, control characters or
    leading dots; None when nothing usable is left. Chinese names are kept as they are."""
    if not name or not isinstance(name, str):
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = _UNSAFE_NAME.sub("", base).strip().lstrip(".").strip()
    if not base or _bad_text(base):
        return None
    if len(base) > MAX_FILE_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:MAX_FILE_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 16 \
            else base[:MAX_FILE_NAME]
    return base


# -- logs -----------------------------------------------------------------------------------
_SECRETS = [
    re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"),
    re.compile(r"(?i)((?:password|passwd|pwd|token|access_token|secret|csrf_token|authorization)"
               r"[\"']?\s*[:=]\s*[\"']?)([^\"'&\s,;}]+)"),
]
HIDDEN = "[已隐藏]"
_installed = False


def redact(text):
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + HIDDEN, text)
    return text


def install_log_redaction():
    """Redact bearer tokens and password/token fields from every log record, whichever
    library writes it (gunicorn's access log, Flask, SQLAlchemy, ours)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's business, not ours
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
