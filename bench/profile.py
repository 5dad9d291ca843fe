"""Profile one engine path with pyinstrument, and list the SQL one operation sends.

    python bench/profile.py completion   # Engine.complete_task on the bench loop (P1, P7)
    python bench/profile.py start        # Engine.start_case of the bench rectification (P6)
    python bench/profile.py timers       # a sweep firing BPMN reminder timers (P3, P4)
    python bench/profile.py request      # POST /api/v1/tasks/{id}/complete through the app (P7)

`--postgres` runs `completion` and `request` on a throwaway PostgreSQL database (as P7 does)
instead of a SQLite file.

`--count N` sets how many operations are profiled, `--all` shows library frames too. The
data is built the way the figures build theirs, in a temporary folder removed afterwards.
What these showed, and what was done about it, is in bench/RESULTS.md.
"""
import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyinstrument import Profiler  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bench import population, step  # noqa: E402
from bench.common import REPORT  # noqa: E402
from bench.start import DATA  # noqa: E402
from bench.stores import Stores  # noqa: E402


def _statements(engine, operation):
    """The statements one call of `operation` sends, in order."""
    sent = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        sent.append(" ".join(statement.split())[:110])

    event.listen(engine.db.engine, "before_cursor_execute", record)
    try:
        operation()
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", record)
    return sent


def completion(stores, count, postgres=False):
    side = step.ServiceSide(stores, "profile", postgres)
    tasks = side.start(count + 21)
    for task in tasks[:20]:
        side.complete(task)
    sql = _statements(side.engine, lambda: side.complete(tasks[20]))
    return side.engine, sql, lambda: [side.complete(t) for t in tasks[21:]]


def start(stores, count):
    side = step.ServiceSide(stores, "profile")
    from bench.stores import deploy_models
    deploy_models(side.engine, "bench_remind")

    def go(n):
        for _ in range(n):
            side.engine.start_case(side.clerk, "bench_remind", dict(DATA), "C0001")
    go(20)
    sql = _statements(side.engine, lambda: go(1))
    return side.engine, sql, lambda: go(count)


def timers(stores, count):
    from bench.sweep import Sweeper
    templates = population.simulate(stores, history_days=20)
    url, _ = population.build(stores, "profile", templates.before_t0, templates, count + 1, count)
    sweeper = Sweeper(stores, url, population.T0)
    return sweeper.engine, [], sweeper.sweep


def request(stores, count, postgres=False):
    side = step.ServiceSide(stores, "profile", postgres)
    from engine.users import issue_token
    from engine.models import User
    from sqlalchemy import select
    with side.engine.db.unit_of_work() as session:
        token = issue_token(session, session.scalar(select(User).where(User.username == "clerk_fengtai")),
                            side.engine.clock.now())
    client = side.app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    tasks = side.start(count + 21)

    def post(task):
        response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": REPORT}, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
    for task in tasks[:20]:
        post(task)
    sql = _statements(side.engine, lambda: post(tasks[20]))
    return side.engine, sql, lambda: [post(t) for t in tasks[21:]]


PATHS = {"completion": completion, "start": start, "timers": timers, "request": request}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=sorted(PATHS))
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--all", action="store_true", help="show library frames too")
    parser.add_argument("--postgres", action="store_true",
                        help="completion and request on PostgreSQL instead of SQLite")
    args = parser.parse_args()
    if args.postgres and args.path not in ("completion", "request"):
        parser.error("--postgres applies to completion and request only")
    with tempfile.TemporaryDirectory(prefix="linkage-profile-") as workdir:
        stores = Stores(workdir)
        try:
            extra = {"postgres": True} if args.postgres else {}
            engine, sql, operation = PATHS[args.path](stores, args.count, **extra)
            if sql:
                print(f"{len(sql)} statements for one operation:")
                print("\n".join(f"  {s}" for s in sql))
            profiler = Profiler(interval=0.0005)
            profiler.start()
            operation()
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=args.all))
            engine.db.dispose()
        finally:
            stores.close()


if __name__ == "__main__":
    main()
