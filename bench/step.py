"""P1 and P2: what one task completion costs, fresh and after a long history.

P1 sets one completion through the service layer (token-free: the call the API route makes:
load the task row, check scope and candidates, validate, load the case, step, audit, project,
prune, save, commit; SQLite file) beside plain SpiffWorkflow doing the same step the way its
documentation shows: deserialize the whole workflow, run the task, do the engine steps,
serialize. The model is a two-task rectification loop whose first task carries a
non-interrupting boundary timer (`models/bench_loop.bpmn`); plain SpiffWorkflow needs its
`P3D` quoted, which is the only change.

P2 sets the same completion on a case that has gone round the loop 200 times beside the same
completion on a fresh case. For reference it also measures plain SpiffWorkflow's ratio.
"""
import gc
import statistics
import time

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench.common import NOT_ACCEPTED, REPORT, START, ready_task
from bench.harness import Figure, fmt
from bench.orgtree import bench_user, insert_tree, jincheng_slice, principal
from bench.stores import MODELS, deploy_models, make_app
from web.server import settle_heap

COMPOUND = "C0001"
BLOCK = 10  # completions per alternating block of P1


class RawSpiff:
    """SpiffWorkflow on its own, as its documentation uses it."""

    def __init__(self):
        xml = (MODELS / "bench_loop.bpmn").read_bytes().replace(b">P3D<", b">\"P3D\"<")
        parser = CamundaParser()
        parser.add_bpmn_str(xml)
        self.spec = parser.get_spec("bench_loop")
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))

    def fresh(self):
        workflow = BpmnWorkflow(self.spec)
        workflow.do_engine_steps()
        return workflow

    @staticmethod
    def complete(workflow, name, data):
        task = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == name)
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()

    def step(self, blob):
        """The measured step: deserialize, complete `report`, engine steps, serialize."""
        workflow = self.serializer.deserialize_json(blob)
        self.complete(workflow, "report", REPORT)
        return self.serializer.serialize_json(workflow)

    def aged_blob(self, iterations):
        workflow = self.fresh()
        for _ in range(iterations):
            self.complete(workflow, "report", REPORT)
            self.complete(workflow, "verify", NOT_ACCEPTED)
        return self.serializer.serialize_json(workflow)


class ServiceSide:
    def __init__(self, stores, name, postgres=False):
        from engine.clock import ManualClock
        self.clock = ManualClock(START)
        url = stores.postgres(name) if postgres else stores.sqlite(name)
        self.app = make_app(url, self.clock, stores.instance)
        self.engine = self.app.extensions["linkage"]
        insert_tree(self.engine.db, jincheng_slice())
        deploy_models(self.engine, "bench_loop")
        bench_user(self.engine, "clerk_fengtai", "clerk", "140502001001")
        self.clerk = principal(self.engine, "clerk_fengtai")

    def start(self, count):
        """`count` fresh cases; the id of each one's ready `report` task."""
        ids = []
        for _ in range(count):
            case = self.engine.start_case(self.clerk, "bench_loop", {"title": "电梯困人整改"}, COMPOUND)
            ids.append(ready_task(self.engine, case.id, "report"))
        return ids

    def complete(self, task_id, data=REPORT):
        return self.engine.complete_task(self.clerk, task_id, data)

    def age(self, iterations):
        """A case that went round the loop `iterations` times; its ready `report` task."""
        case = self.engine.start_case(self.clerk, "bench_loop", {"title": "反复整改"}, COMPOUND)
        for _ in range(iterations):
            self.complete(ready_task(self.engine, case.id, "report"))
            self.complete(ready_task(self.engine, case.id, "verify"), NOT_ACCEPTED)
        return case.id

    def close(self):
        self.engine.db.dispose()


def _per_call(fn, items):
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items)


