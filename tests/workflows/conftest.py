"""Fixtures for driving the bundled processes through the service layer.

A fresh SQLite file database per test (schema by Alembic), a `ManualClock` that starts on
Monday 2 March 2026 at 09:00 Beijing time, an `Engine` with our forms, the demo organisations,
both bundled BPMN files deployed, and principals for each role with their organisation paths.
Time moves only through the clock and `Engine.tick`; nothing sleeps.
"""
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine import queries
from engine.access import SYSTEM, Principal
from engine.clock import ManualClock
from engine.db import Database
from engine.service import Engine
from web.demo import DEMO_ORGS, ensure_org
from workflows import register, upgrade_schema

ROOT = Path(__file__).resolve().parents[2]
BPMN_FILES = tuple(sorted(p.name for p in (ROOT / "bpmn").glob("*.bpmn")))
START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Beijing

PATHS = {"district": "14/1405/140502/", "street": "14/1405/140502/140502001/",
         "community": "14/1405/140502/140502001/140502001001/",
         "compound": "14/1405/140502/140502001/140502001001/C0001/"}
COMPOUND = "C0001"


def bpmn_files():
    return [(name, (ROOT / "bpmn" / name).read_bytes()) for name in BPMN_FILES]


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def database(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'linkage.db'}")
    upgrade_schema(db)
    yield db
    db.dispose()


@pytest.fixture
def engine(database, clock):
    eng = Engine(database, clock)
    register(eng)
    with database.unit_of_work() as session:
        for code, name, kind, parent in DEMO_ORGS:
            ensure_org(session, code, name, kind, parent)
    eng.deploy(bpmn_files(), SYSTEM)
    return eng


@pytest.fixture
def clerk():
    return Principal("clerk", "clerk", "140502001001", PATHS["community"])


@pytest.fixture
def company():
    return Principal("company", "company", COMPOUND, PATHS["compound"])


@pytest.fixture
def street():
    return Principal("street", "street", "140502001", PATHS["street"])


@pytest.fixture
def bureau():
    return Principal("bureau", "bureau", "140502", PATHS["district"])


@pytest.fixture
def owners():
    return Principal("owners", "owners", COMPOUND, PATHS["compound"])


class Inspector:
    """Read-side helpers over the projections and the audit trail."""

    def __init__(self, engine):
        self.engine = engine

    def case(self, case_id):
        with self.engine.db.unit_of_work(write=False) as session:
            return queries.get_case(session, SYSTEM, case_id)

    def tasks(self, case_id, states=("ready",)):
        with self.engine.db.unit_of_work(write=False) as session:
            return list(queries.case_tasks(session, case_id, states))

    def task(self, case_id, name):
        """The one ready task `name` of the case (fails when there is not exactly one)."""
        found = [t for t in self.tasks(case_id) if t.name == name]
        assert len(found) == 1, f"expected one ready {name}, got {[t.name for t in self.tasks(case_id)]}"
        return found[0]

    def ready_names(self, case_id):
        return sorted(t.name for t in self.tasks(case_id))

    def timers(self, case_id):
        with self.engine.db.unit_of_work(write=False) as session:
            return [(t.element, t.due_at) for t in queries.case_timers(session, case_id)]

    def events(self, case_id):
        with self.engine.db.unit_of_work(write=False) as session:
            return [(e.kind, e.element, e.actor, e.detail)
                    for e in queries.list_events(session, SYSTEM, case_id).items]

    def kinds(self, case_id, kind):
        return [element for k, element, _actor, _detail in self.events(case_id) if k == kind]


@pytest.fixture
def inspect(engine):
    return Inspector(engine)


@pytest.fixture
def compound():
    """The demo compound (凤台花园) the cases are started for."""
    return COMPOUND


@pytest.fixture(name="bpmn_files")
def bpmn_files_fixture():
    return bpmn_files()


# -- diagrams --------------------------------------------------------------------------------

BPMN_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
           "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
           "dc": "http://www.omg.org/spec/DD/20100524/DC",
           "di": "http://www.omg.org/spec/DD/20100524/DI"}
