"""Crash safety on PostgreSQL: a real server (gunicorn through `linkage serve`) is SIGKILLed in
the middle of a load of completions while a timer sweep (`linkage tick`) runs, and is killed
too. After a restart every acknowledged (200) completion is there, every case loads, the audit
chain is intact, and no timer has fired twice, including after the sweep runs again.

Protection removed to check this test: with the completion route answering 200 before the
engine's transaction had committed (the work handed to a background thread), acknowledged
completions were missing after the restart and the test failed. What protects them is that
every command is one transaction (`engine.db.unit_of_work`) committed before the route answers.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import audit_chain
from engine.clock import Clock
from engine.db import Database
from engine.models import Event, TaskRow, TimerRow
from engine.service import Engine
from tests.security.conftest import RACERS, START, fresh_postgres, start, token_for

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
CASES = 90
KILL_AFTER = 30  # acknowledged completions before the kill


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`linkage serve --no-scheduler` in its own process group, so one SIGKILL takes the
    gunicorn master and its workers down together, as a power cut would."""

    def __init__(self, url, folder):
        self.port, self.folder = free_port(), folder
        self.env = {**os.environ, "LINKAGE_DATABASE_URL": url, "LINKAGE_INSTANCE_PATH": str(folder),
                    "LINKAGE_ENV": "test", "PYTHONPATH": str(ROOT)}
        self.process = None

    def start(self):
        log = open(self.folder / f"server-{time.monotonic_ns()}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "serve", "--no-scheduler", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "2"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # polling for the port, not waiting on time
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {log.name}")
            try:
                urllib.request.urlopen(self.url("/openapi.json"), timeout=2).close()
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise AssertionError("server did not come up")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/api/v1{path}"

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def call(self, method, path, token, body=None):
        request = urllib.request.Request(
            self.url(path), method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def tick_process(url, now, folder):
    env = {**os.environ, "LINKAGE_DATABASE_URL": url, "LINKAGE_INSTANCE_PATH": str(folder),
           "LINKAGE_ENV": "test", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "web.cli", "tick", "--now", now.isoformat(), "--json"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def fired_so_far(eng):
    with eng.db.unit_of_work(write=False) as session:
        return len(session.scalars(select(Event.id).where(Event.kind == "timer_fired")).all())


def test_sigkill_mid_load_loses_no_acknowledged_completion(pg_base_url, tmp_path):
    from engine.clock import ManualClock
    url = fresh_postgres(pg_base_url, ManualClock(START), tmp_path)
    eng = Engine(Database(url), Clock())  # the wall clock, like the server's
    import workflows
    workflows.register(eng)
    cases = [start(eng) for _ in range(CASES)]
    tokens = [token_for(eng, name) for name in RACERS]
    sweep_at = eng.clock.now() + timedelta(days=2)  # every one-day reminder is due by then

    server = Server(url, tmp_path).start()
    acknowledged, lock, stop = {}, threading.Lock(), threading.Event()

    def work(share, token):
        for case_id, task_id in share:
            if stop.is_set():
                return
            try:
                status, body = server.call("POST", f"/tasks/{task_id}/complete", token, {"data": {"意见": "同意"}})
            except (urllib.error.URLError, ConnectionError, OSError, http.client.HTTPException):
                continue  # the server is gone (maybe mid-answer): not acknowledged
            if status == 200:
                with lock:
                    acknowledged[task_id] = case_id
            else:
                assert status in (409, 503), (status, body)

    shares = [cases[i::len(tokens)] for i in range(len(tokens))]
    threads = [threading.Thread(target=work, args=(share, token)) for share, token in zip(shares, tokens)]
    sweeper = tick_process(url, sweep_at, tmp_path)
    deadline = time.monotonic() + 90
    while fired_so_far(eng) == 0 and sweeper.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # polling until the sweep is under way
    [t.start() for t in threads]
    while time.monotonic() < deadline + 60 and any(t.is_alive() for t in threads):
        if len(acknowledged) >= KILL_AFTER:
            break
        time.sleep(0.01)
    server.kill()
    os.killpg(sweeper.pid, signal.SIGKILL)
    sweeper.wait(30)
    killed_with, fired_before = len(acknowledged), fired_so_far(eng)
    stop.set()
    [t.join(60) for t in threads]
    print(f"killed after {killed_with} acknowledged completions and {fired_before} fired timers; "
          f"sweep {'killed mid-run' if sweeper.returncode == -signal.SIGKILL else 'had finished'}")
    assert KILL_AFTER <= killed_with < CASES, f"the kill came too late to be mid-load ({killed_with})"
    assert fired_before > 0, "the sweep had not started firing"

    server.start()
    try:
        admin = token_for(eng, "admin")
        for task_id, case_id in acknowledged.items():  # every acknowledged completion is there
            status, task = server.call("GET", f"/tasks/{task_id}", admin)
            assert status == 200 and task["state"] == "completed", (task_id, task)
        for case_id, _ in cases:  # every case loads
            status, case = server.call("GET", f"/cases/{case_id}", admin)
            assert status == 200 and case["status"] in ("running", "completed"), case
        for case_id, task_id in cases:  # and can go on where it stopped
            if task_id not in acknowledged:
                status, _ = server.call("POST", f"/tasks/{task_id}/complete", tokens[0], {"data": {}})
                assert status in (200, 409)
    finally:
        server.kill()

    eng.tick(sweep_at)  # the sweep again, after its own crash: nothing fires a second time
    with eng.db.unit_of_work(write=False) as session:
        fired = Counter(session.scalars(select(Event.case_id).where(Event.kind == "timer_fired")).all())
        completions = Counter(session.scalars(select(Event.case_id).where(
            Event.kind == "task_completed", Event.element == "review")).all())
        states = Counter(session.scalars(select(TaskRow.state).where(TaskRow.name == "review")).all())
        due = session.scalars(select(TimerRow).where(TimerRow.due_at <= sweep_at)).all()
        report = audit_chain.verify(session)
    assert max(fired.values(), default=0) <= 1, fired.most_common(3)
    assert all(completions[case_id] == 1 for case_id, _ in cases), completions.most_common(3)
    assert states == {"completed": CASES} and due == []
    assert report.ok, report.first_break
    eng.db.dispose()
