"""Production hardening: refusal to start unsafely, cookies, session expiry, security headers,
no secrets in logs, revocable API tokens, throttled API logins.

Protections removed to check these tests: with `add_security_headers` not registered the
header test fails; with `live_token` not filtering on `revoked_at` the three revocation tests
fail.
"""
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.models import User
from tests.security.conftest import PASSWORD, Api, make_app, token_for
from web import security
from web.security import ProductionRefused

GOOD_SECRET = "x" * 48


def production_app(url, clock, tmp_path, secret=GOOD_SECRET, **config):
    return make_app(url, clock, tmp_path, LINKAGE_ENV="production", SECRET_KEY=secret, **config)


def deactivate_demo_users(world):
    runner = world.test_cli_runner()
    for name in ("admin", "bureau", "street", "clerk", "owners", "company"):
        result = runner.invoke(args=["user", "deactivate", name])
        assert result.exit_code == 0, result.output


# -- refusing to start ----------------------------------------------------------------------
@pytest.mark.parametrize("secret", ["dev-only-secret-change-me", "short", ""])
def test_production_refuses_a_default_or_weak_secret(world, clock, tmp_path, secret):
    url = world.config["DATABASE_URL"]
    deactivate_demo_users(world)
    with pytest.raises(ProductionRefused, match="LINKAGE_SECRET_KEY"):
        production_app(url, clock, tmp_path, secret=secret)


def test_production_refuses_demo_users_until_they_are_deactivated(world, clock, tmp_path):
    url = world.config["DATABASE_URL"]
    with pytest.raises(ProductionRefused) as refused:
        production_app(url, clock, tmp_path)
    message = str(refused.value)
    assert "演示用户" in message and "admin" in message and "clerk" in message
    assert "LINKAGE_SECRET_KEY" not in message  # the secret is fine: only what is wrong is said
    deactivate_demo_users(world)
    app = production_app(url, clock, tmp_path)  # now it starts
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_a_demo_user_with_a_real_password_is_not_a_demo_user(world, clock, tmp_path):
    from engine.users import hash_password
    eng = world.extensions["linkage"]
    deactivate_demo_users(world)
    with eng.db.unit_of_work() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        admin.active, admin.password_hash = True, hash_password("a-real-long-password")
    production_app(world.config["DATABASE_URL"], clock, tmp_path)


def test_serve_and_worker_refuse_in_production_with_a_clear_message(world, clock, tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr("web.server.serve", lambda *a, **k: started.append(a))
    monkeypatch.setattr("web.scheduler.run_blocking", lambda *a, **k: started.append(a))
    cli_app = production_app(world.config["DATABASE_URL"], clock, tmp_path, LINKAGE_CLI=True)
    for command in (["serve", "--no-scheduler"], ["worker"]):
        result = cli_app.test_cli_runner().invoke(args=command)
        assert result.exit_code == 1 and "拒绝启动" in result.output and "演示用户" in result.output
    assert started == []
    deactivate_demo_users(world)
    result = cli_app.test_cli_runner().invoke(args=["serve", "--no-scheduler"])
    assert result.exit_code == 0 and len(started) == 1


# -- cookies and sessions -------------------------------------------------------------------
def login_page(app, username="clerk2", password=PASSWORD):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf})
    return client, response


def test_session_cookie_is_secure_httponly_and_lax_in_production(world, clock, tmp_path):
    deactivate_demo_users(world)
    app = production_app(world.config["DATABASE_URL"], clock, tmp_path)
    _, response = login_page(app)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.permanent_session_lifetime == timedelta(hours=8)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    # in development the cookie works over plain HTTP
    _, response = login_page(world, "clerk3")
    assert "HttpOnly" in response.headers["Set-Cookie"] and "Secure" not in response.headers["Set-Cookie"]