def _raw_reference(raw, samples):
    """Plain SpiffWorkflow's ratio on the same model, for reference; it cannot always get
    to 200 loops at all (`RecursionError` in its deep task tree), then the deepest it can."""
    blob0 = raw.serializer.serialize_json(raw.fresh())
    failed = []
    for loops in (200, 150, 100):
        try:
            aged = raw.aged_blob(loops)
            ratio = statistics.median(_per_call(raw.step, [aged]) / _per_call(raw.step, [blob0] * 5)
                                      for _ in range(samples))
        except RecursionError:
            failed.append(loops)
            continue
        crashed = f" (RecursionError at {', '.join(map(str, failed))} loops)" if failed else ""
        return f"raw SpiffWorkflow on the same model: {fmt(ratio)}× after {loops} loops{crashed}"
    return "raw SpiffWorkflow on the same model: RecursionError even at 100 loops"


def run_p1(stores, quick):
    reps, per_rep = (5, 40) if quick else (7, 150)
    figure = Figure("P1", "task completion: service ÷ raw SpiffWorkflow", "×", 1.5, False)
    side, raw = ServiceSide(stores, "p1"), RawSpiff()
    try:
        blob = raw.serializer.serialize_json(raw.fresh())
        _per_call(side.complete, side.start(20))  # warm caches, connections, statement cache
        _per_call(raw.step, [blob] * 20)
        settle_heap()  # as each `linkage serve` worker does once its app is loaded
        service_ms, raw_ms, cpu_ratios = [], [], []
        for _ in range(reps):
            tasks = side.start(per_rep)
            service = plain = service_cpu = plain_cpu = 0.0
            # Alternating blocks of ten, so that both sides see the same moments of a shared
            # machine whose speed drifts (a block of 150 after 150 did not).
            for block in range(0, per_rep, BLOCK):
                wall, cpu = time.perf_counter(), time.process_time()
                for task in tasks[block:block + BLOCK]:
                    side.complete(task)
                service += time.perf_counter() - wall
                service_cpu += time.process_time() - cpu
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in tasks[block:block + BLOCK]:
                    raw.step(blob)
                plain += time.perf_counter() - wall
                plain_cpu += time.process_time() - cpu
            cpu_ratios.append(service_cpu / plain_cpu)
            service_ms.append(service / per_rep * 1000)
            raw_ms.append(plain / per_rep * 1000)
            figure.values.append(service / plain)
        figure.detail = (f"service {fmt(statistics.median(service_ms))} ms, raw "
                         f"{fmt(statistics.median(raw_ms))} ms per completion; by CPU time "
                         f"{fmt(statistics.median(cpu_ratios))}×; {per_rep} per rep")
    finally:
        gc.unfreeze()  # the figures after this one start from the heap as they found it
        side.close()
    return figure


def run_p2(stores, quick):
    reps, per_rep, aged_cases = (5, 10, 1) if quick else (7, 30, 2)
    figure = Figure("P2", "completion after 200 loops ÷ on a fresh case", "×", 1.5, False)
    side, raw = ServiceSide(stores, "p2"), RawSpiff()
    try:
        aged = [side.age(200) for _ in range(aged_cases)]
        _per_call(side.complete, side.start(10))
        for _ in range(reps):
            fresh_tasks = side.start(per_rep)
            aged_times, fresh_times = [], []
            for i in range(per_rep):
                case_id = aged[i % len(aged)]
                task = ready_task(side.engine, case_id, "report")
                start = time.perf_counter()
                side.complete(task)
                aged_times.append(time.perf_counter() - start)
                side.complete(ready_task(side.engine, case_id, "verify"), NOT_ACCEPTED)
                start = time.perf_counter()
                side.complete(fresh_tasks[i])
                fresh_times.append(time.perf_counter() - start)
            figure.values.append(statistics.median(aged_times) / statistics.median(fresh_times))
        figure.detail = _raw_reference(raw, 1 if quick else 3)
    finally:
        side.close()
    return figure
