"""A province's worth of open cases: simulated templates, cloned in bulk.

Going through the engine for 250,000 cases would take the better part of an hour and would
measure case starts, not sweeps. So a hundred-odd *template* cases of `models/bench_remind.bpmn`
(a rectification with a mid-term reminder timer and a deadline escalation, like
`bpmn/rectification.bpmn`) live through 60 days on the engine's clock, three started each
working day, some with a report submitted, some sent back for another round; every sweep on
the way runs (BPMN timers, task reminders, automatic escalations). The templates end in every
state such a case passes through: waiting for the report with the reminder pending, reminded,
escalated to the street, waiting to be verified, on their second round, with their task
reminder jobs and notifications.

Two moments matter on the measured day (Monday 2026-03-16): 09:00, when the morning's task
reminders fall due, and T0 = 10:00, when the BPMN reminder timers of the cases started three
working days earlier fall due. The template of that day's cohort is the *due* template.
`simulate` stops just before 09:00 (state A) and again just before 10:00 (state B).

Each template is then cloned with raw SQLite inserts: every row of every table that belongs to
the case (found by its `case_id` column, so tables added later come along; unsent outbox rows
excepted), every UUID in them replaced by a fresh one, so each clone is a case the engine can
load and run. Compounds and organisation paths are drawn from the province tree, which also
gets its users: a clerk per community, a supervisor per street, a manager per compound.
"""
import os
import random
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import insert

from engine import calendar
from engine.clock import ManualClock
from engine.models import User
from engine.users import hash_password

from bench.common import ready_task
from bench.orgtree import bench_user, insert_tree, jincheng_slice, principal, province_tree
from bench.stores import deploy_models, make_app

DAY = datetime(2026, 3, 16).date()  # a Monday, a working day
REMINDERS_AT = datetime.combine(DAY, time(9, 0), calendar.CHINA_TZ)
T0 = datetime.combine(DAY, time(10, 0), calendar.CHINA_TZ)
HISTORY_DAYS = 60
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PROCESS = "bench_remind"
PROBLEMS = ["3号楼电梯近一个月困人两次", "地下车库东区照明大面积损坏", "小区东门道闸长期故障",
            "垃圾清运不及时，夏季异味严重", "楼道消防栓无水，灭火器过期", "二次供水水箱未按期清洗"]


def _at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), calendar.CHINA_TZ)


def cohort_day():
    """The day the due cohort started: its reminder (3 working days later, 10:00) is T0."""
    day = DAY - timedelta(days=1)
    while calendar.add_working_days(day, 3) != DAY:
        day -= timedelta(days=1)
    return day


@dataclass
class Templates:
    before_reminders: str  # SQLite file: the templates just before 09:00 (state A)
    before_t0: str         # the same just before 10:00 (state B)
    due: list              # case id of the due cohort's template
    background: list       # case ids of every other template