FLOW_NODES = ("startEvent", "endEvent", "userTask", "scriptTask", "exclusiveGateway",
              "boundaryEvent", "intermediateCatchEvent", "parallelGateway", "serviceTask",
              "manualTask", "receiveTask", "sendTask", "callActivity", "subProcess",
              "intermediateThrowEvent", "eventBasedGateway", "inclusiveGateway", "task")


def diagram_problems(name):
    """What keeps a bundled BPMN file from drawing tidily in bpmn.io (an empty list if nothing).

    Every flow node, lane and participant needs a shape with bounds, every sequence flow an
    edge whose first and last waypoints touch its source and target and whose segments are
    horizontal or vertical; shapes must not overlap (a boundary event sits on its host), and
    every flow node lies inside its lane.
    """
    from lxml import etree
    tree = etree.parse(str(ROOT / "bpmn" / name))
    problems = []
    bounds = {}
    for shape in tree.iterfind(".//bpmndi:BPMNShape", BPMN_NS):
        b = shape.find("dc:Bounds", BPMN_NS)
        bounds[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    process = tree.find(".//bpmn:process", BPMN_NS)
    nodes = {n.get("id"): n for tag in FLOW_NODES for n in process.iterfind(f"bpmn:{tag}", BPMN_NS)}
    for element in [*nodes, *(l.get("id") for l in process.iterfind(".//bpmn:lane", BPMN_NS)),
                    *(p.get("id") for p in tree.iterfind(".//bpmn:participant", BPMN_NS))]:
        if element not in bounds:
            problems.append(f"{element}: no shape")

    def touches(point, box):
        x, y = point
        bx, by, bw, bh = box
        inside = bx - 1 <= x <= bx + bw + 1 and by - 1 <= y <= by + bh + 1
        on_edge = min(abs(x - bx), abs(x - bx - bw), abs(y - by), abs(y - by - bh)) <= 1
        return inside and on_edge

    edges = {e.get("bpmnElement"): e for e in tree.iterfind(".//bpmndi:BPMNEdge", BPMN_NS)}
    for flow in process.iterfind("bpmn:sequenceFlow", BPMN_NS):
        edge = edges.get(flow.get("id"))
        if edge is None:
            problems.append(f"{flow.get('id')}: no edge")
            continue
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", BPMN_NS)]
        if len(points) < 2:
            problems.append(f"{flow.get('id')}: fewer than two waypoints")
            continue
        if not touches(points[0], bounds.get(flow.get("sourceRef"), (0, 0, 0, 0))):
            problems.append(f"{flow.get('id')}: does not start on {flow.get('sourceRef')}")
        if not touches(points[-1], bounds.get(flow.get("targetRef"), (0, 0, 0, 0))):
            problems.append(f"{flow.get('id')}: does not end on {flow.get('targetRef')}")
        for (x1, y1), (x2, y2) in zip(points, points[1:]):
            if x1 != x2 and y1 != y2:
                problems.append(f"{flow.get('id')}: diagonal segment")
    hosts = {n.get("id"): n.get("attachedToRef") for n in nodes.values()
             if n.get("attachedToRef")}
    ids = sorted(nodes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if hosts.get(a) == b or hosts.get(b) == a:
                continue
            (ax, ay, aw, ah), (bx, by, bw, bh) = bounds[a], bounds[b]
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                problems.append(f"{a} overlaps {b}")
    for lane in process.iterfind(".//bpmn:lane", BPMN_NS):
        lx, ly, lw, lh = bounds[lane.get("id")]
        for ref in lane.iterfind("bpmn:flowNodeRef", BPMN_NS):
            x, y, w, h = bounds[ref.text]
            cx, cy = x + w / 2, y + h / 2
            if not (lx <= cx <= lx + lw and ly <= cy <= ly + lh):
                problems.append(f"{ref.text} lies outside its lane {lane.get('id')}")
    return problems


@pytest.fixture(name="diagram_problems")
def diagram_problems_fixture():
    return diagram_problems
