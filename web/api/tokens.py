"""API tokens after they are issued: list them, revoke the current one, and (admins) anyone's.

A revoked token answers 401 at its next use. Tokens are stored only as their SHA-256, so the
list shows ids and dates, never a token. Someone else's token id is "not found", as any id
outside a user's reach is.
"""
import logging

from flask import current_app, g, jsonify, request
from marshmallow import ValidationError
from sqlalchemy import select

from engine.errors import NotFound, ValidationFailed
from engine.models import ApiToken, User
from engine.users import list_tokens, revoke_token
from web.api import bp, schemas
from web.api.auth import require_token
from web.api.errors import TooManyAttempts
from web.services import engine

log = logging.getLogger("linkage.security")
THROTTLE = "linkage_login_throttle"  # shared with the login page (web.pages.views)


class LoginAttempt:
    """Password guessing through the API is throttled exactly like the login page: after a few
    failures for one user name from one address, further attempts wait (429)."""

    def __init__(self, username):
        from web.pages.throttle import LoginThrottle

        self.username = username
        self.throttle = current_app.extensions.setdefault(THROTTLE, LoginThrottle())
        self.key = self.throttle.key(username, request.remote_addr)
        self.now = engine().clock.now()
        wait = self.throttle.retry_after(self.key, self.now)
        if wait:
            log.warning("API 登录被限流: 用户 %s 来自 %s", username, request.remote_addr)
            minutes = max(1, (wait + 59) // 60)
            raise TooManyAttempts(f"登录失败次数过多，请 {minutes} 分钟后再试")

    def failed(self):
        self.throttle.failed(self.key, self.now)
        log.info("API 登录失败: 用户 %s 来自 %s", self.username, request.remote_addr)

    def succeeded(self):
        self.throttle.succeeded(self.key)
        log.info("API 令牌已签发: 用户 %s 来自 %s", self.username, request.remote_addr)


def _token_view(row, username):
    return {"id": row.id, "username": username, "created_at": row.created_at,
            "revoked_at": row.revoked_at, "current": row.id == g.get("token_id")}


@bp.delete("/auth/token")
@require_token
def revoke_current_token():
    """Sign out of the API: the token that made this request stops working."""
    with engine().db.unit_of_work() as session:
        revoke_token(session, session.get(ApiToken, g.token_id), engine().clock.now())
    log.info("API 令牌已撤销: 用户 %s 令牌 #%s（本人）", g.principal.username, g.token_id)
    return "", 204


@bp.get("/auth/tokens")
@require_token
def tokens_list():
    """Live tokens: one's own; an admin sees everyone's, or one user's with `username`."""
    try:
        args = schemas.TokenArgs().load(request.args.to_dict())
    except ValidationError as exc:
        raise ValidationFailed("请求数据有误", fields=exc.messages) from exc
    with engine().db.unit_of_work(write=False) as session:
        if g.principal.is_admin:
            user_id = None
            if args.get("username"):
                user = session.scalar(select(User).where(User.username == args["username"]))
                if user is None:
                    raise NotFound("用户不存在")
                user_id = user.id
        else:
            user_id = session.scalar(select(User.id).where(User.username == g.principal.username))
        rows = list_tokens(session, user_id)
        items = schemas.TokenInfo(many=True).dump([_token_view(r, name) for r, name in rows])
    return jsonify({"items": items, "total": len(items)})


@bp.delete("/auth/tokens/<int:token_id>")
@require_token
def revoke_a_token(token_id):
    """Revoke one of one's own tokens; an admin may revoke anyone's (a lost phone, a leaver)."""
    with engine().db.unit_of_work() as session:
        row = session.get(ApiToken, token_id)
        owner = session.get(User, row.user_id) if row is not None else None
        if owner is None or (owner.username != g.principal.username and not g.principal.is_admin):
            raise NotFound("未找到该令牌")
        revoke_token(session, row, engine().clock.now())
        owner_name = owner.username
    log.info("API 令牌已撤销: 用户 %s 令牌 #%s（由 %s）", owner_name, token_id, g.principal.username)
    return "", 204
