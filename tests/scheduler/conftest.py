"""Fixtures for the scheduler: an engine with our processes and people who have email
addresses, a real SMTP server (aiosmtpd) and a real HTTP receiver, both on loopback.

The clock starts on Monday 2 March 2026, 09:00 Beijing time, and moves only through the
`ManualClock` and `Engine.tick`.
"""
import email
import functools
import shutil
import email.policy
import json
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from engine import queries
from engine.access import SYSTEM, Principal
from engine.clock import ManualClock
from engine.db import Database
from engine.service import Engine
from engine.models import User
from engine.users import hash_password
from web.demo import DEMO_ORGS, ensure_org
from workflows import register, upgrade_schema

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Beijing
BASE_URL = "https://linkage.example.cn"
PATHS = {"street": "14/1405/140502/140502001/",
         "community": "14/1405/140502/140502001/140502001001/",
         "compound": "14/1405/140502/140502001/140502001001/C0001/"}
# username -> (role, organisation, display name, email)
PEOPLE = {
    "company": ("company", "C0001", "安居物业 刘经理", "liu@anju-wy.example.cn"),
    "company2": ("company", "C0001", "安居物业 陈主管", None),
    "clerk": ("clerk", "140502001001", "凤台社区 张专干", "zhang@fengtai.example.cn"),
    "street": ("street", "140502001", "西街街道 王主任", "wang@xijie.example.cn"),
    "bureau": ("bureau", "140502", "城区住建局 李科长", "li@zjj.example.cn"),
    "other_company": ("company", "C0003", "钟家庄物业 周经理", "zhou@zjz.example.cn"),
}

RECTIFICATION = {"problem_description": "5号楼消防通道被杂物堵塞，地下车库排水泵损坏，业主多次投诉。",
                 "source": "complaint", "source_reference": "12345-2026-0301"}
ORDER = {"order_no": "凤台社区整改〔2026〕7号",
         "requirements": "一、3日内清理5号楼消防通道；二、修复地下车库排水泵。"}
REPORT = {"report": "消防通道已清理完毕，排水泵已更换并试运行正常。", "completed_on": "2026-03-10"}


def bpmn_file(name):
    return (name, (ROOT / "bpmn" / name).read_bytes())


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """What the SMTP server received: (recipients, parsed message), in arrival order."""

    def __init__(self):
        self.messages, self.lock = [], threading.Lock()
        self.refuse = None  # e.g. "550 mailbox unavailable" to refuse every message

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


class Receiver:
    """A webhook endpoint: stores every JSON body; `status` and `answer` make it fail."""

    def __init__(self):
        self.bodies, self.lock = [], threading.Lock()
        self.status, self.answer = 200, {"errcode": 0, "errmsg": "ok"}


@pytest.fixture
def webhook():
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # else each answer waits for a delayed ACK (40 ms)

        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            if receiver.status == 200:
                with receiver.lock:
                    receiver.bodies.append(json.loads(raw.decode("utf-8")))
            answer = json.dumps(receiver.answer).encode("utf-8")
            self.send_response(receiver.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=SECRET"
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """One migrated SQLite file per session; each test gets a copy (migrating takes a second)."""
    path = tmp_path_factory.mktemp("template") / "linkage.db"
    db = Database(f"sqlite:///{path}")
    upgrade_schema(db)
    db.dispose()
    return path


@pytest.fixture
def database(tmp_path, migrated_sqlite):
    target = tmp_path / "linkage.db"
    shutil.copyfile(migrated_sqlite, target)
    db = Database(f"sqlite:///{target}")
    yield db
    db.dispose()


@functools.lru_cache(maxsize=1)
def password_hash():
    return hash_password("pw-1234")  # deliberately slow; computed once for every test user


def prepare(engine, files=("rectification.bpmn",)):
    register(engine)
    with engine.db.unit_of_work() as session:
        for code, name, kind, parent in DEMO_ORGS:
            ensure_org(session, code, name, kind, parent)
        for username, (role, org, display, address) in PEOPLE.items():
            session.add(User(username=username, password_hash=password_hash(), role=role,
                             org_code=org, display_name=display, email=address, active=True,
                             created_at=START))
    if files:
        engine.deploy([bpmn_file(f) for f in files], SYSTEM)
    return engine


@pytest.fixture
def engine(database, clock):
    return prepare(Engine(database, clock))


def channels(engine, smtp=None, webhook=None, **more):
    """Point the engine's channels at the test servers."""
    config = {"BASE_URL": BASE_URL, "SMTP_FROM": "linkage@zjj.example.cn",
              "DELIVERY_BACKOFF_SECONDS": 60, "DELIVERY_MAX_ATTEMPTS": 3, **more}
    if smtp is not None:
        config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TIMEOUT=5)
    if webhook is not None:
        config["WEBHOOK_URL"] = webhook.url
    engine.scheduler.configure(config, environ={})
    return engine


@pytest.fixture
def clerk():
    return Principal("clerk", "clerk", "140502001001", PATHS["community"])


@pytest.fixture
def street():
    return Principal("street", "street", "140502001", PATHS["street"])


@pytest.fixture
def company():
    return Principal("company", "company", "C0001", PATHS["compound"])


def issue_rectification(engine, clerk):
    """A rectification order issued by the community: the company's report task is ready."""
    case = engine.start_case(clerk, "rectification", dict(RECTIFICATION), "C0001")
    engine.complete_task(clerk, ready_task(engine, case.id, "issue_order").id, ORDER)
    return case, ready_task(engine, case.id, "submit_report")


def ready_task(engine, case_id, name):
    with engine.db.unit_of_work(write=False) as session:
        found = [t for t in queries.case_tasks(session, case_id) if t.name == name]
    assert len(found) == 1, f"expected one ready {name}"
    return found[0]


def events(engine, case_id, kind=None):
    with engine.db.unit_of_work(write=False) as session:
        rows = queries.list_events(session, SYSTEM, case_id, per_page=200).items
    return [e for e in rows if kind is None or e.kind == kind]