def test_a_session_ends_eight_hours_after_sign_in(world, monkeypatch):
    client, response = login_page(world, "clerk")
    assert response.status_code == 302
    signed_in = security.wall_clock()
    monkeypatch.setattr(security, "wall_clock", lambda: signed_in + timedelta(hours=7, minutes=59))
    assert client.get("/").status_code == 200
    monkeypatch.setattr(security, "wall_clock", lambda: signed_in + timedelta(hours=8, seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/").status_code == 302  # and it stays ended


# -- headers --------------------------------------------------------------------------------
def test_every_response_has_the_security_headers(world):
    token = token_for(world.extensions["linkage"], "clerk")
    client = world.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    responses = {
        "login page": client.get("/login"),
        "redirect": client.get("/"),
        "unknown page": client.get("/no-such-page"),
        "static": client.get("/static/css/app.css"),
        "api": client.get("/api/v1/cases", headers=auth),
        "api 401": client.get("/api/v1/cases"),
        "api 404": client.get("/api/v1/no-such-thing"),
        "openapi": client.get("/api/v1/openapi.json"),
        "api 400": client.post("/api/v1/cases", data=b"{", content_type="application/json", headers=auth),
    }
    for name, response in responses.items():
        headers = response.headers
        csp = headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, name
        assert "script-src 'self'" in csp and "style-src 'self' 'unsafe-inline'" in csp, name
        assert "object-src 'none'" in csp and "'unsafe-eval'" not in csp, name
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin"), name
        response.close()


# -- logs -----------------------------------------------------------------------------------
def test_no_password_or_token_reaches_the_logs(world, caplog):
    """Everything is logged at DEBUG, SQL with its parameters included, while users sign in
    (page and API, right and wrong), use tokens, and revoke them."""
    secret_password, wrong_password = "Pw-秘密-7731", "Wrong-Pw-5517"
    eng = world.extensions["linkage"]
    from engine.users import add_user
    with eng.db.unit_of_work() as session:
        add_user(session, "zhao", secret_password, "clerk", "140502001001", now=eng.clock.now())
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        login_page(world, "zhao", wrong_password)
        client, response = login_page(world, "zhao", secret_password)
        assert response.status_code == 302
        api = world.test_client()
        assert api.post("/api/v1/auth/token", json={"username": "zhao", "password": wrong_password}).status_code == 401
        token = api.post("/api/v1/auth/token", json={"username": "zhao", "password": secret_password}).get_json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert api.get("/api/v1/tasks", headers=auth).status_code == 200
        assert api.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
        assert api.delete("/api/v1/auth/token", headers=auth).status_code == 204
        assert api.get("/api/v1/tasks", headers=auth).status_code == 401
        # a client that logs its own request line would leak both; the redaction catches it
        logging.getLogger("gunicorn.access").info(
            '127.0.0.1 "GET /api/v1/tasks?access_token=%s HTTP/1.1" 200 Authorization: Bearer %s '
            'body={"password": "%s"}', token, token, secret_password)
        try:
            raise ValueError(f"boom with password={secret_password}")
        except ValueError:
            logging.getLogger("linkage.test").exception("failed")
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logged = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "SELECT" in logged and "API 令牌已签发" in logged and "API 登录失败" in logged
    for secret in (secret_password, wrong_password, token):
        assert secret not in logged, secret
    assert logged.count(security.HIDDEN) >= 4


# -- tokens ---------------------------------------------------------------------------------
def test_the_current_token_can_be_revoked(world):
    eng = world.extensions["linkage"]
    first, second = Api(world, token_for(eng, "clerk")), Api(world, token_for(eng, "clerk"))
    assert first.call("GET", "/tasks")[0] == 200
    status, body = first.call("GET", "/auth/tokens")
    assert status == 200 and body["total"] == 2 and [t["current"] for t in body["items"]].count(True) == 1
    assert first.call("DELETE", "/auth/token")[0] == 204
    status, body = first.call("GET", "/tasks")
    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert second.call("GET", "/tasks")[0] == 200  # only that token


def test_an_admin_revokes_anyones_token_and_others_cannot(world):
    eng = world.extensions["linkage"]
    admin, clerk, street = (Api(world, token_for(eng, n)) for n in ("admin", "clerk", "street"))
    status, body = admin.call("GET", "/auth/tokens?username=clerk")
    [clerk_token] = body["items"]
    assert clerk_token["username"] == "clerk" and "token" not in clerk_token
    _, street_list = street.call("GET", "/auth/tokens")
    [street_token] = street_list["items"]
    assert street.call("GET", "/auth/tokens?username=clerk")[1]["items"] == street_list["items"]
    # someone else's token id is not found, not forbidden
    assert clerk.call("DELETE", f"/auth/tokens/{street_token['id']}")[0] == 404
    assert clerk.call("DELETE", "/auth/tokens/999999")[0] == 404
    assert street.call("GET", "/tasks")[0] == 200
    assert admin.call("DELETE", f"/auth/tokens/{clerk_token['id']}")[0] == 204
    assert clerk.call("GET", "/tasks")[0] == 401
    assert street.call("DELETE", f"/auth/tokens/{street_token['id']}")[0] == 204
    assert street.call("GET", "/tasks")[0] == 401


def test_cli_revokes_tokens_and_deactivates_users(world):
    eng = world.extensions["linkage"]
    runner = world.test_cli_runner()
    clerks = [Api(world, token_for(eng, "clerk")) for _ in range(2)]
    street = Api(world, token_for(eng, "street"))
    listed = runner.invoke(args=["token", "list", "--user", "clerk"])
    assert listed.exit_code == 0 and len(listed.output.strip().splitlines()) == 2
    assert clerks[0].token not in listed.output
    result = runner.invoke(args=["token", "revoke", "--user", "clerk"])
    assert result.exit_code == 0 and "2" in result.output
    assert [c.call("GET", "/tasks")[0] for c in clerks] == [401, 401]
    assert street.call("GET", "/tasks")[0] == 200
    [street_id] = [line.split("\t")[0] for line in
                   runner.invoke(args=["token", "list", "--user", "street"]).output.splitlines()]
    assert runner.invoke(args=["token", "revoke", street_id]).exit_code == 0
    assert street.call("GET", "/tasks")[0] == 401
    assert runner.invoke(args=["token", "revoke", "424242"]).exit_code == 1
    # a deactivated user's tokens die with the user, and the login page refuses them
    owners = Api(world, token_for(eng, "owners"))
    assert runner.invoke(args=["user", "deactivate", "owners"]).exit_code == 0
    assert owners.call("GET", "/tasks")[0] == 401
    assert login_page(world, "owners")[1].status_code == 200  # the form again, not a redirect


def test_api_password_guessing_is_throttled(world):
    client = world.test_client()
    statuses = [client.post("/api/v1/auth/token", json={"username": "clerk", "password": f"guess{i}"})
                .status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]
    response = client.post("/api/v1/auth/token", json={"username": "clerk", "password": PASSWORD})
    assert response.status_code == 429 and response.get_json()["error"]["code"] == "too_many_requests"
    # another user from the same address is not held up
    assert client.post("/api/v1/auth/token", json={"username": "street", "password": PASSWORD}).status_code == 200
