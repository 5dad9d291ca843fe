"""Browser tests: the real app served on a loopback port, driven in Debian's Chromium.

One server per test run (per xdist worker): a fresh SQLite database in a temporary folder,
the bundled processes deployed and the demo data loaded as `linkage init` and `linkage demo`
do, plus a second property company's user and a second community's clerk. The engine clock is
a `ManualClock` shared with the tests (the server runs in a thread of this process), so a test
makes a deadline pass by moving the clock and fires timers with `engine.tick()`, never by
sleeping.

Chromium is Debian's (`/usr/bin/chromium`, installed by `make setup`); Playwright only drives
it. Without it these tests skip, except under CI (`CI=true`), where they fail.
Every page a test opens is watched: a console error or an uncaught script error fails the test.
Screenshots go to `tests/browser/screenshots/` (git-ignored).
"""
import logging
import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import queries
from engine.access import SYSTEM
from engine.clock import ManualClock
from engine.models import TaskRow
from engine.users import add_user

CHROMIUM = os.environ.get("LINKAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# Monday 2 March 2026, 09:00 in Beijing.
START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
TIMEOUT_MS = 30_000  # generous: CI shares two cores with the rest of the suite


def _on_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require(condition, message):
    if condition:
        return
    if _on_ci():
        pytest.fail("CI 要求浏览器测试必须运行: " + message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium():
    _require(Path(CHROMIUM).is_file(), f"未找到 Chromium（{CHROMIUM}），请运行 make setup")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in the test extra
        _require(False, "未安装 playwright（pip install -e .[test]）")
    from web.pages.assets import vendor_ready
    _require(vendor_ready(), "前端组件未安装（web/static/vendor），请运行 make setup")
    manager = sync_playwright().start()
    browser = manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()
    manager.stop()


class LiveServer:
    def __init__(self, app, clock):
        from werkzeug.serving import make_server
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self.app, self.clock = app, clock
        self.engine = app.extensions["linkage"]
        self.http = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.signed_in = {}  # user -> the browser storage state of a signed-in user

    def principal(self, username):
        from engine.models import User
        from engine.users import principal_for
        with self.engine.db.unit_of_work(write=False) as db:
            return principal_for(db, db.scalar(select(User).where(User.username == username)))

    def task(self, case_id, element):
        """The ready task `element` of a case (the one a page should now offer)."""
        with self.engine.db.unit_of_work(write=False) as db:
            rows = [t for t in queries.case_tasks(db, case_id) if t.name == element]
        assert rows, f"no ready task {element} in case {case_id}"
        return rows[0]

    def task_row(self, task_id):
        with self.engine.db.unit_of_work(write=False) as db:
            return db.get(TaskRow, task_id)

    def case(self, case_id):
        from engine.models import Case
        with self.engine.db.unit_of_work(write=False) as db:
            return db.get(Case, case_id)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    from web.app import create_app
    from web.demo import load_demo
    from workflows import upgrade_schema

    folder = tmp_path_factory.mktemp("live")
    clock = ManualClock(START)
    app = create_app({"TESTING": False, "DATABASE_URL": f"sqlite:///{folder / 'linkage.db'}",
                      "CLOCK": clock, "UPLOAD_FOLDER": str(folder / "uploads"),
                      "SECRET_KEY": "browser-tests", "LINKAGE_ENV": "test"})
    eng = app.extensions["linkage"]
    upgrade_schema(eng.db)
    eng.deploy([(p.name, p.read_bytes()) for p in sorted((ROOT / "bpmn").glob("*.bpmn"))], SYSTEM)
    load_demo(app)
    with eng.db.unit_of_work() as db:
        add_user(db, "company2", "demo", "company", "E0002", now=clock.now(),
                 display_name="宜居物业 孙经理")
        add_user(db, "clerk2", "demo", "clerk", "140502001002", now=clock.now(),
                 display_name="钟家庄社区 陈专干")
    live = LiveServer(app, clock)
    live.thread.start()
    yield live
    live.http.shutdown()
    eng.db.dispose()


class PageErrors:
    """Console errors and uncaught exceptions of a page; some can be expected (a 404 page)."""

    def __init__(self):
        self.messages, self.allowed = [], []

    def console(self, message):
        if message.type == "error":
            self.messages.append(f"console: {message.text} @ {message.location.get('url', '')}")

    def page_error(self, error):
        self.messages.append(f"pageerror: {error}")

    def allow(self, pattern):
        self.allowed.append(re.compile(pattern))

    def unexpected(self):
        return [m for m in self.messages if not any(p.search(m) for p in self.allowed)]


@pytest.fixture
def browser_errors():
    return PageErrors()


@pytest.fixture
def new_page(chromium, server, browser_errors):
    """`new_page()` opens a fresh browser context (its own cookies) on the live server."""
    contexts = []

    def open_page(width=1280, height=900, user=None):
        """A page; with `user`, signed in as that demo user (through the login form the first
        time in the run, then with the cookies that sign-in left)."""
        state = server.signed_in.get(user) if user else None
        context = chromium.new_context(base_url=server.url, locale="zh-CN",
                                       timezone_id="Asia/Shanghai", storage_state=state,
                                       viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", browser_errors.console)
        page.on("pageerror", browser_errors.page_error)
        page.on("dialog", lambda dialog: dialog.accept())
        if user and state is None:
            login(page, user)
            server.signed_in[user] = context.storage_state()
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert browser_errors.unexpected() == [], "errors in the browser console"


def login(page, username, password="demo"):
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
    return page


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
