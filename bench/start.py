"""P6: cases started per second through the service layer, SQLite, one process, one thread.

Each start is what `POST /cases` asks of the engine: scope check of the compound, start form,
a new workflow run up to its first waits (here a script computing working-day deadlines, a
user task with a due date and two boundary timers), the audit trail, the task, timer and
reminder-job projections, one commit. The model is `models/bench_remind.bpmn`.
"""
import time

from engine.clock import ManualClock

from bench.common import START
from bench.harness import Figure, fmt
from bench.orgtree import bench_user, insert_tree, jincheng_slice, principal
from bench.stores import deploy_models, make_app

DATA = {"title": "整改：地下车库东区照明大面积损坏", "problem": "地下车库东区照明大面积损坏",
        "rectification_round": 0}


def run_p6(stores, quick):
    reps, per_rep = (3, 100) if quick else (5, 400)
    figure = Figure("P6", "cases started per second (SQLite, one process)", "/s", 200, True)
    app = make_app(stores.sqlite("p6"), ManualClock(START), stores.instance)
    engine = app.extensions["linkage"]
    try:
        insert_tree(engine.db, jincheng_slice())
        deploy_models(engine, "bench_remind")
        bench_user(engine, "clerk_p6", "clerk", "140502001001")
        clerk = principal(engine, "clerk_p6")
        for _ in range(20):  # warm caches
            engine.start_case(clerk, "bench_remind", dict(DATA), "C0001")
        cpu_rates = []
        for _ in range(reps):
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(per_rep):
                engine.start_case(clerk, "bench_remind", dict(DATA), "C0001")
            figure.values.append(per_rep / (time.perf_counter() - wall))
            cpu_rates.append(per_rep / (time.process_time() - cpu))
        cpu_rates.sort()
        figure.detail = (f"{per_rep} starts per rep; by this process's CPU time "
                         f"{fmt(cpu_rates[len(cpu_rates) // 2])}/s")
    finally:
        engine.db.dispose()
    return figure
