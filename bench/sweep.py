"""P3 and P4: the sweep, how fast it fires and whether its cost follows what is due.

Both run on the cloned province populations of `bench.population`.

P4 sets the 10:00 sweep of T0 (the BPMN reminder timers of the due cohort, 1,000 cases) in a
database of 250,000 open cases beside the same sweep in one of 10,000, alternately, each
repetition rewound to the same starting point (`Rewind`). Every part of `Engine.tick` runs:
BPMN timers, recurring schedules, task reminders, automatic escalations, the outbox.

P3 is the rate of the slower of the two kinds of due items: BPMN timers (the 10:00 sweeps of
P4, province scale) and task reminders with their escalations (the 09:00 sweep of the smaller
database, when the morning's reminders for every open task near or past its deadline fall due).
"""
import shutil
import sqlite3
import statistics
import time

from engine.clock import ManualClock

from bench import population
from bench.harness import Figure, fmt
from bench.stores import make_app


class Rewind:
    """Puts a SQLite database back as it was before a sweep of known cases.

    Snapshots every row of those cases in every case table, and the highest id of every table
    with an integer key; `restore` deletes what the sweep added or changed and puts the
    snapshot back. `engine_state` (the last tick) is restored whole.
    """

    def __init__(self, path, case_ids):
        self.path = path
        conn = sqlite3.connect(path)
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_rewind_ids (id TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM bench_rewind_ids")
            conn.executemany("INSERT INTO bench_rewind_ids VALUES (?)", [(c,) for c in case_ids])
            conn.commit()
            self.tables = population.case_tables(conn)
            self.snapshot = {t: conn.execute(f'SELECT * FROM "{t}" WHERE "{self._key(t)}" IN '
                                             f"(SELECT id FROM bench_rewind_ids)").fetchall()
                             for t in self.tables}
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                                "AND name NOT LIKE 'sqlite_%'")]
            self.highest = {}
            for name in names:
                keys = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')
                        if r[5] and r[2].upper() == "INTEGER"]
                if keys:
                    self.highest[(name, keys[0])] = conn.execute(
                        f'SELECT COALESCE(MAX("{keys[0]}"), 0) FROM "{name}"').fetchone()[0]
            self.engine_state = conn.execute("SELECT * FROM engine_state").fetchall()
        finally:
            conn.close()

    @staticmethod
    def _key(table):
        return "id" if table == "cases" else "case_id"

    def restore(self):
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("BEGIN IMMEDIATE")
            for (name, key), highest in self.highest.items():
                conn.execute(f'DELETE FROM "{name}" WHERE "{key}" > ?', (highest,))
            for table in reversed(self.tables):
                conn.execute(f'DELETE FROM "{table}" WHERE "{self._key(table)}" IN '
                             f"(SELECT id FROM bench_rewind_ids)")
            for table in self.tables:
                rows = self.snapshot[table]
                if rows:
                    conn.executemany(f'INSERT INTO "{table}" VALUES ({",".join("?" * len(rows[0]))})', rows)
            conn.execute("DELETE FROM engine_state")
            if self.engine_state:
                conn.executemany(f"INSERT INTO engine_state VALUES ({','.join('?' * len(self.engine_state[0]))})",
                                 self.engine_state)
            conn.execute("COMMIT")
        finally:
            conn.close()


class Sweeper:
    """The app's engine on one database, ticking at a given moment."""

    def __init__(self, stores, url, moment):
        self.clock = ManualClock(moment)
        self.moment = moment
        self.app = make_app(url, self.clock, stores.instance)
        self.engine = self.app.extensions["linkage"]

    def sweep(self):
        """(wall seconds, fired items); `self.cpu` keeps this process's CPU seconds."""
        self.clock.set(self.moment)
        start, cpu = time.perf_counter(), time.process_time()
        _, fired = self.engine.tick(self.moment)
        self.cpu = time.process_time() - cpu
        return time.perf_counter() - start, len(fired)

    def close(self):
        self.engine.db.dispose()