def simulate(stores, per_day=3, history_days=HISTORY_DAYS):
    clock = ManualClock(_at(DAY - timedelta(days=history_days + 1), 8))
    url = stores.sqlite("templates")
    app = make_app(url, clock, stores.instance)
    engine = app.extensions["linkage"]
    insert_tree(engine.db, jincheng_slice())
    deploy_models(engine, PROCESS)
    for name, role, org in (("tpl_clerk", "clerk", "140502001001"), ("tpl_street", "street", "140502001"),
                            ("tpl_company", "company", "C0001")):
        bench_user(engine, name, role, org)
    clerk, company = principal(engine, "tpl_clerk"), principal(engine, "tpl_company")
    due, background, cases = [], [], {}
    rng = random.Random(11)

    def start(key, kind, problem):
        case = engine.start_case(clerk, PROCESS, {"title": f"整改：{problem}", "problem": problem,
                                                  "rectification_round": 0}, "C0001")
        (due if kind == "due" else background).append(case.id)
        cases[key] = case.id

    def submit(key):
        task = ready_task(engine, cases[key], "submit_report")
        if task:
            engine.complete_task(company, task, {"report": "已按整改通知完成整改，附现场照片。"})

    def send_back(key):
        task = ready_task(engine, cases[key], "verify")
        if task:
            engine.complete_task(clerk, task, {"accepted": False, "opinion": "整改不到位，继续整改。"})

    days = {}  # day -> [(minute, action, args)]: every action happens 08:00-08:30, before any due time
    first = DAY - timedelta(days=history_days)
    for offset in range(history_days):
        day = first + timedelta(days=offset)
        if not calendar.is_working_day(day):
            continue
        if day == cohort_day():
            days.setdefault(day, []).append((0, start, (("due", day), "due", PROBLEMS[0])))
            continue
        for k in range(per_day):
            key = (k, day)
            days.setdefault(day, []).append((k, start, (key, "background", rng.choice(PROBLEMS))))
            if k >= 1:  # the company reports on the next working day
                days.setdefault(calendar.add_working_days(day, 1), []).append((10 + k, submit, (key,)))
            if k == 2:  # and the community sends it back the working day after
                days.setdefault(calendar.add_working_days(day, 2), []).append((20 + k, send_back, (key,)))
    for day in sorted(d for d in days if d < DAY):
        engine.tick(_at(day, 8))
        for minute, action, args in sorted(days[day], key=lambda a: a[0]):
            if day == cohort_day() and action is not start:
                continue  # a case sent back today would fall due at T0 too: only the cohort may
            clock.set(_at(day, 8, minute))
            action(*args)
    engine.tick(REMINDERS_AT - timedelta(seconds=1))
    engine.db.dispose()
    path = url.removeprefix("sqlite:///")
    state_a = path.replace(".db", "-a.db")
    shutil.copyfile(path, state_a)
    app = make_app(url, clock, stores.instance)
    app.extensions["linkage"].tick(T0 - timedelta(seconds=1))
    app.extensions["linkage"].db.dispose()
    return Templates(state_a, path, due, background)


def _columns(conn, table):
    return [(row[1], row[2].upper(), row[5]) for row in conn.execute(f'PRAGMA table_info("{table}")')]


