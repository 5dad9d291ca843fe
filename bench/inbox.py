"""P5: a street supervisor's overdue list at province scale, through the whole API.

The database is the province population of `bench.population` (250,000 open cases over
23,494 compounds; quick: 25,000), at T0. Street supervisors (the busiest street by overdue
tasks, and four drawn at random) ask `GET /api/v1/tasks?overdue=true` with their bearer
tokens through the app's WSGI interface in this process: authentication, scope, the count and
the page query, the JSON. Loopback HTTP would add the same fixed cost to any endpoint.
"""
import random
import statistics
import time

from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.models import Organisation, TaskRow, User
from engine.users import issue_token

from bench import population
from bench.harness import Figure, fmt, percentile
from bench.stores import make_app
from bench.sweep import shared_population


def _street_tokens(engine, now, count=5, seed=3):
    with engine.db.unit_of_work() as session:
        streets = session.execute(select(Organisation.code, Organisation.path)
                                  .where(Organisation.kind == "street").order_by(Organisation.code)).all()
        overdue = {code: session.scalar(select(func.count()).select_from(TaskRow).where(
            TaskRow.state == "ready", TaskRow.due_at < now, TaskRow.org_path.like(path + "%")))
            for code, path in random.Random(seed).sample(streets, 60)}
        busiest = max(overdue, key=overdue.get)
        chosen = [busiest, *random.Random(seed + 1).sample(sorted(set(overdue) - {busiest}), count - 1)]
        tokens = []
        for code in chosen:
            user = session.scalar(select(User).where(User.username == f"street_{code}"))
            tokens.append(issue_token(session, user, now))
        return tokens, overdue[busiest]


def run_p5(stores, quick):
    reps, per_rep = (3, 30) if quick else (5, 60)
    templates, url, _, large, _ = shared_population(stores, quick)
    figure = Figure("P5", f"GET /tasks?overdue=true, street supervisor, {large:,} cases, p95", " ms", 50, False)
    app = make_app(url, ManualClock(population.T0), stores.instance)
    engine = app.extensions["linkage"]
    try:
        tokens, busiest = _street_tokens(engine, population.T0)
        client = app.test_client()
        headers = [{"Authorization": f"Bearer {t}"} for t in tokens]

        def ask(header):
            start = time.perf_counter()
            response = client.get("/api/v1/tasks?overdue=true", headers=header)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise RuntimeError(f"GET /api/v1/tasks?overdue=true: {response.status_code} {response.get_data(as_text=True)[:200]}")
            return elapsed, response.get_json()

        for header in headers * 2:  # warm: statement cache, connection, page cache
            ask(header)
        medians, totals = [], []
        for _ in range(reps):
            times = []
            for i in range(per_rep):
                elapsed, body = ask(headers[i % len(headers)])
                times.append(elapsed * 1000)
                totals.append(body["total"])
            figure.values.append(percentile(times, 0.95))
            medians.append(statistics.median(times))
        figure.detail = (f"median {fmt(statistics.median(medians))} ms; busiest street has "
                         f"{busiest:,} overdue tasks; {len(tokens)} streets, {per_rep} requests per rep")
    finally:
        engine.db.dispose()
    return figure