def shared_population(stores, quick):
    """The simulated templates and the big (250,000 or, quick, 25,000) database, built once."""
    key = ("population", quick)
    if key not in stores.shared:
        templates = population.simulate(stores, history_days=30 if quick else population.HISTORY_DAYS)
        large, due = (10_000, 200) if quick else (250_000, 1_000)
        url, due_ids = population.build(stores, "province_large", templates.before_t0, templates, large, due)
        stores.shared[key] = (templates, url, due_ids, large, due)
    return stores.shared[key]


def run_p3_p4(stores, quick):
    reps = 3 if quick else 5
    small = 1_000 if quick else 10_000  # quick: 1,000 beside 10,000
    templates, large_url, large_due, large, due = shared_population(stores, quick)
    p3 = Figure("P3", "timers and reminders fired per second, one worker", "/s", 300, True)
    p4 = Figure("P4", f"sweep of {due:,} due among {large:,} ÷ among {small:,} open cases", "×", 1.2, False)

    # P4 (and the timer half of P3): the 10:00 sweep, large and small side by side.
    small_url, small_due = population.build(stores, "province_small", templates.before_t0, templates, small, due)
    rewinds = [Rewind(small_url.removeprefix("sqlite:///"), small_due),
               Rewind(large_url.removeprefix("sqlite:///"), large_due)]
    sweepers = [Sweeper(stores, small_url, population.T0), Sweeper(stores, large_url, population.T0)]
    timer_rates, timer_cpu_rates, fired_counts = [], [], set()
    try:
        for rep in range(reps):
            times = [None, None]
            for side in ((0, 1) if rep % 2 == 0 else (1, 0)):
                rewinds[side].restore()
                elapsed, fired = sweepers[side].sweep()
                times[side] = elapsed
                fired_counts.add(fired)
                if side == 1:
                    timer_rates.append(fired / elapsed)
                    timer_cpu_rates.append(fired / sweepers[side].cpu)
            p4.values.append(times[1] / times[0])
        for rewind in rewinds:
            rewind.restore()
    finally:
        for sweeper in sweepers:
            sweeper.close()
    if fired_counts != {due}:
        p4.error = f"expected {due} due items to fire, fired {sorted(fired_counts)}"
    p4.detail = (f"{due:,} BPMN reminder timers fired per sweep; large sweep "
                 f"{fmt(due / statistics.median(timer_rates))} s")

    # The reminder half of P3: the 09:00 sweep of the morning's task reminders, on fresh copies.
    morning_url, _ = population.build(stores, "province_morning", templates.before_reminders, templates, small, due)
    pristine = morning_url.removeprefix("sqlite:///")
    reminder_rates, reminder_cpu_rates, reminder_counts = [], [], []
    for _ in range(reps):
        copy = pristine.replace(".db", "-run.db")
        shutil.copyfile(pristine, copy)
        sweeper = Sweeper(stores, "sqlite:///" + copy, population.REMINDERS_AT)
        try:
            elapsed, fired = sweeper.sweep()
        finally:
            sweeper.close()
        reminder_rates.append(fired / elapsed)
        reminder_cpu_rates.append(fired / sweeper.cpu)
        reminder_counts.append(fired)
    timers, reminders = statistics.median(timer_rates), statistics.median(reminder_rates)
    slower = timer_rates if timers <= reminders else reminder_rates
    p3.values = list(slower)
    p3.detail = (f"BPMN timers {fmt(timers)}/s ({large:,} open cases), task reminders and "
                 f"escalations {fmt(reminders)}/s ({statistics.median(reminder_counts):,.0f} per "
                 f"09:00 sweep, {small:,} open cases); the slower is the figure; by this "
                 f"process's CPU time {fmt(statistics.median(timer_cpu_rates))}/s and "
                 f"{fmt(statistics.median(reminder_cpu_rates))}/s")
    return [p3, p4]