def case_tables(conn):
    """Every table with a `case_id` column, after `cases` itself."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    linked = [n for n in names if any(c[0] == "case_id" for c in _columns(conn, n))]
    return ["cases", *sorted(linked)]


class _Text:
    """A stored text with UUIDs in it, as a format string with one slot per UUID."""

    __slots__ = ("template",)

    def __init__(self, text, slots):
        escaped = text.replace("{", "{{").replace("}", "}}")
        self.template = UUID_RE.sub(lambda m: "{%d}" % slots.setdefault(m.group(0), len(slots)), escaped)


class _TemplateRows:
    """One template case's rows in every case table, as stored, with UUID slots marked.

    Each row becomes a plan: the stored values, and the positions to fill per clone (texts
    with UUIDs, compound, organisation path), so cloning copies a list and fills a few slots.
    """

    def __init__(self, conn, case_id, tables):
        self.slots, self.rows = {}, {}
        for table in tables:
            columns = _columns(conn, table)
            key = "id" if table == "cases" else "case_id"
            stored = conn.execute(f'SELECT * FROM "{table}" WHERE "{key}" = ?', (case_id,)).fetchall()
            if table == "deliveries":  # the outbox: a clone must not send its template's mail
                status = [c[0] for c in columns].index("status")
                stored = [r for r in stored if r[status] != "pending"]
            self.rows[table] = [self._plan(columns, row) for row in stored]

    def _plan(self, columns, row):
        values, texts, places, paths = list(row), [], [], []
        for i, ((name, kind, pk), value) in enumerate(zip(columns, row)):
            if pk and kind == "INTEGER":
                values[i] = None  # autoincrement key: the clone gets its own
            elif name == "compound":
                places.append(i)
            elif name == "org_path":
                paths.append(i)
            elif isinstance(value, str) and UUID_RE.search(value):
                texts.append((i, _Text(value, self.slots).template))
        return values, texts, places, paths

    def fresh_ids(self):
        raw = os.urandom(16 * len(self.slots)).hex()
        return [f"{raw[i:i + 8]}-{raw[i + 8:i + 12]}-4{raw[i + 13:i + 16]}-a{raw[i + 17:i + 20]}-"
                f"{raw[i + 20:i + 32]}" for i in range(0, len(raw), 32)]


def clone(template_path, due_ids, background_ids, target_path, total_open, due_count, seed=5):
    """Fill the SQLite file at `target_path` with `total_open` cases, `due_count` of them due at T0.

    Returns the ids of the due clones.
    """
    source = sqlite3.connect(template_path)
    target = sqlite3.connect(target_path, isolation_level=None)
    target.execute("PRAGMA synchronous=OFF")
    target.execute("PRAGMA foreign_keys=OFF")
    tables = case_tables(target)
    definition = source.execute("SELECT process_id, content_hash FROM process_definitions "
                                "WHERE process_id = ?", (PROCESS,)).fetchone()
    definition_id = target.execute("SELECT id FROM process_definitions WHERE process_id = ? "
                                   "AND content_hash = ?", definition).fetchone()[0]
    definition_column = [c[0] for c in _columns(target, "cases")].index("definition_id")
    due = [_TemplateRows(source, c, tables) for c in due_ids]
    background = [_TemplateRows(source, c, tables) for c in background_ids]
    places = target.execute("SELECT code, path FROM organisations WHERE kind = 'compound' "
                            "ORDER BY code").fetchall()
    rng = random.Random(seed)
    inserts = {t: f'INSERT INTO "{t}" VALUES ({",".join("?" * len(_columns(target, t)))})' for t in tables}
    batches = {t: [] for t in tables}
    due_clones = []
    target.execute("BEGIN")
    for i in range(total_open):
        template = due[i % len(due)] if i < due_count else background[rng.randrange(len(background))]
        fresh = template.fresh_ids()
        compound, path = places[rng.randrange(len(places))]
        for table, rows in template.rows.items():
            batch = batches[table]
            for stored, texts, compounds_at, paths_at in rows:
                values = stored.copy()
                for at, text in texts:
                    values[at] = text.format(*fresh)
                for at in compounds_at:
                    values[at] = compound
                for at in paths_at:
                    values[at] = path
                batch.append(values)
        case_row = batches["cases"][-1]
        case_row[definition_column] = definition_id
        if i < due_count:
            due_clones.append(case_row[0])
        if (i + 1) % 5000 == 0 or i + 1 == total_open:
            for table in tables:
                target.executemany(inserts[table], batches[table])
                batches[table].clear()
    target.execute("COMMIT")
    target.execute("ANALYZE")
    target.close()
    source.close()
    return due_clones


def add_province_users(database, nodes):
    """A clerk per community, a supervisor per street, a manager per compound (one shared
    password hash: hashing 30,000 passwords with scrypt would take half an hour)."""
    roles = {"community": "clerk", "street": "street", "compound": "company"}
    shared = hash_password("bench-password")
    rows = [{"username": f"{roles[n['kind']]}_{n['code']}", "display_name": n["name"],
             "password_hash": shared, "role": roles[n["kind"]], "org_code": n["code"],
             "email": None, "active": True, "created_at": T0}
            for n in nodes if n["kind"] in roles]
    with database.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(User), rows[i:i + 5000])


def build(stores, name, template_path, templates, total_open, due_count):
    """An initialised SQLite file with the province tree, its users and the cloned cases.

    Returns (URL, ids of the due clones).
    """
    url = stores.sqlite(name)
    app = make_app(url, ManualClock(T0), stores.instance)
    engine = app.extensions["linkage"]
    nodes = province_tree()
    insert_tree(engine.db, nodes)
    add_province_users(engine.db, nodes)
    deploy_models(engine, PROCESS)
    engine.db.dispose()
    due = clone(template_path, templates.due, templates.background, url.removeprefix("sqlite:///"),
                total_open, due_count)
    return url, due
