"""Shared fixtures: a fresh database per test on SQLite and, where reachable, PostgreSQL.

Under CI (`CI=true`) PostgreSQL is required: an unreachable server fails the run instead of
skipping. On a laptop without PostgreSQL the PostgreSQL variants skip with a visible reason.
"""
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.access import Principal
from engine.clock import ManualClock
from engine.db import Database
from engine.models import Base
from engine.service import Engine
from workflows import upgrade_schema

FIXTURES = Path(__file__).parent / "fixtures"
PG_ADMIN_URL = os.environ.get("LINKAGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 Beijing


def _on_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_base_url():
    """A throwaway PostgreSQL database for this test session, migrated once."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"linkage_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL"
        admin.dispose()
        message = f"PostgreSQL 不可用（{PG_ADMIN_URL}）: {exc.__class__.__name__}"
        if _on_ci():
            pytest.fail("CI 要求 PostgreSQL 测试必须运行: " + message)
        pytest.skip(message)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    database = Database(url)
    upgrade_schema(database)
    database.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh, migrated database URL; every engine test runs on both stores."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'linkage.db'}"
        database = Database(url)
        upgrade_schema(database)
        database.dispose()
        return url
    url = request.getfixturevalue("pg_base_url")
    database = Database(url)
    with database.engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    database.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'linkage.db'}"
    database = Database(url)
    upgrade_schema(database)
    database.dispose()
    return url


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def engine(db_url, clock):
    eng = Engine(Database(db_url), clock)
    yield eng
    eng.db.dispose()


@pytest.fixture
def admin():
    return Principal("admin", "admin")


def bpmn(name):
    return (name, (FIXTURES / name).read_bytes())


@pytest.fixture
def app(db_url, clock):
    from web.app import create_app
    application = create_app({"TESTING": True, "DATABASE_URL": db_url, "CLOCK": clock,
                              "LINKAGE_ENV": "test"})
    yield application
    application.extensions["linkage"].db.dispose()


@pytest.fixture
def api(app):
    """A test client speaking JSON with a bearer token; `api.login(user)` switches users."""
    from engine.users import add_user

    class Api:
        def __init__(self):
            self.client = app.test_client()
            self.token = None

        def login(self, username, password="pw-1234"):
            status, body = self.call("POST", "/auth/token", {"username": username, "password": password})
            assert status == 200, body
            self.token = body["token"]
            return self

        def call(self, method, path, body=None, **kwargs):
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            response = self.client.open("/api/v1" + path, method=method, json=body, headers=headers, **kwargs)
            return response.status_code, response.get_json(silent=True)

        def add_user(self, username, role, org=None, password="pw-1234"):
            eng = app.extensions["linkage"]
            with eng.db.unit_of_work() as s:
                add_user(s, username, password, role, org, now=eng.clock.now())

    client = Api()
    client.add_user("root", "admin")
    return client.login("root")
