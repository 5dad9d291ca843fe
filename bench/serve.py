"""P7 and P8: real `linkage serve` processes under real HTTP load, on PostgreSQL.

The database is a throwaway PostgreSQL database initialised by `linkage init`; the servers are
`linkage serve --no-scheduler` (gunicorn, its default workers and threads) on loopback ports;
the load is a pool of client threads, each with its own keep-alive HTTP connection, its own
bearer token and its own cases of `models/bench_loop.bpmn`, so no two clients ever touch the
same task or case. A client completes its case's ready task, reads the next ready task from the
response, and goes round its cases; every answer other than 200 counts as an error.

P7: two serve processes, 32 clients (half on each), completions per second over several
timed windows, after a warm-up. P8: one serve process, 10,000 completions; its resident memory
(the gunicorn master and its workers together, from /proc) when the 5,000th completes and
after the 10,000th, with the same 16 clients on the same connections throughout.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from engine.clock import Clock

from bench.common import NOT_ACCEPTED, REPORT
from bench.harness import Figure, fmt
from bench.orgtree import bench_user, insert_tree, jincheng_slice, principal
from bench.stores import ROOT, deploy_models, linkage_command, make_app, postgres_version, server_env

COMPOUNDS = ["C0001", "C0002", "C0003"]
CLERK_OF = {"C0001": "140502001001", "C0002": "140502001001", "C0003": "140502001002"}
REQUEST_TIMEOUT = 30


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One `linkage serve --no-scheduler` process on a free loopback port."""

    def __init__(self, url, instance, log_path):
        self.port = _free_port()
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [*linkage_command(), "serve", "--no-scheduler", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=server_env(url, instance), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"linkage serve exited with {self.process.returncode}; see {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/openapi.json")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"linkage serve did not answer on port {self.port} within {timeout} s")

    def rss_each(self):
        """Resident memory of the serve process and of each process under it, in MB."""
        return [_rss_kb(pid) / 1024 for pid in _descendants(self.process.pid)]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def _descendants(root):
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [root], [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Client(threading.Thread):
    """One HTTP client going round its own cases until told to stop or its quota is done."""

    def __init__(self, port, token, cases, counter, quota=None):
        super().__init__(daemon=True)
        self.port, self.token, self.cases = port, token, cases  # [[task id, task name], ...]
        self.counter, self.quota = counter, quota
        self.stop_at = None
        self.done = self.errors = 0
        self.last_error = ""

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        turn = 0
        while not self.counter.stopped and (self.quota is None or self.done < self.quota):
            case = self.cases[turn % len(self.cases)]
            turn += 1
            body = json.dumps({"data": REPORT if case[1] == "report" else NOT_ACCEPTED})
            try:
                conn.request("POST", f"/api/v1/tasks/{case[0]}/complete", body, headers)
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    raise RuntimeError(f"{response.status} {payload[:200].decode('utf-8', 'replace')}")
                ready = json.loads(payload)["tasks"]
                case[0], case[1] = ready[0]["id"], ready[0]["name"]
                self.done += 1
                self.counter.add()
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                self.errors += 1
                self.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
                if self.errors > 20:
                    break
        conn.close()


class Counter:
    """Completions so far; `at_mark()` is called once, by the client whose completion makes
    the count reach `mark`."""

    def __init__(self, mark=None, at_mark=None):
        self.value, self.stopped = 0, False
        self.mark, self.at_mark = mark, at_mark
        self._lock = threading.Lock()

    def add(self):
        with self._lock:
            self.value += 1
            reached = self.value == self.mark
        if reached:
            self.at_mark()


class LoadSetup:
    """Clerks with tokens and their cases of the bench loop, in the run's PostgreSQL database
    (created, initialised and given the bench model by the first figure that needs it)."""

    def __init__(self, stores, clients, cases_per_client):
        from sqlalchemy import select
        from engine.models import TaskRow, User
        from engine.users import issue_token
        if "postgres" not in stores.shared:
            url = stores.postgres("serve")
            app = make_app(url, Clock(), stores.instance)
            engine = app.extensions["linkage"]
            insert_tree(engine.db, jincheng_slice())
            deploy_models(engine, "bench_loop")
            for code in sorted(set(CLERK_OF.values())):
                bench_user(engine, f"clerk_{code}", "clerk", code)
            engine.db.dispose()
            stores.shared["postgres"] = url
        self.url = stores.shared["postgres"]
        app = make_app(self.url, Clock(), stores.instance)
        engine = app.extensions["linkage"]
        try:
            clerks = {code: principal(engine, f"clerk_{code}") for code in set(CLERK_OF.values())}
            self.clients = []
            for i in range(clients):
                compound = COMPOUNDS[i % len(COMPOUNDS)]
                community = CLERK_OF[compound]
                with engine.db.unit_of_work() as session:
                    user = session.scalar(select(User).where(User.username == f"clerk_{community}"))
                    token = issue_token(session, user, engine.clock.now())
                cases = []
                for _ in range(cases_per_client):
                    case = engine.start_case(clerks[community], "bench_loop", {"title": "电梯困人整改"}, compound)
                    with engine.db.unit_of_work(write=False) as session:
                        task = session.scalar(select(TaskRow.id).where(TaskRow.case_id == case.id,
                                                                       TaskRow.state == "ready"))
                    cases.append([task, "report"])
                self.clients.append((token, cases))
        finally:
            engine.db.dispose()


def run_p7(stores, quick):
    clients, windows, window_s, warmup_s = (32, 3, 4, 2) if quick else (32, 5, 10, 5)
    figure = Figure("P7", "completions per second, PostgreSQL, 2 serve processes, 32 clients", "/s", 150, True)
    if postgres_version() is None:
        figure.error = "PostgreSQL not reachable on 127.0.0.1:5432"
        return figure
    setup = LoadSetup(stores, clients, 4)
    servers = [Server(setup.url, stores.instance, stores.workdir / f"p7-serve-{i}.log") for i in range(2)]
    counter = Counter()
    threads = []
    try:
        for server in servers:
            server.wait_ready()
        threads = [Client(servers[i % 2].port, token, cases, counter)
                   for i, (token, cases) in enumerate(setup.clients)]
        for thread in threads:
            thread.start()
        time.sleep(warmup_s)
        for _ in range(windows):
            before, start = counter.value, time.perf_counter()
            time.sleep(window_s)
            figure.values.append((counter.value - before) / (time.perf_counter() - start))
    finally:
        counter.stopped = True
        for thread in threads:
            thread.join(REQUEST_TIMEOUT + 5)
        for server in servers:
            server.stop()
    errors = sum(t.errors for t in threads)
    figure.extra_ok = errors == 0
    figure.detail = (f"{counter.value:,} completions in all, {errors} errors"
                     + (f" (last: {next(t.last_error for t in threads if t.errors)})" if errors else "")
                     + f"; {windows} windows of {window_s} s after {warmup_s} s warm-up")
    return figure


def run_p8(stores, quick):
    total, clients = (1_000, 16) if quick else (10_000, 16)
    rss = Figure("P8", f"RSS of a serve process after {total:,} completions", " MB", 300, False)
    growth = Figure("P8", f"RSS growth over the last {total // 2:,} completions", " %", 2, False)
    if postgres_version() is None:
        rss.error = growth.error = "PostgreSQL not reachable on 127.0.0.1:5432"
        return [rss, growth]
    setup = LoadSetup(stores, clients, 4)
    server = Server(setup.url, stores.instance, stores.workdir / "p8-serve.log")
    half = {}
    counter = Counter(mark=total // 2, at_mark=lambda: half.update(rss=sum(server.rss_each())))
    threads = []
    try:
        server.wait_ready()
        # The same clients, on the same connections, for all 10,000: new connections half-way
        # could land on a worker that had served nothing yet, and its first requests (about
        # 8 MB, once per worker) would read as growth.
        threads = [Client(server.port, token, cases, counter, quota=total // clients)
                   for token, cases in setup.clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        per_process = server.rss_each()
    finally:
        counter.stopped = True
        for thread in threads:
            thread.join(REQUEST_TIMEOUT + 5)
        server.stop()
    at_half, at_end = half.get("rss", float("nan")), sum(per_process)
    errors = sum(t.errors for t in threads)
    rss.values = [at_end]
    growth.values = [(at_end - at_half) / at_half * 100]
    rss.extra_ok = growth.extra_ok = errors == 0
    rss.detail = (f"{len(per_process)} processes (gunicorn master and workers) together "
                  f"({' + '.join(fmt(mb) for mb in per_process)} MB); {fmt(at_half)} MB after "
                  f"{total // 2:,}; {counter.value:,} completions, {errors} errors")
    growth.detail = f"{fmt(at_half)} MB → {fmt(at_end)} MB"
    return [rss, growth]
