"""Users, passwords and API tokens.

Passwords are hashed with scrypt (standard library, memory-hard); API tokens are random and
stored only as their SHA-256, so a leaked database does not leak working credentials.
"""
import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, select

from engine import access
from engine.access import ROLES, Principal  # noqa: F401 - Principal re-exported
from engine.errors import ValidationFailed
from engine.models import ApiToken, Organisation, User

_N, _R, _P = 2 ** 14, 8, 1


def hash_password(password):
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(stored, password):
    try:
        _, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt),
                                   n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def principal_for(session, user):
    """See `engine.access.principal_for` (a company's scope is the compounds it manages)."""
    return access.principal_for(session, user)


def add_user(session, username, password, role, org_code=None, now=None, display_name="", email=None):
    problems = {}
    if not username or len(username) > 80:
        problems["username"] = ["用户名不能为空且不超过 80 个字符"]
    elif session.scalar(select(User).where(User.username == username)):
        problems["username"] = [f"用户 {username} 已存在"]
    if role not in ROLES:
        problems["role"] = [f"角色必须是 {', '.join(ROLES)} 之一"]
    if not password or len(password) < 4:
        problems["password"] = ["密码至少 4 个字符"]
    if role != "admin" and role in ROLES:
        if not org_code:
            problems["org"] = ["非管理员用户必须指定所属组织 --org"]
        elif session.get(Organisation, org_code) is None:
            problems["org"] = [f"组织 {org_code} 不存在"]
    if problems:
        raise ValidationFailed("用户信息有误", fields=problems)
    user = User(username=username, password_hash=hash_password(password), role=role,
                org_code=org_code, created_at=now, display_name=display_name or username, email=email)
    session.add(user)
    session.flush()
    return user


_decoy = []


def _decoy_hash():
    if not _decoy:
        _decoy.append(hash_password(secrets.token_urlsafe(16)))
    return _decoy[0]


def authenticate(session, username, password):
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        check_password(_decoy_hash(), password)  # as slow as a wrong password: no name probing
        return None
    if not check_password(user.password_hash, password):
        return None
    return user


def issue_token(session, user, now):
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hashlib.sha256(token.encode()).hexdigest(),
                         created_at=now))
    return token


def user_for_token(session, token):
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest,
                                                ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


# -- revocation -----------------------------------------------------------------------------
def token_digest(token):
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


_TOKENS, _USERS, _ORGS = ApiToken.__table__, User.__table__, Organisation.__table__
_LIVE_TOKEN = (  # built once, run on the connection: no ORM work on every API request
    select(_TOKENS.c.id, _USERS.c.username, _USERS.c.role, _USERS.c.org_code, _ORGS.c.path,
           _ORGS.c.kind)
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .outerjoin(_ORGS, _ORGS.c.code == _USERS.c.org_code)
    .where(_TOKENS.c.token_hash == bindparam("digest"), _TOKENS.c.revoked_at.is_(None),
           _USERS.c.active.is_(True)))


def live_token(session, token):
    """(token id, principal) for a presented token that is not revoked and whose user is
    active, else (None, None). Every API request asks this, so it is one query: the token, its
    user and the user's organisation together (and a company's compounds after)."""
    found = session.connection().execute(_LIVE_TOKEN, {"digest": token_digest(token)}).first()
    if found is None:
        return None, None
    return found.id, access.principal_of(session, found.username, found.role, found.org_code,
                                         found.path, found.kind)


def revoke_token(session, row, now):
    """Revoke one token; it stays in the table (who had it, when it was issued and revoked)."""
    if row.revoked_at is None:
        row.revoked_at = now
    return row


def revoke_user_tokens(session, user, now):
    """Revoke every live token of a user; returns how many were revoked."""
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                  ApiToken.revoked_at.is_(None))).all()
    for row in rows:
        row.revoked_at = now
    return len(rows)


def list_tokens(session, user_id=None, include_revoked=False):
    """Token rows (never the tokens themselves: only their hashes are stored), newest first."""
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return session.execute(query.order_by(ApiToken.id.desc())).all()


def deactivate_user(session, user, now):
    """A deactivated user cannot sign in, and their tokens stop working at once."""
    user.active = False
    return revoke_user_tokens(session, user, now)
