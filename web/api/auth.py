"""Bearer-token authentication for the API."""
import logging
from functools import wraps

from flask import g, request

from engine.errors import EngineError
from engine.users import live_token
from web.services import engine

log = logging.getLogger("linkage.security")


class Unauthorized(EngineError):
    code = "unauthorized"
    status = 401


def require_token(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("未登录：请在 Authorization 头中提供 Bearer 令牌")
        with engine().db.unit_of_work(write=False) as session:
            token_id, principal = live_token(session, token.strip())
        if principal is None:
            log.info("API 令牌被拒绝（无效、已撤销或用户已停用）: %s %s from %s",
                     request.method, request.path, request.remote_addr)
            raise Unauthorized("令牌无效或已撤销")
        g.principal, g.token_id = principal, token_id
        return view(*args, **kwargs)
    return wrapper
