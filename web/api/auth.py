"""Bearer-token authentication for the API."""
from functools import wraps

from flask import g, request

from engine.errors import EngineError
from engine.users import principal_for, user_for_token
from web.services import engine


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
            user = user_for_token(session, token.strip())
            if user is None:
                raise Unauthorized("令牌无效或已撤销")
            g.principal = principal_for(session, user)
        return view(*args, **kwargs)
    return wrapper
